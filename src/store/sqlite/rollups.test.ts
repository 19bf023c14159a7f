import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { UsageEvent } from '../../usage/event.js';
import { makeTestEvent } from '../store-contract.js';
import { eventToRow } from '../rows.js';
import type { EventFilter, GroupBy, UsageAggregate } from '../types.js';
import { planRollup } from './rollup-plan.js';
import { ROLLUP_TABLES } from './rollups.js';
import { SqliteStore } from './sqlite-store.js';
import { createRng as rng } from '../../sim/random.js';

const at = (iso: string): number => Date.parse(iso);

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
    // …and a batch may hold a new event and its better duplicate (a later line of the same message): the second
    // replaces the first before the batch commits, and the rollups count only the second.
    const fresh = makeTestEvent({ id: 'fresh', startedAt: at('2025-04-02T08:00:00Z'), userId: 'erin', inputTokens: 10, outputTokens: 1, costUsd: 0.01 });
    const better = { ...fresh, inputTokens: 900, outputTokens: 90, costUsd: 0.25 };
    const result = await rolled.commitImportBatch({ events: [...replaced, fresh, better], states: [] });
    expect(result).toEqual({ inserted: 1, replaced: 41, metered: 0 });
    expect(await rolled.aggregate('user', { userId: 'erin' })).toMatchObject([{ requests: 1, inputTokens: 900, outputTokens: 90, costUsd: 0.25 }]);
    events.push(better);

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
          // Split by person (a team page's cells, in one query): the same from rollups as from events, and each
          // person's rows are what the same query filtered to that person answers.
          const split = await rolled.aggregate(groupBy, filter, { timeZone, by: 'user' });
          expect(comparable(split), `${label} by user`).toEqual(comparable(await raw.aggregate(groupBy, filter, { timeZone, by: 'user' })));
          const people = new Set(split.map((r) => r.by!));
          expect(people.size, label).toBeGreaterThan(0);
          for (const userId of people) {
            if (userId === '(none)' || (filter.userId !== undefined && filter.userId !== userId)) continue;
            const own = split.filter((r) => r.by === userId).map(({ by: _by, ...r }) => r);
            const alone = await rolled.aggregate(groupBy, { ...filter, userId }, { timeZone });
            const order = (rows: UsageAggregate[]) => [...rows].sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
            expect(comparable(order(own)), `${label} ${userId}`).toEqual(comparable(order(alone)));
          }
        }
      }
    }
    expect(planned).toBeGreaterThan(100);
    const total = (await raw.aggregate('month', {})).reduce((a, r) => ({ requests: a.requests + r.requests, cost: a.cost + r.costUsd }), { requests: 0, cost: 0 });
    for (const table of ROLLUP_TABLES) {
      expect(tableTotals(path, table), table).toEqual({ requests: events.length, cost: Math.round(total.cost * 1e6) / 1e6 });
    }
    await Promise.all([rolled.close(), raw.close()]);
  }, 60_000);

  it('writes the same rollup rows from an import batch (trigger deferred, sums per row) as the insert trigger', async () => {
    const viaTrigger = `/tmp/gh-rollup-trigger-${process.pid}-${Date.now()}.db`;
    const viaBatch = `/tmp/gh-rollup-batch-${process.pid}-${Date.now()}.db`;
    const events = randomEvents(2500);
    // The reference: the insert trigger itself, a row at a time through a plain connection (no store, no deferral).
    await new SqliteStore(viaTrigger).close();
    const a = new Database(viaTrigger);
    const rowOf = (e: UsageEvent) => eventToRow(e) as unknown as Record<string, unknown>;
    const cols = Object.keys(rowOf(events[0]!));
    const insert = a.prepare(`INSERT INTO events (${cols.join(', ')}) VALUES (${cols.map((c) => `@${c}`).join(', ')})`);
    a.transaction(() => events.forEach((e) => insert.run(rowOf(e))))();
    const b = new SqliteStore(viaBatch);
    // Overlapping batches: ids already stored are not counted again; a failed batch leaves nothing behind.
    for (let i = 0; i < events.length; i += 700) expect((await b.commitImportBatch({ events: events.slice(Math.max(0, i - 100), i + 700), states: [] })).replaced).toBe(0);
    const unbindable = { ...makeTestEvent({ id: 'bad', startedAt: at('2025-04-02T09:00:00Z') }), rawUsage: {} as unknown as string };
    const good = makeTestEvent({ id: 'rolled-back', startedAt: at('2025-04-02T09:00:00Z'), costUsd: 7 });
    await expect(b.commitImportBatch({ events: [good, unbindable], states: [] })).rejects.toThrow(/bind/);
    // The gateway's batches sum the same way (and the deferral never outlives a transaction: `a` had none).
    const late = makeTestEvent({ id: 'late', startedAt: at('2025-04-02T09:30:00Z'), costUsd: 0.25 });
    insert.run(rowOf(late));
    await b.insertEvents([late]);
    a.close();
    await b.close();
    const dump = (path: string, table: string): unknown[] => {
      const db = new Database(path, { readonly: true });
      const rows = (db.prepare(`SELECT * FROM ${table} ORDER BY 1, 2, 3, 4, 5, 6, 7`).all() as Record<string, number>[]).map((r) => ({ ...r, cost_usd: Math.round((r.cost_usd ?? 0) * 1e9) }));
      expect(db.prepare('SELECT COUNT(*) AS n FROM rollup_deferred').get()).toEqual({ n: 0 });
      db.close();
      return rows;
    };
    for (const table of ROLLUP_TABLES) {
      const rows = dump(viaBatch, table);
      expect(rows.length, table).toBeGreaterThan(10);
      expect(rows, table).toEqual(dump(viaTrigger, table));
    }
  });

  it('sums runs of one session’s events (same dimensions, hour after hour) as the raw events do', async () => {
    // RollupBatch reuses the last event's row while dimensions and hour stay the same: runs across hour and day ends,
    // with another session's event cutting in now and then.
    const path = `/tmp/gh-rollup-runs-${process.pid}-${Date.now()}.db`;
    const rolled = new SqliteStore(path);
    const raw = new SqliteStore(path, { rollups: false });
    const rand = rng(11);
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    const events: UsageEvent[] = [];
    let t = at('2025-05-01T22:00:00Z');
    const person = () => ({ userId: pick(['alice', 'bob', null]), teamId: pick(['core', null]), projectId: pick(['web', 'etl']), modelRequested: pick(['sonnet', 'opus']), modelServed: pick(['sonnet', 'opus']) });
    for (let run = 0; run < 60; run++) {
      const who = person();
      for (let k = Math.floor(rand() * 30); k >= 0; k--) {
        t += Math.floor(rand() * 10 * 60_000);
        const cut = rand() < 0.1;
        events.push(makeTestEvent({ id: `run-${events.length}`, startedAt: t, ...(cut ? person() : who), inputTokens: Math.floor(rand() * 900), outputTokens: Math.floor(rand() * 90), costUsd: rand() < 0.1 ? null : 0.001 * k }));
      }
    }
    for (let i = 0; i < events.length; i += 200) await rolled.commitImportBatch({ events: events.slice(i, i + 200), states: [] });
    for (const groupBy of ['day', 'user', 'team', 'project', 'model'] as const) {
      expect(comparable(await rolled.aggregate(groupBy, {})), groupBy).toEqual(comparable(await raw.aggregate(groupBy, {})));
    }
    for (const table of ROLLUP_TABLES) expect(tableTotals(path, table).requests, table).toBe(events.length);
    await Promise.all([rolled.close(), raw.close()]);
  });

  it('fills the rollups from events stored before the migration', async () => {
    const path = `/tmp/gh-rollup-old-${process.pid}-${Date.now()}.db`;
    const store = new SqliteStore(path);
    await store.insertEvents(randomEvents(200));
    await store.close();
    // Back to schema 4 without rollups (before migrations 5 and 6), as a database written by an earlier release.
    const db = new Database(path);
    for (const table of ROLLUP_TABLES) db.exec(`DROP TABLE ${table}`);
    db.exec('DROP TRIGGER events_rollup_insert; DROP TRIGGER events_rollup_update; DROP TRIGGER events_rollup_delete');
    db.exec('DROP TABLE rollup_deferred'); // migration 6
    db.exec('ALTER TABLE events DROP COLUMN fallback_from'); // migration 7
    db.exec('DROP TABLE detect_live'); // migration 8
    db.exec('DROP TABLE import_price_book'); // migration 9
    db.exec('ALTER TABLE counter_series DROP COLUMN last_delta'); // migration 10
    db.exec('DROP INDEX idx_events_gateway_request'); // migration 11
    db.exec('DROP TABLE otel_intervals; DROP INDEX idx_events_otel_model_end'); // migration 13
    for (const c of ['audio_input_tokens', 'audio_output_tokens', 'tool_calls']) db.exec(`ALTER TABLE events DROP COLUMN ${c}`); // migration 14
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
