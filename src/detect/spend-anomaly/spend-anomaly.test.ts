import { describe, expect, it } from 'vitest';
import type { DetectInput } from '../types.js';
import { DAY, HOUR, event, run } from '../testing.js';

const SEP7 = Date.UTC(2026, 8, 7); // a Monday

/** `days` of spend: `perDay(d)` dollars on day d, in 10 requests through the working day. */
function spend(days: number, perDay: (d: number) => number, userId = 'alice'): DetectInput[] {
  const out: DetectInput[] = [];
  for (let d = 0; d < days; d++) {
    const usd = perDay(d);
    if (usd <= 0) continue;
    for (let i = 0; i < 10; i++) out.push({ event: event({ startedAt: SEP7 + d * DAY + 9 * HOUR + i * 30 * 60_000, costUsd: usd / 10, userId, teamId: `team-${userId}`, projectId: `p-${userId}`, modelServed: `model-${userId}` }), fp: null });
  }
  return out;
}

const weekdays = (usd: number) => (d: number): number => (d % 7 < 5 ? usd * (1 + 0.1 * Math.sin(d)) : 0);

describe('spend-anomaly', () => {
  it('flags a day far above the same weekday of the last four weeks', () => {
    const normal = weekdays(10);
    const findings = run('spend-anomaly', spend(36, (d) => (d === 35 ? 160 : normal(d))));
    const user = findings.filter((f) => f.subject.kind === 'user');
    expect(user).toHaveLength(1);
    expect(user[0]!.evidence.ratios['sameWeekdayMedianUsd']).toBeGreaterThan(9);
    expect(user[0]!.evidence.ratios['sameWeekdayMedianUsd']).toBeLessThan(11);
    expect(user[0]!.evidence.ratios['daySpendUsd']).toBeCloseTo(160, 6);
    expect(user[0]!.wastedUsd).toBe(0);
  });

  it('does not flag a heavy user’s busy day (small relative change) nor small money', () => {
    expect(run('spend-anomaly', spend(36, (d) => (d === 35 ? 260 : weekdays(100)(d))))).toEqual([]);
    expect(run('spend-anomaly', spend(36, (d) => (d === 35 ? 12 : weekdays(1)(d))))).toEqual([]);
  });

  it('says someone back after a break had no spend to compare with, not that their usual level is $0.00', () => {
    // Five weeks of weekdays, five weeks away, then a $100 Monday.
    const back = (d: number): number => (d < 35 ? weekdays(10)(d) : d === 70 ? 100 : 0);
    const user = run('spend-anomaly', spend(71, back)).filter((f) => f.subject.kind === 'user');
    expect(user.map((f) => f.summary)).toEqual(['user alice spent $100 on a day after no spend at all in the previous 4 weeks, so with nothing usual to compare it with.']);
    expect(user[0]!.evidence.ratios['sameWeekdayMedianUsd']).toBe(0);
  });

  it('says a weekday that usually has no spend has none, not a usual level of $0.00', () => {
    const saturday = (d: number): number => (d === 33 ? 120 : weekdays(10)(d));
    const user = run('spend-anomaly', spend(36, saturday)).filter((f) => f.subject.kind === 'user');
    expect(user.map((f) => f.summary)).toEqual([expect.stringMatching(/^user alice spent \$120 on a day of the week that usually has no spend \(same weekday, last 4 weeks\) \(robust z \d+\.\d\)\.$/)]);
  });

  it('does not flag weekend work at the usual level', () => {
    const withSaturday = (d: number): number => (d === 33 ? 10 : weekdays(10)(d));
    expect(run('spend-anomaly', spend(36, withSaturday))).toEqual([]);
  });
});
