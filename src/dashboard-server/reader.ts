import type { FindingsStore } from '../detect/store.js';
import { GoodhartError } from '../errors.js';
import type { RouteDecisionStore } from '../route/decisions.js';
import type { SpendSlice } from '../outcomes/slices.js';
import type { EventFilter, OutcomeStore, Store } from '../store/types.js';
import { CallThread } from '../util/call-thread.js';
import type { SessionRecords } from './sessions.js';

/** The reads behind the dashboard's pages: aggregates (from the rollups), findings, outcomes and spend slices, routing savings. */
export interface DashboardReads {
  aggregate: Store['aggregate'];
  listFindings: FindingsStore['listFindings'];
  listOutcomes: OutcomeStore['listOutcomes'];
  /** Spend summed into slices (src/outcomes/slices.ts) on the thread: a month of events never crosses it. */
  spendSlices: SpendSliceRead;
  savingsGroups: RouteDecisionStore['savingsGroups'];
}

type SpendSliceRead = (filter: EventFilter & { since: number; until: number }) => Promise<SpendSlice[]>;

/** Dashboard sessions in the SQLite file (sqlite-sessions.ts), kept through the same thread: rare, small writes. */
export interface SessionCalls {
  addSession: SessionRecords['add'];
  findSession: SessionRecords['find'];
  touchSession: SessionRecords['touch'];
  removeSession: SessionRecords['remove'];
}

export type ReadMethod = keyof DashboardReads | keyof SessionCalls;
/**
 * The dashboard's reads of a SQLite file, answered on a thread of its own (reader-thread.ts). better-sqlite3 is
 * synchronous: a month of aggregates over millions of events takes tens of milliseconds, and on the gateway's
 * thread every request it is proxying would wait that long. Started on the first read, so a gateway nobody opens
 * in a browser pays nothing; a thread that dies is started again on the next read. Postgres reads are
 * asynchronous I/O already and do not come here.
 */
export class ReaderThread implements DashboardReads {
  private readonly thread: CallThread;

  constructor(path: string) {
    this.thread = new CallThread({
      from: import.meta.url,
      name: 'reader-thread',
      data: { path },
      label: "the dashboard's reader thread",
      closedError: () => new GoodhartError('internal', 503, 'The gateway is shutting down: try again in a moment.'),
      failedError: (why) => new Error(why),
    });
  }

  aggregate: Store['aggregate'] = (...args) => this.call('aggregate', args) as ReturnType<Store['aggregate']>;
  listFindings: FindingsStore['listFindings'] = (...args) => this.call('listFindings', args) as ReturnType<FindingsStore['listFindings']>;
  listOutcomes: OutcomeStore['listOutcomes'] = (...args) => this.call('listOutcomes', args) as ReturnType<OutcomeStore['listOutcomes']>;
  spendSlices: SpendSliceRead = (...args) => this.call('spendSlices', args) as ReturnType<SpendSliceRead>;
  savingsGroups: RouteDecisionStore['savingsGroups'] = (...args) => this.call('savingsGroups', args) as ReturnType<RouteDecisionStore['savingsGroups']>;

  /** The sessions table of the file, through this thread (closed with it). */
  sessions(): SessionRecords {
    return {
      add: async (...args) => void (await this.call('addSession', args)),
      find: (...args) => this.call('findSession', args) as ReturnType<SessionRecords['find']>,
      touch: async (...args) => void (await this.call('touchSession', args)),
      remove: async (...args) => void (await this.call('removeSession', args)),
      close: async () => {},
    };
  }

  private call(method: ReadMethod, args: unknown[]): Promise<unknown> {
    return this.thread.call(method, args);
  }

  /** Ends the thread (its connections close with it); reads still waiting fail. */
  close(): Promise<void> {
    return this.thread.close();
  }
}
