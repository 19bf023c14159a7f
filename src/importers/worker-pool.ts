import { startWorker } from '../util/start-worker.js';
import type { WorkerInput, WorkerMessage } from './file-worker.js';
import type { PriceBookEntry } from './price-memo.js';
import type { FileResult, FileTask } from './process-file.js';
import type { WorkerRecipe } from './worker-recipe.js';
import { WriteLock } from './write-lock.js';

/**
 * Runs file tasks on worker threads that also write the events (see file-worker.ts). The workers take the tasks in
 * order (largest first, as given) from a shared counter and report results in batches; `onFile` sees each file's
 * result (without events). Returns the insert totals and the prices the workers learnt (price book entries). A
 * worker error fails the import; what was committed stays valid (ids are deterministic and offsets are written
 * with their events).
 */
export async function runInWorkers(
  tasks: readonly FileTask[],
  recipe: WorkerRecipe,
  count: number,
  onFile: (r: FileResult) => Promise<void> | void,
): Promise<{ inserted: number; replaced: number; metered: number; priceBook: PriceBookEntry[] }> {
  const input: WorkerInput = { recipe: { ...recipe, writeLock: new WriteLock().buffer }, tasks, next: new SharedArrayBuffer(4) };
  const workers = Array.from({ length: Math.max(1, Math.min(count, tasks.length)) }, () => startWorker(import.meta.url, 'file-worker', input));
  const totals = { inserted: 0, replaced: 0, metered: 0, priceBook: [] as PriceBookEntry[] };
  try {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            // Results are handed over in order, one batch after the other.
            let handed: Promise<void> = Promise.resolve();
            w.on('message', (m: WorkerMessage) => {
              if (m.kind === 'files') {
                handed = handed.then(async () => {
                  for (const r of m.results) await onFile(r);
                });
                handed.catch(reject);
              } else if (m.kind === 'done') {
                totals.inserted += m.inserted;
                totals.replaced += m.replaced;
                totals.metered += m.metered;
                totals.priceBook.push(...m.priceBook);
                handed.then(resolve, reject);
              } else reject(new Error(`import worker failed: ${m.message}`));
            });
            w.on('error', reject);
            w.on('exit', (code) => (code === 0 ? undefined : reject(new Error(`import worker exited with code ${code}`))));
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return totals;
}
