import { parentPort, workerData } from 'node:worker_threads';
import { findingsStoreOf } from '../detect/store.js';
import { loadSpendSlices } from '../outcomes/slices.js';
import { SqliteDecisionStore } from '../route/sqlite-decisions.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { answerCalls } from '../util/call-thread.js';
import type { DashboardReads, SessionCalls } from './reader.js';
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
  spendSlices: (filter) => loadSpendSlices(store, filter),
  savingsGroups: (...a) => decisions.savingsGroups(...a),
  addSession: (...a) => sessionTable().add(...a),
  findSession: (...a) => sessionTable().find(...a),
  touchSession: (...a) => sessionTable().touch(...a),
  removeSession: (...a) => sessionTable().remove(...a),
};

answerCalls(port, reads, { sequential: false, close: () => Promise.allSettled([store.close(), decisions.close(), sessions?.close()]) });
