import { describe, expect, it } from 'vitest';
import { GoodhartError } from '../errors.js';
import { checkTimeZone, formatWallTime, parseDateOption, parseRange } from './dates.js';

const at = (iso: string): number => Date.parse(iso);
const since = (value: string, timeZone = 'UTC'): number => parseDateOption(value, { option: '--since', timeZone });

describe('parseDateOption', () => {
  it('reads YYYY-MM-DD as local midnight in the time zone', () => {
    expect(since('2025-03-10')).toBe(at('2025-03-10T00:00:00Z'));
    expect(since('2025-03-10', 'Europe/Berlin')).toBe(at('2025-03-09T23:00:00Z'));
    expect(since('2025-07-10', 'Europe/Berlin')).toBe(at('2025-07-09T22:00:00Z'));
    expect(since('2025-03-10', 'America/New_York')).toBe(at('2025-03-10T04:00:00Z'));
    expect(since('2025-03-10', 'Asia/Kolkata')).toBe(at('2025-03-09T18:30:00Z'));
  });

  it('makes a YYYY-MM-DD --until include that whole day', () => {
    const until = (v: string, timeZone: string): number => parseDateOption(v, { option: '--until', timeZone, endOfDay: true });
    expect(until('2025-03-10', 'UTC')).toBe(at('2025-03-11T00:00:00Z'));
    expect(until('2025-12-31', 'Asia/Kolkata')).toBe(at('2025-12-31T18:30:00Z'));
    // New York's 9 March 2025 has 23 hours (clocks go forward at 02:00).
    expect(until('2025-03-09', 'America/New_York') - since('2025-03-09', 'America/New_York')).toBe(23 * 3_600_000);
  });

  it('handles a day that starts at 01:00 because clocks jump at midnight', () => {
    // Chile moved clocks forward at 00:00 on 2024-09-08: that day's first instant is 01:00 local (-03).
    expect(since('2024-09-08', 'America/Santiago')).toBe(at('2024-09-08T04:00:00Z'));
  });

  it('accepts ISO timestamps: with Z or an offset exactly, without an offset as wall time in --tz', () => {
    expect(since('2025-03-10T09:15:00Z', 'Asia/Kolkata')).toBe(at('2025-03-10T09:15:00Z'));
    expect(since('2025-03-10T09:15:00.5+05:30')).toBe(at('2025-03-10T03:45:00.500Z'));
    expect(since('2025-03-10T09:15-0800')).toBe(at('2025-03-10T17:15:00Z'));
    expect(since('2025-03-10T09:15', 'Europe/Berlin')).toBe(at('2025-03-10T08:15:00Z'));
    expect(since('2025-03-10 09:15:30', 'UTC')).toBe(at('2025-03-10T09:15:30Z'));
  });

  it('names the option and the expected format in the error', () => {
    for (const bad of ['yesterday', '2025-13-01', '2025-02-30', '2025-3-1', '2025-03-10T25:00Z', '10/03/2025']) {
      const err = (() => {
        try {
          parseDateOption(bad, { option: '--until', timeZone: 'UTC' });
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err).toBeInstanceOf(GoodhartError);
      expect((err as GoodhartError).code).toBe('invalid_request');
      expect((err as GoodhartError).message).toMatch(/^--until: expected YYYY-MM-DD .* got "/);
    }
  });
});

describe('parseRange', () => {
  it('rejects since at or after until', () => {
    expect(() => parseRange({ since: '2025-03-11', until: '2025-03-10', timeZone: 'UTC' })).toThrow(/must be before --until/);
    expect(parseRange({ since: '2025-03-10', until: '2025-03-10', timeZone: 'UTC' })).toEqual({
      since: at('2025-03-10T00:00:00Z'),
      until: at('2025-03-11T00:00:00Z'),
    });
  });
});

describe('time zones', () => {
  it('rejects an unknown zone, naming the option', () => {
    expect(() => checkTimeZone('Mars/Olympus')).toThrow(/^--tz: unknown time zone "Mars\/Olympus"/);
    expect(checkTimeZone('Asia/Kathmandu')).toBe('Asia/Kathmandu');
  });

  it('formats wall time in a zone', () => {
    expect(formatWallTime(at('2025-03-10T23:30:00Z'), 'Europe/Berlin')).toBe('2025-03-11 00:30:00');
    expect(formatWallTime(at('2025-03-10T00:00:00Z'), 'UTC')).toBe('2025-03-10 00:00:00');
  });
});
