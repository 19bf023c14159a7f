import type { Worker } from 'node:worker_threads';
import type { FindingsStore } from '../detect/store.js';
import { GoodhartError, type ErrorCode } from '../errors.js';
import type { RouteDecisionStore } from '../route/decisions.js';
import type { OutcomeStore, Store } from '../store/types.js';
import { startWorker } from '../util/start-worker.js';
import type { SessionRecords } from './sessions.js';

/** The reads behind the dashboard's pages: aggregates (from the rollups), findings, outcomes, routing savings. */
export interface DashboardReads {
  aggregate: Store['aggregate'];
  listFindings: FindingsStore['listFindings'];
  listOutcomes: OutcomeStore['listOutcomes'];
  savingsGroups: RouteDecisionStore['savingsGroups'];
}

/** Dashboard sessions in the SQLite file (sqlite-sessions.ts), kept through the same thread: rare, small writes. */
export interface SessionCalls {
  addSession: SessionRecords['add'];
  findSession: SessionRecords['find'];
  touchSession: SessionRecords['touch'];
  removeSession: SessionRecords['remove'];
}

export type ReadMethod = keyof DashboardReads | keyof SessionCalls;
export type ToReader = { kind: 'call'; id: number; method: ReadMethod; args: unknown[] } | { kind: 'close' };
export type FromReader =
  | { kind: 'result'; id: number; result: unknown }
  | { kind: 'error'; id: number; message: string; code?: ErrorCode; status?: number; retryable?: boolean };

export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (err !== null && typeof err === 'object') {
    const o = err as { message?: unknown; code?: unknown };
    if (typeof o.message === 'string' && o.message !== '') return o.message;
    if (typeof o.code === 'string') return o.code;
  }
  return String(err);
}

/**
 * The dashboard's reads of a SQLite file, answered on a thread of its own (reader-thread.ts). better-sqlite3 is
 * synchronous: a month of aggregates over millions of events takes tens of milliseconds, and on the gateway's
 * thread every request it is proxying would wait that long. Started on the first read, so a gateway nobody opens
 * in a browser pays nothing; a thread that dies is started again on the next read. Postgres reads are
 * asynchronous I/O already and do not come here.
 */
export class ReaderThread implements DashboardReads {
  private worker: Worker | null = null;
  private seq = 0;
  private closed = false;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor(private readonly path: string) {}

  aggregate: Store['aggregate'] = (...args) => this.call('aggregate', args) as ReturnType<Store['aggregate']>;
  listFindings: FindingsStore['listFindings'] = (...args) => this.call('listFindings', args) as ReturnType<FindingsStore['listFindings']>;
  listOutcomes: OutcomeStore['listOutcomes'] = (...args) => this.call('listOutcomes', args) as ReturnType<OutcomeStore['listOutcomes']>;
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
    if (this.closed) return Promise.reject(new GoodhartError('internal', 503, 'The gateway is shutting down: try again in a moment.'));
    const worker = (this.worker ??= this.spawn());
    return new Promise((resolve, reject) => {
      const id = ++this.seq;
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ kind: 'call', id, method, args } satisfies ToReader);
    });
  }

  private spawn(): Worker {
    const worker = startWorker(import.meta.url, 'reader-thread', { path: this.path });
    // An idle reader must not keep a stopping gateway alive.
    worker.unref();
    worker.on('message', (m: FromReader) => {
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      if (m.kind === 'result') w.resolve(m.result);
      else w.reject(m.code !== undefined && m.status !== undefined ? new GoodhartError(m.code, m.status, m.message, { retryable: m.retryable ?? false }) : new Error(m.message));
    });
    // What a thread throws arrives cloned: a SqliteError as a plain object with its code, not always a message.
    worker.on('error', (err: unknown) => this.failAll(new Error(`the dashboard's reader thread failed: ${errorText(err)}`)));
    worker.on('exit', () => {
      if (this.worker === worker) this.worker = null;
      this.failAll(new Error("the dashboard's reader thread exited"));
    });
    return worker;
  }

  private failAll(err: Error): void {
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
  }

  /** Ends the thread (its connections close with it); reads still waiting fail. */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = null;
    if (worker === null) return;
    worker.postMessage({ kind: 'close' } satisfies ToReader);
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => void worker.terminate().then(() => resolve(), () => resolve()), 2000);
      worker.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}
