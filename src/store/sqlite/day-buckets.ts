import { wallTimeToEpoch } from '../../report/dates.js';
import { localDate, localDateFormatter } from './local-date.js';

/**
 * The local days of a time zone between two instants, as their starting instants (local midnights; the instant
 * the clocks jumped to where DST skips midnight) and `YYYY-MM-DD` labels. Folding hours and 15-minute slots into
 * dates is then a binary search instead of an Intl call per hour: a few Intl calls per day, once per report.
 */
export class DayBuckets {
  private constructor(
    readonly starts: readonly number[],
    readonly labels: readonly string[],
  ) {}

  /** Days covering [from, to] (both inclusive). */
  static cover(timeZone: string, from: number, to: number): DayBuckets {
    // UTC needs no Intl (loading its time zone data is a good part of a small report's run).
    const utc = timeZone === 'UTC' || localDateFormatter(timeZone).resolvedOptions().timeZone === 'UTC';
    const starts: number[] = [];
    const labels: string[] = [];
    let label = utc ? new Date(from).toISOString().slice(0, 10) : localDate(localDateFormatter(timeZone), from);
    for (;;) {
      const [y, m, d] = label.split('-').map(Number) as [number, number, number];
      const start = utc ? Date.UTC(y, m - 1, d) : wallTimeToEpoch({ year: y, month: m, day: d, hour: 0, minute: 0, second: 0 }, timeZone);
      if (start > to) break;
      starts.push(start);
      labels.push(label);
      label = new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
    }
    return new DayBuckets(starts, labels);
  }

  /** Index of the day containing `t` (the last day starting at or before it). */
  indexOf(t: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= t) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** The `YYYY-MM-DD` of `t`. */
  dateOf(t: number): string {
    return this.labels[this.indexOf(t)]!;
  }

  /** Whether [from, to] lies within one local date. */
  sameDay(from: number, to: number): boolean {
    return this.indexOf(from) === this.indexOf(to);
  }
}
