/**
 * Worker thread entry: processes file tasks and writes their events to the database itself (its own SQLite
 * connection; WAL lets the workers take turns writing while the others parse), so events never cross threads.
 *
 * The tasks come in `workerData` with a shared counter: each worker takes the next task itself, so the main thread
 * is not woken once per file to hand one out (with two cores, each such wake-up took the CPU from a worker for
 * milliseconds). Results go back in batches, a few per second, without their events; then the totals.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { BatchWriter } from './batch-writer.js';
import { processFile, type FileResult, type FileTask } from './process-file.js';
import type { PriceBookEntry } from './price-memo.js';
import { contextFromRecipe, type WorkerRecipe } from './worker-recipe.js';
import { WriteLock } from './write-lock.js';

/** What a worker starts with: the settings, every task of the import and the index of the next one to take. */
export interface WorkerInput {
  recipe: WorkerRecipe;
  tasks: readonly FileTask[];
  /** Int32Array[1]: the next task index (Atomics.add). */
  next: SharedArrayBuffer;
}

/** A file's result as sent back: counts only (its events, fingerprints and state were written by the worker). */
export type FileCounts = Omit<FileResult, 'events' | 'fingerprints' | 'deferred' | 'state'> & { events: []; fingerprints: []; deferred: []; state: null };

export type WorkerMessage =
  | { kind: 'files'; results: FileCounts[] }
  | { kind: 'done'; inserted: number; replaced: number; metered: number; priceBook: PriceBookEntry[] }
  | { kind: 'error'; message: string };

/** How often results are sent back (the progress bar's pace). */
const REPORT_EVERY_MS = 200;

const { recipe, tasks, next } = workerData as WorkerInput;
const post = (m: WorkerMessage): void => parentPort!.postMessage(m);

async function run(): Promise<void> {
  const ctx = contextFromRecipe(recipe);
  const store = new SqliteStore(recipe.dbPath!);
  const writer = new BatchWriter(store, Date.now, 10_000, new WriteLock(recipe.writeLock), recipe.refresh === true);
  const counter = new Int32Array(next);
  let pending: FileCounts[] = [];
  let reported = performance.now();
  for (let i = Atomics.add(counter, 0, 1); i < tasks.length; i = Atomics.add(counter, 0, 1)) {
    const result = processFile(tasks[i]!, ctx);
    await writer.add(result);
    pending.push({ ...result, events: [], fingerprints: [], deferred: [], state: null });
    if (performance.now() - reported >= REPORT_EVERY_MS) {
      post({ kind: 'files', results: pending });
      pending = [];
      reported = performance.now();
    }
  }
  await writer.flush();
  await store.close();
  if (pending.length > 0) post({ kind: 'files', results: pending });
  post({ kind: 'done', inserted: writer.inserted, replaced: writer.replaced, metered: writer.metered, priceBook: ctx.memo.learnt > 0 ? ctx.memo.book() : [] });
}

run().catch((err: unknown) => post({ kind: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }));
