import { parentPort, workerData } from 'node:worker_threads';
import { GoodhartError } from '../errors.js';
import { findingsStoreOf } from '../detect/store.js';
import { SqliteDecisionStore } from '../route/sqlite-decisions.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { errorText, type DashboardReads, type FromReader, type SessionCalls, type ToReader } from './reader.js';
import { SqliteSessionRecords } from './sqlite-sessions.js';

/**
 * The dashboard's reader thread (see reader.ts): connections of its own to the gateway's SQLite file, used to read,
 * and to keep the dashboard's sign-in sessions.
 */

const { path } = workerData as { path: string };
const port = parentPort!;
const store = new SqliteStore(path);
const findings = findingsStoreOf(store)!;
const decisions = new SqliteDecisionStore(path);

// Opened on the first sign-in or session check.
let sessions: SqliteSessionRecords | null = null;
const sessionTable = (): SqliteSessionRecords => (sessions ??= new SqliteSessionRecords(path));

const reads: DashboardReads & SessionCalls = {
  aggregate: (...a) => store.aggregate(...a),
  listFindings: (...a) => findings.listFindings(...a),
  listOutcomes: (...a) => store.listOutcomes(...a),
  savingsGroups: (...a) => decisions.savingsGroups(...a),
  addSession: (...a) => sessionTable().add(...a),
  findSession: (...a) => sessionTable().find(...a),
  touchSession: (...a) => sessionTable().touch(...a),
  removeSession: (...a) => sessionTable().remove(...a),
};

port.on('message', (m: ToReader) => {
  if (m.kind === 'close') {
    void Promise.allSettled([store.close(), decisions.close(), sessions?.close()]).then(() => port.close());
    return;
  }
  const { id } = m;
  // The method name comes from our own main thread; the check keeps a wrong one an error, not a crash.
  const fn = Object.hasOwn(reads, m.method) ? (reads[m.method] as (...args: unknown[]) => Promise<unknown>) : null;
  const answer = fn ? Promise.resolve().then(() => fn(...m.args)) : Promise.reject(new Error(`no dashboard read named ${String(m.method)}`));
  answer.then(
    (result) => port.postMessage({ kind: 'result', id, result } satisfies FromReader),
    (err: unknown) =>
      port.postMessage(
        (err instanceof GoodhartError
          ? { kind: 'error', id, message: err.message, code: err.code, status: err.httpStatus, retryable: err.retryable }
          : { kind: 'error', id, message: errorText(err) }) satisfies FromReader,
      ),
  );
});
