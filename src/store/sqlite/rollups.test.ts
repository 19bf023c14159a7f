import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { UsageEvent } from '../../usage/event.js';
import { makeTestEvent } from '../store-contract.js';
import type { EventFilter, GroupBy, UsageAggregate } from '../types.js';
import { planRollup } from './rollup-plan.js';
import { ROLLUP_TABLES } from './rollups.js';
import { SqliteStore } from './sqlite-store.js';

const at = (iso: string): number => Date.parse(iso);

/** Deterministic pseudo-random numbers (mulberry32), so a failure reproduces. */
function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Ten weeks across month ends and spring DST changes, with null dimensions, unpriced and estimated events. */
function randomEvents(count: number): UsageEvent[] {
  const rand = rng(7);
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const from = at('2025-03-01T00:00:00Z');
  const span = 70 * 24 * 3_600_000;
  return Array.from({ length: count }, (_, i) =>
    makeTestEvent({
      id: `r-${String(i).padStart(5, '0')}`,
      startedAt: from + Math.floor(rand() * span),
      source: pick(['gateway', 'claude-code', 'codex'] as const),
      userId: pick(['alice', 'bob', 'carol', null]),
      teamId: pick(['core', 'data', null]),
      projectId: pick(['web', 'etl', null]),
      sessionId: pick(['s1', 's2', null]),
      modelRequested: pick(['gpt-4o', 'sonnet', null]),
      modelServed: pick(['gpt-4o-2024-08-06', 'claude-sonnet-4', null]),
      inputTokens: Math.floor(rand() * 5000),
      cacheReadTokens: Math.floor(rand() * 1000),
      outputTokens: Math.floor(rand() * 800),
      reasoningTokens: Math.floor(rand() * 200),
      costUsd: rand() < 0.1 ? null : Math.round(rand() * 1e6) / 1e6,
      usageEstimated: rand() < 0.05,
    }),
  );
}

const comparable = (rows: UsageAggregate[]): unknown[] => rows.map((r) => ({ ...r, costUsd: Math.round(r.costUsd * 1e6) / 1e6 }));

/** Requests and cost summed over a whole rollup table. */
function tableTotals(path: string, table: string): { requests: number; cost: number } {
  const db = new Database(path, { readonly: true });
  const row = db.prepare(`SELECT COALESCE(SUM(requests), 0) AS requests, COALESCE(SUM(cost_usd), 0) AS cost FROM ${table}`).get() as { requests: number; cost: number };
  db.close();
  return { requests: row.requests, cost: Math.round(row.cost * 1e6) / 1e6 };
}

describe('SQLite hourly rollups', () => {
  it('plans the smallest level that covers the filter and group: whole UTC days, whole hours, raw partial hours', () => {
    const tables = (p: ReturnType<typeof planRollup>) => p?.parts.map((x) => x.table);
    expect(tables(planRollup('day', {}))).toEqual(['usage_hourly_model']);
    expect(tables(planRollup('day', {}, { utcDays: true }))).toEqual(['usage_daily_model']);
    expect(tables(planRollup('model', { source: 'codex' }))).toEqual(['usage_daily_team']);
    expect(tables(planRollup('team', {}))).toEqual(['usage_daily_team']);
    expect(tables(planRollup('day', { userId: 'bob' }))).toEqual(['usage_hourly']);
    expect(tables(planRollup('project', {}))).toEqual(['usage_daily']);
    expect(planRollup('session', {})).toBeNull();
    expect(planRollup('day', { sessionId: 's1' })).toBeNull();
    expect(planRollup('day', { since: at('2025-04-01T10:05:00Z'), until: at('2025-04-01T10:55:00Z') })).toBeNull();
    expect(planRollup('team', { since: at('2025-04-01T10:05:00Z'), until: at('2025-04-03T05:00:00Z') })).toMatchObject({
      parts: [
        { table: 'usage_daily_team', from: at('2025-04-02T00:00:00Z'), to: at('2025-04-03T00:00:00Z') },
        { table: 'usage_hourly_team', from: at('2025-04-01T11:00:00Z'), to: at('2025-04-02T00:00:00Z') },
        { table: 'usage_hourly_team', from: at('2025-04-03T00:00:00Z'), to: at('2025-04-03T05:00:00Z') },
      ],
      raw: [{ since: at('2025-04-01T10:05:00Z'), until: at('2025-04-01T11:00:00Z') }],
    });
  });

  it('gives the same reports as raw events in every group, filter and time zone, through replays and replacements', async () => {
    const path = `/tmp/gh-rollup-${process.pid}-${Date.now()}.db`;
    const rolled = new SqliteStore(path);
    const raw = new SqliteStore(path, { rollups: false });
    const events = [
      ...randomEvents(3000),
      ...['10:10', '10:30', '10:50'].map((t, i) => makeTestEvent({ id: `hour-${i}`, startedAt: at(`2025-04-01T${t}:00Z`) })),
    ];
    for (let i = 0; i < events.length; i += 500) {
      await rolled.insertEvents(events.slice(i, i + 500));
      // Replays of an overlapping window change nothing.
      await rolled.insertEvents(events.slice(Math.max(0, i - 250), i + 250));
    }
    // An importer replaces stored events (other time, user, tokens, cost): the rollups follow.
    const replaced = events.slice(0, 40).map((e, i) => ({
      ...e,
      startedAt: e.startedAt + (i % 2 === 0 ? 3_600_000 * 30 : 0),
      userId: 'dave',
      inputTokens: e.inputTokens + 10_000,
      outputTokens: e.outputTokens + 1,
      costUsd: i % 3 === 0 ? null : 0.5,
    }));
    const result = await rolled.commitImportBatch({ events: replaced, states: [] });
    expect(result.replaced).toBe(40);

    const since = at('2025-03-20T17:45:30.123Z');
    const until = at('2025-04-28T06:10:00Z');
    const filters: EventFilter[] = [
      {},
      { since, until },
      { since },
      { until },
      { teamId: 'core' },
      { userId: 'bob', since },
      { userId: 'dave' },
      { projectId: 'etl' },
      { model: 'gpt-4o' },
      { model: 'claude-sonnet-4', until },
      { source: 'codex' },
      { sessionId: 's1' },
      { since: at('2025-04-01T10:05:00Z'), until: at('2025-04-01T10:55:00Z') },
    ];
    const zones = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Asia/Kathmandu', 'Australia/Lord_Howe'];
    const groups: GroupBy[] = ['day', 'month', 'team', 'user', 'project', 'model', 'session'];
    let planned = 0;
    for (const groupBy of groups) {
      for (const filter of filters) {
        for (const timeZone of groupBy === 'day' || groupBy === 'month' ? zones : ['UTC']) {
          const label = `${groupBy} ${JSON.stringify(filter)} ${timeZone}`;
          const fromRollup = await rolled.aggregate(groupBy, filter, { timeZone });
          expect(fromRollup.length, label).toBeGreaterThan(0);
          expect(comparable(fromRollup), label).toEqual(comparable(await raw.aggregate(groupBy, filter, { timeZone })));
          if (planRollup(groupBy, filter, { utcDays: timeZone === 'UTC' }) !== null) planned += 1;
        }
      }
    }
    expect(planned).toBeGreaterThan(100);
    const total = (await raw.aggregate('month', {})).reduce((a, r) => ({ requests: a.requests + r.requests, cost: a.cost + r.costUsd }), { requests: 0, cost: 0 });
    for (const table of ROLLUP_TABLES) {
      expect(tableTotals(path, table), table).toEqual({ requests: events.length, cost: Math.round(total.cost * 1e6) / 1e6 });
    }
    await Promise.all([rolled.close(), raw.close()]);
  });

  it('fills the rollups from events stored before the migration', async () => {
    const path = `/tmp/gh-rollup-old-${process.pid}-${Date.now()}.db`;
    const store = new SqliteStore(path);
    await store.insertEvents(randomEvents(200));
    await store.close();
    // Back to schema 4 without rollups, as a database written by the previous release.
    const db = new Database(path);
    for (const table of ROLLUP_TABLES) db.exec(`DROP TABLE ${table}`);
    db.exec('DROP TRIGGER events_rollup_insert; DROP TRIGGER events_rollup_update; DROP TRIGGER events_rollup_delete');
    // …and without what later migrations added (6: live detection's lease).
    db.exec('DROP TABLE detect_live');
    db.pragma('user_version = 4');
    db.close();
    const reopened = new SqliteStore(path);
    const raw = new SqliteStore(path, { rollups: false });
    expect(comparable(await reopened.aggregate('day', {}))).toEqual(comparable(await raw.aggregate('day', {})));
    expect(tableTotals(path, 'usage_hourly').requests).toBe(200);
    await Promise.all([reopened.close(), raw.close()]);
  });
});

describe('day segments', () => {
  it('groups runs of equal-length local days, a DST day on its own', async () => {
    const { DayBuckets } = await import('./day-buckets.js');
    const { daySegments } = await import('./aggregate.js');
    const days = DayBuckets.cover('Europe/Berlin', at('2026-10-23T00:00:00Z'), at('2026-10-28T00:00:00Z'));
    expect(days.labels).toEqual(['2026-10-23', '2026-10-24', '2026-10-25', '2026-10-26', '2026-10-27', '2026-10-28']);
    expect(daySegments(days.starts)).toEqual([
      { start: at('2026-10-22T22:00:00Z'), index: 0, length: 86_400_000 },
      { start: at('2026-10-24T22:00:00Z'), index: 2, length: 90_000_000 }, // 25 hours: clocks go back
      { start: at('2026-10-25T23:00:00Z'), index: 3, length: 86_400_000 },
    ]);
  });
});
