import { describe, expect, it } from 'vitest';
import type { UsageAggregate } from '../store/types.js';
import { formatAggregatesTable, formatCost, formatCount, formatUsd, toJson, totalOf } from './format.js';

const row = (key: string, overrides: Partial<UsageAggregate> = {}): UsageAggregate => ({
  key,
  requests: 2,
  inputTokens: 1500,
  cacheReadTokens: 1000,
  cacheWrite5mTokens: 200,
  cacheWrite1hTokens: 50,
  outputTokens: 300,
  reasoningTokens: 100,
  costUsd: 0.1,
  unpricedRequests: 0,
  estimatedRequests: 0,
  firstAt: 1_000,
  lastAt: 2_000,
  models: ['gpt-4o'],
  ...overrides,
});

describe('formatCount and formatCost', () => {
  it('groups thousands and prints 4-decimal costs, n/a for unpriced', () => {
    expect(formatCount(1234567)).toBe('1,234,567');
    expect(formatCount(999)).toBe('999');
    expect(formatCost(0.123456, 3, 0)).toBe('0.1235');
    expect(formatCost(0.3, 3, 1)).toBe('0.3000 (+1 n/a)');
    expect(formatCost(0, 3, 3)).toBe('n/a');
    expect(formatCost(0, 0, 0)).toBe('0.0000');
  });

  it('groups the cost column as the token columns, and never shows spend that happened as 0.0000', () => {
    expect(formatCost(2092592.5757, 1, 0)).toBe('2,092,592.5757');
    expect(formatCost(1234.5, 4, 1)).toBe('1,234.5000 (+1 n/a)');
    expect([formatCost(0.00004, 1, 0), formatCost(0.00005, 1, 0), formatCost(-0.00004, 1, 0), formatCost(-1234.5, 1, 0)]).toEqual(['<0.0001', '0.0001', '>-0.0001', '-1,234.5000']);
  });
});

describe('formatUsd', () => {
  it('groups thousands, and shows spend under a cent instead of $0.00', () => {
    expect([formatUsd(259219.4), formatUsd(259219.4, 0), formatUsd(1234.5), formatUsd(0), formatUsd(0.25)]).toEqual(['$259,219.40', '$259,219', '$1,234.50', '$0.00', '$0.25']);
    expect([formatUsd(0.0042), formatUsd(0.0042, 0), formatUsd(0.00001), formatUsd(0.009), formatUsd(-1234.5)]).toEqual(['$0.0042', '$0.0042', '<$0.0001', '$0.0090', '-$1,234.50']);
  });

  it('prints a cent as $0.01 however close below it the amount is, not $0.0100 beside $0.01', () => {
    expect([0.0099975, 0.00995, 0.0099499, 0.0101, -0.0099975].map((n) => formatUsd(n))).toEqual(['$0.01', '$0.01', '$0.0099', '$0.01', '-$0.01']);
  });
});

describe('totalOf', () => {
  it('sums rows and rounds float noise off the cost', () => {
    const total = totalOf([row('a', { costUsd: 0.1, firstAt: 5 }), row('b', { costUsd: 0.2, lastAt: 9_000, models: ['o3'] })]);
    expect(total).toEqual({
      requests: 4,
      inputTokens: 3000,
      cacheReadTokens: 2000,
      cacheWrite5mTokens: 400,
      cacheWrite1hTokens: 100,
      outputTokens: 600,
      reasoningTokens: 200,
      costUsd: 0.3,
      unpricedRequests: 0,
      estimatedRequests: 0,
      firstAt: 5,
      lastAt: 9_000,
      models: ['gpt-4o', 'o3'],
    });
    expect(totalOf([])).toMatchObject({ requests: 0, costUsd: 0, firstAt: null, lastAt: null });
  });
});

describe('formatAggregatesTable', () => {
  it('prints one line per row, a total line, and the unpriced share', () => {
    const out = formatAggregatesTable(
      [row('2025-03-10'), row('2025-03-11', { requests: 4, costUsd: 0.05, unpricedRequests: 1, inputTokens: 1_234_567 })],
      { groupLabel: 'Date' },
    );
    expect(out).toBe(
      [
        '┌────────────┬──────────┬───────────┬────────────┬─────────────────────┬────────┬───────────┬─────────────────┐',
        '│ Date       │ Requests │     Input │ Cache read │ Cache write (5m+1h) │ Output │ Reasoning │        Cost USD │',
        '├────────────┼──────────┼───────────┼────────────┼─────────────────────┼────────┼───────────┼─────────────────┤',
        '│ 2025-03-10 │        2 │     1,500 │      1,000 │                 250 │    300 │       100 │          0.1000 │',
        '├────────────┼──────────┼───────────┼────────────┼─────────────────────┼────────┼───────────┼─────────────────┤',
        '│ 2025-03-11 │        4 │ 1,234,567 │      1,000 │                 250 │    300 │       100 │ 0.0500 (+1 n/a) │',
        '├────────────┼──────────┼───────────┼────────────┼─────────────────────┼────────┼───────────┼─────────────────┤',
        '│ Total      │        6 │ 1,236,067 │      2,000 │                 500 │    600 │       200 │ 0.1500 (+1 n/a) │',
        '└────────────┴──────────┴───────────┴────────────┴─────────────────────┴────────┴───────────┴─────────────────┘',
        'n/a: 1 of 6 requests (16.7%) used models with no known price; their cost is not included.',
      ].join('\n'),
    );
  });

  it('says so when there are no rows', () => {
    expect(formatAggregatesTable([], { groupLabel: 'Date' })).toBe('No usage events match.');
  });
});

describe('toJson', () => {
  it('wraps rows with totals and meta', () => {
    const parsed = JSON.parse(toJson([row('a', { costUsd: 0.1 + 0.2 })], { report: 'daily' })) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(['report', 'rows', 'totals']);
    expect(parsed['rows']).toEqual([row('a', { costUsd: 0.3 })]);
    expect(parsed['totals']).toMatchObject({ requests: 2, costUsd: 0.3 });
  });
});
