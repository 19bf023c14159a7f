import type { Fingerprint } from '../detect/fingerprint/types.js';
import type { AuditStore, ImportFileState } from '../store/types.js';
import type { UsageEvent } from '../usage/event.js';
import { betterEvent } from './build-event.js';
import type { FileResult } from './process-file.js';
import type { WriteLock } from './write-lock.js';

/**
 * Collects processed files and writes their events and new offsets in large transactions. Events with one id
 * (Claude Code's repeated lines across files) are merged by `betterEvent`, the same rank the store applies to ids
 * it already has. A file's state is written in the same transaction as its last events, so a crash never records
 * an offset past events that were not written.
 */
export class BatchWriter {
  inserted = 0;
  replaced = 0;
  /** Events the gateway had metered already (ImportBatchResult.metered): not stored. */
  metered = 0;
  private readonly pending = new Map<string, UsageEvent>();
  private states: ImportFileState[] = [];
  /** The fingerprint of each held event's copy (the copy `betterEvent` keeps), by event id. */
  private fingerprints = new Map<string, Fingerprint>();

  constructor(
    private readonly store: AuditStore,
    private readonly now: () => number,
    /** Events per transaction: large enough that commits cost nothing, small enough to bound memory. */
    private readonly batchSize = 20_000,
    /** Taken around each transaction when other threads write the same database (import workers). */
    private readonly lock: WriteLock | null = null,
    /** `--full`: refresh stored events with what this run read (ImportBatch.refresh). */
    private readonly refresh = false,
  ) {}

  async add(r: FileResult): Promise<void> {
    // A request logged in several files: the copy kept is the better one, whichever file came first, and its
    // fingerprint (read in that file's context) goes with it.
    const kept = new Set<string>();
    for (const e of r.events) {
      const held = this.pending.get(e.id);
      const better = held === undefined ? e : betterEvent(held, e);
      this.pending.set(e.id, better);
      if (better === e) kept.add(e.id);
    }
    for (const f of r.fingerprints) {
      if (!kept.has(f.eventId)) continue;
      kept.delete(f.eventId); // the first of this file's fingerprints for the id
      this.fingerprints.set(f.eventId, f);
    }
    if (r.state !== null) this.states.push({ ...r.state, updatedAt: this.now() });
    if (this.pending.size >= this.batchSize || this.states.length >= 2000) {
      // Another thread may be writing: try without waiting, and wait only once far behind.
      await this.flush(this.lock === null || this.pending.size >= 4 * this.batchSize);
    }
  }

  /** Writes what is held; with `wait` false, leaves it held when another import thread is writing. */
  async flush(wait = true): Promise<void> {
    if (this.pending.size === 0 && this.states.length === 0 && this.fingerprints.size === 0) return;
    if (this.lock !== null) {
      if (!wait && !this.lock.tryAcquire()) return;
      if (wait) this.lock.acquire();
    }
    const batch = { events: [...this.pending.values()], states: this.states, fingerprints: [...this.fingerprints.values()], refresh: this.refresh };
    let result;
    try {
      result = await this.store.commitImportBatch(batch);
    } finally {
      this.lock?.release();
    }
    this.pending.clear();
    this.states = [];
    this.fingerprints.clear();
    this.inserted += result.inserted;
    this.replaced += result.replaced;
    this.metered += result.metered;
  }
}
