import { reachedLevel } from './budget-math.js';
import type { Unit } from './config.js';
import type { Period } from './period.js';
import type { BudgetRule } from './rules.js';
import type { BudgetLine, LineSnapshot } from './state.js';

/** A soft cap reached, or a hard cap hit: sent to the alert sinks once per budget instance, threshold and window. */
export interface BudgetAlert {
  /** Budget instance, window, amount and threshold: a changed amount re-arms the thresholds. */
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

/** Per budget instance and window: the highest threshold announced, and the spend level of the last block announced. */
interface Seen {
  start: number;
  amount: number;
  level: number;
  blocked: Map<Blocked['action'], number>;
}

/**
 * Which thresholds of which budget instances have been announced in their current window. Only crossings are
 * reported, each once; the alert sinks deduplicate again by `dedupKey` in the store, across restarts.
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
      this.raise(a, reachedLevel(snapshot.spent, a.amount, a.rule.thresholds), snapshot.spent, now);
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
    this.raise(a, level, snapshot.spent, now);
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
      reason: 'blocked',
      blocked,
    });
  }

  private seen(a: Applied): Seen {
    const { instance, window } = a.line;
    let seen = this.levels.get(instance);
    if (seen === undefined || seen.start !== window.start || seen.amount !== a.amount) {
      seen = { start: window.start, amount: a.amount, level: -1, blocked: new Map() };
      this.levels.set(instance, seen);
    }
    return seen;
  }

  private raise(a: Applied, level: number, spent: number, now: number): void {
    if (level < 0) return;
    const seen = this.seen(a);
    for (let i = seen.level + 1; i <= level; i++) this.emit(a, i, spent, now);
    seen.level = Math.max(seen.level, level);
  }

  private emit(a: Applied, i: number, spent: number, now: number): void {
    const threshold = Math.round(a.rule.thresholds[i]! * 100);
    this.onAlert!({
      ...this.base(a, spent, now),
      dedupKey: `${a.line.instance}|${a.line.window.start}|${a.amount}|${threshold}`,
      threshold,
      reason: 'threshold',
      blocked: null,
    });
  }

  private base(a: Applied, spent: number, now: number): Omit<BudgetAlert, 'dedupKey' | 'threshold' | 'reason' | 'blocked'> {
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
