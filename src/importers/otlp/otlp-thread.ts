import { parentPort, workerData } from 'node:worker_threads';
import { reopenStore } from '../../store/open.js';
import { createPricer } from '../../usage/pricing.js';
import { answerCalls } from '../../util/call-thread.js';
import { createOtlpProcessor } from './process.js';
import type { OtlpThreadData } from './thread.js';

/**
 * The OTLP thread (see thread.ts): decodes, maps, prices and stores export requests, one at a time and in the order
 * they came (cumulative counters and what earlier requests told about sessions and resources depend on it), on a
 * store connection of its own. Usage events go straight to the store: a batch is answered once it is stored.
 */

const data = workerData as OtlpThreadData;
const store = await reopenStore(data.spec, { maxConnections: 2 });
/**
 * Events per transaction: a batch of tens of thousands is stored in parts, so the gateway's own event writer (the
 * same SQLite file) waits for one part at most. A batch stored in part and then retried adds nothing twice: event
 * ids are derived from the records.
 */
const WRITE_CHUNK = 5_000;
const processRequest = createOtlpProcessor({
  store,
  pricer: createPricer(data.priceOverrides),
  rules: data.rules,
  write: async (events) => {
    for (let i = 0; i < events.length; i += WRITE_CHUNK) await store.insertEvents(events.slice(i, i + WRITE_CHUNK));
  },
});

answerCalls(parentPort!, { process: processRequest }, { sequential: true, close: () => store.close() });
