/**
 * The OTLP processor against both stores that keep telemetry: a SQLite file and PostgreSQL (the machine's server, a
 * schema of its own per test, as the Postgres store tests do; GOODHART_TEST_PG_URL points elsewhere). What is
 * decided in the store's transaction (counters, and what a request adds to an interval stored before) is checked
 * on both.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newKey } from '../../keys/keys.js';
import { makeTestEvent } from '../../store/store-contract.js';
import { PostgresStore } from '../../store/postgres/postgres-store.js';
import { SqliteStore } from '../../store/sqlite/sqlite-store.js';
import type { AuditStore, KeyRecord } from '../../store/types.js';
import { createPricer } from '../../usage/pricing.js';
import { createOtlpProcessor } from './process.js';
import { claudeCodeMetrics, claudeCodeSession, genaiHistogram, genaiSpans, kv } from './testing.js';

const PG_URL = process.env['GOODHART_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const RUN = `gh_otlp_${randomBytes(4).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'goodhart-otlp-'));
const schemas: string[] = [];
let admin: postgres.Sql;

beforeAll(async () => {
  admin = postgres(PG_URL, { max: 2, connect_timeout: 5, onnotice: () => {} });
  await admin`SELECT 1`;
});

afterAll(async () => {
  for (const schema of schemas) await admin`DROP SCHEMA IF EXISTS ${admin(schema)} CASCADE`;
  await admin.end({ timeout: 5 });
  rmSync(dir, { recursive: true, force: true });
});

/** A store of each kind, and a way to make its next event inserts of one session fail (a full disk, a lost connection). */
interface Subject {
  store: AuditStore;
  failInserts(session: string): Promise<void>;
  healInserts(): Promise<void>;
}

const SUBJECTS: [string, () => Promise<Subject>][] = [
  [
    'sqlite',
    async () => {
      const path = join(dir, `${randomBytes(4).toString('hex')}.db`);
      const store = new SqliteStore(path);
      const other = (): Database.Database => new Database(path);
      return {
        store,
        failInserts: async (session) => {
          const db = other();
          db.exec(`CREATE TRIGGER fail_insert BEFORE INSERT ON events WHEN NEW.session_id = '${session}' BEGIN SELECT RAISE(ABORT, 'injected store failure'); END`);
          db.close();
        },
        healInserts: async () => {
          const db = other();
          db.exec('DROP TRIGGER fail_insert');
          db.close();
        },
      };
    },
  ],
  [
    'postgres',
    async () => {
      const schema = `${RUN}_${schemas.length + 1}`;
      schemas.push(schema);
      await admin`CREATE SCHEMA ${admin(schema)}`;
      const store = await PostgresStore.open(PG_URL, { searchPath: schema });
      return {
        store,
        failInserts: async (session) => {
          await admin.unsafe(`
            CREATE FUNCTION ${schema}.fail_insert() RETURNS trigger LANGUAGE plpgsql AS $$
              BEGIN RAISE EXCEPTION 'injected store failure'; END $$;
            CREATE TRIGGER fail_insert BEFORE INSERT ON ${schema}.events FOR EACH ROW
              WHEN (NEW.session_id = '${session}') EXECUTE FUNCTION ${schema}.fail_insert();`);
        },
        healInserts: async () => {
          await admin.unsafe(`DROP TRIGGER fail_insert ON ${schema}.events; DROP FUNCTION ${schema}.fail_insert();`);
        },
      };
    },
  ],
];

async function processorFor(store: AuditStore, userId = 'alice') {
  const made = newKey({ userId, teamId: 'core', projectId: null });
  await store.createKey(made.record);
  const key: KeyRecord = made.record;
  const processOne = createOtlpProcessor({ store, pricer: createPricer(), rules: { identities: [], users: [], trustedPosters: [] }, write: async (events) => void (await store.insertEvents(events)) });
  return (signal: 'metrics' | 'traces' | 'logs', body: unknown) => processOne({ signal, body: Buffer.from(JSON.stringify(body)), encoding: undefined, protobuf: false, key });
}

const T0 = Date.parse('2026-11-17T10:00:00Z');
const HAIKU = 'claude-haiku-4-5-20251001';
const SONNET = 'claude-sonnet-4-5-20250929';

describe.each(SUBJECTS)('OTLP telemetry stored in %s', (_kind, make) => {
  let s: Subject;
  afterAll(async () => s?.store.close());

  it('moves no counter for a CUMULATIVE export that failed to store: a retry stores it, and so does the next export if the exporter gave up', async () => {
    s = await make();
    const send = await processorFor(s.store);
    for (const retried of [false, true]) {
      const name = `sess-cumulative-${retried ? 'retried' : 'dropped'}`;
      const session = claudeCodeSession(name, 'alice@example.com');
      const cumulative = (endMin: number, input: number, output: number, cost: number, commits: number) =>
        claudeCodeMetrics({ session, model: HAIKU, tokens: { input, output }, cost, commits, startMs: T0, endMs: T0 + endMin * 60_000, temporality: 2 });
      await send('metrics', cumulative(1, 100, 10, 0.001, 1));
      await s.failInserts(name);
      // The exporter tries the second export three times (the OTLP spec lets it drop the data then).
      for (let i = 0; i < 3; i++) await expect(send('metrics', cumulative(2, 300, 30, 0.003, 2))).rejects.toThrow(/injected store failure/);
      await s.healInserts();
      if (retried) {
        await send('metrics', cumulative(2, 300, 30, 0.003, 2));
        await send('metrics', cumulative(2, 300, 30, 0.003, 2));
      }
      // The next export's running totals carry what the dropped one would have added.
      await send('metrics', cumulative(3, 400, 40, 0.004, 3));
      const events = await s.store.listEvents({ sessionId: name });
      const sum = (f: (e: (typeof events)[number]) => number) => events.reduce((a, e) => a + f(e), 0);
      expect([events.length, sum((e) => e.inputTokens), sum((e) => e.outputTokens), Math.round(sum((e) => e.costUsd ?? 0) * 1e6) / 1e6], name).toEqual([retried ? 3 : 2, 400, 40, 0.004]);
      const commits = (await s.store.listOutcomes({ kind: 'commit' })).filter((o) => o.sessionId === name);
      expect(commits.reduce((a, o) => a + o.count, 0), name).toBe(3);
    }
  });

  it('makes one event of one interval whose points a collector split over several requests; retries add nothing', async () => {
    s = await make();
    const send = await processorFor(s.store);
    const whole = { input: 1000, output: 500, cacheRead: 20_000, cacheCreation: 3_000 };
    for (const temporality of [1, 2] as const) {
      const name = `sess-split-${temporality}`;
      const session = claudeCodeSession(name, 'alice@example.com');
      const part = (tokens: Partial<typeof whole>, cost?: number, lateStartMs = 0) =>
        claudeCodeMetrics({ session, model: SONNET, tokens, ...(cost === undefined ? {} : { cost }), startMs: T0 + lateStartMs, endMs: T0 + 60_000, temporality });
      // An OpenTelemetry Collector's batch processor (send_batch_max_size) cut one export in two; the JS SDK started
      // the cache-write and cost series of this DELTA export 31 ms after the others (first recorded then).
      const a = part({ input: whole.input, cacheRead: whole.cacheRead });
      const b = part({ output: whole.output, cacheCreation: whole.cacheCreation }, 0.12345, temporality === 1 ? 31 : 0);
      for (const batch of [a, b, a, b]) await send('metrics', batch);
      // The next export: whole, the CUMULATIVE one with its running totals.
      const next = temporality === 1 ? { input: 10, output: 5 } : { input: whole.input + 10, output: whole.output + 5, cacheRead: whole.cacheRead, cacheCreation: whole.cacheCreation };
      const nextBatch = claudeCodeMetrics({ session, model: SONNET, tokens: next, cost: temporality === 1 ? 0.0001 : 0.12355, startMs: temporality === 1 ? T0 + 60_000 : T0, endMs: T0 + 120_000, temporality });
      await send('metrics', nextBatch);
      await send('metrics', nextBatch);
      const events = await s.store.listEvents({ sessionId: name });
      expect(events.map((e) => [e.inputTokens, e.cacheReadTokens, e.cacheWrite5mTokens, e.outputTokens, Math.round(e.costUsd! * 1e6) / 1e6, e.endedAt - T0]), name).toEqual([
        [24_000, 20_000, 3_000, 500, 0.12345, 60_000],
        [10, 0, 0, 5, 0.0001, 120_000],
      ]);
      if (temporality === 1) expect(events[0]!.startedAt).toBe(T0);
      // Reports count one request per interval, as for an export that came whole.
      const [day] = await s.store.aggregate('day', { sessionId: name });
      expect([day?.requests, day?.inputTokens, day?.outputTokens]).toEqual([2, 24_010, 505]);
    }
  });

  it("keeps a cost point sent apart from its tokens, before or after them, as the interval's cost", async () => {
    s = await make();
    const send = await processorFor(s.store);
    for (const order of ['tokens-first', 'cost-first'] as const) {
      const name = `sess-cost-${order}`;
      const session = claudeCodeSession(name, 'alice@example.com');
      const tokens = claudeCodeMetrics({ session, model: SONNET, tokens: { input: 1000, output: 500, cacheRead: 20_000, cacheCreation: 3_000 }, startMs: T0, endMs: T0 + 60_000, temporality: 1 });
      const cost = claudeCodeMetrics({ session, model: SONNET, tokens: {}, cost: 0.12345, startMs: T0, endMs: T0 + 60_000, temporality: 1 });
      for (const batch of order === 'tokens-first' ? [tokens, cost, cost] : [cost, cost, tokens]) await send('metrics', batch);
      const events = await s.store.listEvents({ sessionId: name });
      expect(events.map((e) => [e.inputTokens, e.outputTokens, e.costUsd]), order).toEqual([[24_000, 500, 0.12345]]);
      expect((await s.store.aggregate('day', { sessionId: name }))[0]?.costUsd).toBe(0.12345);
    }
  });

  it("makes one event of a GenAI histogram's input and output points sent in two requests", async () => {
    s = await make();
    const send = await processorFor(s.store);
    const resource = [kv('service.name', 'etl'), kv('service.instance.id', 'w-1')];
    const part = (tokens: { input?: number; output?: number }) => genaiHistogram({ resource, model: 'gpt-4o', tokens, requests: 4, startMs: T0, endMs: T0 + 60_000, temporality: 1 });
    for (const batch of [part({ input: 8000 }), part({ output: 2000 }), part({ input: 8000 })]) await send('metrics', batch);
    const events = (await s.store.listEvents({ source: 'otel' })).filter((e) => e.tags.includes('gen_ai.client.token.usage'));
    // gpt-4o: $2.50 / $10 per million.
    expect(events.map((e) => [e.inputTokens, e.outputTokens, Math.round(e.costUsd! * 1e6) / 1e6])).toEqual([[8000, 2000, 0.04]]);
  });

  /** A service's usage as the reports have it: tokens, cost, requests; and its events (spans first). */
  const usageOf = async (store: AuditStore, userId: string) => {
    const [row] = await store.aggregate('user', { userId });
    const events = (await store.listEvents({ userId })).sort((a, b) => Number(b.tags.includes('otel-span')) - Number(a.tags.includes('otel-span')) || a.endedAt - b.endedAt);
    return {
      total: [row?.inputTokens ?? 0, row?.outputTokens ?? 0, Math.round((row?.costUsd ?? 0) * 1e6) / 1e6, row?.requests ?? 0],
      events: events.map((e) => [e.tags.includes('otel-span') ? 'span' : e.tags.includes('top-up') ? 'top-up' : 'histogram', e.inputTokens, e.outputTokens]),
    };
  };

  it('counts all requests of a sampled service once: its spans, and what its token histogram counts beyond them', async () => {
    s = await make();
    const send = await processorFor(s.store, 'bot');
    // OTEL_TRACES_SAMPLER=traceidratio 0.1: 10 chat requests of 1,000 input and 100 output tokens in a minute, one
    // sampled as a span; the histogram (never sampled) counts all ten. gpt-4o: $2.50 / $10 per million.
    for (const [pod, spanFirst] of [['pod-1', true], ['pod-2', false]] as const) {
      const resource = [kv('service.name', 'support-bot'), kv('service.instance.id', pod), kv('user.email', `${pod}@example.com`)];
      const span = genaiSpans(resource, [{ traceId: (spanFirst ? 'cd' : 'ce').repeat(16), spanId: 'ef'.repeat(8), model: 'gpt-4o', input: 1000, output: 100, startMs: T0 + 5_000, endMs: T0 + 6_000 }]);
      const minute = genaiHistogram({ resource, model: 'gpt-4o', tokens: { input: 10_000, output: 1_000 }, requests: 10, startMs: T0, endMs: T0 + 60_000, temporality: 1 });
      // The span usually comes first (spans are exported every few seconds, metrics every minute); a request that
      // ends just before the minute's export has its span come after the histogram. Both are retried once.
      for (const [signal, body] of spanFirst ? ([['traces', span], ['metrics', minute], ['traces', span], ['metrics', minute]] as const) : ([['metrics', minute], ['traces', span], ['metrics', minute], ['traces', span]] as const)) await send(signal, body);
      expect(await usageOf(s.store, 'bot'), pod).toMatchObject({ total: [pod === 'pod-1' ? 10_000 : 20_000, pod === 'pod-1' ? 1_000 : 2_000, pod === 'pod-1' ? 0.035 : 0.07, pod === 'pod-1' ? 2 : 4] });
    }
    expect((await usageOf(s.store, 'bot')).events).toEqual([['span', 1000, 100], ['span', 1000, 100], ['top-up', 9000, 900], ['top-up', 9000, 900]]);
  });

  it('adds nothing for the histogram of a service whose every request is a span, in whichever order they come', async () => {
    s = await make();
    const send = await processorFor(s.store, 'bot');
    const resource = [kv('service.name', 'etl'), kv('service.instance.id', 'w-1')];
    const spans = genaiSpans(resource, Array.from({ length: 4 }, (_, i) => ({ traceId: `${i}a`.repeat(16), spanId: `${i}b`.repeat(8), model: 'gpt-4o', input: 500, output: 50, startMs: T0 + i * 10_000, endMs: T0 + i * 10_000 + 900 })));
    const [early, late] = [{ resourceSpans: [{ ...spans.resourceSpans[0]!, scopeSpans: [{ ...spans.resourceSpans[0]!.scopeSpans[0]!, spans: spans.resourceSpans[0]!.scopeSpans[0]!.spans.slice(0, 3) }] }] }, { resourceSpans: [{ ...spans.resourceSpans[0]!, scopeSpans: [{ ...spans.resourceSpans[0]!.scopeSpans[0]!, spans: spans.resourceSpans[0]!.scopeSpans[0]!.spans.slice(3) }] }] }];
    await send('traces', early);
    await send('metrics', genaiHistogram({ resource, model: 'gpt-4o', tokens: { input: 2_000, output: 200 }, requests: 4, startMs: T0, endMs: T0 + 60_000, temporality: 1 }));
    // The last request's span, exported after the minute's histogram, takes its part back from the histogram's event.
    expect((await usageOf(s.store, 'bot')).events).toEqual([['span', 500, 50], ['span', 500, 50], ['span', 500, 50], ['histogram', 500, 50]].map((e, i) => (i === 3 ? ['top-up', 500, 50] : e)));
    await send('traces', late);
    expect(await usageOf(s.store, 'bot')).toEqual({ total: [2_000, 200, 0.007, 4], events: Array.from({ length: 4 }, () => ['span', 500, 50]) });
  });

  it('matches a CUMULATIVE histogram interval with the spans since its previous point', async () => {
    s = await make();
    const send = await processorFor(s.store, 'bot');
    // The Python SDK's default temporality: running totals from the process start.
    const resource = [kv('service.name', 'summariser'), kv('service.instance.id', 'p-1')];
    const span = (n: number, endMs: number) => genaiSpans(resource, [{ traceId: `${n}c`.repeat(16), spanId: `${n}d`.repeat(8), model: 'gpt-4o', input: 1000, output: 100, startMs: endMs - 800, endMs }]);
    const total = (endMs: number, input: number, output: number, requests: number) => genaiHistogram({ resource, model: 'gpt-4o', tokens: { input, output }, requests, startMs: T0, endMs, temporality: 2 });
    await send('traces', span(1, T0 + 30_000));
    await send('metrics', total(T0 + 60_000, 5_000, 500, 5));
    await send('traces', span(2, T0 + 90_000));
    await send('metrics', total(T0 + 120_000, 12_000, 1_200, 12));
    await send('metrics', total(T0 + 120_000, 12_000, 1_200, 12));
    // Each minute's event is its increase less its own minute's span, not the one before.
    expect(await usageOf(s.store, 'bot')).toEqual({
      total: [12_000, 1_200, 0.042, 4],
      events: [['span', 1000, 100], ['span', 1000, 100], ['top-up', 4000, 400], ['top-up', 6000, 600]],
    });
  });

  it('matches a series that joins a CUMULATIVE histogram later with the spans since the previous interval, not since the SDK started', async () => {
    s = await make();
    const send = await processorFor(s.store, 'bot');
    // Java and .NET SDKs date every cumulative series from the SDK's start (T0), one first seen later too.
    const resource = [kv('service.name', 'java-svc'), kv('service.instance.id', 'j-1')];
    const span = (n: number, endMs: number) => genaiSpans(resource, [{ traceId: `${n}a`.repeat(16), spanId: `${n}b`.repeat(8), model: 'gpt-4o', input: 1000, output: 100, startMs: endMs - 500, endMs }]);
    const total = (endMs: number, input: number, output: number, extra: ReturnType<typeof kv>[] = []) => {
      const h = genaiHistogram({ resource, model: 'gpt-4o', tokens: { input, output }, requests: 1, startMs: T0, endMs, temporality: 2 });
      for (const dp of h.resourceMetrics[0]!.scopeMetrics[0]!.metrics[0]!.histogram.dataPoints) dp.attributes.push(...extra);
      return h;
    };
    // Minute 1: 5 requests, one sampled as a span.
    await send('traces', span(1, T0 + 30_000));
    await send('metrics', total(T0 + 60_000, 5_000, 500));
    // Minute 2: 5 more on the same series, one sampled; 2 on a new series (another server.address).
    await send('traces', span(2, T0 + 90_000));
    const minute2 = total(T0 + 120_000, 10_000, 1_000);
    const joined = total(T0 + 120_000, 2_000, 200, [kv('server.address', 'eu.api.openai.com')]);
    minute2.resourceMetrics[0]!.scopeMetrics[0]!.metrics[0]!.histogram.dataPoints.push(...joined.resourceMetrics[0]!.scopeMetrics[0]!.metrics[0]!.histogram.dataPoints);
    await send('metrics', minute2);
    await send('metrics', minute2);
    // The histogram counted 12,000 input tokens: minute 1's span is taken from minute 1 only.
    expect((await usageOf(s.store, 'bot')).events).toEqual([['span', 1000, 100], ['span', 1000, 100], ['top-up', 4000, 400], ['top-up', 6000, 600]]);
  });

  it('adds nothing for requests the release before the top-up (a5a7090) stored, when the exporter retries them after the upgrade', async () => {
    s = await make();
    const send = await processorFor(s.store, 'ann');
    const t0 = Date.UTC(2026, 11, 1, 10, 0);
    const resource = [kv('service.name', 'svc'), kv('service.instance.id', 'i1')];
    const delta = claudeCodeMetrics({ session: claudeCodeSession('sess-2', 'ann@acme.com'), model: 'claude-sonnet-4-5', tokens: { input: 500, output: 50 }, cost: 0.005, startMs: t0, endMs: t0 + 60_000, temporality: 1 });
    const hist = genaiHistogram({ resource, model: 'gpt-4o', tokens: { input: 10_000, output: 1_000 }, requests: 10, startMs: t0, endMs: t0 + 60_000, temporality: 1 });
    // What a5a7090 stored of `delta` and of one span of `resource` (it ignored the histogram of a resource that sent
    // spans), with the ids it gave them: the DELTA event's id carried its start; the span has no otel.resource tag.
    const old = { source: 'otel' as const, userId: 'ann', teamId: 'core', endedAt: t0 + 60_000, status: 200 };
    await s.store.insertEvents([
      makeTestEvent({ ...old, id: 'otel_11e28eccfc64fee2803d15fd54502e53', provider: 'anthropic', endpoint: 'messages', modelServed: 'claude-sonnet-4-5', sessionId: 'sess-2', startedAt: t0, inputTokens: 500, outputTokens: 50, costUsd: 0.005, tags: ['claude-code', 'otel-metric'] }),
      makeTestEvent({ ...old, id: 'otel_a784b0102964b2d5ab839c0c959e4127', provider: 'openai', endpoint: 'chat.completions', modelServed: 'gpt-4o', sessionId: null, startedAt: t0 + 10_000, endedAt: t0 + 11_000, inputTokens: 1000, outputTokens: 100, costUsd: 0.0035, tags: ['otel-span'] }),
    ]);
    for (const body of [delta, hist, delta, hist]) await send('metrics', body);
    const input = (await s.store.listEvents({ userId: 'ann' })).reduce<Record<string, number>>((a, e) => ({ ...a, [e.modelServed!]: (a[e.modelServed!] ?? 0) + e.inputTokens }), {});
    expect(input).toEqual({ 'claude-sonnet-4-5': 500, 'gpt-4o': 10_000 });
  });
});
