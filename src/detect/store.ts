import type { Store } from '../store/types.js';
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
  /** Deletes fingerprints older than `before` (epoch ms): the retention sweep. */
  deleteFingerprintsBefore(before: number): Promise<number>;
  /** The installation's fingerprint secret, created (32 random bytes) the first time it is asked for. */
  fingerprintSecret(): Promise<string>;
}

export interface HasFindings {
  readonly findings: FindingsStore;
}

export function findingsStoreOf(store: Store): FindingsStore | undefined {
  const f = (store as Partial<HasFindings>).findings;
  return f !== undefined && typeof f.upsertFindings === 'function' ? f : undefined;
}

/** Findings matching a filter: the one function the CLI, an API route or the dashboard calls. */
export async function listFindings(store: FindingsStore, filter: FindingFilter = {}): Promise<Finding[]> {
  return store.listFindings(filter);
}
