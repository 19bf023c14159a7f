import { wallTimeToEpoch } from '../../report/dates.js';
import { nominalWidth } from './bucket-check.js';

/**
 * When a usage report's daily bucket happened, for reports. The providers' days are UTC days; dated at their start
 * (00:00 UTC), a day's spend fell on the day before in every zone west of UTC (a report in New York put 1 December's
 * bucket in November). So a day's bucket, and Claude Code analytics' day, is dated at noon of that date in the
 * config's `timeZone`, kept within the UTC day (from its 00:00 to its last millisecond): it falls on the provider's
 * date in that zone whatever its offset (UTC+13 and +14 included), in UTC, and in every zone within 12 hours of the
 * configured one (UTC−12 to UTC+11:59 when that is UTC). Narrower buckets (hours or minutes of a saved file) keep their
 * start: they lie within one day in any zone that matters for a day's total.
 *
 * A dated day carries the tag `day=YYYY-MM-DD`, the provider's date, by which its bucket is found again (bucketStartOf):
 * its start time alone no longer says where the bucket starts. Rows stored before carry no such tag and start at
 * their bucket's start.
 */

const DAY_MS = 86_400_000;
export const DAY_TAG = 'day=';

/** The instant a bucket's event is dated at: noon of its UTC date in `timeZone` for a day's bucket, else its start. */
export function bucketDate(at: number, endedAt: number, timeZone: string): number {
  if (nominalWidth(at, endedAt) !== DAY_MS || at % DAY_MS !== 0) return at;
  const d = new Date(at);
  const noon = wallTimeToEpoch({ year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: 12, minute: 0, second: 0 }, timeZone);
  return Math.min(Math.max(noon, at), at + DAY_MS - 1);
}

/** The tag of a dated day's bucket (its provider's date), or null for a bucket dated at its start. */
export function dayTag(at: number, endedAt: number): string | null {
  if (nominalWidth(at, endedAt) !== DAY_MS || at % DAY_MS !== 0) return null;
  return `${DAY_TAG}${new Date(at).toISOString().slice(0, 10)}`;
}

/** Where a stored row's bucket starts: its `day=` tag's 00:00 UTC, else its start (rows dated at their bucket's start). */
export function bucketStartOf(e: { startedAt: number; tags: readonly string[] }): number {
  const tag = e.tags.find((t) => t.startsWith(DAY_TAG));
  const day = tag === undefined ? NaN : Date.parse(`${tag.slice(DAY_TAG.length)}T00:00:00Z`);
  return Number.isFinite(day) ? day : e.startedAt;
}
