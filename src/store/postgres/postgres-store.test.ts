/**
 * The Postgres store against the machine's real PostgreSQL (CI's .ci/run starts it). Each store gets its own
 * new schema `gh_test_<random>_<n>`, set as the connection's search_path, and every schema is dropped at the end.
 * An unreachable server fails the file with a message saying how to start one: these tests never skip.
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UsageEvent } from '../../usage/event.js';
import { openStore } from '../open.js';
import { SqliteStore } from '../sqlite/sqlite-store.js';
import { AUDIT_CONTRACT, makeTestEvent, runStoreContract } from '../store-contract.js';
import { supportsImports, type EventFilter, type GroupBy, type ImportFileState, type UsageAggregate } from '../types.js';
import { aggregateSql } from './aggregate-sql.js';
import { MIGRATIONS } from './migrations.js';
import { PostgresStore, redactUrl, type PostgresStoreOptions } from './postgres-store.js';
import { createRng as rng } from '../../sim/random.js';

const PG_URL = process.env['GOODHART_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const RUN = `gh_test_${randomBytes(4).toString('hex')}`;
const schemas: string[] = [];
let admin: postgres.Sql;

beforeAll(async () => {
  admin = postgres(PG_URL, { max: 2, connect_timeout: 5, onnotice: () => {} });
  try {
    await admin`SELECT 1`;
  } catch (cause) {
    await admin.end({ timeout: 1 }).catch(() => {});
    throw new Error(
      `PostgreSQL is not reachable at ${redactUrl(PG_URL)} (${String(cause)}). The Postgres store tests need a real ` +
        'server: start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` ' +
        '(as .ci/run does), or point GOODHART_TEST_PG_URL at one.',
    );
  }
});

afterAll(async () => {
  if (admin === undefined) return;
  for (const schema of schemas) await admin`DROP SCHEMA IF EXISTS ${admin(schema)} CASCADE`;
  await admin.end({ timeout: 5 });
});

async function freshSchema(): Promise<string> {
  const schema = `${RUN}_${schemas.length + 1}`;
  schemas.push(schema);
  await admin`CREATE SCHEMA ${admin(schema)}`;
  return schema;
}

const openIn = (schema: string, opts: PostgresStoreOptions = {}): Promise<PostgresStore> =>
  PostgresStore.open(PG_URL, { searchPath: schema, ...opts });

runStoreContract('postgres', async () => openIn(await freshSchema()));

const at = (iso: string): number => Date.parse(iso);

/** Which table each event row sits in, as { partition: count }. */
async function rowsByPartition(schema: string): Promise<Record<string, number>> {
  const rows = await admin<{ part: string; n: string }[]>`
    SELECT tableoid::regclass::text AS part, count(*) AS n FROM ${admin(schema)}.events GROUP BY 1`;
  return Object.fromEntries(rows.map((r) => [r.part.replace(`${schema}.`, ''), Number(r.n)]));
}

async function partitionNames(schema: string): Promise<string[]> {
  const rows = await admin<{ relname: string }[]>`
    SELECT c.relname FROM pg_inherits i
      JOIN pg_class c ON c.oid = i.inhrelid
      JOIN pg_class p ON p.oid = i.inhparent
      JOIN pg_namespace n ON n.oid = p.relnamespace
    WHERE p.relname = 'events' AND n.nspname = ${schema}
    ORDER BY 1`;
  return rows.map((r) => r.relname);
}

/** Totals of the whole rollup table, to check that replays never double count. */
async function rollupTotals(schema: string): Promise<{ requests: number; input: number; cost: number }> {
  const [row] = await admin<{ requests: string; input: string; cost: number }[]>`
    SELECT COALESCE(sum(requests), 0) AS requests, COALESCE(sum(input_tokens), 0) AS input,
      COALESCE(sum(cost_usd), 0)::float8 AS cost
    FROM ${admin(schema)}.usage_hourly`;
  return { requests: Number(row?.requests), input: Number(row?.input), cost: Math.round((row?.cost ?? 0) * 1e9) / 1e9 };
}

describe('PostgresStore', () => {
  it('migrates once when two stores open the same new schema at the same moment', async () => {
    const schema = await freshSchema();
    const stores = await Promise.all([openIn(schema), openIn(schema), openIn(schema)]);
    const applied = await admin<{ version: number }[]>`
      SELECT version FROM ${admin(schema)}.schema_migrations ORDER BY version`;
    expect(applied.map((r) => r.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    // All three work on the one schema.
    expect(await stores[0]!.insertEvents([makeTestEvent({ id: 'm1' })])).toBe(1);
    expect(await stores[1]!.insertEvents([makeTestEvent({ id: 'm1' })])).toBe(0);
    expect((await stores[2]!.listEvents({})).map((e) => e.id)).toEqual(['m1']);
    await Promise.all(stores.map((s) => s.close()));
    // Reopening finds nothing to apply.
    const again = await openIn(schema);
    const [count] = await admin<{ n: string }[]>`SELECT count(*) AS n FROM ${admin(schema)}.schema_migrations`;
    expect(Number(count?.n)).toBe(MIGRATIONS.length);
    await again.close();
  });

  it('refuses a schema from a newer goodhart', async () => {
    const schema = await freshSchema();
    await (await openIn(schema)).close();
    await admin`INSERT INTO ${admin(schema)}.schema_migrations (version) VALUES (${MIGRATIONS.length + 1})`;
    await expect(openIn(schema)).rejects.toThrow(/newer than this goodhart supports/);
  });

  it('puts each event in its month partition across a month boundary, creating partitions on demand', async () => {
    const schema = await freshSchema();
    const store = await openIn(schema);
    await store.insertEvents([
      makeTestEvent({ id: 'dec', startedAt: at('2024-12-15T12:00:00Z') }),
      makeTestEvent({ id: 'jan-last', startedAt: at('2025-01-31T23:59:59.999Z') }),
      makeTestEvent({ id: 'feb-first', startedAt: at('2025-02-01T00:00:00.000Z') }),
    ]);
    expect(await rowsByPartition(schema)).toEqual({ events_p202412: 1, events_p202501: 1, events_p202502: 1 });
    expect(await partitionNames(schema)).toEqual(expect.arrayContaining(['events_default', 'events_p202412', 'events_p202501', 'events_p202502']));
    // Reports read across partitions; Berlin puts 23:59 UTC on 31 January into February.
    expect((await store.aggregate('month', {}, { timeZone: 'Europe/Berlin' })).map((r) => [r.key, r.requests])).toEqual([
      ['2024-12', 1],
      ['2025-02', 2],
    ]);
    expect((await store.listEvents({ since: at('2025-01-31T23:59:59.999Z'), limit: 5 })).map((e) => e.id)).toEqual(['jan-last', 'feb-first']);
    await store.close();
  });

  it('creates the same new partitions from two stores at once without error', async () => {
    const schema = await freshSchema();
    const [a, b] = await Promise.all([openIn(schema), openIn(schema)]);
    const months = ['2023-01', '2023-02', '2023-03', '2023-04', '2023-05', '2023-06'];
    const batch = (tag: string): UsageEvent[] =>
      months.map((m) => makeTestEvent({ id: `${tag}-${m}`, startedAt: at(`${m}-10T00:00:00Z`) }));
    const inserted = await Promise.all([a!.insertEvents(batch('a')), b!.insertEvents(batch('b'))]);
    expect(inserted).toEqual([6, 6]);
    const parts = await rowsByPartition(schema);
    expect(Object.keys(parts).sort()).toEqual(months.map((m) => `events_p${m.replace('-', '')}`));
    expect(Object.values(parts)).toEqual([2, 2, 2, 2, 2, 2]);
    await a!.close();
    await b!.close();
  });

  it('moves rows that reached the default partition into the month partition when it is created', async () => {
    const schema = await freshSchema();
    const store = await openIn(schema);
    // A row written behind the store's back, in a month that has no partition yet, lands in the default one.
    await admin`INSERT INTO ${admin(schema)}.events (id, source, started_at, ended_at, provider, endpoint, status)
      VALUES ('stray', 'gateway', ${at('2030-05-05T00:00:00Z')}, ${at('2030-05-05T00:00:01Z')}, 'openai', 'other', 200)`;
    expect(await rowsByPartition(schema)).toEqual({ events_default: 1 });
    expect(await store.insertEvents([makeTestEvent({ id: 'may', startedAt: at('2030-05-20T00:00:00Z') })])).toBe(1);
    expect(await rowsByPartition(schema)).toEqual({ events_p203005: 2 });
    await store.close();
  });

  it('ignores a replayed batch, also when two stores replay it at once, and never double counts the rollup', async () => {
    const schema = await freshSchema();
    const [a, b] = await Promise.all([openIn(schema), openIn(schema)]);
    const batch = Array.from({ length: 300 }, (_, i) =>
      makeTestEvent({ startedAt: at('2025-06-01T00:00:00Z') + i * 60_000, inputTokens: 10, costUsd: 0.5 }),
    );
    expect(await a!.insertEvents(batch.slice(0, 100))).toBe(100);
    const first = await rollupTotals(schema);
    expect(first).toEqual({ requests: 100, input: 1000, cost: 50 });
    expect(await a!.insertEvents(batch.slice(0, 100))).toBe(0);
    expect(await rollupTotals(schema)).toEqual(first);
    // Both replicas flush the whole batch concurrently: each event is inserted (and counted) exactly once.
    const counts = await Promise.all([a!.insertEvents(batch), b!.insertEvents([...batch].reverse())]);
    expect(counts[0] + counts[1]).toBe(200);
    expect(await rollupTotals(schema)).toEqual({ requests: 300, input: 3000, cost: 150 });
    expect(await a!.listEvents({})).toHaveLength(300);
    const [day] = await b!.aggregate('day', {});
    expect(day).toMatchObject({ key: '2025-06-01', requests: 300, inputTokens: 3000, costUsd: 150 });
    await a!.close();
    await b!.close();
  });

  it('opens from a postgres:// URL through openStore, with the schema from ?search_path=', async () => {
    const schema = await freshSchema();
    const url = `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}search_path=${schema}`;
    const store = await openStore(url);
    expect(store.kind).toBe('postgres');
    expect(await store.insertEvents([makeTestEvent()])).toBe(1);
    await store.close();
    const [row] = await admin<{ n: string }[]>`SELECT count(*) AS n FROM ${admin(schema)}.events`;
    expect(Number(row?.n)).toBe(1);
  });
});

describe('hourly rollup', () => {

  /**
   * Events over ten weeks spanning month ends and the spring DST changes of Europe, America and Lord Howe
   * (+10:30/+11), with null dimensions, unpriced and estimated events.
   */
  function randomEvents(count: number): UsageEvent[] {
    const rand = rng(42);
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    const from = at('2025-03-01T00:00:00Z');
    const span = 70 * 24 * 3_600_000;
    return Array.from({ length: count }, (_, i) => {
      const modelServed = pick(['gpt-4o-2024-08-06', 'claude-sonnet-4', null]);
      return makeTestEvent({
        id: `r-${String(i).padStart(5, '0')}`,
        startedAt: from + Math.floor(rand() * span),
        source: pick(['gateway', 'claude-code', 'codex'] as const),
        provider: pick(['openai', 'anthropic']),
        userId: pick(['alice', 'bob', 'carol', null]),
        teamId: pick(['core', 'data', null]),
        projectId: pick(['web', 'etl', null]),
        sessionId: pick(['s1', 's2', null]),
        modelRequested: pick(['gpt-4o', 'sonnet', null]),
        modelServed,
        inputTokens: Math.floor(rand() * 5000),
        cacheReadTokens: Math.floor(rand() * 1000),
        cacheWrite5mTokens: Math.floor(rand() * 100),
        cacheWrite1hTokens: Math.floor(rand() * 50),
        outputTokens: Math.floor(rand() * 800),
        reasoningTokens: Math.floor(rand() * 200),
        costUsd: rand() < 0.1 ? null : Math.round(rand() * 1e6) / 1e6,
        usageEstimated: rand() < 0.05,
      });
    });
  }

  /** Every field, with cost rounded: sums in another order may differ in the last bits of a double. */
  const comparable = (rows: UsageAggregate[]): unknown[] =>
    rows.map((r) => ({ ...r, costUsd: Math.round(r.costUsd * 1e6) / 1e6 }));

  it('gives the same reports as raw events and as SQLite, in every group, filter and time zone', async () => {
    const schema = await freshSchema();
    const rolled = await openIn(schema);
    const raw = await openIn(schema, { rollups: false });
    const sqlite = new SqliteStore(':memory:');
    const events = [
      ...randomEvents(4000),
      // So that the range inside one hour (read raw) has events too.
      ...['10:10', '10:30', '10:50'].map((t, i) => makeTestEvent({ id: `hour-${i}`, startedAt: at(`2025-04-01T${t}:00Z`) })),
    ];
    for (let i = 0; i < events.length; i += 500) {
      const batch = events.slice(i, i + 500);
      await rolled.insertEvents(batch);
      await sqlite.insertEvents(batch);
      // Replays of an overlapping window must change nothing.
      await rolled.insertEvents(events.slice(Math.max(0, i - 250), i + 250));
    }
    const since = at('2025-03-20T17:45:30.123Z');
    const until = at('2025-04-28T06:10:00Z');
    const filters: EventFilter[] = [
      {},
      { since, until },
      { since },
      { until },
      { teamId: 'core' },
      { userId: 'bob', since },
      { projectId: 'etl' },
      { model: 'gpt-4o' },
      { model: 'claude-sonnet-4', until },
      { source: 'codex' },
      { sessionId: 's1' },
      { since: at('2025-04-01T10:05:00Z'), until: at('2025-04-01T10:55:00Z') },
    ];
    const zones = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Asia/Kathmandu', 'Australia/Lord_Howe'];
    const groups: GroupBy[] = ['day', 'month', 'team', 'user', 'project', 'model', 'session'];
    let rollupPlans = 0;
    for (const groupBy of groups) {
      for (const filter of filters) {
        for (const timeZone of groupBy === 'day' || groupBy === 'month' ? zones : ['UTC']) {
          const label = `${groupBy} ${JSON.stringify(filter)} ${timeZone}`;
          const fromRollup = await rolled.aggregate(groupBy, filter, { timeZone });
          expect(fromRollup.length, label).toBeGreaterThan(0);
          expect(comparable(fromRollup), label).toEqual(comparable(await raw.aggregate(groupBy, filter, { timeZone })));
          expect(comparable(fromRollup), label).toEqual(comparable(await sqlite.aggregate(groupBy, filter, { timeZone })));
          if (aggregateSql(groupBy, filter, { timeZone, rollups: true }).usesRollup) rollupPlans += 1;
          // Split by a second key: the same three ways, and the pairs add up to the group.
          for (const by of timeZone === 'UTC' ? (['user', 'team'] as const) : (['user'] as const)) {
            const split = await rolled.aggregate(groupBy, filter, { timeZone, by });
            expect(comparable(split), `${label} by ${by}`).toEqual(comparable(await raw.aggregate(groupBy, filter, { timeZone, by })));
            expect(comparable(split), `${label} by ${by}`).toEqual(comparable(await sqlite.aggregate(groupBy, filter, { timeZone, by })));
            const requests = new Map<string, number>();
            for (const r of split) requests.set(r.key, (requests.get(r.key) ?? 0) + r.requests);
            expect(Object.fromEntries(requests), `${label} by ${by}`).toEqual(Object.fromEntries(fromRollup.map((r) => [r.key, r.requests])));
          }
        }
      }
    }
    // Most of the comparisons above really read the rollup.
    expect(rollupPlans).toBeGreaterThan(100);
    expect((await rollupTotals(schema)).requests).toBe(events.length);
    await Promise.all([rolled.close(), raw.close(), sqlite.close()]);
  }, 60_000);
});

describe('audit mode (imports, counters, outcomes)', () => {
  const state = (over: Partial<ImportFileState> = {}): ImportFileState => ({
    source: 'claude-code',
    path: '/logs/a.jsonl',
    offset: 100,
    size: 100,
    inode: 42,
    mtimeMs: 1.5,
    headHash: 'ab',
    headBytes: 100,
    context: null,
    updatedAt: 7,
    ...over,
  });

  it.each(AUDIT_CONTRACT)('%s', async (_title, check) => {
    await check(await openIn(await freshSchema()));
  });

  it('keeps the better of two events with one id, across start times and partitions, and the rollup with it', async () => {
    const schema = await freshSchema();
    const store = await openIn(schema);
    const raw = await openIn(schema, { rollups: false });
    expect(supportsImports(store)).toBe(true);
    // Claude Code writes several lines per response, each with its own timestamp: one event id, many start times.
    const base = { id: 'cc-1', source: 'claude-code' as const, inputTokens: 100, outputTokens: 5 };
    const jan = at('2025-01-31T23:59:00Z');
    const feb = at('2025-02-01T00:01:00Z');
    expect(await store.commitImportBatch({ events: [makeTestEvent({ ...base, startedAt: jan, tags: ['sidechain'], outputTokens: 900 })], states: [] })).toEqual({ inserted: 1, replaced: 0, metered: 0 });
    // A main-chain line beats a sidechain one even with fewer tokens; it also moves the event to February.
    expect(await store.commitImportBatch({ events: [makeTestEvent({ ...base, startedAt: feb, outputTokens: 20, modelServed: 'other' })], states: [] })).toEqual({ inserted: 0, replaced: 1, metered: 0 });
    // A smaller main-chain line, and any sidechain line, are ignored.
    expect(await store.commitImportBatch({ events: [makeTestEvent({ ...base, outputTokens: 10 }), makeTestEvent({ ...base, tags: ['sidechain'], outputTokens: 5000 })], states: [] })).toEqual({ inserted: 0, replaced: 0, metered: 0 });
    // Within one batch: the first line of a new id is inserted, a better later line replaces it.
    expect(await store.commitImportBatch({
      events: [
        makeTestEvent({ ...base, startedAt: feb + 1000, outputTokens: 50, costUsd: 0.5 }),
        makeTestEvent({ id: 'cc-2', startedAt: feb, outputTokens: 1 }),
        makeTestEvent({ id: 'cc-2', startedAt: feb + 5, outputTokens: 2, costUsd: null }),
      ],
      states: [],
    })).toEqual({ inserted: 1, replaced: 2, metered: 0 });
    const events = await store.listEvents({});
    expect(events.map((e) => [e.id, e.startedAt, e.outputTokens, e.tags])).toEqual([
      ['cc-2', feb + 5, 2, []],
      ['cc-1', feb + 1000, 50, []],
    ]);
    expect(await rowsByPartition(schema)).toEqual({ events_p202502: 2 });
    // The rollup followed every replacement: same numbers, first and last times as from raw events.
    for (const g of ['day', 'model', 'team'] as const) {
      expect(await store.aggregate(g, {}), g).toEqual(await raw.aggregate(g, {}));
    }
    expect(await rollupTotals(schema)).toEqual({ requests: 2, input: 200, cost: 0.5 });
    // A log line with U+0000 in its text (Postgres refuses it): stored without it, replaced by a better line, and the
    // rollup follows (it is keyed by the same text).
    const nul = { id: 'cc-3', source: 'claude-code' as const, userId: 'u\u0000x', modelRequested: 'm\u0000', startedAt: feb, outputTokens: 3 };
    expect(await store.commitImportBatch({ events: [makeTestEvent(nul)], states: [] })).toEqual({ inserted: 1, replaced: 0, metered: 0 });
    expect(await store.commitImportBatch({ events: [makeTestEvent({ ...nul, outputTokens: 30 })], states: [] })).toEqual({ inserted: 0, replaced: 1, metered: 0 });
    expect((await store.aggregate('user', {})).find((r) => r.key === 'ux')?.outputTokens).toBe(30);
    for (const g of ['user', 'model'] as const) expect(await store.aggregate(g, {}), g).toEqual(await raw.aggregate(g, {}));
    await store.close();
    await raw.close();
  });

  it('stores file states with the batch and replaces them', async () => {
    const store = await openIn(await freshSchema());
    await store.commitImportBatch({ events: [], states: [state()] });
    await store.commitImportBatch({ events: [makeTestEvent()], states: [state({ offset: 250, size: 300, context: '{"m":"x"}' })] });
    expect(await store.getImportState('claude-code', '/logs/a.jsonl')).toEqual(state({ offset: 250, size: 300, context: '{"m":"x"}' }));
    expect(await store.getImportState('codex', '/logs/a.jsonl')).toBeUndefined();
    expect(await store.listImportStates('claude-code')).toHaveLength(1);
    await store.close();
  });

  it('turns cumulative points into increases; replays, resets and restarts', async () => {
    const store = await openIn(await freshSchema());
    const p = (timeNs: string, value: number, startTimeNs = '1000') => ({ seriesKey: 's', startTimeNs, timeNs, value });
    expect(await store.advanceCounters([p('2000', 10), p('3000', 15)])).toEqual([10, 5]);
    expect(await store.advanceCounters([p('2000', 10), p('3000', 15), p('2500', 12)])).toEqual([0, 5, 0]);
    expect(await store.advanceCounters([p('4000', 3)])).toEqual([3]);
    // A new start time (a restart, or another sender with the same attributes) is a series of its own.
    expect(await store.advanceCounters([p('6000', 7, '5000'), p('4500', 20)])).toEqual([7, 17]);
    // A point twice in one call counts once; the same again in the next call gives its increase again.
    expect(await store.advanceCounters([p('7000', 9, '5000'), p('7000', 9, '5000')])).toEqual([2, 0]);
    expect(await store.advanceCounters([p('7000', 9, '5000')])).toEqual([2]);
    // Two senders with the same attributes taking turns: each series moves on its own, nothing is lost or counted
    // twice, and the last point of either sent again gives its increase again.
    const q = (startTimeNs: string, timeNs: string, value: number) => ({ seriesKey: 't', startTimeNs, timeNs, value });
    expect(await store.advanceCounters([q('100', '200', 4), q('150', '250', 10), q('100', '300', 6), q('150', '350', 11), q('100', '300', 6)])).toEqual([4, 10, 2, 1, 0]);
    expect(await store.advanceCounters([q('150', '350', 11), q('100', '300', 6)])).toEqual([1, 2]);
    const big = '1763900000000000001';
    expect(await store.advanceCounters([{ seriesKey: 'b', startTimeNs: '1', timeNs: big, value: 1 }, { seriesKey: 'b', startTimeNs: '1', timeNs: '1763900000000000002', value: 4 }])).toEqual([1, 3]);
    // Series keys with U+0000 from an attribute (Postgres refuses it in text), or too long for an index entry, are kept
    // as their hash: each still its own series.
    const r = rng(5);
    const noise = Array.from({ length: 20_000 }, () => String.fromCharCode(33 + Math.floor(r() * 89))).join('');
    const long = (c: string) => noise + c;
    for (const key of ['n\u0000', 'n', long('a'), long('b')]) {
      expect(await store.advanceCounters([{ seriesKey: key, startTimeNs: '1', timeNs: '10', value: 4 }]), key.slice(0, 3)).toEqual([4]);
      expect(await store.advanceCounters([{ seriesKey: key, startTimeNs: '1', timeNs: '20', value: 9 }]), key.slice(0, 3)).toEqual([5]);
    }
    await store.close();
  });

  it('keeps counting the series stored before they were told apart by start time', async () => {
    const schema = await freshSchema();
    await (await openIn(schema)).close();
    // Back to the schema before: one row per series key.
    await admin.unsafe(`SET search_path TO ${schema};
      ALTER TABLE counter_series DROP CONSTRAINT counter_series_pkey, ADD PRIMARY KEY (series_key);
      INSERT INTO counter_series VALUES ('s', '1000', '3000', 15, 5);
      DROP TABLE otel_intervals;
      DROP INDEX idx_events_otel_model_end;
      ALTER TABLE events DROP COLUMN audio_input_tokens, DROP COLUMN audio_output_tokens, DROP COLUMN tool_calls;
      DELETE FROM schema_migrations WHERE version >= ${MIGRATIONS.findIndex((m) => m.includes('ADD PRIMARY KEY (series_key, start_time_ns)')) + 1};
      RESET search_path;`);
    const store = await openIn(schema);
    expect(await store.advanceCounters([{ seriesKey: 's', startTimeNs: '1000', timeNs: '3000', value: 15 }])).toEqual([5]);
    expect(await store.advanceCounters([{ seriesKey: 's', startTimeNs: '1000', timeNs: '4000', value: 22 }])).toEqual([7]);
    expect(await store.advanceCounters([{ seriesKey: 's', startTimeNs: '2000', timeNs: '4000', value: 4 }])).toEqual([4]);
    await store.close();
  });

  it('counts each increase once when two stores receive the same points at once', async () => {
    const schema = await freshSchema();
    const [a, b] = await Promise.all([openIn(schema), openIn(schema)]);
    const points = Array.from({ length: 20 }, (_, i) => ({ seriesKey: `k${i % 4}`, startTimeNs: '1', timeNs: String(100 + i), value: i }));
    const [da, db] = await Promise.all([a!.advanceCounters(points), b!.advanceCounters([...points].reverse())]);
    // Downstream a point's increase is an event whose id comes from the point: counted once per point, however many
    // stores saw it. Each point has one increase wherever it is not 0, and each series ends at its last value.
    const byPoint = new Map<string, number>();
    for (const [i, d] of [...da!.map((d, i) => [i, d] as const), ...db!.map((d, i) => [points.length - 1 - i, d] as const)]) {
      if (d === 0) continue;
      const k = `${points[i]!.seriesKey}@${points[i]!.timeNs}`;
      expect(byPoint.get(k) ?? d, k).toBe(d);
      byPoint.set(k, d);
    }
    expect([...byPoint.values()].reduce((x, y) => x + y, 0)).toBe(16 + 17 + 18 + 19);
    await a!.close();
    await b!.close();
  });

  it('inserts outcomes idempotently and filters them', async () => {
    const store = await openIn(await freshSchema());
    const o = { id: 'o1', kind: 'commit' as const, userId: 'ann', teamId: 'core', repo: null, sessionId: 's', at: 1000, count: 2, source: 'otel' as const, attrs: { model: 'x' } };
    expect(await store.insertOutcomes([o, { ...o, id: 'o2', kind: 'pull_request', at: 2000, count: 1 }])).toBe(2);
    expect(await store.insertOutcomes([o])).toBe(0);
    expect(await store.listOutcomes({ kind: 'commit' })).toEqual([o]);
    expect((await store.listOutcomes({ since: 1500 })).map((x) => x.id)).toEqual(['o2']);
    // U+0000 from a payload (Postgres refuses it in text and jsonb) is dropped, not a failed batch.
    expect(await store.insertOutcomes([{ ...o, id: 'o3', sessionId: 's\u0000', attrs: { model: 'x\u0000y', 'k\u0000': 'lone \ud800' }, tickets: ['T\u0000-1'] }])).toBe(1);
    expect((await store.listOutcomes({ kind: 'commit' })).find((x) => x.id === 'o3')).toMatchObject({ sessionId: 's', attrs: { model: 'xy', k: 'lone \ufffd' }, tickets: ['T-1'] });
    await store.close();
  });

  it('keeps the shipped-work fields of outcomes (git, webhooks)', async () => {
    const store = await openIn(await freshSchema());
    const shipped = {
      id: 'c1', kind: 'commit' as const, userId: 'ann', teamId: 'core', repo: 'github.com/acme/app', sessionId: null,
      at: 5000, count: 1, source: 'git' as const, attrs: {}, projectId: 'app', branch: 'feat/PROJ-7', sha: 'a'.repeat(40),
      prNumber: 12, tickets: ['PROJ-7'], linesAdded: 30, linesRemoved: 4, filesChanged: 3, aiCoAuthored: true,
      aiTools: ['claude'], revertsSha: 'b'.repeat(40),
    };
    // Mixed batch: unknown fields stay absent, false stays false, every shipped-work field round-trips.
    const plain = { ...shipped, id: 'c2', at: 6000, aiCoAuthored: false, projectId: undefined, branch: undefined, sha: undefined, prNumber: undefined, tickets: undefined, linesAdded: undefined, linesRemoved: undefined, filesChanged: undefined, aiTools: undefined, revertsSha: undefined };
    expect(await store.insertOutcomes([shipped, plain])).toBe(2);
    const [a, b] = await store.listOutcomes({ source: 'git' });
    expect(a).toEqual(shipped);
    expect(b).toStrictEqual({ id: 'c2', kind: 'commit', userId: 'ann', teamId: 'core', repo: 'github.com/acme/app', sessionId: null, at: 6000, count: 1, source: 'git', attrs: {}, aiCoAuthored: false });
    await store.close();
  });
});

describe('redactUrl', () => {
  it('hides the password, even one with an unencoded @', () => {
    expect(redactUrl('postgres://me:s3cret@db.example:5432/g')).toBe('postgres://me:***@db.example:5432/g');
    expect(redactUrl('postgresql://me:p@ss@db/g?sslmode=require')).toBe('postgresql://me:***@db/g?sslmode=require');
    expect(redactUrl('postgres://db.example/g')).toBe('postgres://db.example/g');
  });
});
