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
const { config, db, holder } = workerData as { config: GoodhartConfig; db: string; holder?: string };
const port = parentPort!;
const post = (m: FromLive): void => port.postMessage(m);
const log = (message: string): void => post({ type: 'log', message });

let budgets: readonly BudgetConfig[] = config.budgets;
const store = await openStore(db);
const live = await openLive({ config, store, budgets: () => budgets, log, ...(holder ? { holder } : {}) });
if (live === null) {
  log(`goodhart: live detection is off: the ${store.kind} store keeps no findings.`);
  await store.close();
  post({ type: 'stopped' });
  process.exit(0);
}

let running: Promise<void> = Promise.resolve();
let timer: NodeJS.Timeout | undefined;
let stopping = false;
const tick = (): Promise<void> => {
  running = running.then(async () => {
    await live.detector.tick();
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
