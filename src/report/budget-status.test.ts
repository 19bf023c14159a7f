import { describe, expect, it } from 'vitest';
import { budgetSchema } from '../policy/config.js';
import { makeTestEvent } from '../store/store-contract.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { budgetStanding, loadBudgetStatuses, runRate } from './budget-status.js';
import { dayLabels } from './series.js';
import { barChart, escapeXml } from './svg-chart.js';

const october = dayLabels(Date.parse('2026-10-01T00:00:00Z'), Date.parse('2026-11-01T00:00:00Z'), 'UTC');

describe('budget standing', () => {
  it('projects a steady $10 a day to the month end and finds the day a $250 budget runs out', () => {
    const s = budgetStanding({ amount: 250, daily: Array(10).fill(10), history: [], periodLabels: october, lastDayFraction: 1 });
    expect(s.spent).toBe(100);
    expect(s.usedPercent).toBe(40);
    expect(s.projection.projected).toBeCloseTo(310, 6);
    // Steady spend has no spread: the interval closes on the projection.
    expect([s.projection.low, s.projection.high].map((v) => Math.round(v))).toEqual([310, 310]);
    expect(s.projection.exhaustionDate).toBe('2026-10-25');
  });

  it('gives a run-rate projection for per-person budgets', () => {
    expect(runRate(30, 100, 10, october)).toEqual({ projected: 93, low: 93, high: 93, exhaustionDate: null, method: 'run-rate', basisDays: 10 });
    expect(runRate(60, 100, 10, october).exhaustionDate).toBe('2026-10-17');
    expect(runRate(120, 100, 10, october).exhaustionDate).toBe('2026-10-10');
  });

  it('lists the most used instances of a per-person budget in its unit, and says how many more there are', async () => {
    const store = new SqliteStore(':memory:');
    const at = Date.parse('2026-10-05T10:00:00Z');
    // Most expensive first is not most tokens first: carol spends the most on the fewest tokens.
    await store.insertEvents([
      makeTestEvent({ userId: 'alice', startedAt: at, inputTokens: 900, outputTokens: 0, costUsd: 1 }),
      makeTestEvent({ userId: 'bob', startedAt: at, inputTokens: 500, outputTokens: 0, costUsd: 2 }),
      makeTestEvent({ userId: 'carol', startedAt: at, inputTokens: 100, outputTokens: 0, costUsd: 9 }),
    ]);
    const budget = budgetSchema.parse({ id: 'per-person', scope: 'user:*', amount: 1000, unit: 'tokens', period: 'month' });
    const statuses = await loadBudgetStatuses({ store, budgets: [budget], now: Date.parse('2026-10-10T00:00:00Z'), timeZone: 'UTC', maxInstances: 2 });
    expect(statuses.map((s) => [s.scope, s.spent])).toEqual([['user:alice', 900], ['user:bob', 500], ['user:* (1 more)', null]]);
    expect(statuses[2]!.note).toBe('1 more instance is not listed; the most used of those has 100 tokens (10%).');
    // The viewer's own instance is listed at its real use, and not counted among those not listed.
    const mine = await loadBudgetStatuses({ store, budgets: [budget], now: Date.parse('2026-10-10T00:00:00Z'), timeZone: 'UTC', maxInstances: 1, always: [{ kind: 'user', id: 'carol' }] });
    expect(mine.map((s) => [s.scope, s.spent])).toEqual([['user:alice', 900], ['user:carol', 100], ['user:* (1 more)', null]]);
    await store.close();
  });

  it('labels the days of a month in a time zone, DST change included', () => {
    expect(october).toHaveLength(31);
    const berlin = dayLabels(Date.parse('2026-10-24T22:00:00Z'), Date.parse('2026-10-26T23:00:00Z'), 'Europe/Berlin');
    expect(berlin).toEqual(['2026-10-25', '2026-10-26']);
  });
});

describe('svg charts', () => {
  it('escape every text and carry the values', () => {
    expect(escapeXml(`<a href="x">&'`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&#39;');
    const svg = barChart({ title: 'Spend <script>', labels: ['01', '02'], values: [1.5, 3], format: (v) => `$${v}` });
    expect(svg).not.toContain('<script>');
    expect([...svg.matchAll(/data-value="([\d.]+)"/g)].map((m) => Number(m[1]))).toEqual([1.5, 3]);
  });
});
