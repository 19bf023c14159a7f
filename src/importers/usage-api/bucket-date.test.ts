import { describe, expect, it } from 'vitest';
import { formatWallTime } from '../../report/dates.js';
import { bucketDate, bucketStartOf, dayTag } from './bucket-date.js';

const DAY = 86_400_000;
const dec1 = Date.parse('2026-12-01T00:00:00Z');
const jul1 = Date.parse('2026-07-01T00:00:00Z');
const localDate = (t: number, tz: string): string => formatWallTime(t, tz).slice(0, 10);

describe('a usage report day is dated on its provider date', () => {
  // UTC-12 to UTC+14, with and without daylight saving time.
  const zones = ['Etc/GMT+12', 'Pacific/Pago_Pago', 'Pacific/Honolulu', 'America/Los_Angeles', 'America/New_York', 'America/St_Johns', 'UTC', 'Europe/Berlin', 'Asia/Kolkata', 'Asia/Kathmandu', 'Asia/Tokyo', 'Pacific/Auckland', 'Pacific/Chatham', 'Pacific/Tongatapu', 'Pacific/Kiritimati'];

  it.each(zones)('in the configured zone %s, and in UTC, within the UTC day', (tz) => {
    for (const day of [dec1, jul1]) {
      const t = bucketDate(day, day + DAY, tz);
      expect(t).toBeGreaterThanOrEqual(day);
      expect(t).toBeLessThan(day + DAY);
      expect([localDate(t, tz), localDate(t, 'UTC')]).toEqual([localDate(day, 'UTC'), localDate(day, 'UTC')]);
    }
  });

  it('configured as UTC: at 12:00 UTC, on its date from UTC-12 to UTC+11:59', () => {
    const t = bucketDate(dec1, dec1 + DAY, 'UTC');
    expect(new Date(t).toISOString()).toBe('2026-12-01T12:00:00.000Z');
    for (const tz of ['Etc/GMT+12', 'America/New_York', 'Asia/Tokyo', 'Asia/Magadan']) expect(localDate(t, tz)).toBe('2026-12-01');
  });

  it('keeps the start of narrower buckets, and finds a dated day again by its tag', () => {
    expect(bucketDate(dec1 + 3_600_000, dec1 + 7_200_000, 'America/New_York')).toBe(dec1 + 3_600_000);
    expect(dayTag(dec1 + 3_600_000, dec1 + 7_200_000)).toBeNull();
    expect(dayTag(dec1, dec1 + DAY)).toBe('day=2026-12-01');
    const t = bucketDate(dec1, dec1 + DAY, 'America/New_York');
    expect(new Date(t).toISOString()).toBe('2026-12-01T17:00:00.000Z');
    expect(bucketStartOf({ startedAt: t, tags: ['requests=3', 'day=2026-12-01'] })).toBe(dec1);
    // Stored by an earlier release: at the start of its bucket, untagged.
    expect(bucketStartOf({ startedAt: dec1, tags: ['requests=3'] })).toBe(dec1);
  });
});
