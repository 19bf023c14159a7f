import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { UsageEvent } from '../../usage/event.js';
import { makeTestEvent } from '../store-contract.js';
import type { EventFilter, GroupBy, UsageAggregate } from '../types.js';
import { planRollup } from './rollup-plan.js';
import { ROLLUP_LEVELS } from './rollups.js';
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
  it('plans the smallest level that covers the filter and group, and raw reads for partial hours', () => {
    expect(planRollup('day', {})?.level.table).toBe('usage_hourly_model');
    expect(planRollup('model', { source: 'codex' })?.level.table).toBe('usage_hourly_team');
    expect(planRollup('team', {})?.level.table).toBe('usage_hourly_team');
    expect(planRollup('day', { userId: 'bob' })?.level.table).toBe('usage_hourly');
    expect(planRollup('project', {})?.level.table).toBe('usage_hourly');
    expect(planRollup('session', {})).toBeNull();
    expect(planRollup('day', { sessionId: 's1' })).toBeNull();
    expect(planRollup('day', { since: at('2025-04-01T10:05:00Z'), until: at('2025-04-01T10:55:00Z') })).toBeNull();
    expect(planRollup('day', { since: at('2025-04-01T10:05:00Z'), until: at('2025-04-02T00:00:00Z') })).toMatchObject({
      hourFrom: at('2025-04-01T11:00:00Z'),
      hourTo: at('2025-04-02T00:00:00Z'),
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
          if (planRollup(groupBy, filter) !== null) planned += 1;
        }
      }
    }
    expect(planned).toBeGreaterThan(100);
    const total = (await raw.aggregate('month', {})).reduce((a, r) => ({ requests: a.requests + r.requests, cost: a.cost + r.costUsd }), { requests: 0, cost: 0 });
    for (const level of ROLLUP_LEVELS) {
      expect(tableTotals(path, level.table), level.table).toEqual({ requests: events.length, cost: Math.round(total.cost * 1e6) / 1e6 });
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
    for (const l of ROLLUP_LEVELS) db.exec(`DROP TABLE ${l.table}`);
    db.exec('DROP TRIGGER events_rollup_insert; DROP TRIGGER events_rollup_update; DROP TRIGGER events_rollup_delete');
    db.pragma(`user_version = ${Number(db.pragma('user_version', { simple: true })) - 1}`);
    db.close();
    const reopened = new SqliteStore(path);
    const raw = new SqliteStore(path, { rollups: false });
    expect(comparable(await reopened.aggregate('day', {}))).toEqual(comparable(await raw.aggregate('day', {})));
    expect(tableTotals(path, 'usage_hourly').requests).toBe(200);
    await Promise.all([reopened.close(), raw.close()]);
  });
});
