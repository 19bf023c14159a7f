/**
 * A usage report's rows are totals per time bucket and grouping, so one day is counted once only if every import
 * of it uses the same bucket width and grouping: an hourly report of a day stored daily, or one grouped by model only
 * of a day stored per user and model, holds the same tokens under other keys, and storing both counts them twice.
 * These functions find such an import before it is stored. Goodhart's own requests always ask for daily buckets and
 * the same grouping; saved responses (`--file`) may have been made with others.
 */

/** A row of usage: its id and its bucket, epoch ms. */
export interface BucketRow {
  id: string;
  at: number;
  endedAt: number;
}

interface Bucket {
  at: number;
  endedAt: number;
  ids: Set<string>;
}

const DAY_MS = 86_400_000;
const WIDTHS = [60_000, 3_600_000, DAY_MS] as const;

/**
 * The width a bucket was asked for (the APIs' 1m, 1h, 1d): the smallest that holds it, so the bucket of the current
 * day, should a provider end it at the time asked (now), is still the same day's bucket on the next import.
 */
export function nominalWidth(at: number, endedAt: number): number {
  const ms = endedAt - at;
  return WIDTHS.find((w) => ms <= w) ?? ms;
}

/**
 * The bucket part of a row key: its start, and its width unless a day. Daily keys are what every release stored, so
 * their ids are unchanged; an hourly row starting at midnight is no longer taken for the day's row.
 */
export function bucketKey(at: number, endedAt: number, unit: 's' | 'ms'): string {
  const start = String(unit === 's' ? at / 1000 : at);
  const width = nominalWidth(at, endedAt);
  return width === DAY_MS ? start : `${start}/${width / 1000}s`;
}

export function describeWidth(ms: number): string {
  if (ms % DAY_MS === 0) return `${ms / DAY_MS}-day`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}-hour`;
  if (ms % 60_000 === 0) return `${ms / 60_000}-minute`;
  return `${ms / 1000}-second`;
}

/** A bucket's start: the date for a day's bucket, else the date and UTC time. */
const when = (b: { at: number; endedAt: number }): string => {
  const iso = new Date(b.at).toISOString();
  return b.endedAt - b.at >= DAY_MS && iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso.replace(':00.000Z', 'Z');
};

/** Rows by bucket, each bucket as wide as asked for (nominalWidth), in time order. */
function bucketsOf(rows: readonly BucketRow[]): Bucket[] {
  const byStart = new Map<string, Bucket>();
  for (const r of rows) {
    const endedAt = r.at + nominalWidth(r.at, r.endedAt);
    const k = `${r.at}/${endedAt}`;
    const b = byStart.get(k) ?? { at: r.at, endedAt, ids: new Set<string>() };
    b.ids.add(r.id);
    byStart.set(k, b);
  }
  return [...byStart.values()].sort((a, b) => a.at - b.at || a.endedAt - b.endedAt);
}

export interface BucketCheck {
  /** Why storing the import would count usage twice; null when it would not. */
  reason: string | null;
  /** Stored rows of buckets the import holds whole, that it no longer has: to remove (`replace` only). */
  drop: string[];
}

/**
 * Whether importing `incoming` beside `stored` (the same source's rows from one bucket width before the import's
 * first bucket to its last) would count usage twice:
 * - two buckets of different spans overlap (another width, or buckets not aligned as before), within the import or
 *   with what is stored: refused, except stored buckets that lie within one of the API's whole answer (`replace`),
 *   whose rows are to be removed;
 * - a bucket already stored comes again without one of its stored rows: grouped otherwise (a report of the same
 *   day again holds every group it held before, with counts that only grow). With `replace` (the API's complete
 *   answer for the bucket) the stored rows it no longer has are to be removed; otherwise (saved responses, which may
 *   hold part of a bucket) refused.
 */
export function checkBuckets(incoming: readonly BucketRow[], stored: readonly BucketRow[], replace: boolean): BucketCheck {
  const refuse = (reason: string): BucketCheck => ({ reason, drop: [] });
  const drop: string[] = [];
  const mine = bucketsOf(incoming);
  for (let i = 1; i < mine.length; i++) {
    const [a, b] = [mine[i - 1]!, mine[i]!];
    if (b.at < a.endedAt) {
      return refuse(`the responses hold ${describeWidth(a.endedAt - a.at)} and ${describeWidth(b.endedAt - b.at)} buckets of the same time (${when(b)}): they would count it twice. Import them separately, each into a database of its own (--db).`);
    }
  }
  for (const s of bucketsOf(stored)) {
    // The import's buckets do not overlap each other: the first one ending after s starts, then on while they start before s ends.
    let lo = 0;
    let hi = mine.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (mine[mid]!.endedAt <= s.at) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < mine.length && mine[i]!.at < s.endedAt; i++) {
      const m = mine[i]!;
      if (replace && s.at >= m.at && s.endedAt <= m.endedAt && (s.at !== m.at || s.endedAt !== m.endedAt)) {
        // Narrower buckets (an hourly file) within one the API answered whole: replaced by it.
        drop.push(...s.ids);
        break;
      }
      if (m.at !== s.at || m.endedAt !== s.endedAt) {
        return refuse(`${when(s)} is already stored in ${describeWidth(s.endedAt - s.at)} buckets and this import has ${describeWidth(m.endedAt - m.at)} buckets from ${when(m)}: storing both would count that time twice. Import it in ${describeWidth(s.endedAt - s.at)} buckets, as stored (goodhart asks the API for 1-day ones), or into a database of its own (--db).`);
      }
      const missing = [...s.ids].filter((id) => !m.ids.has(id));
      if (missing.length > 0 && replace) drop.push(...missing);
      else if (missing.length > 0) {
        return refuse(`${when(s)} is already stored with other groups than this import has (${missing.length} of its ${s.ids.size} stored rows are not in it): the responses were grouped otherwise (group_by), and storing both would count that time twice. Import it grouped as it was first (as goodhart asks the API), or into a database of its own (--db).`);
      }
    }
  }
  return { reason: null, drop };
}
