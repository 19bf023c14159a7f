import type { AuditStore, ImportFileState } from '../store/types.js';
import type { UsageEvent } from '../usage/event.js';
import { betterEvent } from './build-event.js';
import type { FileResult } from './process-file.js';

/**
 * Collects processed files and writes their events and new offsets in large transactions. Events with one id
 * (Claude Code's repeated lines across files) are merged by `betterEvent`, the same rank the store applies to ids
 * it already has. A file's state is written in the same transaction as its last events, so a crash never records
 * an offset past events that were not written.
 */
export class BatchWriter {
  inserted = 0;
  replaced = 0;
  private readonly pending = new Map<string, UsageEvent>();
  private states: ImportFileState[] = [];

  constructor(
    private readonly store: AuditStore,
    private readonly now: () => number,
    /** Events per transaction: large enough that commits cost nothing, small enough to bound memory. */
    private readonly batchSize = 20_000,
    /** Other connections write the same database at the same time (worker threads). */
    private readonly shared = false,
  ) {}

  async add(r: FileResult): Promise<void> {
    for (const e of r.events) {
      const held = this.pending.get(e.id);
      this.pending.set(e.id, held === undefined ? e : betterEvent(held, e));
    }
    if (r.state !== null) this.states.push({ ...r.state, updatedAt: this.now() });
    if (this.pending.size >= this.batchSize || this.states.length >= 2000) {
      // With `shared`, other writers may hold the lock: try without waiting, and wait only once far behind.
      await this.flush(!this.shared || this.pending.size >= 4 * this.batchSize);
    }
  }

  /** Writes what is held; with `wait` false, leaves it held when the database is busy. */
  async flush(wait = true): Promise<void> {
    if (this.pending.size === 0 && this.states.length === 0) return;
    const batch = { events: [...this.pending.values()], states: this.states };
    const result = wait || this.store.tryCommitImportBatch === undefined ? await this.store.commitImportBatch(batch) : await this.store.tryCommitImportBatch(batch);
    if (result === null) return;
    this.pending.clear();
    this.states = [];
    this.inserted += result.inserted;
    this.replaced += result.replaced;
  }
}
