import { checkTimeZone, wallTimeToEpoch } from '../report/dates.js';

/**
 * Budget periods, calendar-aligned in a configured IANA time zone: a "day" starts at local midnight, a "week" on
 * Monday at local midnight (ISO 8601), a "month", "quarter" or "year" at local midnight on its first day. DST
 * shifts are handled by resolving wall times to instants (a day is 23 or 25 hours long when clocks change).
 * `none` is one window for all time.
 */
export const PERIODS = ['day', 'week', 'month', 'quarter', 'year', 'none'] as const;
export type Period = (typeof PERIODS)[number];

/** `[start, end)` in epoch milliseconds. */
export interface Window {
  start: number;
  end: number;
}

export const ALL_TIME: Window = Object.freeze({ start: 0, end: Number.POSITIVE_INFINITY });

interface LocalDate {
  year: number;
  month: number;
  day: number;
}

const dateFormatters = new Map<string, Intl.DateTimeFormat>();

function localDateAt(epochMs: number, timeZone: string): LocalDate {
  let fmt = dateFormatters.get(timeZone);
  if (fmt === undefined) {
    checkTimeZone(timeZone, 'timeZone');
    fmt = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: 'numeric', day: 'numeric' });
    dateFormatters.set(timeZone, fmt);
  }
  const out: LocalDate = { year: 0, month: 0, day: 0 };
  for (const p of fmt.formatToParts(epochMs)) {
    if (p.type === 'year' || p.type === 'month' || p.type === 'day') out[p.type] = Number(p.value);
  }
  return out;
}

/** Local midnight of a calendar date (month/day may overflow: 13/1 is January of the next year). */
function midnight(year: number, month: number, day: number, timeZone: string): number {
  const d = new Date(Date.UTC(year, month - 1, day));
  return wallTimeToEpoch(
    { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: 0, minute: 0, second: 0 },
    timeZone,
  );
}

/** The window of `period` that contains the instant `at`, in `timeZone`. */
export function periodWindow(period: Period, at: number, timeZone: string): Window {
  if (period === 'none') return ALL_TIME;
  const { year, month, day } = localDateAt(at, timeZone);
  let from: [number, number, number];
  let to: [number, number, number];
  switch (period) {
    case 'day':
      from = [year, month, day];
      to = [year, month, day + 1];
      break;
    case 'week': {
      const sinceMonday = (new Date(Date.UTC(year, month - 1, day)).getUTCDay() + 6) % 7;
      from = [year, month, day - sinceMonday];
      to = [year, month, day - sinceMonday + 7];
      break;
    }
    case 'month':
      from = [year, month, 1];
      to = [year, month + 1, 1];
      break;
    case 'quarter': {
      const first = Math.floor((month - 1) / 3) * 3 + 1;
      from = [year, first, 1];
      to = [year, first + 3, 1];
      break;
    }
    case 'year':
      from = [year, 1, 1];
      to = [year + 1, 1, 1];
      break;
  }
  const start = midnight(from[0], from[1], from[2], timeZone);
  const end = midnight(to[0], to[1], to[2], timeZone);
  // A wall time skipped by DST resolves forward; guard the invariant start <= at < end all the same.
  if (at < start || at >= end) return at < start ? periodWindow(period, start - 1, timeZone) : periodWindow(period, end, timeZone);
  return { start, end };
}

/** The `count` complete windows before `window`, most recent first (for hybrid budgets' trailing usage). */
export function previousWindows(period: Period, window: Window, count: number, timeZone: string): Window[] {
  if (period === 'none') return [];
  const out: Window[] = [];
  let cursor = window;
  for (let i = 0; i < count; i++) {
    cursor = periodWindow(period, cursor.start - 1, timeZone);
    out.push(cursor);
  }
  return out;
}

/** Local day windows covering `[from, to)`: the first one contains `from`. */
export function dayWindows(from: number, to: number, timeZone: string): Window[] {
  const out: Window[] = [];
  let w = periodWindow('day', from, timeZone);
  while (w.start < to) {
    out.push(w);
    w = periodWindow('day', w.end, timeZone);
  }
  return out;
}

/**
 * A cached day window: settling a request books its cost on the local day it started, and almost every request
 * starts on the current day, so the Intl work happens once a day instead of once a request.
 */
export class DayClock {
  private current: Window = { start: 0, end: 0 };
  constructor(private readonly timeZone: string) {}

  dayOf(at: number): Window {
    const c = this.current;
    if (at >= c.start && at < c.end) return c;
    const w = periodWindow('day', at, this.timeZone);
    // Keep the newest day cached (a late settle of yesterday's request must not evict today).
    if (w.start >= c.start) this.current = w;
    return w;
  }
}
