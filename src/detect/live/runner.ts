import { storeSpec } from '../../store/open.js';
import type { Worker } from 'node:worker_threads';
import type { GoodhartConfig } from '../../config/schema.js';
import type { BudgetConfig } from '../../policy/config.js';
import type { Store } from '../../store/types.js';
import { startWorker } from '../../util/start-worker.js';
import { liveSourceOf } from '../store.js';
import type { LiveStats } from './live.js';
import { openLive, type Live } from './setup.js';

/**
 * Starts live detection for `goodhart serve`: on a worker thread with its own store connection when the store is
 * a file or a server (the gateway's thread only posts the budgets in force once a minute), in-process for an
 * in-memory store (tests, the demo), which a worker cannot open. One call, one `close()`.
 */
export interface LiveRunner {
  readonly mode: 'worker' | 'inline';
  /** Runs a tick now and resolves when it is done (tests; serve ticks on its own). */
  tickNow(): Promise<LiveStats>;
  /** The last tick's numbers. */
  stats(): LiveStats | null;
  /** Stops ticking, gives the lease up, delivers queued alerts (a few seconds at most). */
  close(): Promise<void>;
}

export type ToLive = { type: 'budgets'; budgets: readonly BudgetConfig[] } | { type: 'tick'; id: number } | { type: 'stop' };
export type FromLive =
  | { type: 'ready' }
  | { type: 'log'; message: string }
  | { type: 'stats'; stats: LiveStats }
  | { type: 'ticked'; id: number; stats: LiveStats }
  | { type: 'stopped' };

export interface LiveRunnerOptions {
  config: GoodhartConfig;
  /** Where the store is (a SQLite file or a postgres:// URL), for the worker's own connection. */
  db: string;
  /** The gateway's store: tells whether it keeps findings, and serves in-process for `:memory:`. */
  store: Store;
  /** The budgets in force (the admin API may change them); default: the config's. */
  budgets?: () => readonly BudgetConfig[];
  log?: (message: string) => void;
  holder?: string;
}

/** How often the budgets in force are posted to the worker (forecasts are checked every 15 minutes). */
const BUDGETS_EVERY_MS = 60_000;
/** A worker that does not stop within this long is terminated (alerts still queued are dropped, and logged). */
const STOP_TIMEOUT_MS = 15_000;

export async function startLiveDetection(o: LiveRunnerOptions): Promise<LiveRunner | null> {
  const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  if (!o.config.detect.live.enabled) return null;
  if (liveSourceOf(o.store) === undefined) {
    log(`goodhart: live waste detection is off: the ${o.store.kind} store keeps no findings.`);
    return null;
  }
  const budgets = o.budgets ?? (() => o.config.budgets);
  try {
    // A store in memory cannot be opened again on a thread: detection then runs on this one, between requests.
    if (storeSpec(o.store) === null) return await inline(o, budgets, log);
    return await worker(o, budgets, log);
  } catch (err) {
    // The gateway serves without it: detection is never a reason for traffic to stop.
    log(`goodhart: live waste detection did not start: ${err instanceof Error ? err.message : String(err)}. \`goodhart detect\` still works on demand.`);
    return null;
  }
}

async function inline(o: LiveRunnerOptions, budgets: () => readonly BudgetConfig[], log: (m: string) => void): Promise<LiveRunner | null> {
  const live: Live | null = await openLive({ config: o.config, store: o.store, budgets, log, ...(o.holder ? { holder: o.holder } : {}) });
  if (live === null) return null;
  let running: Promise<void> = Promise.resolve();
  const tick = (): Promise<void> => (running = running.then(() => live.detector.catchUp()));
  const timer = setInterval(() => void tick(), o.config.detect.live.intervalSeconds * 1000);
  timer.unref();
  void tick();
  return {
    mode: 'inline',
    async tickNow() {
      await tick();
      return live.detector.stats;
    },
    stats: () => live.detector.stats,
    async close() {
      clearInterval(timer);
      // A round of catching up stops at its next tick.
      live.detector.abort();
      await running;
      await live.close(5_000);
    },
  };
}

async function worker(o: LiveRunnerOptions, budgets: () => readonly BudgetConfig[], log: (m: string) => void): Promise<LiveRunner | null> {
  // The budgets in force go with the thread: its first tick forecasts at once, against these (not the file's).
  const initial = budgets();
  const w: Worker = startWorker(import.meta.url, 'worker', { config: o.config, db: o.db, budgets: initial, ...(o.holder ? { holder: o.holder } : {}) });
  let last: LiveStats | null = null;
  let seq = 0;
  const waiting = new Map<number, (s: LiveStats) => void>();
  let stopped!: () => void;
  const hasStopped = new Promise<void>((r) => (stopped = r));
  // Started once the thread has opened its store (or stopped at once: a store without findings); a thread that
  // fails on the way rejects, so the caller says live detection did not start.
  let settle!: { ready: (started: boolean) => void; fail: (err: Error) => void };
  const started = new Promise<boolean>((ready, fail) => (settle = { ready, fail }));
  w.on('message', (m: FromLive) => {
    if (m.type === 'ready') settle.ready(true);
    else if (m.type === 'log') log(m.message);
    else if (m.type === 'stats') last = m.stats;
    else if (m.type === 'ticked') {
      last = m.stats;
      waiting.get(m.id)?.(m.stats);
      waiting.delete(m.id);
    } else if (m.type === 'stopped') {
      settle.ready(false);
      stopped();
    }
  });
  w.on('error', (err) => {
    settle.fail(err);
    log(`goodhart: live detection stopped: ${err.message}`);
  });
  w.on('exit', () => {
    settle.fail(new Error('its thread exited'));
    stopped();
  });
  // The worker thread must not keep the process alive on its own: serve's shutdown stops it.
  w.unref();
  let sent = JSON.stringify(initial);
  const postBudgets = (): void => {
    const now = JSON.stringify(budgets());
    if (now === sent) return;
    sent = now;
    w.postMessage({ type: 'budgets', budgets: budgets() } satisfies ToLive);
  };
  if (!(await started)) return null;
  postBudgets();
  const timer = setInterval(postBudgets, BUDGETS_EVERY_MS);
  timer.unref();
  return {
    mode: 'worker',
    tickNow() {
      postBudgets();
      const id = ++seq;
      return new Promise((resolve) => {
        waiting.set(id, resolve);
        w.postMessage({ type: 'tick', id } satisfies ToLive);
      });
    },
    stats: () => last,
    async close() {
      clearInterval(timer);
      w.postMessage({ type: 'stop' } satisfies ToLive);
      const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), STOP_TIMEOUT_MS).unref());
      if ((await Promise.race([hasStopped, timeout])) === 'timeout') log('goodhart: live detection did not stop in time; terminated.');
      await w.terminate();
    },
  };
}
