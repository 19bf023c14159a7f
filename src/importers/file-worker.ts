/**
 * Worker thread entry: processes file tasks and writes their events to the database itself (its own SQLite
 * connection; WAL lets the workers take turns writing while the others parse), so events never cross threads.
 * Messages in: a FileTask, or 'finish'. Messages out: each file's result without its events, then the totals.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { BatchWriter } from './batch-writer.js';
import { processFile, type FileTask } from './process-file.js';
import type { PriceBookEntry } from './price-memo.js';
import { contextFromRecipe, type WorkerRecipe } from './worker-recipe.js';
import { WriteLock } from './write-lock.js';

export type WorkerMessage =
  | { kind: 'file'; result: Omit<ReturnType<typeof processFile>, 'events' | 'fingerprints' | 'deferred' | 'state'> & { events: []; fingerprints: []; deferred: []; state: null } }
  | { kind: 'done'; inserted: number; replaced: number; priceBook: PriceBookEntry[] }
  | { kind: 'error'; message: string };

const recipe = workerData as WorkerRecipe;
const ctx = contextFromRecipe(recipe);
const store = new SqliteStore(recipe.dbPath!);
const writer = new BatchWriter(store, Date.now, 10_000, new WriteLock(recipe.writeLock));
let queue: Promise<void> = Promise.resolve();
const post = (m: WorkerMessage): void => parentPort!.postMessage(m);

parentPort?.on('message', (msg: FileTask | 'finish') => {
  queue = queue
    .then(async () => {
      if (msg === 'finish') {
        await writer.flush();
        await store.close();
        post({ kind: 'done', inserted: writer.inserted, replaced: writer.replaced, priceBook: ctx.memo.learnt > 0 ? ctx.memo.book() : [] });
        return;
      }
      const result = processFile(msg, ctx);
      await writer.add(result);
      // Counts only: events, fingerprints and the file's state (its parser context can be kilobytes) were written here.
      post({ kind: 'file', result: { ...result, events: [], fingerprints: [], deferred: [], state: null } });
    })
    .catch((err: unknown) => post({ kind: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }));
});
