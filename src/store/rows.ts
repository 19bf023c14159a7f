import type { OutcomeEvent } from '../outcomes/event.js';
import type { Endpoint, EventSource, UsageEvent } from '../usage/event.js';
import { TOOL_CALL_KINDS, type ToolCalls } from '../usage/types.js';
import { MAX_COUNT } from '../usage/usage-fields.js';
import type { EventFilter, KeyRecord } from './types.js';

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
  audio_input_tokens: number;
  audio_output_tokens: number;
  /** JSON of UsageEvent.toolCalls, or null when there were none. */
  tool_calls: string | null;
}

type Flag = 'usage_estimated' | 'streamed' | 'client_aborted';
/** A row as an engine returns it: JSON parsed or not, flags as 0/1 or booleans. */
export type StoredEventRow = Omit<EventRow, 'tags' | Flag | 'tool_calls'> & { tags: string | string[]; tool_calls: string | ToolCalls | null } & Record<Flag, number | boolean>;

/**
 * The most UTF-8 bytes of an identifier kept (a session, a model, a user…). Postgres caps an index entry at 2,704
 * bytes, and the hourly rollup's unique key holds seven identifiers at once (user, team, project, both models,
 * provider, source): 7 × 256 bytes fit with room to spare. A longer value failed the insert of its whole batch.
 */
export const MAX_ID_BYTES = 256;

/** A lone UTF-16 surrogate (half of a pair): not text, and refused by Postgres jsonb as an escape. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** The longest prefix of `s` of at most `maxBytes` UTF-8 bytes, never splitting a surrogate pair. */
function cutUtf8(s: string, maxBytes: number): string {
  if (s.length * 3 <= maxBytes || Buffer.byteLength(s) <= maxBytes) return s;
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const pair = c >= 0xd800 && c <= 0xdbff && i + 1 < s.length;
    const size = pair ? 4 : c < 0x80 ? 1 : c < 0x800 ? 2 : 3;
    if (bytes + size > maxBytes) return s.slice(0, i);
    bytes += size;
    if (pair) i++;
  }
  return s;
}

/**
 * An identifier as both stores can keep it: without U+0000 (which Postgres refuses in text and jsonb), lone
 * surrogates replaced (U+FFFD), and at most MAX_ID_BYTES of UTF-8. A client can put any of these in a model name or a
 * session id (`user`, OTLP attributes…), and one such value would fail its whole batch, and with it every other
 * request's event in that batch, again at each retry. SQLite would keep them; both stores keep them alike.
 */
export function storable(s: string): string;
export function storable(s: string | null): string | null;
export function storable(s: string | null): string | null {
  if (s === null) return s;
  return cutUtf8(cleanText(s), MAX_ID_BYTES);
}

/**
 * A filter as the stored values it must match: its identifiers cut and cleaned as `storable` keeps them. A session or
 * model filter longer than MAX_ID_BYTES matched nothing (the stored value is cut), and one with U+0000 was an error on
 * Postgres.
 */
export function storableFilter<F extends EventFilter>(f: F): F {
  const keys = ['teamId', 'userId', 'projectId', 'model', 'sessionId'] as const;
  if (!keys.some((k) => needsStorable(f[k]))) return f;
  const clean = { ...f };
  for (const k of keys) if (typeof f[k] === 'string') clean[k] = storable(f[k]);
  return clean;
}

/** Text without U+0000 and with lone surrogates replaced: what Postgres takes in text and jsonb. */
function cleanText(s: string): string {
  const noNul = s.includes('\u0000') ? s.replaceAll('\u0000', '') : s;
  return noNul.replace(LONE_SURROGATE, '\ufffd');
}

const SUSPECT = /[\u0000\ud800-\udfff]/;
/** Whether storable would change `s` (cheap for the short, clean identifiers of nearly every event). */
const needsStorable = (s: string | null | undefined): boolean =>
  typeof s === 'string' && (s.length * 3 > MAX_ID_BYTES || SUSPECT.test(s)) && storable(s) !== s;

/** A JSON value with its strings and object keys cleaned (cleanText). */
function cleanJson(v: unknown): unknown {
  if (typeof v === 'string') return cleanText(v);
  if (Array.isArray(v)) return v.map(cleanJson);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [cleanText(k), cleanJson(x)]));
  return v;
}

/** JSON text of a value that Postgres jsonb takes: U+0000 and lone surrogates (written as escapes) cleaned from its strings and keys. */
export function storableJson(v: unknown): string {
  const text = JSON.stringify(v);
  return /\\u0000|\\ud[89a-f][0-9a-f]{2}/i.test(text) ? JSON.stringify(cleanJson(v)) : text;
}

const EVENT_TEXT = ['providerRequestId', 'userId', 'teamId', 'projectId', 'keyId', 'sessionId', 'repo', 'branch', 'provider', 'modelRequested', 'modelServed', 'errorClass', 'fallbackFrom'] as const;

const EVENT_COUNTS = ['inputTokens', 'cacheReadTokens', 'cacheWrite5mTokens', 'cacheWrite1hTokens', 'outputTokens', 'reasoningTokens'] as const;
const EVENT_TIMES = ['startedAt', 'endedAt'] as const;
/**
 * Times from 1970 to the end of 2099. Reports bucket the span of the stored events into days: one event dated in year
 * 9999 (a clock bug, or a hostile timestamp) made an unfiltered daily report build millions of days, then fail.
 */
export const MAX_STORED_TIME = Date.UTC(2100, 0, 1) - 1;
/** Counts past what the usage readers accept (MAX_COUNT) would overflow the 64-bit rollup sums. */
const badCount = (n: number): boolean => !Number.isSafeInteger(n) || n < 0 || n > MAX_COUNT;
const badTime = (t: number | null): boolean => t !== null && (!Number.isSafeInteger(t) || t < 0 || t > MAX_STORED_TIME);
/** No request costs a billion dollars; a float sum of absurd costs overflows Postgres' rollups (an error, not Infinity). */
export const MAX_STORED_COST = 1e9;
const badCost = (c: number | null): boolean => c !== null && (!Number.isFinite(c) || c < 0 || c > MAX_STORED_COST);

/**
 * The event as the stores keep it, applied where events enter a store, so the row and the rollups it counts in
 * (summed in JS as well as in SQL) agree: identifiers as `storable` keeps them; counts, times and costs the columns hold
 * (the sources already refuse absurd ones: this is the last guard, as one such value fails its whole batch on
 * Postgres, at every retry). The same object when nothing needs it.
 */
export function storableEvent(e: UsageEvent): UsageEvent {
  const text = EVENT_TEXT.some((f) => needsStorable(e[f])) || e.tags.some(needsStorable);
  const numbers =
    EVENT_COUNTS.some((f) => badCount(e[f])) || EVENT_TIMES.some((f) => badTime(e[f])) || badTime(e.firstTokenAt) || badCost(e.costUsd) || badExtras(e);
  if (!text && !numbers) return e;
  const clean: UsageEvent = { ...e, tags: e.tags.map((t) => storable(t)) };
  for (const f of EVENT_TEXT) if (typeof e[f] === 'string') (clean as unknown as Record<string, string>)[f] = storable(e[f]);
  for (const f of EVENT_COUNTS) if (badCount(e[f])) clean[f] = Number.isFinite(e[f]) ? Math.min(MAX_COUNT, Math.max(0, Math.floor(e[f]))) : 0;
  const clampTime = (t: number): number => (Number.isFinite(t) ? Math.max(0, Math.min(MAX_STORED_TIME, Math.floor(t))) : 0);
  for (const f of EVENT_TIMES) if (badTime(e[f])) clean[f] = clampTime(e[f]);
  if (badTime(e.firstTokenAt)) clean.firstTokenAt = null;
  if (badCost(e.costUsd)) clean.costUsd = e.costUsd !== null && Number.isFinite(e.costUsd) && e.costUsd > MAX_STORED_COST ? MAX_STORED_COST : null;
  if (badExtras(e)) {
    delete clean.audioInputTokens;
    delete clean.audioOutputTokens;
    delete clean.toolCalls;
    const calls = storedToolCalls(e.toolCalls);
    if (calls !== null) clean.toolCalls = calls;
    if (e.audioInputTokens !== undefined && !badCount(e.audioInputTokens) && e.audioInputTokens > 0) clean.audioInputTokens = e.audioInputTokens;
    if (e.audioOutputTokens !== undefined && !badCount(e.audioOutputTokens) && e.audioOutputTokens > 0) clean.audioOutputTokens = e.audioOutputTokens;
  }
  return clean;
}

/** Audio counts or tool calls a column cannot hold: dropped by storableEvent (they are parts of what is kept). */
function badExtras(e: UsageEvent): boolean {
  if (e.audioInputTokens !== undefined && badCount(e.audioInputTokens)) return true;
  if (e.audioOutputTokens !== undefined && badCount(e.audioOutputTokens)) return true;
  if (e.toolCalls === undefined) return false;
  const calls = e.toolCalls as Record<string, unknown>;
  return Object.keys(calls).some((k) => !(TOOL_CALL_KINDS as readonly string[]).includes(k) || typeof calls[k] !== 'number' || badCount(calls[k] as number));
}

/** The tool calls as stored: known kinds with counts a column holds, or null when none is left. */
function storedToolCalls(calls: ToolCalls | undefined): ToolCalls | null {
  if (calls === undefined || calls === null || typeof calls !== 'object') return null;
  const out: ToolCalls = {};
  for (const kind of TOOL_CALL_KINDS) {
    const n = calls[kind];
    if (typeof n === 'number' && !badCount(n) && n > 0) out[kind] = n;
  }
  return Object.keys(out).length > 0 ? out : null;
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
    audio_input_tokens: e.audioInputTokens ?? 0,
    audio_output_tokens: e.audioOutputTokens ?? 0,
    tool_calls: e.toolCalls === undefined ? null : JSON.stringify(e.toolCalls),
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
    ...(r.audio_input_tokens ? { audioInputTokens: r.audio_input_tokens } : {}),
    ...(r.audio_output_tokens ? { audioOutputTokens: r.audio_output_tokens } : {}),
    ...(r.tool_calls ? { toolCalls: typeof r.tool_calls === 'string' ? (JSON.parse(r.tool_calls) as ToolCalls) : r.tool_calls } : {}),
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

/**
 * The provider's request ids of the imported events in a batch: the gateway may have metered those requests already
 * (an agent logs what it got through the gateway too). See ImportBatchResult.metered.
 */
export function meteringCandidates(events: readonly UsageEvent[]): string[] {
  const ids = new Set<string>();
  for (const e of events) if (mayBeMetered(e)) ids.add(e.providerRequestId!);
  return [...ids];
}

/** Imported Messages calls (Claude Code's): the only imports the gateway's events are indexed for (migration 11). */
const mayBeMetered = (e: UsageEvent): boolean => e.source !== 'gateway' && e.endpoint === 'messages' && e.providerRequestId !== null;

/**
 * An import batch's events split by the provider ids the gateway's events hold (`gateway`, looked up for
 * meteringCandidates): those to store, and the ids of those the gateway metered (not stored; an earlier copy of
 * them is removed).
 */
export function splitMetered(events: readonly UsageEvent[], gateway: ReadonlySet<string>): { kept: readonly UsageEvent[]; meteredIds: string[] } {
  if (gateway.size === 0) return { kept: events, meteredIds: [] };
  const kept: UsageEvent[] = [];
  const meteredIds: string[] = [];
  for (const e of events) {
    if (mayBeMetered(e) && gateway.has(e.providerRequestId!)) meteredIds.push(e.id);
    else kept.push(e);
  }
  return { kept, meteredIds };
}
