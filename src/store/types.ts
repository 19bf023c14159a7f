import type { Fingerprint } from '../detect/fingerprint/types.js';
import type { OutcomeEvent, OutcomeFilter } from '../outcomes/event.js';
import type { EventSource, UsageEvent } from '../usage/event.js';

/** The group key of events without that value (no team, user, project or session): reports print it so. */
export const NONE_KEY = '(none)';

/**
 * Filters shared by event queries and reports. Times are epoch milliseconds, `until` exclusive. A team, user or
 * project of `null`: the events that have none (the rows reports print as NONE_KEY).
 */
export interface EventFilter {
  since?: number;
  until?: number;
  teamId?: string | null;
  userId?: string | null;
  projectId?: string | null;
  model?: string;
  source?: EventSource;
  sessionId?: string;
}

export type GroupBy = 'day' | 'month' | 'session' | 'team' | 'user' | 'project' | 'model';
/** A second group an aggregate can split each row by (`aggregate(…, { by })`). */
export type SplitBy = 'team' | 'user' | 'project';

/** Options of `Store.aggregate`. */
export interface AggregateOptions {
  /** IANA zone of day and month buckets (default UTC). */
  timeZone?: string;
  /** Splits each group by a second key: one row per (key, by) pair, its value in `by`. */
  by?: SplitBy;
}

/** One row of an aggregate report. `key` is the group value (a date, a session id, a team id…). */
export interface UsageAggregate {
  key: string;
  requests: number;
  inputTokens: number;
  cacheReadTokens: number;
  cacheWrite5mTokens: number;
  cacheWrite1hTokens: number;
  outputTokens: number;
  reasoningTokens: number;
  costUsd: number;
  /** Events whose model had no price (their cost is not in costUsd). */
  unpricedRequests: number;
  estimatedRequests: number;
  firstAt: number;
  lastAt: number;
  /** Distinct models seen in the group. */
  models: string[];
  /** The second key, when the aggregate was split (`by`); `(none)` for a null value. */
  by?: string;
}

export interface KeyRecord {
  id: string;
  /** SHA-256 hex of the full key. The key itself is never stored. */
  hash: string;
  /** The first characters of the key, safe to show (`gh_abc123…`). */
  prefix: string;
  userId: string;
  teamId: string | null;
  projectId: string | null;
  name: string | null;
  createdAt: number;
  revokedAt: number | null;
}

/**
 * The one storage interface. SQLite is the embedded default; Postgres implements the same for scale-out.
 * Every method is async so that a networked store fits the same shape.
 */
export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /** Inserts events; an event whose id already exists is ignored (idempotent replays). Returns how many were new. */
  insertEvents(events: readonly UsageEvent[]): Promise<number>;
  /**
   * Events ordered by startedAt then id (`order: 'desc'` reverses both, so `limit` then keeps the newest).
   */
  listEvents(filter: EventFilter & { limit?: number; order?: 'asc' | 'desc' }): Promise<UsageEvent[]>;
  /**
   * Aggregates by a group; day/month are calendar buckets (`YYYY-MM-DD`, `YYYY-MM`) of startedAt in `timeZone`
   * (IANA name, default UTC). A null group value shows as `(none)`; `model` is modelServed, else modelRequested.
   * Order: day/month by key ascending; other groups by costUsd descending, then requests descending, then key.
   * With `by`, one row per (key, by) pair, in that order, then by `by`: one query where a page would otherwise ask
   * once per person.
   */
  aggregate(groupBy: GroupBy, filter: EventFilter, opts?: AggregateOptions): Promise<UsageAggregate[]>;

  createKey(key: KeyRecord): Promise<void>;
  findKeyByHash(hash: string): Promise<KeyRecord | undefined>;
  listKeys(): Promise<KeyRecord[]>;
  /** Revokes by id or prefix; returns the revoked record, or undefined when none matched. */
  revokeKey(idOrPrefix: string, at: number): Promise<KeyRecord | undefined>;
  /** Increases whenever keys change, so a running gateway can refresh its in-memory key cache cheaply. */
  keysVersion(): Promise<number>;

  close(): Promise<void>;
}

/**
 * Where an importer got to in one log file. The next run starts at `offset` when the file only grew; a different
 * inode, a smaller size or a different hash of its first bytes means it was rotated or rewritten, and it is read
 * again from the start (deterministic event ids make that safe).
 */
export interface ImportFileState {
  source: string;
  path: string;
  /** Bytes consumed, always at a line boundary: the next run starts reading here. */
  offset: number;
  /** File size when last read. */
  size: number;
  inode: number;
  mtimeMs: number;
  /** SHA-256 (hex) of the first `headBytes` bytes of the file. */
  headHash: string;
  headBytes: number;
  /** The parser's state at `offset` as JSON (Codex: session, current model, last cumulative totals), or null. */
  context: string | null;
  updatedAt: number;
}

/** One batch of an import, written in one transaction: its events and the file states they bring up to date. */
export interface ImportBatch {
  events: readonly UsageEvent[];
  states: readonly ImportFileState[];
  /** Waste-detection fingerprints of the events (no text); an event id already fingerprinted is left as it is. */
  fingerprints?: readonly Fingerprint[];
  /**
   * A full re-read (`import --full`, a usage API's range): a stored event is replaced by a record of the same rank
   * too, so prices and identity rules changed since the first import apply to it (they were kept as first stored),
   * and so does a source given to an importer since.
   */
  refresh?: boolean;
  /**
   * Ids of imported events to remove first, in the same transaction (rollups and fingerprints with them): a usage
   * API's bucket read again without them, because it is grouped otherwise now. Gateway events are never removed.
   */
  drop?: readonly string[];
}

export interface ImportBatchResult {
  /** Events whose id was new. */
  inserted: number;
  /** Events that replaced a stored event with the same id because they rank higher (see commitImportBatch). */
  replaced: number;
  /**
   * Events not stored because the gateway already metered the same request (a gateway event with the same
   * `providerRequestId`): Claude Code logs the responses it got through the gateway too.
   */
  metered: number;
  /** Of `drop`, the events that were stored and are removed. */
  dropped?: number;
}

/**
 * Incremental imports. Not (yet) part of `Store`: the Postgres store does not implement it, and importers check
 * for it with `supportsImports`.
 */
export interface ImportStateStore {
  getImportState(source: string, path: string): Promise<ImportFileState | undefined>;
  listImportStates(source: string): Promise<ImportFileState[]>;
  /**
   * Writes events and file states in one transaction. An event whose id is new is inserted. An event whose id
   * exists replaces the stored one only when it ranks higher: an event without the `sidechain` tag beats one with
   * it, then the larger token sum (input + cache reads + cache writes + output) wins, then the earlier start;
   * otherwise it is ignored. That is Claude Code's rule for the several lines it writes per response, kept across
   * incremental runs; the earlier start keeps a request where and when it happened when a later log holds a re-dated
   * copy of it (a Codex fork's copy of its parent's history), whichever file is imported first.
   */
  commitImportBatch(batch: ImportBatch): Promise<ImportBatchResult>;
}

/** A point of a cumulative counter (OTLP CUMULATIVE sums). Times are epoch nanoseconds as decimal strings. */
export interface CounterPoint {
  /** Identity of the series: metric name, resource and point attributes, as a stable string. */
  seriesKey: string;
  /** Where the counter counts from; with `seriesKey`, the series (a sender's own, a restart's new one). */
  startTimeNs: string;
  timeNs: string;
  value: number;
}

/** A CUMULATIVE point's increase, and the time (ns) it counts from: its series' previous point, or its start. */
export interface CounterStep {
  increase: number;
  /** Null when the point adds nothing new (a replay) or is the stored point again (its increase is the one it gave). */
  sinceNs: string | null;
}

/**
 * One OTLP metrics interval event's record of the points it holds (the processor's state, as JSON), stored beside the
 * event under its id, so that points of the interval arriving in later requests add to the event instead of being
 * taken for a replay of it.
 */
export interface OtelInterval {
  id: string;
  /**
   * A GenAI token histogram's interval: the resource (its tag, as on its spans' events, SpanWindow), model and
   * endpoint whose spans describe some of the same requests. Null for others.
   */
  resource: string | null;
  model: string | null;
  endpoint: string | null;
  /** The interval (epoch ms, both ends included): from its points' earliest start, or the previous point, to its end. */
  fromMs: number;
  toMs: number;
  state: string;
}

/**
 * The GenAI span events (source `otel`) of one resource (the tag `otel.resource=…` they carry), model and endpoint
 * that ended within a time window (epoch ms, both ends included).
 */
export interface SpanWindow {
  resource: string;
  model: string;
  endpoint: string;
  fromMs: number;
  toMs: number;
}

export interface SpanTotals {
  inputTokens: number;
  outputTokens: number;
  requests: number;
}

/**
 * A window's span totals from its spans of the resource (`mine`), all its spans, and how many of those carry a
 * resource tag at all. Spans stored by the release before the top-up (a5a7090) carry none: when a window's spans
 * are all such, they are taken as the resource's (an upgrade's first minutes; if several resources sent that model
 * then, each takes them all, and less is counted than was used).
 */
export function windowSpanTotals(r: { mine: SpanTotals; all: SpanTotals; tagged: number }): SpanTotals {
  return r.tagged === 0 ? r.all : r.mine;
}

/** One OTLP request's writes, decided inside the store's transaction (CounterStore.commitOtel). */
export interface OtelCommit {
  counters: readonly CounterPoint[];
  /** Per-request events (GenAI spans), stored first; an id already stored is left as it is. */
  perRequest: readonly UsageEvent[];
  /** Ids of the intervals the request has points of: the stored ones are read for `build`. */
  intervals: readonly string[];
  /** Also read the intervals of these resources, models and endpoints that overlap these windows. */
  covering: readonly SpanWindow[];
  /** Also read the stored events with these ids (a DELTA interval's id as the release before otel_intervals made it). */
  events: readonly string[];
  /** Also read when the latest stored interval of each of these resources, models and endpoints ended before `beforeMs`. */
  previous: readonly PreviousInterval[];
  /**
   * What else the request decides on (the spans and histogram intervals of one resource and model): requests naming
   * one take turns (SQLite's write transactions always do).
   */
  locks: readonly string[];
  /** The windows whose span totals `build` needs, once the counters moved and the intervals are read. */
  windows(read: OtelRead): readonly SpanWindow[];
  build(read: OtelRead & { spans: readonly SpanTotals[] }): OtelWrites;
}

/** The GenAI histogram intervals of one resource, model and endpoint that ended before a time (epoch ms). */
export interface PreviousInterval {
  resource: string;
  model: string;
  endpoint: string;
  beforeMs: number;
}

/** What the store holds for an OtelCommit, read in its transaction. */
export interface OtelRead {
  /** One step per point of `counters`, in order. */
  counters: readonly CounterStep[];
  /** The stored intervals, of those asked for and those covering, by id. */
  intervals: ReadonlyMap<string, OtelInterval>;
  /** The stored events with the ids of those intervals, and of `events`. */
  events: ReadonlyMap<string, UsageEvent>;
  /** One per `previous`, in order: the latest end (epoch ms) of those intervals, null when none is stored. */
  previousEnds: readonly (number | null)[];
}

export interface OtelWrites {
  /** Stored, replacing a stored interval with the same id. */
  intervals: readonly OtelInterval[];
  /** Stored, replacing a stored event with the same id (its rollups moved with it). */
  events: readonly UsageEvent[];
  /** Ids of events to remove (never a gateway event). */
  drop: readonly string[];
  /** Stored; an id already stored is left as it is. */
  outcomes: readonly OutcomeEvent[];
}

export interface CounterStore {
  /**
   * For each point, the increase since the last point stored for its series (its key and start time), and
   * remembers the point: the first point of a series counts in full (so does a new start time: a restarted process,
   * or another sender with the same attributes); a point not newer than the stored one (a replay, a retry, an
   * out-of-order batch) counts 0; a value lower than the stored one is a reset and counts in full. One transaction
   * for the whole batch.
   */
  advanceCounters(points: readonly CounterPoint[]): Promise<number[]>;
  /**
   * What one OTLP request stores, in one transaction: its per-request events are stored, its CUMULATIVE points move
   * their series (advanceCounters' rule), the intervals it has points of or whose spans it brings are read, the span
   * totals of the windows `windows` asks for are summed, `build` decides from all that what to write, and that is
   * written. A request that fails to store moves no counter, so the exporter's retry, or its next point, still
   * carries the increase; requests with points of one interval, or spans of one resource and model, take turns.
   * `windows` and `build` must be pure: a transaction that has to run again calls them again.
   */
  commitOtel(commit: OtelCommit): Promise<void>;
  /**
   * The OpenTelemetry events (source `otel`) of these sessions that carry `tag`: their ids and sessions. The OTLP
   * receiver asks which sessions send per-request log events (`otel-log`), and which metric events (`otel-metric`)
   * describe the same requests, across restarts and replicas.
   */
  otelTagged(sessions: readonly string[], tag: string, limit: number): Promise<{ id: string; sessionId: string }[]>;
}

export interface OutcomeStore {
  /** Inserts outcomes; an id that already exists is ignored. Returns how many were new. */
  insertOutcomes(outcomes: readonly OutcomeEvent[]): Promise<number>;
  /** Outcomes ordered by `at` then id. */
  listOutcomes(filter: OutcomeFilter & { limit?: number }): Promise<OutcomeEvent[]>;
}

/** What audit mode (file and API importers, the OTLP receiver) needs from a store. */
export type AuditStore = Store & ImportStateStore & CounterStore & OutcomeStore;

export function supportsImports(store: Store): store is AuditStore {
  const s = store as Partial<AuditStore>;
  return (
    typeof s.commitImportBatch === 'function' &&
    typeof s.advanceCounters === 'function' &&
    typeof s.commitOtel === 'function' &&
    typeof s.otelTagged === 'function' &&
    typeof s.insertOutcomes === 'function'
  );
}
