import type { RouteDecision } from '../../route/decisions.js';
import type { GuardTrip } from '../../route/guard.js';
import type { StoreSpec } from '../../store/open.js';
import type { Endpoint, UsageEvent } from '../../usage/event.js';

/**
 * Messages between the gateway's main thread and its tail thread (tail-worker.ts ↔ thread.ts). Kept in one file so
 * both sides agree on the shapes.
 */

export interface ThreadData {
  /** The gateway's store, reopened on the thread. */
  spec: StoreSpec;
  /** Fingerprint requests on this thread (keyed hashes only; see src/detect/fingerprint). */
  fingerprints: { secret: string; retentionDays: number; sweepMs: number } | null;
}

/** One request to fingerprint: its event's identity and where its raw body sits in the batch's buffer. */
export interface FingerprintItem {
  eventId: string;
  at: number;
  userId: string | null;
  sessionId: string | null;
  endpoint: Endpoint;
  offset: number;
  length: number;
}

export type ToThread =
  | { kind: 'events'; id: number; events: UsageEvent[] }
  /** `buf` holds the raw request bodies back to back; it is transferred, not copied. */
  | { kind: 'fingerprints'; buf: ArrayBuffer; items: FingerprintItem[] }
  /** Routing decisions, a quality-guard miss or a trip, for a SQLite file (answered as `done`). */
  | { kind: 'decisions'; id: number; write: { insert: RouteDecision[] } | { miss: { id: string; at: number } } | { trip: GuardTrip } }
  /** Answered once everything posted before it is done. */
  | { kind: 'drain'; id: number }
  /** Closes the store (answered as `drained`); nothing may follow. */
  | { kind: 'close'; id: number };

export type FromThread =
  | { kind: 'ready' }
  | { kind: 'events'; id: number; inserted?: number; error?: string }
  | { kind: 'fingerprints'; bytes: number; written: number; failed: number }
  | { kind: 'drained'; id: number }
  | { kind: 'done'; id: number; error?: string }
  | { kind: 'log'; message: string };
