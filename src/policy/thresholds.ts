import { reachedLevel } from './budget-math.js';
import type { Unit } from './config.js';
import type { Period } from './period.js';
import type { BudgetRule } from './rules.js';
import type { BudgetLine, LineSnapshot } from './state.js';

/** A soft cap reached, or a hard cap hit: sent to the alert sinks once per budget instance, threshold and window. */
export interface BudgetAlert {
  /**
   * Budget instance, window and threshold (and, for a threshold crossed again after a raised amount put spend back
   * under it, that amount); for a block, also the amount, action and spend level.
   */
  dedupKey: string;
  budgetId: string;
  scope: string;
  unit: Unit;
  period: Period;
  amount: number;
  spent: number;
  /**
   * Percent (50, 80, 100): the threshold spend reached. Null for `blocked`: spend reached no new threshold (a
   * consumer reading `threshold: 100` would take a refusal at 10% spent for "reached 100%"); see `blocked.limit`.
   */
  threshold: number | null;
  /**
   * Lower thresholds (percent, ascending) spend passed in the same step as `threshold`: one request taking a budget
   * from 0% to 180% sends one alert for 100% that names 50 and 80, not three. Empty for `blocked`.
   */
  passed: number[];
  /** `threshold`: spend reached it. `blocked`: a request did not fit (see `blocked`); spend is where it is. */
  reason: 'threshold' | 'blocked';
  /** A blocked request: refused or downgraded, its worst-case cost, and the limit (amount or downgrade point). */
  blocked: Blocked | null;
  windowStart: number;
  windowEnd: number;
  at: number;
  contact: string | null;
}

export interface Blocked {
  action: 'refused' | 'downgraded';
  /** What the request could cost at most (its reservation). */
  cost: number;
  /** The amount, or the downgrade point, it did not fit under. */
  limit: number;
  /** Reserved by requests in flight then. */
  reserved: number;
}

/** A budget instance as applied to one request. */
export interface Applied {
  rule: BudgetRule;
  line: BudgetLine;
  /** The amount for this window (a hybrid budget's is recomputed each period). */
  amount: number;
}

/**
 * Per budget instance and window: the thresholds announced (and still under spend), the ones a raised amount put
 * back above spend (announced again, under a key of their own, only when spend reaches them again), the spend of
 * the last settlement, and the spend level of the last block announced.
 */
interface Seen {
  start: number;
  amount: number;
  announced: Set<number>;
  rearmed: Set<number>;
  spent: number;
  blocked: Map<Blocked['action'], number>;
}

/**
 * Which thresholds of which budget instances have been announced in their current window. Only crossings are
 * reported: one alert per step, for the highest threshold it crossed (naming the lower ones it passed), each
 * threshold once per window. A changed amount does not announce again what was announced: a raise that leaves
 * spend above a threshold keeps it announced, and one that puts spend back under it re-arms it, so it is announced
 * again when spend reaches it again. The alert sinks deduplicate again by `dedupKey` in the store, across restarts.
 */
export class ThresholdTracker {
  private readonly levels = new Map<string, Seen>();

  constructor(private readonly onAlert: ((alert: BudgetAlert) => void) | undefined) {}

  /** After a settlement: thresholds the spend now reaches. */
  settled(applied: readonly Applied[], after: readonly { line: BudgetLine; snapshot: LineSnapshot }[], now: number): void {
    if (this.onAlert === undefined) return;
    for (const { line, snapshot } of after) {
      const a = applied.find((x) => x.line.instance === line.instance);
      if (a === undefined || a.rule.thresholds.length === 0) continue;
      this.raise(a, snapshot.spent, now);
    }
  }

  /**
   * A request did not fit under `blocked.limit` of this budget and was refused or downgraded. The thresholds the
   * spend itself reached are announced as after a settlement; the block is announced as what it is (at the real
   * spend, with the request's cost), and takes no threshold: each is still announced when spend reaches it (one large
   * request refused at 10% spent announced 100% and hid the real 100% crossing; one downgraded at 31% announced 50%
   * and hid the real one). A block is announced once per window, action and spend level (the highest threshold
   * reached): one oversized request refused at 10% spent did not hide that the budget, at 96%, later refused every
   * request. Not announced when spend already reached a threshold at or past the limit: "reached 100%" says it.
   */
  exhausted(a: Applied, snapshot: LineSnapshot, blocked: Blocked, now: number): void {
    if (this.onAlert === undefined) return;
    const level = reachedLevel(snapshot.spent, a.amount, a.rule.thresholds);
    this.raise(a, snapshot.spent, now);
    const seen = this.seen(a);
    if ((seen.blocked.get(blocked.action) ?? -2) >= level) return;
    seen.blocked.set(blocked.action, level);
    if (level >= 0 && a.rule.thresholds[level]! * a.amount >= blocked.limit) return;
    const { instance, window } = a.line;
    const from = level < 0 ? 0 : Math.round(a.rule.thresholds[level]! * 100);
    this.onAlert({
      ...this.base(a, snapshot.spent, now),
      dedupKey: `${instance}|${window.start}|${a.amount}|${blocked.action}|${from}`,
      threshold: null,
      passed: [],
      reason: 'blocked',
      blocked,
    });
  }

  private seen(a: Applied): Seen {
    const { instance, window } = a.line;
    let seen = this.levels.get(instance);
    if (seen === undefined || seen.start !== window.start) {
      seen = { start: window.start, amount: a.amount, announced: new Set(), rearmed: new Set(), spent: 0, blocked: new Map() };
      this.levels.set(instance, seen);
    } else if (seen.amount !== a.amount) {
      // A raised amount can put spend back under a threshold announced: re-armed. One still under spend stays announced.
      for (const t of seen.announced) {
        if (seen.spent < (t / 100) * a.amount) {
          seen.announced.delete(t);
          seen.rearmed.add(t);
        }
      }
      seen.amount = a.amount;
      // A block is about the amount it did not fit under (its key names it).
      seen.blocked = new Map();
    }
    return seen;
  }

  /** One alert for the highest threshold `spent` reached that is not announced yet, naming the others it passed. */
  private raise(a: Applied, spent: number, now: number): void {
    const seen = this.seen(a);
    seen.spent = spent;
    const crossed = a.rule.thresholds
      .filter((t) => spent >= t * a.amount)
      .map((t) => Math.round(t * 100))
      .filter((t) => !seen.announced.has(t));
    if (crossed.length === 0) return;
    for (const t of crossed) seen.announced.add(t);
    const threshold = crossed[crossed.length - 1]!;
    const again = seen.rearmed.has(threshold);
    seen.rearmed.delete(threshold);
    this.onAlert!({
      ...this.base(a, spent, now),
      // Crossed again after a raise re-armed it: a key of its own (the first crossing's is recorded in the store).
      dedupKey: `${a.line.instance}|${a.line.window.start}|${threshold}${again ? `|${a.amount}` : ''}`,
      threshold,
      passed: crossed.slice(0, -1),
      reason: 'threshold',
      blocked: null,
    });
  }

  private base(a: Applied, spent: number, now: number): Omit<BudgetAlert, 'dedupKey' | 'threshold' | 'passed' | 'reason' | 'blocked'> {
    return {
      budgetId: a.rule.id,
      scope: a.line.scopeKey,
      unit: a.rule.unit,
      period: a.rule.period,
      amount: a.amount,
      spent,
      windowStart: a.line.window.start,
      windowEnd: a.line.window.end,
      at: now,
      contact: a.rule.cfg.contact ?? null,
    };
  }
}
