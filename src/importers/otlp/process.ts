import { gunzipSync } from 'node:zlib';
import type { GoodhartConfig } from '../../config/schema.js';
import { GoodhartError } from '../../errors.js';
import type { OutcomeEvent } from '../../outcomes/event.js';
import { supportsImports, type KeyRecord, type Store } from '../../store/types.js';
import type { UsageEvent } from '../../usage/event.js';
import type { Pricer } from '../../usage/pricing.js';
import { matchIdentity, teamOf } from '../attribution.js';
import { stableId } from '../ids.js';
import { createPriceMemo } from '../price-memo.js';
import { identityOf } from './attributes.js';
import { metricsCommit, spansCommit, type Makers } from './commits.js';
import { extractPoints, planPoints } from './map-metrics.js';
import { mapLogs } from './map-logs.js';
import { mapSpans } from './map-spans.js';
import { decodeProtobuf, type Signal } from './proto.js';
import { shapeError } from './shape.js';
import type { MappedBatch, OtelIdentity, OtelOutcome, OtelUsage, Rejections } from './types.js';

/**
 * One OTLP export request, start to finish once authenticated: decode (gzip, JSON or protobuf), map (pure modules),
 * price and attribute the usage events, and store them: metrics and spans in one store transaction each
 * (commits.ts: cumulative counters, metric intervals and what spans leave of a histogram are decided there), log
 * events through `write`. Which sessions send per-request log events is remembered in the processor. Runs on the
 * OTLP thread (thread.ts) for a store in a file or on Postgres, so a large batch never holds the gateway's thread;
 * inline for a store in memory.
 */
export interface OtlpRequest {
  signal: Signal;
  body: Uint8Array;
  encoding: string | string[] | undefined;
  protobuf: boolean;
  key: KeyRecord;
}

/** Whom telemetry is attributed to (see `attribute`). */
export interface OtlpRules extends Pick<GoodhartConfig, 'identities' | 'users'> {
  /** Users whose keys may send telemetry about other people (a collector): `outcomes.trustedPosters`. */
  trustedPosters: readonly string[];
}

export interface OtlpProcessorDeps {
  store: Store;
  pricer: Pricer;
  rules: OtlpRules;
  /** Where the usage events go: the gateway's event writer (inline), or the store itself (the OTLP thread). */
  write: (events: UsageEvent[]) => void | Promise<void>;
}

/**
 * 64 MiB: the largest decompressed request accepted. OTLP exporters batch at most a few MB (the collector's default
 * limit is 4 MB compressed); a body that inflates past this is a mistake or a gzip bomb.
 */
const MAX_INFLATED_BYTES = 64 << 20;
/** How to send smaller export requests, for a 413. */
export const SMALLER_BATCHES =
  "Lower the exporter's batch size: OTEL_BSP_MAX_EXPORT_BATCH_SIZE (spans) or OTEL_BLRP_MAX_EXPORT_BATCH_SIZE (logs), or a shorter OTEL_METRIC_EXPORT_INTERVAL (metrics).";
/** Sessions whose usage arrives as per-request log events, remembered so their metrics are not counted again. */
const MAX_SESSIONS = 100_000;
/** Span events per transaction (as the OTLP thread writes log events, otlp-thread.ts). */
const SPAN_CHUNK = 5_000;

export function createOtlpProcessor(deps: OtlpProcessorDeps): (r: OtlpRequest) => Promise<{ rejected: Rejections }> {
  const memo = createPriceMemo(deps.pricer);
  const rules = deps.rules;
  const sessionsWithLogs = new Set<string>();
  const remember = (sessions: Set<string>): void => {
    for (const s of sessions) {
      if (sessionsWithLogs.size >= MAX_SESSIONS) sessionsWithLogs.clear();
      sessionsWithLogs.add(s);
    }
  };
  return async ({ signal, body: raw, encoding, protobuf, key }) => {
    const body = decode(signal, Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength), encoding, protobuf);
    let batch: MappedBatch;
    const makers: Makers = {
      event: (u) => toEvent(u, key, rules, memo),
      outcome: (o) => toOutcome(o, key, rules),
      reprice: (e, usage) => (e.modelServed === null ? null : memo.priceAggregate(usage, e.modelServed, e.provider, e.endedAt)),
    };
    if (signal === 'traces') {
      batch = mapSpans(body);
      const store = deps.store;
      if (supportsImports(store)) {
        // Stored with the GenAI histogram intervals they overlap made again (commits.ts), in parts: a batch of tens of
        // thousands holds the store's write lock for one part at a time. Ids come from the records, so a batch stored
        // in part and retried adds nothing twice.
        const events = batch.usage.map(makers.event);
        for (let i = 0; i < events.length; i += SPAN_CHUNK) await store.commitOtel(spansCommit(events.slice(i, i + SPAN_CHUNK), makers));
        return { rejected: batch.rejected };
      }
    } else if (signal === 'logs') {
      const logs = mapLogs(body);
      const fresh = [...logs.sessions].filter((s) => !sessionsWithLogs.has(s));
      remember(logs.sessions);
      // Metric events stored for these sessions before their first log events reached this process (the metrics
      // came first, went to another replica, or before a restart) describe the same requests: removed.
      const store = deps.store;
      if (fresh.length > 0 && supportsImports(store)) {
        const metric = await store.otelTagged(fresh, 'otel-metric', 100_000);
        if (metric.length > 0) await store.commitImportBatch({ events: [], states: [], drop: metric.map((e) => e.id) });
      }
      batch = logs;
    } else {
      const store = deps.store;
      if (!supportsImports(store)) {
        throw new GoodhartError('internal', 501, `OTLP metrics need a store with counter series (this one is ${store.kind}); use SQLite.`);
      }
      const { points, rejected } = extractPoints(body);
      // Sessions whose log events are stored (by another replica, or before a restart) are covered as well.
      const unknown = new Set<string>();
      for (const p of points) {
        const session = identityOf(p.resource, p.point).session;
        if (session !== null && !sessionsWithLogs.has(session)) unknown.add(session);
      }
      for (const session of unknown) if ((await store.otelTagged([session], 'otel-log', 1)).length > 0) remember(new Set([session]));
      // The counters move, and the intervals the request has points of are read and written, in the transaction
      // that stores the events: a request that fails moves and adds nothing.
      const plan = planPoints(points, (s) => sessionsWithLogs.has(s));
      await store.commitOtel(metricsCommit(points, plan, makers));
      for (const [why, n] of Object.entries(plan.rejected)) rejected[why] = (rejected[why] ?? 0) + n;
      return { rejected };
    }

    if (batch.usage.length > 0) await deps.write(batch.usage.map((u) => toEvent(u, key, rules, memo)));
    if (batch.outcomes.length > 0) {
      if (!supportsImports(deps.store)) throw new GoodhartError('internal', 501, 'Outcome events need the SQLite store.');
      await deps.store.insertOutcomes(batch.outcomes.map((o) => toOutcome(o, key, rules)));
    }
    return { rejected: batch.rejected };
  };
}

function decode(signal: Signal, raw: Buffer, encoding: string | string[] | undefined, protobuf: boolean): unknown {
  let bytes = raw ?? Buffer.alloc(0);
  if (typeof encoding === 'string' && /^(x-)?gzip$/i.test(encoding.trim())) {
    try {
      bytes = gunzipSync(bytes, { maxOutputLength: MAX_INFLATED_BYTES });
    } catch (cause) {
      const tooBig = (cause as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
      throw new GoodhartError(tooBig ? 'payload_too_large' : 'invalid_request', tooBig ? 413 : 400, tooBig ? `The ${signal} request inflates past ${MAX_INFLATED_BYTES >> 20} MiB. ${SMALLER_BATCHES}` : `The ${signal} request says Content-Encoding: gzip but is not valid gzip.`, { cause });
    }
  } else if (typeof encoding === 'string' && encoding.trim() !== '' && encoding.trim().toLowerCase() !== 'identity') {
    throw new GoodhartError('invalid_request', 415, `Unsupported Content-Encoding "${encoding}": send gzip or none.`);
  }
  if (bytes.length === 0) return {};
  let body: unknown;
  try {
    body = protobuf ? decodeProtobuf(signal, bytes) : JSON.parse(bytes.toString('utf8'));
  } catch (cause) {
    throw new GoodhartError('invalid_request', 400, `The ${signal} request is not valid OTLP/${protobuf ? 'protobuf' : 'JSON'} (${cause instanceof Error ? cause.message : String(cause)}). Set OTEL_EXPORTER_OTLP_PROTOCOL to http/protobuf or http/json.`, { cause });
  }
  // A protobuf message has its shape by construction; JSON may be anything.
  const wrong = protobuf ? null : shapeError(signal, body);
  if (wrong !== null) {
    throw new GoodhartError('invalid_request', 400, `The ${signal} request is not OTLP/JSON: ${wrong}. Send what an OpenTelemetry exporter sends (OTEL_EXPORTER_OTLP_PROTOCOL=http/json or http/protobuf).`);
  }
  return body;
}

/**
 * A person's key books telemetry to its owner and their team, whatever user or team the telemetry names: anyone
 * could name anyone. A trusted sender's key (a collector forwarding everyone's telemetry, `outcomes.trustedPosters`)
 * books it by the config's identities first; else the email or account the telemetry names; else the key's owner.
 */
function attribute(identity: OtelIdentity, key: KeyRecord, rules: OtlpRules): { userId: string | null; teamId: string | null } {
  if (!rules.trustedPosters.includes(key.userId)) return { userId: key.userId, teamId: key.teamId };
  const matched = matchIdentity({ email: identity.email, account: identity.account }, rules);
  if (matched !== null) return { userId: matched.userId, teamId: matched.teamId ?? identity.team ?? key.teamId };
  const userId = identity.email ?? identity.account ?? key.userId;
  // A person of users: is on their team there, whatever the collector's key or the telemetry says.
  return { userId, teamId: teamOf(userId, rules) ?? identity.team ?? key.teamId };
}

function toEvent(u: OtelUsage, key: KeyRecord, rules: OtlpRules, memo: ReturnType<typeof createPriceMemo>): UsageEvent {
  const who = attribute(u.identity, key, rules);
  // Metric points are sums over an interval (many requests): priced at per-request rates, never repriced because
  // the sum crosses a long-context tier. Spans and events are single requests.
  const aggregate = u.tags.includes('otel-metric');
  const catalogue = u.model === null ? null : aggregate ? memo.priceAggregate(u.usage, u.model, u.provider, u.endedAt) : memo.price(u.usage, u.model, u.provider, u.endedAt);
  return {
    id: stableId('otel', u.key),
    source: 'otel',
    providerRequestId: u.providerRequestId,
    startedAt: u.at,
    firstTokenAt: null,
    endedAt: u.endedAt,
    userId: who.userId,
    teamId: who.teamId,
    projectId: key.projectId,
    keyId: key.id,
    sessionId: u.sessionId,
    tags: u.tags,
    repo: null,
    branch: null,
    provider: u.provider,
    endpoint: u.endpoint,
    modelRequested: u.modelRequested ?? u.model,
    modelServed: u.model,
    inputTokens: u.usage.input.total,
    cacheReadTokens: u.usage.input.cacheRead,
    cacheWrite5mTokens: u.usage.input.cacheWrite5m,
    cacheWrite1hTokens: u.usage.input.cacheWrite1h,
    outputTokens: u.usage.output.total,
    reasoningTokens: u.usage.output.reasoning,
    costUsd: u.reportedCostUsd ?? catalogue,
    usageEstimated: false,
    status: u.errorClass === null ? 200 : 0,
    errorClass: u.errorClass,
    streamed: false,
    clientAborted: false,
    rawUsage: JSON.stringify(u.usage.raw),
  };
}

function toOutcome(o: OtelOutcome, key: KeyRecord, rules: OtlpRules): OutcomeEvent {
  const who = attribute(o.identity, key, rules);
  return {
    id: stableId('otel-outcome', o.key),
    kind: o.kind,
    userId: who.userId,
    teamId: who.teamId,
    repo: null,
    sessionId: o.sessionId,
    at: o.at,
    count: o.count,
    source: 'otel',
    attrs: o.attrs,
  };
}
