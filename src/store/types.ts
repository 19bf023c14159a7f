import type { EventSource, UsageEvent } from '../usage/event.js';

/** Filters shared by event queries and reports. Times are epoch milliseconds, `until` exclusive. */
export interface EventFilter {
  since?: number;
  until?: number;
  teamId?: string;
  userId?: string;
  projectId?: string;
  model?: string;
  source?: EventSource;
  sessionId?: string;
}

export type GroupBy = 'day' | 'month' | 'session' | 'team' | 'user' | 'project' | 'model';

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
   */
  aggregate(groupBy: GroupBy, filter: EventFilter, opts?: { timeZone?: string }): Promise<UsageAggregate[]>;

  createKey(key: KeyRecord): Promise<void>;
  findKeyByHash(hash: string): Promise<KeyRecord | undefined>;
  listKeys(): Promise<KeyRecord[]>;
  /** Revokes by id or prefix; returns the revoked record, or undefined when none matched. */
  revokeKey(idOrPrefix: string, at: number): Promise<KeyRecord | undefined>;
  /** Increases whenever keys change, so a running gateway can refresh its in-memory key cache cheaply. */
  keysVersion(): Promise<number>;

  close(): Promise<void>;
}
