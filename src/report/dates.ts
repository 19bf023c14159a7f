import { GoodhartError } from '../errors.js';

/**
 * Date options of the CLI (`--since`, `--until`, `--tz`): pure conversions between wall-clock times in an IANA
 * time zone and epoch milliseconds, using only Intl (no system time zone involved).
 */

const wallFormatters = new Map<string, Intl.DateTimeFormat>();

function wallFormatter(timeZone: string): Intl.DateTimeFormat {
  let fmt = wallFormatters.get(timeZone);
  if (fmt === undefined) {
    fmt = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    wallFormatters.set(timeZone, fmt);
  }
  return fmt;
}

/** Returns the zone if Intl knows it; otherwise a GoodhartError naming the option. */
export function checkTimeZone(timeZone: string, option = '--tz'): string {
  // The default needs no check: creating the first Intl formatter loads the time zone data (~20 ms of a report).
  if (timeZone === 'UTC') return timeZone;
  try {
    wallFormatter(timeZone);
    return timeZone;
  } catch (cause) {
    throw new GoodhartError(
      'invalid_request',
      400,
      `${option}: unknown time zone "${timeZone}". Use an IANA name such as UTC, Europe/Berlin or America/New_York.`,
      { cause },
    );
  }
}

interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

function wallAt(epochMs: number, timeZone: string): Wall {
  const wall: Wall = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 };
  for (const p of wallFormatter(timeZone).formatToParts(epochMs)) {
    if (p.type === 'year' || p.type === 'month' || p.type === 'day' || p.type === 'hour' || p.type === 'minute' || p.type === 'second') {
      wall[p.type] = Number(p.value);
    }
  }
  return wall;
}

const wallAsUtc = (w: Wall): number => Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);

/** The zone's offset from UTC at an instant, in ms (Berlin in winter: +3 600 000). */
function offsetAt(epochMs: number, timeZone: string): number {
  const wholeSecond = Math.floor(epochMs / 1000) * 1000;
  return wallAsUtc(wallAt(wholeSecond, timeZone)) - wholeSecond;
}

/**
 * The instant a wall-clock time happens in `timeZone`. A time that occurs twice (clocks going back) gives the
 * first; a time skipped by clocks going forward gives the instant the clocks jumped to it.
 */
export function wallTimeToEpoch(wall: Wall, timeZone: string, ms = 0): number {
  const guess = wallAsUtc(wall);
  const first = guess - offsetAt(guess, timeZone);
  const second = guess - offsetAt(first, timeZone);
  const candidates = [...new Set([first, second])].sort((a, b) => a - b);
  const exact = candidates.find((t) => wallAsUtc(wallAt(t, timeZone)) === guess);
  return (exact ?? Math.max(first, second)) + ms;
}

/** `YYYY-MM-DD HH:MM:SS` of an instant in `timeZone`. */
export function formatWallTime(epochMs: number, timeZone: string): string {
  const w = wallAt(epochMs, timeZone);
  const p2 = (n: number): string => String(n).padStart(2, '0');
  return `${String(w.year).padStart(4, '0')}-${p2(w.month)}-${p2(w.day)} ${p2(w.hour)}:${p2(w.minute)}:${p2(w.second)}`;
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIMESTAMP_RE =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

const daysInMonth = (year: number, month: number): number => new Date(Date.UTC(year, month, 0)).getUTCDate();

/**
 * Parses a `--since`/`--until` value. `YYYY-MM-DD` is local midnight in `timeZone` (with `endOfDay`, the next
 * local midnight, so an `--until` date includes that whole day); an ISO 8601 timestamp without an offset is a
 * wall time in `timeZone`, with `Z` or `±HH:MM` an exact instant.
 */
export function parseDateOption(value: string, opts: { option: string; timeZone: string; endOfDay?: boolean }): number {
  const bad = (why = ''): GoodhartError =>
    new GoodhartError(
      'invalid_request',
      400,
      `${opts.option}: expected YYYY-MM-DD (a day in --tz) or an ISO 8601 timestamp such as 2025-03-10T09:00:00Z, got "${value}"${why}.`,
    );
  const trimmed = value.trim();
  const date = DATE_RE.exec(trimmed);
  const ts = date === null ? TIMESTAMP_RE.exec(trimmed) : null;
  const m = date ?? ts;
  if (m === null) throw bad();
  const num = (i: number): number => (m[i] === undefined ? 0 : Number(m[i]));
  const wall: Wall = { year: num(1), month: num(2), day: num(3), hour: num(4), minute: num(5), second: num(6) };
  if (wall.year < 1970) throw bad(' (year before 1970)');
  if (wall.month < 1 || wall.month > 12) throw bad(' (month out of range)');
  if (wall.day < 1 || wall.day > daysInMonth(wall.year, wall.month)) throw bad(' (no such day in that month)');
  if (wall.hour > 23 || wall.minute > 59 || wall.second > 59) throw bad(' (time out of range)');

  if (date !== null) {
    if (opts.endOfDay === true) {
      const next = new Date(Date.UTC(wall.year, wall.month - 1, wall.day + 1));
      return wallTimeToEpoch(
        { year: next.getUTCFullYear(), month: next.getUTCMonth() + 1, day: next.getUTCDate(), hour: 0, minute: 0, second: 0 },
        opts.timeZone,
      );
    }
    return wallTimeToEpoch(wall, opts.timeZone);
  }

  const ms = m[7] === undefined ? 0 : Math.floor(Number(m[7].padEnd(3, '0').slice(0, 3)));
  const zone = m[8];
  if (zone === undefined) return wallTimeToEpoch(wall, opts.timeZone, ms);
  if (zone.toUpperCase() === 'Z') return wallAsUtc(wall) + ms;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const offsetMin = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0');
  if (offsetMin > 18 * 60) throw bad(' (offset out of range)');
  return wallAsUtc(wall) + ms - sign * offsetMin * 60_000;
}

/** Parses both range options and checks that `since` comes before `until`. */
export function parseRange(opts: { since?: string; until?: string; timeZone: string }): { since?: number; until?: number } {
  const range: { since?: number; until?: number } = {};
  if (opts.since !== undefined) range.since = parseDateOption(opts.since, { option: '--since', timeZone: opts.timeZone });
  if (opts.until !== undefined) {
    range.until = parseDateOption(opts.until, { option: '--until', timeZone: opts.timeZone, endOfDay: true });
  }
  if (range.since !== undefined && range.until !== undefined && range.since >= range.until) {
    throw new GoodhartError(
      'invalid_request',
      400,
      `--since (${opts.since}) must be before --until (${opts.until}); a YYYY-MM-DD --until includes that whole day.`,
    );
  }
  return range;
}
