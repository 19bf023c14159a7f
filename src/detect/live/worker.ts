import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parentPort, workerData } from 'node:worker_threads';
import type { GoodhartConfig } from '../../config/schema.js';
import type { BudgetConfig } from '../../policy/config.js';
import { openStore } from '../../store/open.js';
import { openLive } from './setup.js';
import type { FromLive, ToLive } from './runner.js';

/**
 * The worker side of live detection (runner.ts): its own connection to the store, its own event loop, so reading
 * events, detecting and sending alerts never hold the gateway's thread. Ticks every `detect.live.intervalSeconds`,
 * one at a time; `tick` asks for one now (tests); `stop` gives the lease up and delivers queued alerts.
 */
const { config, db, holder, budgets: inForce } = workerData as { config: GoodhartConfig; db: string; holder?: string; budgets: readonly BudgetConfig[] };
const port = parentPort!;
const post = (m: FromLive): void => port.postMessage(m);
const log = (message: string): void => post({ type: 'log', message });

// The budgets in force when the thread started (the admin API's changes on top of the file), never the file's
// alone: the first tick forecasts at once, before the first `budgets` message could arrive.
let budgets: readonly BudgetConfig[] = inForce;
const store = await openStore(db);
const live = await openLive({ config, store, budgets: () => budgets, log, ...(holder ? { holder } : {}) });
if (live === null) {
  log(`goodhart: live detection is off: the ${store.kind} store keeps no findings.`);
  await store.close();
  post({ type: 'stopped' });
  process.exit(0);
}

/**
 * A full collection of this thread's heap after a tick, once 10,000 events were read since the last one. V8
 * otherwise lets the garbage of the events the ticks read (objects held minutes in the detectors' windows, so
 * promoted before they die) grow the heap to several times what is live before it collects. The call collects
 * this thread's isolate only: the gateway's thread never waits for it. `--expose-gc` is a process-wide V8 flag, so
 * it is set just long enough to create one context that has `gc`, then cleared. Where the runtime refuses it, V8's
 * own schedule applies.
 */
const collect = ((): (() => void) => {
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as () => void) : () => {};
  } catch {
    return () => {};
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
})();
const COLLECT_AFTER_EVENTS = 10_000;
let collectedAt = 0;
const afterTick = (): void => {
  if (live.detector.stats.events - collectedAt < COLLECT_AFTER_EVENTS) return;
  collectedAt = live.detector.stats.events;
  collect();
};

let running: Promise<void> = Promise.resolve();
let timer: NodeJS.Timeout | undefined;
let stopping = false;
const tick = (): Promise<void> => {
  running = running.then(async () => {
    await live.detector.catchUp(afterTick);
    post({ type: 'stats', stats: live.detector.stats });
  });
  return running;
};
const schedule = (): void => {
  if (stopping) return;
  timer = setTimeout(() => void tick().then(schedule), config.detect.live.intervalSeconds * 1000);
};

port.on('message', (m: ToLive) => {
  if (m.type === 'budgets') budgets = m.budgets;
  else if (m.type === 'tick') void tick().then(() => post({ type: 'ticked', id: m.id, stats: live.detector.stats }));
  else if (m.type === 'stop') {
    stopping = true;
    clearTimeout(timer);
    live.detector.abort();
    void running
      .then(() => live.close())
      .then(() => store.close())
      .catch((err: unknown) => log(`goodhart: live detection did not stop cleanly: ${String(err)}`))
      .finally(() => {
        post({ type: 'stopped' });
        port.close();
      });
  }
});
post({ type: 'ready' });
// The first tick takes the lease and warms up at once.
void tick().then(schedule);
