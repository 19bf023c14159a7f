import { parentPort, workerData } from 'node:worker_threads';
import type { UsageEvent } from '../../usage/event.js';
import { SqliteStore } from './sqlite-store.js';

/** The worker side of SqliteWorkerInserter: one connection, one batch at a time, each answered by id. */
const store = new SqliteStore((workerData as { path: string }).path);
parentPort!.on('message', (msg: { id: number; events: UsageEvent[] }) => {
  store.insertEvents(msg.events).then(
    (inserted) => parentPort!.postMessage({ id: msg.id, inserted }),
    (err: unknown) => parentPort!.postMessage({ id: msg.id, error: err instanceof Error ? err.message : String(err) }),
  );
});
