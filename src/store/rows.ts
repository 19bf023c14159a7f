import type { OutcomeEvent } from '../outcomes/event.js';
import type { Endpoint, EventSource, UsageEvent } from '../usage/event.js';
import { MAX_COUNT } from '../usage/usage-fields.js';
import type { KeyRecord } from './types.js';

/**
 * The column form of events and keys, shared by the SQLite and Postgres stores. Written rows hold tags as JSON text
 * and flags as 0/1 (both engines accept them); rows read back may hold parsed JSON and real booleans (Postgres).
 */
export interface EventRow {
  id: string;
  source: string;
  provider_request_id: string | null;
  started_at: number;
  first_token_at: number | null;
  ended_at: number;
  user_id: string | null;
  team_id: string | null;
  project_id: string | null;
  key_id: string | null;
  session_id: string | null;
  tags: string;
  repo: string | null;
  branch: string | null;
  provider: string;
  endpoint: string;
  model_requested: string | null;
  model_served: string | null;
  input_tokens: number;
  cache_read_tokens: number;
  cache_write_5m_tokens: number;
  cache_write_1h_tokens: number;
  output_tokens: number;
  reasoning_tokens: number;
  cost_usd: number | null;
  usage_estimated: number;
  status: number;
  error_class: string | null;
  streamed: number;
  client_aborted: number;
  raw_usage: string | null;
  fallback_from: string | null;
}

type Flag = 'usage_estimated' | 'streamed' | 'client_aborted';
/** A row as an engine returns it: JSON parsed or not, flags as 0/1 or booleans. */
export type StoredEventRow = Omit<EventRow, 'tags' | Flag> & { tags: string | string[] } & Record<Flag, number | boolean>;

/**
 * The longest identifier kept (a session, a model, a user…), in UTF-16 units: at most 2 KB of UTF-8, which a Postgres
 * index entry holds (a longer, incompressible value fails the insert: "index row requires … bytes").
 */
export const MAX_ID_CHARS = 512;

/**
 * An identifier as both stores can keep it: without U+0000, which Postgres refuses in text and jsonb, and at most
 * MAX_ID_CHARS long. A client can put either in a model name or a session id (`user`, OTLP attributes…), and one
 * such value would fail its whole batch, and with it every other request's event in that batch, again at each
 * retry. SQLite would keep them; both stores cut them alike.
 */
export function storable(s: string): string;
export function storable(s: string | null): string | null;
export function storable(s: string | null): string | null {
  if (s === null) return s;
  const clean = s.includes('\u0000') ? s.replaceAll('\u0000', '') : s;
  return clean.length > MAX_ID_CHARS ? clean.slice(0, MAX_ID_CHARS) : clean;
}

const needsStorable = (s: string | null | undefined): boolean => typeof s === 'string' && (s.length > MAX_ID_CHARS || s.includes('\u0000'));

/** JSON text of a value with U+0000 dropped from its strings (JSON.stringify writes it as an escape jsonb refuses). */
export function storableJson(v: unknown): string {
  const text = JSON.stringify(v);
  return text.includes('\\u0000') ? JSON.stringify(v, (_k, x: unknown) => (typeof x === 'string' ? x.replaceAll('\u0000', '') : x)) : text;
}

const EVENT_TEXT = ['providerRequestId', 'userId', 'teamId', 'projectId', 'keyId', 'sessionId', 'repo', 'branch', 'provider', 'modelRequested', 'modelServed', 'errorClass', 'fallbackFrom'] as const;

const EVENT_COUNTS = ['inputTokens', 'cacheReadTokens', 'cacheWrite5mTokens', 'cacheWrite1hTokens', 'outputTokens', 'reasoningTokens'] as const;
const EVENT_TIMES = ['startedAt', 'endedAt'] as const;
/** Counts (as the usage readers accept them) and times (a Date's range) the stores' 64-bit columns and rollups hold. */
const MAX_STORED_COUNT = MAX_COUNT;
const MAX_STORED_TIME = 8.64e15;
const badCount = (n: number): boolean => !Number.isSafeInteger(n) || n < 0 || n > MAX_STORED_COUNT;
const badTime = (t: number | null): boolean => t !== null && (!Number.isSafeInteger(t) || Math.abs(t) > MAX_STORED_TIME);

/**
 * The event as the stores keep it, applied where events enter a store, so the row and the rollups it counts in
 * (summed in JS as well as in SQL) agree: identifiers as `storable` keeps them; counts and times a 64-bit column holds
 * (the sources already refuse absurd ones: this is the last guard, as one such value fails its whole batch on
 * Postgres, at every retry). The same object when nothing needs it.
 */
export function storableEvent(e: UsageEvent): UsageEvent {
  const text = EVENT_TEXT.some((f) => needsStorable(e[f])) || e.tags.some(needsStorable);
  const numbers = EVENT_COUNTS.some((f) => badCount(e[f])) || EVENT_TIMES.some((f) => badTime(e[f])) || badTime(e.firstTokenAt);
  if (!text && !numbers) return e;
  const clean: UsageEvent = { ...e, tags: e.tags.map((t) => storable(t)) };
  for (const f of EVENT_TEXT) if (typeof e[f] === 'string') (clean as unknown as Record<string, string>)[f] = storable(e[f]);
  for (const f of EVENT_COUNTS) if (badCount(e[f])) clean[f] = Number.isFinite(e[f]) ? Math.min(MAX_STORED_COUNT, Math.max(0, Math.floor(e[f]))) : 0;
  const clampTime = (t: number): number => (Number.isFinite(t) ? Math.max(-MAX_STORED_TIME, Math.min(MAX_STORED_TIME, Math.floor(t))) : 0);
  for (const f of EVENT_TIMES) if (badTime(e[f])) clean[f] = clampTime(e[f]);
  if (badTime(e.firstTokenAt)) clean.firstTokenAt = null;
  return clean;
}

export function eventToRow(e: UsageEvent): EventRow {
  return {
    id: e.id,
    source: e.source,
    provider_request_id: e.providerRequestId,
    started_at: e.startedAt,
    first_token_at: e.firstTokenAt,
    ended_at: e.endedAt,
    user_id: e.userId,
    team_id: e.teamId,
    project_id: e.projectId,
    key_id: e.keyId,
    session_id: e.sessionId,
    tags: JSON.stringify(e.tags),
    repo: e.repo,
    branch: e.branch,
    provider: e.provider,
    endpoint: e.endpoint,
    model_requested: e.modelRequested,
    model_served: e.modelServed,
    input_tokens: e.inputTokens,
    cache_read_tokens: e.cacheReadTokens,
    cache_write_5m_tokens: e.cacheWrite5mTokens,
    cache_write_1h_tokens: e.cacheWrite1hTokens,
    output_tokens: e.outputTokens,
    reasoning_tokens: e.reasoningTokens,
    cost_usd: e.costUsd,
    usage_estimated: e.usageEstimated ? 1 : 0,
    status: e.status,
    error_class: e.errorClass,
    streamed: e.streamed ? 1 : 0,
    client_aborted: e.clientAborted ? 1 : 0,
    raw_usage: e.rawUsage,
    fallback_from: e.fallbackFrom ?? null,
  };
}

const flag = (v: number | boolean): boolean => v === true || v === 1;

// Rows are trusted: only eventToRow() writes them, so source and endpoint hold the values it was given.
export function eventFromRow(r: StoredEventRow): UsageEvent {
  return {
    id: r.id,
    source: r.source as EventSource,
    providerRequestId: r.provider_request_id,
    startedAt: r.started_at,
    firstTokenAt: r.first_token_at,
    endedAt: r.ended_at,
    userId: r.user_id,
    teamId: r.team_id,
    projectId: r.project_id,
    keyId: r.key_id,
    sessionId: r.session_id,
    tags: typeof r.tags === 'string' ? (JSON.parse(r.tags) as string[]) : r.tags,
    repo: r.repo,
    branch: r.branch,
    provider: r.provider,
    endpoint: r.endpoint as Endpoint,
    modelRequested: r.model_requested,
    modelServed: r.model_served,
    inputTokens: r.input_tokens,
    cacheReadTokens: r.cache_read_tokens,
    cacheWrite5mTokens: r.cache_write_5m_tokens,
    cacheWrite1hTokens: r.cache_write_1h_tokens,
    outputTokens: r.output_tokens,
    reasoningTokens: r.reasoning_tokens,
    costUsd: r.cost_usd,
    usageEstimated: flag(r.usage_estimated),
    status: r.status,
    errorClass: r.error_class,
    streamed: flag(r.streamed),
    clientAborted: flag(r.client_aborted),
    rawUsage: r.raw_usage,
    ...(r.fallback_from ? { fallbackFrom: r.fallback_from } : {}),
  };
}

export interface KeyRow {
  id: string;
  hash: string;
  prefix: string;
  user_id: string;
  team_id: string | null;
  project_id: string | null;
  name: string | null;
  created_at: number;
  revoked_at: number | null;
}

export function keyToRow(k: KeyRecord): KeyRow {
  return {
    id: k.id,
    hash: k.hash,
    prefix: k.prefix,
    user_id: k.userId,
    team_id: k.teamId,
    project_id: k.projectId,
    name: k.name,
    created_at: k.createdAt,
    revoked_at: k.revokedAt,
  };
}

export function keyFromRow(r: KeyRow): KeyRecord {
  return {
    id: r.id,
    hash: r.hash,
    prefix: r.prefix,
    userId: r.user_id,
    teamId: r.team_id,
    projectId: r.project_id,
    name: r.name,
    createdAt: r.created_at,
    revokedAt: r.revoked_at,
  };
}

/**
 * An outcome's values in the column order both stores' `outcomes` tables are written in (id, kind, user_id, team_id,
 * repo, session_id, at, count, source, attrs, project_id, branch, sha, pr_number, tickets, lines_added,
 * lines_removed, files_changed, ai_coauthored, ai_tools, reverts_sha), its text without U+0000 (OTLP payloads and
 * webhooks supply it).
 */
export function outcomeValues(o: OutcomeEvent): (string | number | null)[] {
  // An empty list is stored as NULL, like any field the source did not know.
  const list = (l: readonly string[] | undefined): string | null => (l === undefined || l.length === 0 ? null : storableJson(l));
  return [
    storable(o.id), o.kind, storable(o.userId), storable(o.teamId), storable(o.repo), storable(o.sessionId), o.at, o.count, o.source,
    storableJson(o.attrs), storable(o.projectId ?? null), storable(o.branch ?? null), storable(o.sha ?? null), o.prNumber ?? null,
    list(o.tickets), o.linesAdded ?? null, o.linesRemoved ?? null, o.filesChanged ?? null,
    o.aiCoAuthored === undefined || o.aiCoAuthored === null ? null : o.aiCoAuthored ? 1 : 0, list(o.aiTools), storable(o.revertsSha ?? null),
  ];
}
