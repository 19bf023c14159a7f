import { describe, expect, it } from 'vitest';
import { forecastSpend, minForecastBasisDays, normalQuantile } from './index.js';

describe('forecastSpend', () => {
  it('projects a steady rate exactly, with a narrow interval', () => {
    const f = forecastSpend({ daily: Array(10).fill(100), periodDays: 30, amount: 5_000 });
    expect(f.spent).toBe(1_000);
    expect(f.projected).toBeCloseTo(3_000, 6);
    expect(f.high - f.low).toBeLessThan(1e-6);
    expect(f.alert).toBe(false);
    expect(f.exhaustion.day).toBeNull();
  });

  it('finds the exhaustion day and alerts when the upper projection crosses the budget', () => {
    const daily = [90, 110, 100, 95, 105, 100, 100, 98, 102, 100];
    const f = forecastSpend({ daily, periodDays: 30, amount: 2_500 });
    expect(f.projected).toBeCloseTo(3_000, 0);
    expect(f.alert).toBe(true);
    // 1,000 spent after 10 days at ~100/day: 2,500 is reached around day 25.
    expect(f.exhaustion.day!).toBeCloseTo(25, 0);
    expect(f.exhaustion.earliest!).toBeLessThanOrEqual(f.exhaustion.day!);
    expect(f.exhaustion.latest!).toBeGreaterThanOrEqual(f.exhaustion.day!);
  });

  it('widens the interval with noisy spend and uses history at the start of a period', () => {
    const noisy = forecastSpend({ daily: [0, 300, 0, 250, 20], periodDays: 30, amount: 10_000 });
    expect(noisy.high - noisy.low).toBeGreaterThan(1_000);
    // Fourteen days at 80, and 50 in the first half of today: 1,170 over 14.5 days.
    const fresh = forecastSpend({ daily: [50], lastDayFraction: 0.5, periodDays: 31, amount: 2_000, history: Array(14).fill(80) });
    expect(fresh.dailyRate).toBeCloseTo(1_170 / 14.5, 9);
    expect(fresh.projected).toBeCloseTo(50 + (1_170 / 14.5) * 30.5, 6);
  });

  it('projects a first day from itself: a daily budget 80% spent by noon by someone new is forecast to run out', () => {
    // No spend in the fortnight before (a new user, team or deployment): those zeros are no evidence of a zero rate.
    const f = forecastSpend({ daily: [8], lastDayFraction: 0.5, periodDays: 1, amount: 10, history: Array(14).fill(0) });
    expect(f.dailyRate).toBeCloseTo(16, 9);
    expect(f.projected).toBeCloseTo(16, 9);
    expect(f.alert).toBe(true);
    expect(f.exhaustion.day).toBeCloseTo(0.63, 2);
    // Not extrapolated from minutes: $1 by 00:30 is taken as $1 in a quarter of a day.
    expect(forecastSpend({ daily: [1], lastDayFraction: 1 / 48, periodDays: 1, amount: 10 }).dailyRate).toBeCloseTo(4, 9);
    // The same on the 15th of a month as on the 1st: the period's own days before the first spend are no evidence either.
    const fifteenth = forecastSpend({ daily: [...Array(14).fill(0), 8], lastDayFraction: 0.5, periodDays: 30, amount: 100, history: Array(14).fill(0) });
    expect(fifteenth.dailyRate).toBe(16);
    // … but half a day of spend is too little to warn about a month (minForecastBasisDays: a day, 6 h of a daily budget).
    expect([fifteenth.basisDays, fifteenth.alert]).toEqual([0.5, false]);
    // Quiet days after the first spend still count as zeros.
    const back = forecastSpend({ daily: [8], lastDayFraction: 0.5, periodDays: 1, amount: 10, history: [0, 0, 20, 0, 0, 0] });
    expect(back.dailyRate).toBeCloseTo(28 / 4.5, 9);
  });

  it('does not alert on minutes of spend: a forecast alert needs a day of observation, or a quarter of a shorter period', () => {
    // A budget with no history: $4.06 in a quarter-hour burst, at 10:45 on the 67th day of a 92-day quarter.
    const burst = forecastSpend({ daily: [...Array(66).fill(0), 4.06], lastDayFraction: 0.45, periodDays: 92, amount: 100, history: Array(14).fill(0) });
    expect(burst.high).toBeGreaterThan(100);
    expect(burst.basisDays).toBeCloseTo(0.45, 9);
    expect(burst.alert).toBe(false);
    // The same spend with two weeks of history behind it is a rate: the alert follows the projection.
    const steady = forecastSpend({ daily: [...Array(66).fill(5), 4.06], lastDayFraction: 0.45, periodDays: 92, amount: 400 });
    expect(steady.basisDays).toBeCloseTo(14.45, 9);
    expect(steady.alert).toBe(true);
    // A daily budget needs 6 hours: $4 by 01:00 is not yet a rate; $8 by noon is (the test above).
    expect(minForecastBasisDays(1)).toBe(0.25);
    expect(forecastSpend({ daily: [4], lastDayFraction: 1 / 24, periodDays: 1, amount: 10 }).alert).toBe(false);
    expect(minForecastBasisDays(7)).toBe(1);
  });

  it('reports an exhausted budget as exhausted now', () => {
    const f = forecastSpend({ daily: [600, 600], periodDays: 7, amount: 1_000 });
    expect(f.exhaustion.day).toBe(2);
    expect(f.alert).toBe(true);
  });

  it('uses correct normal quantiles', () => {
    expect(normalQuantile(0.9)).toBeCloseTo(1.2816, 4);
    expect(normalQuantile(0.975)).toBeCloseTo(1.96, 3);
    expect(normalQuantile(0.5)).toBeCloseTo(0, 9);
  });
});
