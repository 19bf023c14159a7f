import type { Worker } from 'node:worker_threads';
import { startWorker } from '../util/start-worker.js';
import type { WorkerMessage } from './file-worker.js';
import type { PriceBookEntry } from './price-memo.js';
import type { FileResult, FileTask } from './process-file.js';
import type { WorkerRecipe } from './worker-recipe.js';
import { WriteLock } from './write-lock.js';

/**
 * Runs file tasks on worker threads that also write the events (see file-worker.ts), several tasks in flight per
 * worker so none waits while the main thread is busy. Yields each file's result (without events) as it finishes;
 * returns the insert totals and the prices the workers learnt (price book entries). A worker error fails the
 * import; what was committed stays valid (ids are deterministic and offsets are written with their events).
 */
export async function runInWorkers(
  tasks: readonly FileTask[],
  recipe: WorkerRecipe,
  count: number,
  onFile: (r: FileResult) => Promise<void> | void,
): Promise<{ inserted: number; replaced: number; priceBook: PriceBookEntry[] }> {
  const shared: WorkerRecipe = { ...recipe, writeLock: new WriteLock().buffer };
  const workers = Array.from({ length: Math.max(1, Math.min(count, tasks.length)) }, () => startFileWorker(shared));
  const IN_FLIGHT = 4;
  let next = 0;
  const totals = { inserted: 0, replaced: 0, priceBook: [] as PriceBookEntry[] };
  try {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            let inFlight = 0;
            const feed = (): void => {
              while (inFlight < IN_FLIGHT && next < tasks.length) {
                w.postMessage(tasks[next++]);
                inFlight += 1;
              }
              if (inFlight === 0) w.postMessage('finish');
            };
            w.on('message', (m: WorkerMessage) => {
              if (m.kind === 'file') {
                inFlight -= 1;
                Promise.resolve(onFile(m.result)).then(feed, reject);
              } else if (m.kind === 'done') {
                totals.inserted += m.inserted;
                totals.replaced += m.replaced;
                totals.priceBook.push(...m.priceBook);
                resolve();
              } else reject(new Error(`import worker failed: ${m.message}`));
            });
            w.on('error', reject);
            w.on('exit', (code) => (code === 0 ? undefined : reject(new Error(`import worker exited with code ${code}`))));
            feed();
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return totals;
}

function startFileWorker(recipe: WorkerRecipe): Worker {
  return startWorker(import.meta.url, 'file-worker', recipe);
}
