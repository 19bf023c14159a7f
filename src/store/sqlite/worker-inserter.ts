import type { Worker } from 'node:worker_threads';
import { GoodhartError } from '../../errors.js';
import type { UsageEvent } from '../../usage/event.js';
import { startWorker } from '../../util/start-worker.js';
import type { Store } from '../types.js';

/**
 * Writes event batches to a SQLite file from a worker thread. better-sqlite3 is synchronous, and each insert also
 * maintains the rollups (triggers); done on the gateway's own thread, a batch of 500 blocked it for tens of
 * milliseconds. The gateway's EventWriter keeps batching, retries and draining; only the insert moves here.
 */
export class SqliteWorkerInserter implements Pick<Store, 'insertEvents'> {
  private readonly worker: Worker;
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (n: number) => void; reject: (e: Error) => void }>();

  constructor(path: string) {
    this.worker = startWorker(import.meta.url, 'insert-worker', { path });
    this.worker.on('message', (m: { id: number; inserted?: number; error?: string }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.error !== undefined) p.reject(new GoodhartError('internal', 500, `writing usage events failed: ${m.error}`));
      else p.resolve(m.inserted ?? 0);
    });
    this.worker.on('error', (err) => this.failAll(err));
    this.worker.on('exit', () => this.failAll(new Error('the event writer thread exited')));
    // Not unref'd: while a batch is in flight the thread must keep the process alive (SIGTERM drains through it);
    // close() ends it.
  }

  insertEvents(events: readonly UsageEvent[]): Promise<number> {
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, events });
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
