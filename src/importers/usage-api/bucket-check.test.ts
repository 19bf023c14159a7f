import { describe, expect, it } from 'vitest';
import { bucketKey, checkBuckets, nominalWidth } from './bucket-check.js';

const doubleCountingReason = (incoming: Parameters<typeof checkBuckets>[0], stored: Parameters<typeof checkBuckets>[1]) => checkBuckets(incoming, stored, false).reason;

const D = Date.parse('2026-04-09T00:00:00Z');
const H = 3_600_000;
const row = (id: string, at: number, width: number) => ({ id, at, endedAt: at + width });

describe('bucket check', () => {
  it('keys a daily bucket by its start alone (as stored before) and any other width with it', () => {
    expect(bucketKey(D, D + 24 * H, 'ms')).toBe(String(D));
    expect(bucketKey(D, D + 24 * H, 's')).toBe(String(D / 1000));
    expect(bucketKey(D, D + H, 's')).toBe(`${D / 1000}/3600s`);
    // The current day ended at the time asked for is still the day's bucket.
    expect(bucketKey(D, D + 10 * H + 7 * 60_000, 'ms')).toBe(String(D));
    expect(nominalWidth(D, D + 60_000)).toBe(60_000);
  });

  it('refuses an hourly import of a day stored daily, and the other way round', () => {
    const daily = [row('a', D, 24 * H)];
    const hourly = Array.from({ length: 24 }, (_, i) => row(`h${i}`, D + i * H, H));
    expect(doubleCountingReason(hourly, daily)).toMatch(/^2026-04-09 is already stored in 1-day buckets and this import has 1-hour buckets from 2026-04-09/);
    expect(doubleCountingReason(daily, hourly)).toMatch(/^2026-04-09T00:00Z is already stored in 1-hour buckets and this import has 1-day buckets from 2026-04-09: .* Import it in 1-hour buckets, as stored/);
    // The next day, hourly, is not stored yet: nothing to count twice.
    expect(doubleCountingReason(hourly.map((r) => ({ ...r, at: r.at + 24 * H, endedAt: r.endedAt + 24 * H })), daily)).toBeNull();
  });

  it('refuses a day stored with other groups, and accepts it again with every stored group and new ones', () => {
    const stored = [row('ann', D, 24 * H), row('bob', D, 24 * H)];
    expect(doubleCountingReason([row('ann', D, 24 * H), row('bob', D, 24 * H), row('cy', D, 24 * H)], stored)).toBeNull();
    expect(doubleCountingReason([row('all-users', D, 24 * H)], stored)).toMatch(/other groups than this import has \(2 of its 2 stored rows are not in it\)/);
    // The API's whole answer for the day replaces the rows it no longer has; widths still may not mix.
    expect(checkBuckets([row('all-users', D, 24 * H)], stored, true)).toEqual({ reason: null, drop: ['ann', 'bob'] });
    expect(checkBuckets([row('h0', D, H)], stored, true).reason).toMatch(/already stored in 1-day buckets/);
    // Hours stored from a file, then the API's day: the day replaces them.
    expect(checkBuckets([row('day', D, 24 * H)], [row('h0', D, H), row('h5', D + 5 * H, H)], true)).toEqual({ reason: null, drop: ['h0', 'h5'] });
    // The current day stored while it was under way, read again when complete.
    expect(doubleCountingReason([row('ann', D, 24 * H)], [row('ann', D, 10 * H)])).toBeNull();
  });

  it('refuses responses that hold two widths of the same time', () => {
    expect(doubleCountingReason([row('a', D, 24 * H), row('b', D + 5 * H, H)], [])).toMatch(/hold 1-day and 1-hour buckets of the same time \(2026-04-09T05:00Z\)/);
  });
});
