import { parentPort, workerData } from 'node:worker_threads';
import { fingerprintOf, fingerprintRequest } from '../../detect/fingerprint/fingerprint.js';
import type { Fingerprint } from '../../detect/fingerprint/types.js';
import { findingsStoreOf } from '../../detect/store.js';
import { SqliteDecisionStore } from '../../route/sqlite-decisions.js';
import { reopenStore } from '../../store/open.js';
import type { FromThread, ThreadData, ToThread } from './protocol.js';

/**
 * The gateway's tail thread: the work a request leaves behind once its response is sent. It writes usage event
 * batches to a SQLite file (better-sqlite3 is synchronous: on the main thread a batch of 500 with its rollups
 * blocked requests for tens of milliseconds) and fingerprints request bodies for waste detection (parse, keyed
 * MinHash, block hashes, complexity score, then the insert), and writes routing decisions to the same file. Messages
 * are handled strictly in order, one at a time.
 */

const data = workerData as ThreadData;
const port = parentPort!;
const send = (m: FromThread): void => port.postMessage(m);

const describe = (err: unknown): string => (err instanceof Error ? err.message : String(err));

// Two connections are plenty on Postgres: one batch at a time is written from here.
const store = await reopenStore(data.spec, { maxConnections: 2 });
const findings = data.fingerprints ? findingsStoreOf(store) : undefined;
// Routing decisions of a SQLite file (route/sqlite-decisions.ts), opened when routing first writes.
let decisions: SqliteDecisionStore | null = null;

/** Retries of a failed fingerprint write: 0.25 s doubling to 8 s, about 25 s in all. */
const FINGERPRINT_RETRIES = 7;

async function fingerprint(buf: Buffer, items: Extract<ToThread, { kind: 'fingerprints' }>['items'], secret: string): Promise<FromThread> {
  const fps: Fingerprint[] = [];
  let failed = 0;
  for (const it of items) {
    try {
      const json: unknown = JSON.parse(buf.toString('utf8', it.offset, it.offset + it.length));
      if (json === null || typeof json !== 'object' || Array.isArray(json)) continue;
      const core = fingerprintRequest(json as Record<string, unknown>, it.endpoint, secret);
      if (core !== null) fps.push(fingerprintOf(core, it));
    } catch {
      failed++;
    }
  }
  let written = 0;
  // A database that does not answer for a while (a Postgres restart) is waited for, as events are: retried for
  // about 25 s before the batch is given up. Requests meanwhile wait on the main thread within its byte bound.
  for (let attempt = 0; fps.length > 0; attempt++) {
    try {
      written = await findings!.insertFingerprints(fps);
      break;
    } catch (err) {
      if (attempt >= FINGERPRINT_RETRIES) {
        send({ kind: 'log', message: `writing request fingerprints failed: ${describe(err)}` });
        failed += fps.length;
        break;
      }
      await new Promise((r) => setTimeout(r, Math.min(8_000, 250 * 2 ** attempt)));
    }
  }
  return { kind: 'fingerprints', bytes: buf.length, written, failed };
}

async function handle(msg: ToThread): Promise<void> {
  switch (msg.kind) {
    case 'events':
      try {
        send({ kind: 'events', id: msg.id, inserted: await store.insertEvents(msg.events) });
      } catch (err) {
        send({ kind: 'events', id: msg.id, error: describe(err) });
      }
      return;
    case 'fingerprints': {
      const buf = Buffer.from(msg.buf);
      send(findings && data.fingerprints ? await fingerprint(buf, msg.items, data.fingerprints.secret) : { kind: 'fingerprints', bytes: buf.length, written: 0, failed: 0 });
      return;
    }
    case 'decisions':
      try {
        if (data.spec.kind !== 'sqlite') throw new Error('routing decisions go through the writer thread only for a SQLite file');
        decisions ??= new SqliteDecisionStore(data.spec.path);
        const w = msg.write;
        if ('insert' in w) await decisions.insertDecisions(w.insert);
        else if ('miss' in w) await decisions.markMiss(w.miss.id, w.miss.at);
        else await decisions.saveTrip(w.trip);
        send({ kind: 'done', id: msg.id });
      } catch (err) {
        send({ kind: 'done', id: msg.id, error: describe(err) });
      }
      return;
    case 'drain':
      send({ kind: 'drained', id: msg.id });
      return;
    case 'close':
      await decisions?.close().catch((err: unknown) => send({ kind: 'log', message: `closing the routing decisions failed: ${describe(err)}` }));
      await store.close().catch((err: unknown) => send({ kind: 'log', message: `closing the store failed: ${describe(err)}` }));
      send({ kind: 'drained', id: msg.id });
      return;
  }
}

let chain = Promise.resolve();
port.on('message', (msg: ToThread) => {
  chain = chain.then(() => handle(msg));
});

// Retention: fingerprints older than the configured days are deleted, at start (after downtime) and then hourly.
if (findings && data.fingerprints) {
  const { retentionDays, sweepMs } = data.fingerprints;
  const sweep = (): void => {
    chain = chain.then(() =>
      findings.deleteFingerprintsBefore(Date.now() - retentionDays * 86_400_000).then(
        () => {},
        (err: unknown) => send({ kind: 'log', message: `fingerprint retention sweep failed: ${describe(err)}` }),
      ),
    );
  };
  sweep();
  setInterval(sweep, sweepMs).unref();
}

send({ kind: 'ready' });
