import { describe, expect, it } from 'vitest';
import type { UsageAggregate } from '../store/types.js';
import { toCsv } from './csv.js';
import { foldWeeks, weekStart } from './weeks.js';

const row = (key: string, over: Partial<UsageAggregate> = {}): UsageAggregate => ({
  key,
  requests: 1,
  inputTokens: 100,
  cacheReadTokens: 0,
  cacheWrite5mTokens: 0,
  cacheWrite1hTokens: 0,
  outputTokens: 10,
  reasoningTokens: 0,
  costUsd: 0.1,
  unpricedRequests: 0,
  estimatedRequests: 0,
  firstAt: Date.parse(`${key}T09:00:00Z`),
  lastAt: Date.parse(`${key}T17:00:00Z`),
  models: ['gpt-4o'],
  ...over,
});

describe('weeks', () => {
  it('starts ISO weeks on Monday, across month and year ends', () => {
    expect(weekStart('2026-10-05')).toBe('2026-10-05'); // a Monday
    expect(weekStart('2026-10-11')).toBe('2026-10-05'); // Sunday
    expect(weekStart('2026-11-01')).toBe('2026-10-26');
    expect(weekStart('2027-01-01')).toBe('2026-12-28');
  });

  it('folds days into weeks, summing every count and merging models', () => {
    const weeks = foldWeeks([
      row('2026-10-04'),
      row('2026-10-05', { costUsd: 0.2, models: ['claude-sonnet-4'] }),
      row('2026-10-11', { requests: 3, unpricedRequests: 1 }),
    ]);
    expect(weeks.map((w) => [w.key, w.requests, Math.round(w.costUsd * 1e9) / 1e9, w.unpricedRequests, w.models])).toEqual([
      ['2026-09-28', 1, 0.1, 0, ['gpt-4o']],
      ['2026-10-05', 4, 0.3, 1, ['claude-sonnet-4', 'gpt-4o']],
    ]);
    expect(weeks[1]!.firstAt).toBe(Date.parse('2026-10-05T09:00:00Z'));
    expect(weeks[1]!.lastAt).toBe(Date.parse('2026-10-11T17:00:00Z'));
  });
});

describe('csv', () => {
  it('writes a header and one line per row, quoting and defusing what needs it', () => {
    const t = Date.parse('2026-10-05T09:00:00Z');
    const csv = toCsv([row('2026-10-05'), row('=HYPERLINK("x"),a', { models: ['a', 'b'], firstAt: t, lastAt: t })], 'team');
    expect(csv.split('\r\n')).toEqual([
      'team,requests,inputTokens,cacheReadTokens,cacheWrite5mTokens,cacheWrite1hTokens,outputTokens,reasoningTokens,costUsd,unpricedRequests,estimatedRequests,firstAt,lastAt,models',
      '2026-10-05,1,100,0,0,0,10,0,0.1,0,0,2026-10-05T09:00:00.000Z,2026-10-05T17:00:00.000Z,gpt-4o',
      `"'=HYPERLINK(""x""),a",1,100,0,0,0,10,0,0.1,0,0,2026-10-05T09:00:00.000Z,2026-10-05T09:00:00.000Z,a b`,
      '',
    ]);
  });
});
