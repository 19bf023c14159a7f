import { describe, expect, it } from 'vitest';
import { fits, formatAmount, headerAmount, hybridAmount, percentOf, percentile, reachedLevel } from './budget-math.js';

describe('budget arithmetic', () => {
  it('a reservation fits when spent + reserved + cost stays within the limit', () => {
    expect(fits(6, 3, 1, 10)).toBe(true);
    expect(fits(6, 3, 1.0001, 10)).toBe(false);
    // A request that costs nothing still needs something left.
    expect(fits(9.99, 0, 0, 10)).toBe(true);
    expect(fits(10, 0, 0, 10)).toBe(false);
  });

  it('finds the highest threshold reached', () => {
    const t = [0.5, 0.8, 1];
    expect(reachedLevel(49.99, 100, t)).toBe(-1);
    expect(reachedLevel(50, 100, t)).toBe(0);
    expect(reachedLevel(99, 100, t)).toBe(1);
    expect(reachedLevel(100, 100, t)).toBe(2);
  });

  it('nearest-rank percentiles and hybrid amounts', () => {
    expect(percentile([], 90)).toBe(0);
    expect(percentile([3, 1, 2], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90)).toBe(9);
    expect(percentile([5, 1, 9, 3, 7, 2, 8, 4], 90)).toBe(9);
    expect(hybridAmount(100, [10, 20, 30, 40, 50, 60, 70, 80], 90)).toBe(180);
  });

  it('formats money and tokens for people and for headers', () => {
    expect(formatAmount('usd', 1234.5)).toBe('$1234.50');
    expect(formatAmount('usd', 0.0301)).toBe('$0.0301');
    expect(formatAmount('usd', 1e295)).toBe('$1.00e+295');
    expect(formatAmount('usd', 0.000301)).toBe('$0.000301');
    expect(formatAmount('usd', 0)).toBe('$0');
    expect(formatAmount('tokens', 1234567.4)).toBe('1,234,567 tokens');
    expect(headerAmount('usd', 12.3456789)).toBe('12.345679');
    expect(headerAmount('usd', -1)).toBe('0.000000');
    expect(headerAmount('tokens', 99.9)).toBe('99');
    expect(percentOf(0.0056, 0.01)).toBe(56);
    expect(percentOf(79.99, 100)).toBe(79);
  });
});
