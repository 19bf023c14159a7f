import type { Worker } from 'node:worker_threads';
import { gzipSync } from 'node:zlib';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { supportsImports, type AuditStore } from '../../store/types.js';
import { startHarness, type Harness } from '../../testing/harness.js';
import { createPricer } from '../../usage/pricing.js';
import { storeSpec } from '../../store/open.js';
import { createOtlpProcessor } from './process.js';
import { decodeStatus, encodeProtobuf } from './proto.js';
import { OtlpThread } from './thread.js';

// The threads the gateway starts, recorded so a test can stop the OTLP thread as a crash would.
const { otlpWorkers } = vi.hoisted(() => ({ otlpWorkers: [] as Worker[] }));
vi.mock('../../util/start-worker.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../util/start-worker.js')>();
  return {
    startWorker: (from: string, name: string, data: unknown): Worker => {
      const w = real.startWorker(from, name, data);
      if (name === 'otlp-thread') otlpWorkers.push(w);
      return w;
    },
  };
});

/** Payloads shaped as Claude Code's exporter (OpenTelemetry JS SDK) and GenAI-instrumented SDKs send them. */
const kv = (key: string, v: string | number | boolean) => ({
  key,
  value: typeof v === 'string' ? { stringValue: v } : typeof v === 'boolean' ? { boolValue: v } : Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v },
});
const T0 = 1_775_700_000_000_000_000n; // 2026-04-09T01:46:40Z in ns
const ns = (secondsAfter: number) => String(T0 + BigInt(secondsAfter) * 1_000_000_000n);
const RESOURCE = { attributes: [kv('service.name', 'claude-code'), kv('service.version', '2.1.97'), kv('team.id', 'payments')] };
const SESSION = [kv('session.id', 'sess-otel-1'), kv('user.email', 'ann@acme.dev'), kv('user.account_uuid', 'acct-1'), kv('organization.id', 'org-1')];

function metrics(temporality: 1 | 2, start: number, end: number, values: { input: number; output: number; cacheRead: number; cacheCreation: number; cost: number; commits: number; added: number }, session = SESSION) {
  const point = (v: number, extra: ReturnType<typeof kv>[] = []) => ({ attributes: [...session, ...extra], startTimeUnixNano: ns(start), timeUnixNano: ns(end), asDouble: v });
  const sum = (name: string, unit: string, dataPoints: ReturnType<typeof point>[]) => ({ name, unit, sum: { dataPoints, aggregationTemporality: temporality, isMonotonic: true } });
  const model = kv('model', 'claude-sonnet-4-6');
  return {
    resourceMetrics: [
      {
        resource: RESOURCE,
        scopeMetrics: [
          {
            scope: { name: 'com.anthropic.claude_code', version: '2.1.97' },
            metrics: [
              sum('claude_code.token.usage', 'tokens', [
                point(values.input, [kv('type', 'input'), model]),
                point(values.output, [kv('type', 'output'), model]),
                point(values.cacheRead, [kv('type', 'cacheRead'), model]),
                point(values.cacheCreation, [kv('type', 'cacheCreation'), model]),
              ]),
              sum('claude_code.cost.usage', 'USD', [point(values.cost, [model])]),
              sum('claude_code.commit.count', 'count', [point(values.commits)]),
              sum('claude_code.lines_of_code.count', 'count', [point(values.added, [kv('type', 'added')]), point(3, [kv('type', 'removed')])]),
              { name: 'claude_code.active_time.total', unit: 's', sum: { dataPoints: [point(12.5, [kv('type', 'cli')])], aggregationTemporality: temporality } },
            ],
          },
        ],
      },
    ],
  };
}

let h: Harness;
let store: AuditStore;
beforeAll(async () => {
  h = await startHarness({
    // The harness's key (alice) is a collector's, trusted to send everyone's telemetry.
    config: () => ({ identities: [{ match: { email: 'ann@acme.dev' }, user: 'ann', team: 'core' }], outcomes: { trustedPosters: ['alice'] } }),
  });
  if (!supportsImports(h.store)) throw new Error('the harness store must support imports');
  store = h.store;
});
afterAll(async () => h.close());

const post = (path: string, body: unknown, headers: Record<string, string> = {}, key: string | null = h.key) =>
  fetch(`${h.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key === null ? {} : { authorization: `Bearer ${key}` }), ...headers },
    body: body instanceof Uint8Array ? Buffer.from(body) : JSON.stringify(body),
  });

/** `n` Claude Code api_request log events of one session. */
const apiRequestsOf = (session: string, n: number, email = 'ann@acme.dev') => ({
  resourceLogs: [{
    resource: RESOURCE,
    scopeLogs: [{
      scope: { name: 'com.anthropic.claude_code.events' },
      logRecords: Array.from({ length: n }, (_, i) => ({
        timeUnixNano: ns(900 + i),
        body: { stringValue: 'claude_code.api_request' },
        attributes: [kv('event.name', 'api_request'), kv('session.id', session), kv('user.email', email), kv('model', 'claude-sonnet-4-6'),
          kv('input_tokens', '100'), kv('output_tokens', String(i)), kv('cost_usd', '0.001'), kv('request_id', `req-${session}-${i}`)],
      })),
    }],
  }],
});

/** The gateway's current OTLP thread (a first request starts it), to stop it as a crash would. */
async function otlpThread(): Promise<Worker> {
  for (let i = 0; i < 100; i++) {
    const w = otlpWorkers.at(-1);
    if (w !== undefined) return w;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('no OTLP thread started');
}

const otelEvents = async () => (await h.events()).filter((e) => e.source === 'otel');

describe('OTLP/HTTP receiver', () => {
  it('refuses requests without a Goodhart key and bodies that are not OTLP', async () => {
    expect((await post('/v1/metrics', metrics(1, 0, 60, { input: 1, output: 1, cacheRead: 0, cacheCreation: 0, cost: 0, commits: 0, added: 0 }), {}, null)).status).toBe(401);
    expect((await post('/v1/metrics', 'x', { 'content-encoding': 'gzip' })).status).toBe(400);
    expect((await post('/v1/traces', new Uint8Array([0xff, 0xff, 0xff]), { 'content-type': 'application/x-protobuf' })).status).toBe(400);
  });

  it("answers errors as a google.rpc.Status in the encoding of the request, saying what the exporter's operator can change", async () => {
    const protobuf = { 'content-type': 'application/x-protobuf' };
    /** The google.rpc.Status of an error response, as an exporter decodes it. */
    const statusOf = async (res: Response) => {
      const type = res.headers.get('content-type') ?? '';
      return { status: res.status, type, ...(type.includes('protobuf') ? decodeStatus(new Uint8Array(await res.arrayBuffer())) : ((await res.json()) as { code: number; message: string })) };
    };
    // No key: how exporters send one, not the SDKs' variables.
    for (const headers of [{}, protobuf]) {
      const s = await statusOf(await post('/v1/metrics', headers === protobuf ? encodeProtobuf('metrics', {}) : {}, headers, null));
      expect(s).toMatchObject({ status: 401, code: 16, type: headers === protobuf ? 'application/x-protobuf' : expect.stringMatching(/^application\/json/) });
      expect(s.message).toContain('OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer gh_…"');
      expect(s.message).not.toContain('OPENAI_API_KEY');
    }
    expect(await statusOf(await post('/v1/traces', new Uint8Array([0xff, 0xff, 0xff]), protobuf))).toMatchObject({ status: 400, code: 3, type: 'application/x-protobuf', message: expect.stringMatching(/not valid OTLP\/protobuf/) });

    // Too large, or inflating past 64 MiB: lower the exporter's batch size (prompt caching is no help here).
    const bomb = await statusOf(await post('/v1/logs', gzipSync(Buffer.alloc(65 << 20)), { ...protobuf, 'content-encoding': 'gzip' }));
    expect(bomb).toMatchObject({ status: 413, code: 8, message: expect.stringMatching(/inflates past 64 MiB\. Lower the exporter's batch size: OTEL_BSP_MAX_EXPORT_BATCH_SIZE/) });
    const small = await startHarness({ memoryStore: true, config: () => ({ server: { bodyLimitBytes: 2_000 } }) });
    try {
      const big = encodeProtobuf('logs', apiRequestsOf('sess-too-big', 50));
      const res = await fetch(`${small.url}/v1/logs`, { method: 'POST', headers: { ...protobuf, authorization: `Bearer ${small.key}` }, body: Buffer.from(big) });
      const s = await statusOf(res);
      expect(s).toMatchObject({ status: 413, type: 'application/x-protobuf', message: expect.stringMatching(/OTEL_BLRP_MAX_EXPORT_BATCH_SIZE/) });
      expect(s.message).not.toMatch(/prompt caching/);
    } finally {
      await small.close();
    }
  });

  it('answers an exporter whose endpoint is set a little wrong with a 404 saying what to set', async () => {
    const base = h.url;
    const misses: [string, 'json' | 'protobuf', RegExp][] = [
      // OTEL_EXPORTER_OTLP_ENDPOINT=http://HOST:PORT/v1: the exporter adds /v1/metrics.
      ['/v1/v1/metrics', 'json', /\/v1 twice: OTEL_EXPORTER_OTLP_ENDPOINT is the server's base URL, without \/v1/],
      ['/v1/v1/traces', 'protobuf', /\/v1 twice/],
      ['/v1/metrics/', 'json', /POST \/v1\/metrics, without a trailing slash/],
      // OTEL_EXPORTER_OTLP_ENDPOINT set to the logs URL.
      ['/v1/logs/v1/logs', 'protobuf', /base URL, not a signal's/],
    ];
    for (const [path, encoding, why] of misses) {
      const signal = path.includes('metrics') ? 'metrics' : path.includes('traces') ? 'traces' : 'logs';
      const res = await post(path, encoding === 'json' ? {} : encodeProtobuf(signal, {}), encoding === 'json' ? {} : { 'content-type': 'application/x-protobuf' });
      expect(res.status, path).toBe(404);
      const status = encoding === 'json' ? ((await res.json()) as { code: number; message: string }) : decodeStatus(new Uint8Array(await res.arrayBuffer()));
      expect(status.code, path).toBe(5);
      expect(status.message, path).toMatch(why);
      expect(status.message, path).toContain(`OTEL_EXPORTER_OTLP_ENDPOINT=${base}, or OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_ENDPOINT=${base}/v1/${signal}`);
      expect(status.message, path).not.toMatch(/OpenAI|Anthropic|chat\/completions/);
    }
  });

  it('refuses JSON bodies that are not shaped as an export request with 400 saying what is wrong', async () => {
    // JSON of the wrong shape: 400 saying what is wrong, not a success that stored nothing.
    const wrong: [string, unknown, RegExp][] = [
      ['/v1/traces', { resourceSpans: 'x' }, /resourceSpans is a string \("x"\), not an array/],
      ['/v1/metrics', null, /the body is null, not an ExportMetricsServiceRequest object/],
      ['/v1/logs', [1, 2], /the body is an array, not an ExportLogsServiceRequest object/],
      ['/v1/metrics', { resourceMetrics: [{ scopeMetrics: [{ metrics: [7] }] }] }, /resourceMetrics\[0\]\.scopeMetrics\[0\]\.metrics\[0\] is a number, not an object/],
    ];
    for (const [path, body, message] of wrong) {
      const res = await post(path, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(await res.json()).toEqual({ code: 3, message: expect.stringMatching(message) });
    }
    // An empty request is a valid one, as are lists sent as null (proto3 JSON's empty).
    expect((await post('/v1/traces', { resourceSpans: [] })).status).toBe(200);
    expect((await post('/v1/logs', { resourceLogs: [{ scopeLogs: null }] })).status).toBe(200);
  });

  it('maps Claude Code DELTA metrics to one priced usage event and outcomes; a replayed batch adds nothing', async () => {
    const batch = metrics(1, 0, 60, { input: 1200, output: 340, cacheRead: 50_000, cacheCreation: 2_000, cost: 0.0321, commits: 2, added: 40 });
    const res = await post('/v1/metrics', batch);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({});
    expect((await post('/v1/metrics', batch)).status).toBe(200);
    const events = await otelEvents();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      inputTokens: 1200 + 50_000 + 2_000,
      cacheReadTokens: 50_000,
      cacheWrite5mTokens: 2_000,
      outputTokens: 340,
      costUsd: 0.0321,
      modelServed: 'claude-sonnet-4-6',
      sessionId: 'sess-otel-1',
      userId: 'ann',
      teamId: 'core',
      keyId: expect.any(String),
      startedAt: Number(T0 / 1_000_000n),
      endedAt: Number(T0 / 1_000_000n) + 60_000,
    });
    const outcomes = await store.listOutcomes({});
    expect(outcomes.map((o) => [o.kind, o.count, o.attrs['type'] ?? null, o.userId]).sort()).toEqual([
      ['commit', 2, null, 'ann'],
      ['lines_of_code', 3, 'removed', 'ann'],
      ['lines_of_code', 40, 'added', 'ann'],
    ]);
  });

  it('keeps the reported cost of DELTA series first recorded at different moments of one export (the JS SDK gives them their own start)', async () => {
    // As the OpenTelemetry JS SDK exported them (captured): a series new in the interval starts at its first recording.
    const split = (session: string, starts: { input: number; output: number; cacheRead?: number; cacheCreation?: number; cost: number }, values: { input: number; output: number; cacheRead?: number; cacheCreation?: number; cost: number }) => {
      const attrs = [kv('session.id', session), kv('user.email', 'erin@example.com'), kv('model', 'claude-sonnet-4-5-20250929')];
      const point = (start: number, v: number, extra: ReturnType<typeof kv>[] = []) => ({ attributes: [...attrs, ...extra], startTimeUnixNano: String(T0 + BigInt(start) * 1_000_000n), timeUnixNano: String(T0 + 32_000_000n), asDouble: v });
      const types = (['input', 'output', 'cacheRead', 'cacheCreation'] as const).filter((t) => values[t] !== undefined);
      return {
        resourceMetrics: [{
          resource: { attributes: [kv('service.name', 'claude-code')] },
          scopeMetrics: [{
            scope: { name: 'com.anthropic.claude_code' },
            metrics: [
              { name: 'claude_code.token.usage', unit: 'tokens', sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: types.map((t) => point(starts[t]!, values[t]!, [kv('type', t)])) } },
              { name: 'claude_code.cost.usage', unit: 'USD', sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: [point(starts.cost, values.cost)] } },
            ],
          }],
        }],
      };
    };
    // Two requests in one interval; only the second wrote to the cache, so that series starts 31 ms later.
    const cacheLate = split('sess-split-1', { input: 0, output: 0, cacheRead: 0, cacheCreation: 31, cost: 0 }, { input: 2010, output: 400, cacheRead: 2000, cacheCreation: 5000, cost: 0.03135 });
    // The cost series first recorded after the token series.
    const costLate = split('sess-split-2', { input: 0, output: 0, cost: 31 }, { input: 2010, output: 400, cost: 0.03135 });
    for (const batch of [cacheLate, costLate, cacheLate, costLate]) expect((await post('/v1/metrics', batch)).status).toBe(200);
    const events = (await otelEvents()).filter((e) => e.sessionId?.startsWith('sess-split-')).sort((a, b) => a.sessionId!.localeCompare(b.sessionId!));
    expect(events.map((e) => [e.sessionId, e.inputTokens, e.cacheReadTokens, e.cacheWrite5mTokens, e.outputTokens, e.costUsd, e.startedAt, e.endedAt])).toEqual([
      ['sess-split-1', 2010 + 2000 + 5000, 2000, 5000, 400, 0.03135, Number(T0 / 1_000_000n), Number(T0 / 1_000_000n) + 32],
      ['sess-split-2', 2010, 0, 0, 400, 0.03135, Number(T0 / 1_000_000n), Number(T0 / 1_000_000n) + 32],
    ]);
  });

  it('turns CUMULATIVE points into increases: replays count nothing, a reset counts its new value', async () => {
    const session = [kv('session.id', 'sess-cumulative'), kv('user.email', 'bob@acme.dev')];
    const send = (end: number, input: number, commits: number) =>
      post('/v1/metrics', metrics(2, 0, end, { input, output: 10, cacheRead: 0, cacheCreation: 0, cost: 0, commits, added: 0 }, session));
    await send(60, 1000, 1);
    await send(120, 1500, 1);
    await send(120, 1500, 1); // an exporter retry of the same export
    await send(180, 200, 3); // the input counter restarted from zero (lower than before)
    const events = (await otelEvents()).filter((e) => e.sessionId === 'sess-cumulative');
    // Each series on its own: output stayed at 10 throughout, so after its first point it adds nothing.
    expect(events.map((e) => [e.inputTokens, e.outputTokens])).toEqual([
      [1000, 10],
      [500, 0],
      [200, 0],
    ]);
    expect(events.every((e) => e.userId === 'bob@acme.dev' && e.teamId === 'payments')).toBe(true);
    const commits = (await store.listOutcomes({ kind: 'commit' })).filter((o) => o.sessionId === 'sess-cumulative');
    expect(commits.map((o) => o.count)).toEqual([1, 2]);
  });

  it('counts two CUMULATIVE senders with the same attributes each in full (two processes without a session id)', async () => {
    const who = [kv('user.email', 'gus@acme.dev')];
    const send = (start: number, end: number, input: number, output: number, commits: number) =>
      post('/v1/metrics', metrics(2, start, end, { input, output, cacheRead: 0, cacheCreation: 0, cost: 0, commits, added: 0 }, who));
    // Two overlapping processes (started at 0 s and 30 s) export in turn; the second one's last batch is retried.
    await send(0, 60, 1000, 10, 1);
    await send(30, 90, 300, 5, 1);
    await send(0, 120, 1600, 20, 2);
    await send(30, 150, 700, 5, 3);
    await send(30, 150, 700, 5, 3);
    const events = (await otelEvents()).filter((e) => e.userId === 'gus@acme.dev').sort((a, b) => a.endedAt - b.endedAt);
    expect(events.map((e) => [e.inputTokens, e.outputTokens])).toEqual([
      [1000, 10],
      [300, 5],
      [600, 10],
      [400, 0],
    ]);
    const commits = (await store.listOutcomes({ kind: 'commit', userId: 'gus@acme.dev' })).map((o) => o.count);
    expect(commits.reduce((a, b) => a + b, 0)).toBe(2 + 3);
  });

  it('maps api_request log events (with or without the claude_code. prefix); metrics of those sessions are not counted twice', async () => {
    const record = (name: string, seq: number, input: number) => ({
      timeUnixNano: ns(300 + seq),
      attributes: [
        kv('event.name', name),
        kv('event.timestamp', new Date(Number((T0 + BigInt(300 + seq) * 1_000_000_000n) / 1_000_000n)).toISOString()),
        kv('event.sequence', seq),
        kv('session.id', 'sess-logs'),
        kv('user.email', 'ann@acme.dev'),
        kv('prompt.id', 'p-1'),
        kv('model', 'claude-opus-4-6'),
        kv('input_tokens', String(input)),
        kv('output_tokens', '250'),
        kv('cache_read_tokens', '30000'),
        kv('cache_creation_tokens', '1200'),
        kv('cost_usd', '0.0789'),
        kv('duration_ms', '4200'),
      ],
      body: { stringValue: name },
    });
    const logs = { resourceLogs: [{ resource: RESOURCE, scopeLogs: [{ scope: { name: 'com.anthropic.claude_code.events' }, logRecords: [record('claude_code.api_request', 1, 900), record('api_request', 2, 40), record('claude_code.user_prompt', 3, 0)] }] }] };
    expect((await post('/v1/logs', logs)).status).toBe(200);
    expect((await post('/v1/logs', logs)).status).toBe(200);
    const session = [kv('session.id', 'sess-logs'), kv('user.email', 'ann@acme.dev')];
    await post('/v1/metrics', metrics(1, 300, 360, { input: 940, output: 500, cacheRead: 60_000, cacheCreation: 2400, cost: 0.1578, commits: 1, added: 0 }, session));
    const events = (await otelEvents()).filter((e) => e.sessionId === 'sess-logs');
    expect(events.map((e) => [e.inputTokens, e.outputTokens, e.costUsd, e.tags])).toEqual([
      [900 + 30_000 + 1200, 250, 0.0789, ['claude-code', 'otel-log']],
      [40 + 30_000 + 1200, 250, 0.0789, ['claude-code', 'otel-log']],
    ]);
    expect(events[0]!.endedAt - events[0]!.startedAt).toBe(4200);
    expect((await store.listOutcomes({ kind: 'commit' })).some((o) => o.sessionId === 'sess-logs')).toBe(true);
  });

  it('counts a session once when its metrics and its log events reach different replicas, or a restarted one', async () => {
    // Two processors on one store: two replicas (or one before and after a restart) remember nothing of each other.
    const replica = () => createOtlpProcessor({ store, pricer: createPricer(), rules: { identities: [], users: [], trustedPosters: [] }, write: async (events) => void (await store.insertEvents(events)) });
    const [a, b] = [replica(), replica()];
    const key = (await store.listKeys())[0]!;
    const send = (p: ReturnType<typeof replica>, signal: 'logs' | 'metrics', body: unknown) => p({ signal, body: Buffer.from(JSON.stringify(body)), encoding: undefined, protobuf: false, key });
    const session = [kv('session.id', 'sess-apart'), kv('user.email', 'ann@acme.dev')];
    const tokens = { input: 200, output: 1, cacheRead: 0, cacheCreation: 0, cost: 0.002, commits: 1, added: 0 };
    // The first minute's metrics reach A before any log event of the session was stored: counted for now.
    await send(a, 'metrics', metrics(1, 840, 900, tokens, session));
    expect((await store.listEvents({ sessionId: 'sess-apart' })).map((e) => e.tags)).toEqual([['claude-code', 'otel-metric']]);
    // Its log events reach B: they are the per-request record, and the metric event of the same requests goes.
    await send(b, 'logs', apiRequestsOf('sess-apart', 2));
    // The next minute's metrics reach A again: the session's log events are stored, so they are not counted.
    await send(a, 'metrics', metrics(1, 900, 960, tokens, session));
    const events = await store.listEvents({ sessionId: 'sess-apart' });
    expect(events.map((e) => [e.tags, e.inputTokens, e.outputTokens])).toEqual([
      [['claude-code', 'otel-log'], 100, 0],
      [['claude-code', 'otel-log'], 100, 1],
    ]);
    // Outcomes come from the metrics either way.
    expect((await store.listOutcomes({ kind: 'commit' })).filter((o) => o.sessionId === 'sess-apart').map((o) => o.count)).toEqual([1, 1]);
  });

  it("books a collector's telemetry naming a person of users: to that person's team, not the collector's", async () => {
    const key = (await store.listKeys())[0]!;
    const processOne = createOtlpProcessor({
      store,
      pricer: createPricer(),
      rules: { identities: [], users: [{ id: 'zoe@acme.dev', team: 'billing' }], trustedPosters: [key.userId] },
      write: async (events) => void (await store.insertEvents(events)),
    });
    await processOne({ signal: 'logs', body: Buffer.from(JSON.stringify(apiRequestsOf('sess-zoe', 1, 'zoe@acme.dev'))), encoding: undefined, protobuf: false, key });
    expect((await store.listEvents({ sessionId: 'sess-zoe' })).map((e) => [e.userId, e.teamId])).toEqual([['zoe@acme.dev', 'billing']]);
  });

  it('maps GenAI spans sent as gzipped protobuf; agent and tool spans are not counted', async () => {
    const span = (spanId: string, op: string, extra: ReturnType<typeof kv>[]) => ({
      traceId: '5b8efff798038103d269b633813fc60c',
      spanId,
      name: `${op} gpt-4o`,
      kind: 3,
      startTimeUnixNano: ns(1000),
      endTimeUnixNano: ns(1002),
      attributes: [kv('gen_ai.operation.name', op), ...extra],
      status: {},
    });
    const traces = {
      resourceSpans: [
        {
          resource: { attributes: [kv('service.name', 'support-bot'), kv('user.email', 'carol@acme.dev')] },
          scopeSpans: [
            {
              scope: { name: 'opentelemetry.instrumentation.openai_v2' },
              spans: [
                span('eee19b7ec3c1b174', 'chat', [
                  kv('gen_ai.provider.name', 'openai'),
                  kv('gen_ai.request.model', 'gpt-4o'),
                  kv('gen_ai.response.model', 'gpt-4o-2024-08-06'),
                  kv('gen_ai.response.id', 'chatcmpl-123'),
                  kv('gen_ai.usage.input_tokens', 1500),
                  kv('gen_ai.usage.cache_read.input_tokens', 1024),
                  kv('gen_ai.usage.output_tokens', 200),
                  kv('gen_ai.conversation.id', 'conv-9'),
                ]),
                // Deprecated names from older instrumentations.
                span('eee19b7ec3c1b175', 'chat', [kv('gen_ai.system', 'anthropic'), kv('gen_ai.request.model', 'claude-haiku-4-5'), kv('gen_ai.usage.prompt_tokens', 80), kv('gen_ai.usage.completion_tokens', 20)]),
                span('eee19b7ec3c1b176', 'invoke_agent', [kv('gen_ai.usage.input_tokens', 1580), kv('gen_ai.usage.output_tokens', 220)]),
                span('eee19b7ec3c1b177', 'execute_tool', [kv('gen_ai.tool.name', 'search')]),
              ],
            },
          ],
        },
      ],
    };
    const body = gzipSync(encodeProtobuf('traces', traces));
    const res = await post('/v1/traces', body, { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-protobuf');
    await post('/v1/traces', body, { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' });
    const spans = (await otelEvents()).filter((e) => e.tags.includes('otel-span')).sort((a, b) => b.inputTokens - a.inputTokens);
    expect(spans.map((e) => [e.provider, e.modelRequested, e.modelServed, e.inputTokens, e.cacheReadTokens, e.outputTokens, e.userId, e.sessionId])).toEqual([
      ['openai', 'gpt-4o', 'gpt-4o-2024-08-06', 1500, 1024, 200, 'carol@acme.dev', 'conv-9'],
      ['anthropic', 'claude-haiku-4-5', 'claude-haiku-4-5', 80, 0, 20, 'carol@acme.dev', null],
    ]);
    expect(spans[0]!.costUsd).toBeGreaterThan(0);
  });

  it('maps the GenAI token histogram of a service that sends no spans; of one whose spans carry usage, what the spans of its interval leave', async () => {
    const histogram = (service: string, temporality: 1 | 2, start: number, end: number, input: number, output: number, count: number) => ({
      resourceMetrics: [
        {
          resource: { attributes: [kv('service.name', service), kv('user.email', 'dan@acme.dev')] },
          scopeMetrics: [
            {
              scope: { name: 'opentelemetry.instrumentation.openai_v2' },
              metrics: [
                {
                  name: 'gen_ai.client.token.usage',
                  unit: '{token}',
                  histogram: {
                    aggregationTemporality: temporality,
                    dataPoints: (['input', 'output'] as const).map((type) => ({
                      attributes: [kv('gen_ai.operation.name', 'chat'), kv('gen_ai.provider.name', 'openai'), kv('gen_ai.request.model', 'gpt-4o'), kv('gen_ai.response.model', 'gpt-4o-2024-08-06'), kv('gen_ai.token.type', type)],
                      startTimeUnixNano: ns(start),
                      timeUnixNano: ns(end),
                      count: String(count),
                      sum: type === 'input' ? input : output,
                      bucketCounts: ['0', String(count)],
                      explicitBounds: [1],
                    })),
                  },
                },
                // Another metric of the same instrumentation: not usage.
                { name: 'gen_ai.client.operation.duration', unit: 's', histogram: { aggregationTemporality: temporality, dataPoints: [{ startTimeUnixNano: ns(start), timeUnixNano: ns(end), count: '3', sum: 4.2 }] } },
              ],
            },
          ],
        },
      ],
    });
    const metricsOnly = async () => (await otelEvents()).filter((e) => e.tags.includes('gen_ai.client.token.usage'));
    // DELTA, sent twice (an exporter retry): one event.
    await post('/v1/metrics', histogram('report-worker', 1, 2000, 2060, 5000, 800, 4));
    await post('/v1/metrics', histogram('report-worker', 1, 2000, 2060, 5000, 800, 4));
    // CUMULATIVE: the increase only.
    await post('/v1/metrics', histogram('batch-summariser', 2, 2000, 2060, 1000, 100, 1));
    await post('/v1/metrics', histogram('batch-summariser', 2, 2000, 2120, 3500, 400, 3));
    expect((await metricsOnly()).map((e) => [e.provider, e.modelServed, e.inputTokens, e.outputTokens, e.userId, e.costUsd! > 0]).sort()).toEqual([
      ['openai', 'gpt-4o-2024-08-06', 1000, 100, 'dan@acme.dev', true],
      ['openai', 'gpt-4o-2024-08-06', 2500, 300, 'dan@acme.dev', true],
      ['openai', 'gpt-4o-2024-08-06', 5000, 800, 'dan@acme.dev', true],
    ]);
    // A service whose spans carry usage (the span test's resource, with its user; its gpt-4o span ended at 1002 s with
    // 1,500 input and 200 output tokens): its histogram's minute counted two requests, one sampled as that span. The
    // event is the other's.
    const withSpans = histogram('support-bot', 1, 960, 1020, 1580, 220, 2);
    withSpans.resourceMetrics[0]!.resource.attributes = [kv('service.name', 'support-bot'), kv('user.email', 'carol@acme.dev')];
    await post('/v1/metrics', withSpans);
    await post('/v1/metrics', withSpans);
    const topUp = (await metricsOnly()).filter((e) => e.tags.includes('top-up'));
    expect(topUp.map((e) => [e.modelServed, e.inputTokens, e.outputTokens, e.userId])).toEqual([['gpt-4o-2024-08-06', 80, 20, 'carol@acme.dev']]);
    expect(await metricsOnly()).toHaveLength(4);

    // A minute of forty requests summing 300k input tokens is priced at the per-request rate: the sum never
    // crosses Sonnet 4.5's long-context tier (which doubles the input rate of a single request above 200k).
    const busy = histogram('bulk-writer', 1, 4000, 4060, 300_000, 4_000, 40);
    for (const dp of busy.resourceMetrics[0]!.scopeMetrics[0]!.metrics[0]!.histogram.dataPoints as { attributes: ReturnType<typeof kv>[] }[]) {
      dp.attributes = dp.attributes.map((a) => (a.key.endsWith('.model') ? kv(a.key, 'claude-sonnet-4-5') : a.key === 'gen_ai.provider.name' ? kv(a.key, 'anthropic') : a));
    }
    await post('/v1/metrics', busy);
    const summed = (await metricsOnly()).find((e) => e.modelServed === 'claude-sonnet-4-5')!;
    expect(summed.inputTokens).toBe(300_000);
    expect(summed.costUsd).toBeCloseTo((300_000 * 3 + 4_000 * 15) / 1e6, 9); // $3 / $15 per million
  });

  it('stores a batch on its own thread before answering; a store in memory takes it through the event writer', async () => {
    // The file store: processed and stored on the OTLP thread (its own connection, in parts of 5,000 events)
    // before the answer; the gateway's thread writes none of them.
    const written = vi.spyOn(store, 'insertEvents');
    try {
      expect((await post('/v1/logs', gzipSync(JSON.stringify(apiRequestsOf('sess-bulk', 12_000))), { 'content-encoding': 'gzip' })).status).toBe(200);
      const stored = await store.listEvents({ sessionId: 'sess-bulk' });
      expect(stored).toHaveLength(12_000);
      expect(stored.reduce((a, e) => a + e.outputTokens, 0)).toBe((11_999 * 12_000) / 2);
      await h.events();
      expect(written.mock.calls.flatMap(([events]) => events).filter((e) => e.sessionId === 'sess-bulk')).toHaveLength(0);
    } finally {
      written.mockRestore();
    }

    const mem = await startHarness({ memoryStore: true, config: () => ({ identities: [{ match: { email: 'ann@acme.dev' }, user: 'ann', team: 'core' }], outcomes: { trustedPosters: ['alice'] } }) });
    try {
      const res = await fetch(`${mem.url}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${mem.key}` }, body: JSON.stringify(apiRequestsOf('sess-mem', 3)) });
      expect(res.status).toBe(200);
      const events = (await mem.events()).filter((e) => e.sessionId === 'sess-mem');
      expect(events.map((e) => [e.userId, e.teamId, e.outputTokens])).toEqual([['ann', 'core', 0], ['ann', 'core', 1], ['ann', 'core', 2]]);
    } finally {
      await mem.close();
    }
  });

  it('answers 503 (retryable) for a batch whose thread died, and starts a new thread for the next', async () => {
    const big = gzipSync(JSON.stringify(apiRequestsOf('sess-died', 40_000)));
    const pending = post('/v1/logs', big, { 'content-encoding': 'gzip' });
    // The thread is busy with the batch for a second or more; kill it meanwhile.
    const thread = await otlpThread();
    await new Promise((r) => setTimeout(r, 150));
    await thread.terminate();
    const res = await pending;
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ code: 14, message: expect.stringMatching(/could not store the batch \(the OTLP thread exited\); send it again/) });
    expect((await post('/v1/logs', apiRequestsOf('sess-after', 2))).status).toBe(200);
    expect(await store.listEvents({ sessionId: 'sess-after' })).toHaveLength(2);
  });

  it("books a person's own key's telemetry to that person and team, whoever the telemetry names", async () => {
    const bob = await h.addKey('bob', 'payments');
    expect((await post('/v1/logs', apiRequestsOf('sess-bob-own', 2), {}, bob)).status).toBe(200);
    const events = await store.listEvents({ sessionId: 'sess-bob-own' });
    // The records name ann@acme.dev (mapped to ann, team core by identities): anyone could name anyone.
    expect(events.map((e) => [e.userId, e.teamId, e.outputTokens])).toEqual([['bob', 'payments', 0], ['bob', 'payments', 1]]);
  });

  it('refuses a batch with 429 and Retry-After while too many wait for the thread', async () => {
    const thread = new OtlpThread({ spec: storeSpec(store)!, priceOverrides: {}, rules: { identities: [], users: [], trustedPosters: [] } }, { requests: 1, bytes: 1 << 30 });
    try {
      const key = (await store.listKeys())[0]!;
      const request = (session: string) => ({ signal: 'logs' as const, body: Buffer.from(JSON.stringify(apiRequestsOf(session, 2_000))), encoding: undefined, protobuf: false, key });
      const results = await Promise.allSettled([thread.process(request('sess-q1')), thread.process(request('sess-q2')), thread.process(request('sess-q3'))]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
      expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ httpStatus: 429, retryable: true, headers: { 'retry-after': '5' } });
      // Once the first is stored, the next is taken.
      await thread.process(request('sess-q2'));
      expect((await store.listEvents({ sessionId: 'sess-q2' })).length).toBe(2_000);
      expect(await store.listEvents({ sessionId: 'sess-q3' })).toEqual([]);
    } finally {
      await thread.close();
    }
  });

  it('rejects records whose counts or times no store could hold, and keeps the rest of the batch', async () => {
    const good = apiRequestsOf('sess-absurd', 1);
    const records = good.resourceLogs[0]!.scopeLogs[0]!.logRecords;
    const base = records[0]!;
    const absurd = [
      { ...base, attributes: base.attributes.map((x) => (x.key === 'input_tokens' ? kv('input_tokens', '1e30') : x.key === 'output_tokens' ? kv('output_tokens', '1e30') : x.key === 'request_id' ? kv('request_id', 'r-big') : x)) },
      { ...base, timeUnixNano: '9'.repeat(30), attributes: base.attributes.map((x) => (x.key === 'request_id' ? kv('request_id', 'r-late') : x)) },
    ];
    records.push(...absurd);
    const res = await post('/v1/logs', good);
    expect(await res.json()).toEqual({
      partialSuccess: {
        rejectedLogRecords: '2',
        errorMessage:
          '2 log records skipped: 1 api_request without token counts (input_tokens, output_tokens: whole numbers from 0 to 1e12); 1 api_request without a time (timeUnixNano or observedTimeUnixNano: unix nanoseconds as a decimal string, from 1970 to 2099; or event.timestamp, ISO 8601)',
      },
    });
    expect((await store.listEvents({ sessionId: 'sess-absurd' })).map((e) => [e.inputTokens, e.outputTokens])).toEqual([[100, 0]]);
  });

  it('rejects metric points no count or cost can be, and a log record\'s cost no request has (its tokens are priced)', async () => {
    // One export of absurd values (a hostile or broken sender): tokens past 1e12, a cost past $1e9, commits past 1e12.
    const batch = metrics(1, 0, 6000, { input: 1e300, output: 1e20, cacheRead: 0, cacheCreation: 0, cost: 5e15, commits: 1e13, added: 0 }, [kv('session.id', 'sess-huge')]);
    const res = await post('/v1/metrics', batch);
    expect(await res.json()).toMatchObject({ partialSuccess: { rejectedDataPoints: '4', errorMessage: expect.stringContaining('1 claude_code.cost.usage data point whose value is not a cost (asDouble from 0 to 1e9 USD)') } });
    expect((await otelEvents()).filter((e) => e.sessionId === 'sess-huge')).toEqual([]);
    const logs = apiRequestsOf('sess-huge-cost', 1);
    const record = logs.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!;
    record.attributes = record.attributes.map((x) => (x.key === 'cost_usd' ? kv('cost_usd', '1e300') : x));
    expect((await post('/v1/logs', logs)).status).toBe(200);
    const [logged] = await store.listEvents({ sessionId: 'sess-huge-cost' });
    expect([logged!.inputTokens, logged!.costUsd! < 0.01]).toEqual([100, true]);
  });

  it("reads a log record's time from timeUnixNano when its event.timestamp is no time the stores keep", async () => {
    for (const [session, stamp] of [['sess-y3000', '3000-01-01T00:00:00Z'], ['sess-y-1000', '-001000-01-01T00:00:00Z']] as const) {
      const logs = apiRequestsOf(session, 1);
      logs.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!.attributes.push(kv('event.timestamp', stamp));
      expect((await post('/v1/logs', logs)).status).toBe(200);
      expect((await store.listEvents({ sessionId: session })).map((e) => e.endedAt)).toEqual([Number(BigInt(ns(900)) / 1_000_000n)]);
    }
  });

  it('reports a partial success in protobuf too, as the official response messages decode it', async () => {
    // opentelemetry-proto's collector/{trace,metrics,logs}/v1 responses, as an exporter decodes them.
    const official = protobuf.parse(`syntax = "proto3";
      message ExportTraceServiceResponse { ExportTracePartialSuccess partial_success = 1; }
      message ExportTracePartialSuccess { int64 rejected_spans = 1; string error_message = 2; }
      message ExportMetricsServiceResponse { ExportMetricsPartialSuccess partial_success = 1; }
      message ExportMetricsPartialSuccess { int64 rejected_data_points = 1; string error_message = 2; }
      message ExportLogsServiceResponse { ExportLogsPartialSuccess partial_success = 1; }
      message ExportLogsPartialSuccess { int64 rejected_log_records = 1; string error_message = 2; }`).root;
    const send = async (signal: 'traces' | 'metrics' | 'logs', json: unknown) => {
      const res = await post(`/v1/${signal}`, encodeProtobuf(signal, json), { 'content-type': 'application/x-protobuf' });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/x-protobuf');
      const bytes = new Uint8Array(await res.arrayBuffer());
      const type = official.lookupType(`Export${signal === 'traces' ? 'Trace' : signal === 'metrics' ? 'Metrics' : 'Logs'}ServiceResponse`);
      return { bytes: bytes.byteLength, ...type.toObject(type.decode(bytes), { longs: String }) };
    };
    // Claude Code api_request events, one without token counts or a time: skipped.
    const logs = apiRequestsOf('sess-partial-pb', 1);
    logs.resourceLogs[0]!.scopeLogs[0]!.logRecords.push({ body: { stringValue: 'claude_code.api_request' }, attributes: [kv('event.name', 'api_request'), kv('model', 'claude-haiku-4-5'), kv('input_tokens', '5')] } as never);
    expect(await send('logs', logs)).toMatchObject({ partialSuccess: { rejectedLogRecords: '1', errorMessage: expect.stringMatching(/^1 log record skipped: 1 api_request without a time \(timeUnixNano/) } });
    const points = { resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'claude_code.commit.count', sum: { aggregationTemporality: 1, dataPoints: [{ asInt: '1' }, { timeUnixNano: ns(5), asInt: '1' }] } }] }] }] };
    expect(await send('metrics', points)).toMatchObject({ partialSuccess: { rejectedDataPoints: '1', errorMessage: expect.stringMatching(/^1 data point skipped: 1 claude_code\.commit\.count data point without timeUnixNano/) } });
    // A chat span with usage but no span id.
    const spans = { resourceSpans: [{ resource: { attributes: [kv('service.name', 'bot')] }, scopeSpans: [{ spans: [{ traceId: 'ab'.repeat(16), name: 'chat gpt-4o', startTimeUnixNano: ns(7), endTimeUnixNano: ns(8), attributes: [kv('gen_ai.operation.name', 'chat'), kv('gen_ai.usage.input_tokens', 3)] }] }] }] };
    expect(await send('traces', spans)).toMatchObject({ partialSuccess: { rejectedSpans: '1', errorMessage: '1 span skipped: 1 span with token usage without a spanId' } });
    // A full success is the empty message.
    expect(await send('logs', apiRequestsOf('sess-partial-pb-ok', 1))).toEqual({ bytes: 0 });
  });

  it('reports malformed data points as a partial success', async () => {
    const bad = { resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'claude_code.commit.count', sum: { aggregationTemporality: 1, dataPoints: [{ asInt: '1' }, { timeUnixNano: ns(5), asInt: 'x' }] } }] }] }] };
    const res = await post('/v1/metrics', bad);
    // Each kind of fault once, saying what the exporter sent wrong.
    expect(await res.json()).toEqual({
      partialSuccess: {
        rejectedDataPoints: '2',
        errorMessage:
          '2 data points skipped: 1 claude_code.commit.count data point without timeUnixNano (unix nanoseconds as a decimal string, from 1970 to 2099); 1 claude_code.commit.count data point whose value is not a count (asInt or asDouble from 0 to 1e12)',
      },
    });
  });
});
