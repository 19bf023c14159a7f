import type { Unit } from './config.js';

/**
 * Budget arithmetic: pure functions of numbers. The request path reserves a worst case against
 * `spent + reserved`, so concurrent requests can never together pass a limit.
 */

/**
 * Whether a reservation of `cost` fits under `limit`. A request that costs nothing (a model priced 0 under a USD
 * budget) still needs some budget left. count_tokens, free at the provider, is not checked against budgets at all.
 */
export function fits(spent: number, reserved: number, cost: number, limit: number): boolean {
  const used = spent + reserved;
  return cost > 0 ? used + cost <= limit : used < limit;
}

/** The index of the highest threshold (fractions, ascending) that `spent` has reached, or -1. */
export function reachedLevel(spent: number, amount: number, thresholds: readonly number[]): number {
  let level = -1;
  for (let i = 0; i < thresholds.length; i++) if (spent >= thresholds[i]! * amount) level = i;
  return level;
}

/** Nearest-rank percentile (p in 1…100) of a list of numbers; 0 for an empty list. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** A hybrid budget's amount for a period: the baseline plus the percentile of the scope's trailing spend. */
export function hybridAmount(baseline: number, trailing: readonly number[], p: number): number {
  return baseline + percentile(trailing, p);
}

/** Money to the cent from $1, to three significant digits below (small budgets), tokens whole: for people. */
export function formatAmount(unit: Unit, n: number): string {
  if (unit === 'tokens') return `${Math.round(n).toLocaleString('en-US')} tokens`;
  const abs = Math.abs(n);
  if (abs < 1e-9) return '$0';
  // Beyond any real budget (a max_tokens of 1e300): digits, not "1.0000000000000001e+295".
  if (abs >= 1e12) return `$${n.toExponential(2)}`;
  if (abs >= 1) return `$${n.toFixed(2)}`;
  return `$${n.toFixed(Math.min(9, 2 - Math.floor(Math.log10(abs))))}`;
}

/** A header value for a remaining amount: plain digits, machine-readable (USD to the micro-dollar). */
export function headerAmount(unit: Unit, n: number): string {
  const v = Math.max(0, n);
  return unit === 'tokens' ? String(Math.floor(v)) : v.toFixed(6);
}

/**
 * `n` rounded down to a whole percent of `amount` (a step of `amount` / 100), never above `n`: what a shared
 * budget's header gives of what is left (scope.ts isPersonalScope). Negative and zero amounts give 0.
 */
export function floorToPercent(n: number, amount: number): number {
  if (!(amount > 0) || !(n > 0)) return 0;
  // percentOf's epsilon makes 17% of $500 left show as 85, not 84.95; the min keeps floating point from going above n.
  return Math.min(n, (amount * percentOf(n, amount)) / 100);
}

/** Whole percentage for messages: 79.96% shows as 79%, never rounded up to a threshold not yet reached. */
export function percentOf(spent: number, amount: number): number {
  // The epsilon absorbs binary fractions: 0.0056 / 0.01 is 0.55999… in floating point.
  return amount > 0 ? Math.floor((spent / amount) * 100 + 1e-9) : 100;
}
