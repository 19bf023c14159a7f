import type { UsageAggregate } from '../store/types.js';

/**
 * Weekly reports from daily rows: ISO weeks (Monday to Sunday) of local dates, each keyed by its Monday
 * (`YYYY-MM-DD`, as ccusage's weekly report). Pure: the store's daily buckets are already in the time zone.
 */

/** The Monday of the week a `YYYY-MM-DD` date falls in. */
export function weekStart(date: string): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const t = Date.UTC(y, m - 1, d);
  const sinceMonday = (new Date(t).getUTCDay() + 6) % 7;
  return new Date(t - sinceMonday * 86_400_000).toISOString().slice(0, 10);
}

/** Sums two aggregates under `a`'s key. */
export function mergeAggregates(a: UsageAggregate, b: UsageAggregate): UsageAggregate {
  return {
    key: a.key,
    requests: a.requests + b.requests,
    inputTokens: a.inputTokens + b.inputTokens,
    cacheReadTokens: a.cacheReadTokens + b.cacheReadTokens,
    cacheWrite5mTokens: a.cacheWrite5mTokens + b.cacheWrite5mTokens,
    cacheWrite1hTokens: a.cacheWrite1hTokens + b.cacheWrite1hTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    reasoningTokens: a.reasoningTokens + b.reasoningTokens,
    costUsd: a.costUsd + b.costUsd,
    unpricedRequests: a.unpricedRequests + b.unpricedRequests,
    estimatedRequests: a.estimatedRequests + b.estimatedRequests,
    firstAt: Math.min(a.firstAt, b.firstAt),
    lastAt: Math.max(a.lastAt, b.lastAt),
    models: [...new Set([...a.models, ...b.models])].sort(),
  };
}

/** Daily rows (keys `YYYY-MM-DD`) folded into weeks, oldest first. */
export function foldWeeks(daily: readonly UsageAggregate[]): UsageAggregate[] {
  const weeks = new Map<string, UsageAggregate>();
  for (const day of daily) {
    const key = weekStart(day.key);
    const week = weeks.get(key);
    weeks.set(key, week === undefined ? { ...day, key } : mergeAggregates(week, day));
  }
  return [...weeks.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
