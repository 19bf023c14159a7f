import { describe, expect, it } from 'vitest';
import { dayWindows, periodWindow, previousWindows } from './period.js';

const iso = (ms: number) => new Date(ms).toISOString();
const at = (s: string) => Date.parse(s);

describe('period windows in a time zone', () => {
  const tz = 'Europe/Berlin';

  it('a day starts at local midnight, not UTC midnight', () => {
    // 23:30 UTC on 9 March is 00:30 on 10 March in Berlin (UTC+1 in winter).
    const w = periodWindow('day', at('2025-03-09T23:30:00Z'), tz);
    expect(iso(w.start)).toBe('2025-03-09T23:00:00.000Z');
    expect(iso(w.end)).toBe('2025-03-10T23:00:00.000Z');
  });

  it('the day clocks go forward lasts 23 hours, the day they go back 25', () => {
    const spring = periodWindow('day', at('2025-03-30T12:00:00Z'), tz);
    expect((spring.end - spring.start) / 3_600_000).toBe(23);
    const autumn = periodWindow('day', at('2025-10-26T12:00:00Z'), tz);
    expect((autumn.end - autumn.start) / 3_600_000).toBe(25);
  });

  it('weeks start on Monday', () => {
    // Sunday 2025-03-16 22:59 UTC is Sunday 23:59 in Berlin; a minute later it is Monday.
    const sunday = periodWindow('week', at('2025-03-16T22:59:00Z'), tz);
    expect(iso(sunday.start)).toBe('2025-03-09T23:00:00.000Z');
    const monday = periodWindow('week', at('2025-03-16T23:00:00Z'), tz);
    expect(monday.start).toBe(sunday.end);
    expect(iso(monday.end)).toBe('2025-03-23T23:00:00.000Z');
  });

  it('months, quarters and years follow the local calendar across DST', () => {
    const m = periodWindow('month', at('2025-03-31T22:30:00Z'), tz); // 00:30 on 1 April in Berlin
    expect(iso(m.start)).toBe('2025-03-31T22:00:00.000Z');
    expect(iso(m.end)).toBe('2025-04-30T22:00:00.000Z');
    const q = periodWindow('quarter', at('2025-05-15T00:00:00Z'), tz);
    expect(iso(q.start)).toBe('2025-03-31T22:00:00.000Z');
    expect(iso(q.end)).toBe('2025-06-30T22:00:00.000Z');
    const y = periodWindow('year', at('2024-12-31T23:30:00Z'), tz); // already 2025 in Berlin
    expect(iso(y.start)).toBe('2024-12-31T23:00:00.000Z');
    expect(iso(y.end)).toBe('2025-12-31T23:00:00.000Z');
  });

  it('handles zones west of UTC and off the hour', () => {
    const ny = periodWindow('day', at('2025-07-01T03:00:00Z'), 'America/New_York'); // 23:00 on 30 June
    expect(iso(ny.start)).toBe('2025-06-30T04:00:00.000Z');
    const kathmandu = periodWindow('day', at('2025-01-01T00:00:00Z'), 'Asia/Kathmandu'); // +5:45
    expect(iso(kathmandu.start)).toBe('2024-12-31T18:15:00.000Z');
  });

  it('none is all time', () => {
    const w = periodWindow('none', at('2025-01-01T00:00:00Z'), tz);
    expect(w.start).toBe(0);
    expect(w.end).toBe(Number.POSITIVE_INFINITY);
  });

  it('lists previous windows and local days', () => {
    const w = periodWindow('month', at('2025-03-15T00:00:00Z'), tz);
    const prev = previousWindows('month', w, 3, tz).map((x) => iso(x.start));
    expect(prev).toEqual(['2025-01-31T23:00:00.000Z', '2024-12-31T23:00:00.000Z', '2024-11-30T23:00:00.000Z']);
    const days = dayWindows(at('2025-03-29T12:00:00Z'), at('2025-04-01T00:00:00Z'), tz);
    expect(days.map((d) => (d.end - d.start) / 3_600_000)).toEqual([24, 23, 24, 24]);
  });
});
