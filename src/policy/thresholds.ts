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
  /** Percent (50, 80, 100). */
  threshold: number;
  /** `blocked`: a request was refused (or downgraded) before spend itself reached the threshold. */
  reason: 'threshold' | 'blocked';
  windowStart: number;
  windowEnd: number;
  at: number;
  contact: string | null;
}

/** A budget instance as applied to one request. */
export interface Applied {
  rule: BudgetRule;
  line: BudgetLine;
  /** The amount for this window (a hybrid budget's is recomputed each period). */
  amount: number;
}

/**
 * Which thresholds of which budget instances have been announced in their current window. Only crossings are
 * reported, each once; the alert sinks deduplicate again by `dedupKey` in the store, across restarts.
 */
export class ThresholdTracker {
  private readonly levels = new Map<string, { start: number; amount: number; level: number; blocked: number }>();

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
   * A request did not fit under `fraction` of this budget (1: refused; the downgrade point: downgraded). The
   * thresholds the spend itself reached are announced as after a settlement; the refusal is announced once, as the
   * highest threshold at or under `fraction` with reason `blocked`. The thresholds between are not taken as reached:
   * one large request refused at 25% spent announced 10, 20, 50 and 80% at once, and then never when spend got there.
   */
  exhausted(a: Applied, snapshot: LineSnapshot, fraction: number, now: number): void {
    if (this.onAlert === undefined) return;
    this.raise(a, reachedLevel(snapshot.spent, a.amount, a.rule.thresholds), snapshot.spent, now);
    let top = -1;
    a.rule.thresholds.forEach((t, i) => {
      if (t <= fraction) top = i;
    });
    const seen = this.seen(a);
    if (top <= seen.level || top <= seen.blocked) return;
    seen.blocked = top;
    this.emit(a, top, snapshot.spent, now);
  }

  private seen(a: Applied): { start: number; amount: number; level: number; blocked: number } {
    const { instance, window } = a.line;
    let seen = this.levels.get(instance);
    if (seen === undefined || seen.start !== window.start || seen.amount !== a.amount) {
      seen = { start: window.start, amount: a.amount, level: -1, blocked: -1 };
      this.levels.set(instance, seen);
    }
    return seen;
  }

  private raise(a: Applied, level: number, spent: number, now: number): void {
    if (level < 0) return;
    const seen = this.seen(a);
    // A threshold announced as blocked is not announced again when the spend reaches it (the sinks' dedupKey too).
    for (let i = seen.level + 1; i <= level; i++) if (i !== seen.blocked) this.emit(a, i, spent, now);
    seen.level = Math.max(seen.level, level);
  }

  private emit(a: Applied, i: number, spent: number, now: number): void {
    const { instance, window } = a.line;
    const fraction = a.rule.thresholds[i]!;
    const threshold = Math.round(fraction * 100);
    this.onAlert!({
      dedupKey: `${instance}|${window.start}|${a.amount}|${threshold}`,
      budgetId: a.rule.id,
      scope: a.line.scopeKey,
      unit: a.rule.unit,
      period: a.rule.period,
      amount: a.amount,
      spent,
      threshold,
      reason: spent >= fraction * a.amount ? 'threshold' : 'blocked',
      windowStart: window.start,
      windowEnd: window.end,
      at: now,
      contact: a.rule.cfg.contact ?? null,
    });
  }
}
