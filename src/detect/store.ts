import type { Store } from '../store/types.js';
import type { UsageEvent } from '../usage/event.js';
import type { Fingerprint } from './fingerprint/types.js';
import type { Finding, FindingFilter } from './types.js';

/**
 * Where findings and fingerprints live. A separate interface from `Store`, so a store that lacks it (yet) still
 * serves the gateway; `findingsStoreOf` tells whether one has it (SQLite: `store.findings`).
 */
export interface FindingsStore {
  /** Inserts findings, replacing any with the same id (re-running detection over a range is idempotent). */
  upsertFindings(findings: readonly Finding[]): Promise<number>;
  /** Findings overlapping [since, until), newest first; `limit` keeps the newest. */
  listFindings(filter: FindingFilter): Promise<Finding[]>;
  /** Deletes findings starting in [since, until) for the given rules (before a re-run replaces them). */
  deleteFindings(filter: { since: number; until: number; rules: readonly string[] }): Promise<number>;

  /** Inserts fingerprints; an event id already present is ignored. */
  insertFingerprints(fps: readonly Fingerprint[]): Promise<number>;
  /** Fingerprints with `at` in [since, until), by `at`. */
  listFingerprints(filter: { since: number; until: number }): Promise<Fingerprint[]>;
  /** The fingerprints of these events (those that have one), in no particular order. */
  fingerprintsOf(eventIds: readonly string[]): Promise<Fingerprint[]>;
  /** Deletes fingerprints older than `before` (epoch ms): the retention sweep. */
  deleteFingerprintsBefore(before: number): Promise<number>;
  /** The installation's fingerprint secret, created (32 random bytes) the first time it is asked for. */
  fingerprintSecret(): Promise<string>;
}

/**
 * What live detection (src/detect/live) needs besides findings: the events in the order they were stored, and a
 * lease so that one process of several runs it.
 *
 * A feed cursor is an opaque string naming a position in the store's insertion order; "events up to C" are those
 * stored at or before it. SQLite: the events table's rowid (one writer at a time, so rowids grow in commit order).
 * Postgres: the inserting transaction's id and the event id, read only below the oldest transaction still running,
 * so a transaction that commits late can never be skipped.
 */
/** An event by its id and start (Postgres finds it in its month's partition by both). */
export interface EventRef {
  id: string;
  startedAt: number;
}

export interface LiveSource {
  /** A cursor covering every event stored and final now (in Postgres: written by a finished transaction). */
  feedMark(): Promise<string>;
  /**
   * The events stored after `after` and up to `upTo` (ids and starts only: `eventsOf` reads them whole when they are
   * released), in storage order, at most `limit`; `next` is the last one's cursor.
   */
  readFeed(after: string, upTo: string, limit: number): Promise<{ events: EventRef[]; next: string }>;
  /** These stored events (those that still exist), in no particular order: the reorder buffer holds only ids. */
  eventsOf(refs: readonly EventRef[]): Promise<UsageEvent[]>;
  /**
   * Events started in [since, until) and stored up to `upTo`, by startedAt then id (the warm-up at start), at most
   * `limit`, after the event `after` when given (the last of the previous page).
   */
  listEventsUpTo(filter: { since: number; until: number; after?: EventRef; limit?: number }, upTo: string): Promise<UsageEvent[]>;
  /**
   * Takes the lease `name` for `holder`, or renews it when `holder` has it; another holder's lease is taken only
   * once it expired. Null when another holder has it; else the cursor saved with it (null the first time).
   * Expiry is measured on the database's clock, so replicas on hosts with skewed clocks agree.
   */
  acquireLease(name: string, holder: string, ttlMs: number): Promise<{ cursor: string | null } | null>;
  /** Saves the cursor and renews the lease, only while `holder` has it: false when it was lost (then stop). */
  saveCursor(name: string, holder: string, cursor: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease up (at shutdown), keeping the cursor, so another process can take over at once. */
  releaseLease(name: string, holder: string): Promise<void>;
}

export interface HasFindings {
  readonly findings: FindingsStore & Partial<LiveSource>;
}

export function findingsStoreOf(store: Store): FindingsStore | undefined {
  const f = (store as Partial<HasFindings>).findings;
  return f !== undefined && typeof f.upsertFindings === 'function' ? f : undefined;
}

/** The store's findings tables when they can also feed live detection (SQLite and Postgres can). */
export function liveSourceOf(store: Store): (FindingsStore & LiveSource) | undefined {
  const f = findingsStoreOf(store) as (FindingsStore & Partial<LiveSource>) | undefined;
  return f !== undefined && typeof f.readFeed === 'function' && typeof f.acquireLease === 'function' ? (f as FindingsStore & LiveSource) : undefined;
}

/** Findings matching a filter: the one function the CLI, an API route or the dashboard calls. */
export async function listFindings(store: FindingsStore, filter: FindingFilter = {}): Promise<Finding[]> {
  return store.listFindings(filter);
}
