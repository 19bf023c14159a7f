import { GoodhartError } from '../errors.js';
import { dayWindows, periodWindow, type Window } from '../policy/period.js';
import type { UsageAggregate } from '../store/types.js';
import { formatWallTime, parseDateOption } from './dates.js';

/**
 * Time series for reports, the audit and the dashboard: pure functions of aggregate rows and calendar windows in
 * a time zone (no clock: `now` is always passed in).
 */

export type Unit = 'usd' | 'tokens';

/** The value of a row in a unit: dollars, or tokens as budgets count them (input + output). */
export const valueOf = (r: Pick<UsageAggregate, 'costUsd' | 'inputTokens' | 'outputTokens'>, unit: Unit): number =>
  unit === 'usd' ? r.costUsd : r.inputTokens + r.outputTokens;

/** `YYYY-MM-DD` of each local day in [from, to). */
export function dayLabels(from: number, to: number, timeZone: string): string[] {
  if (to <= from) return [];
  return dayWindows(from, to, timeZone).map((w) => formatWallTime(w.start, timeZone).slice(0, 10));
}

/** Daily values in label order, 0 for a day without a row. */
export function seriesOf(rows: readonly UsageAggregate[], labels: readonly string[], unit: Unit = 'usd'): number[] {
  const byKey = new Map(rows.map((r) => [r.key, valueOf(r, unit)]));
  return labels.map((l) => byKey.get(l) ?? 0);
}

/** Relative change in percent, or null when there is nothing to compare with. */
export function changePercent(current: number, previous: number): number | null {
  if (previous <= 0) return null;
  return Math.round(((current - previous) / previous) * 1000) / 10;
}

/** A month `YYYY-MM` as a window in the time zone; a bad value names the option. */
export function monthWindow(month: string, timeZone: string, option = '--period'): Window {
  const mm = /^\d{4}-(\d{2})$/.exec(month)?.[1];
  if (mm === undefined || Number(mm) < 1 || Number(mm) > 12) {
    throw new GoodhartError('invalid_request', 400, `${option}: expected a month as YYYY-MM with the month 01 to 12 (e.g. 2026-10), got "${month}".`);
  }
  const start = parseDateOption(`${month}-01`, { option, timeZone });
  return periodWindow('month', start, timeZone);
}

/** The window just before `w` with the same calendar length (the previous month for a month). */
export function previousMonth(w: Window, timeZone: string): Window {
  return periodWindow('month', w.start - 1, timeZone);
}

/** How much of the last elapsed day of [start, now) has passed, for forecasts (0 < f ≤ 1). */
export function lastDayFraction(now: number, timeZone: string): number {
  const day = periodWindow('day', now, timeZone);
  const f = (now - day.start) / (day.end - day.start);
  return f <= 0 ? 1 : Math.min(1, f);
}
