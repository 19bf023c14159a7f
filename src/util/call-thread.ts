import type { MessagePort, Worker } from 'node:worker_threads';
import { GoodhartError, type ErrorCode } from '../errors.js';
import { startWorker } from './start-worker.js';

/**
 * A worker thread that answers calls: the gateway's thread posts `{ id, method, args }` and awaits the answer, so
 * the work (synchronous SQLite reads, parsing a large telemetry batch) never holds the requests it is proxying. Used
 * by the dashboard's reader thread and the OTLP thread. The thread starts on the first call, so a gateway that never
 * needs it pays nothing; one that dies is started again on the next call, and the calls it held fail.
 */
type ToThread = { kind: 'call'; id: number; method: string; args: unknown[] } | { kind: 'close' };
type FromThread =
  | { kind: 'result'; id: number; result: unknown }
  | { kind: 'error'; id: number; message: string; code?: ErrorCode; status?: number; retryable?: boolean };

export interface CallThreadOptions {
  /** The worker module beside `from` (an import.meta.url) and its workerData (plain data). */
  from: string;
  name: string;
  data: unknown;
  /** What the thread is called in messages ("the dashboard's reader thread"). */
  label: string;
  /** The error for a call after close(). */
  closedError: () => Error;
  /** The error for a call the thread could not answer: it failed, exited, or threw something other than a GoodhartError. */
  failedError: (why: string) => Error;
}

export class CallThread {
  private worker: Worker | null = null;
  private seq = 0;
  private closed = false;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor(private readonly opts: CallThreadOptions) {}

  call(method: string, args: unknown[]): Promise<unknown> {
    if (this.closed) return Promise.reject(this.opts.closedError());
    const worker = (this.worker ??= this.spawn());
    return new Promise((resolve, reject) => {
      const id = ++this.seq;
      this.waiting.set(id, { resolve, reject });
      // Arguments are copied (structured clone), never transferred: a request's buffer may share memory with others'.
      worker.postMessage({ kind: 'call', id, method, args } satisfies ToThread);
    });
  }

  private spawn(): Worker {
    const worker = startWorker(this.opts.from, this.opts.name, this.opts.data);
    // An idle thread must not keep a stopping gateway alive.
    worker.unref();
    worker.on('message', (m: FromThread) => {
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      if (m.kind === 'result') w.resolve(m.result);
      else w.reject(m.code !== undefined && m.status !== undefined ? new GoodhartError(m.code, m.status, m.message, { retryable: m.retryable ?? false }) : this.opts.failedError(m.message));
    });
    // What a thread throws arrives cloned: a SqliteError as a plain object with its code, not always a message.
    worker.on('error', (err: unknown) => this.failAll(`${this.opts.label} failed: ${errorText(err)}`));
    worker.on('exit', () => {
      if (this.worker === worker) this.worker = null;
      this.failAll(`${this.opts.label} exited`);
    });
    return worker;
  }

  private failAll(why: string): void {
    for (const w of this.waiting.values()) w.reject(this.opts.failedError(why));
    this.waiting.clear();
  }

  /** Ends the thread once it has answered what it holds (its connections close with it); later calls fail. */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = null;
    if (worker === null) return;
    worker.postMessage({ kind: 'close' } satisfies ToThread);
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => void worker.terminate().then(() => resolve(), () => resolve()), 5000);
      worker.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}

/**
 * The thread's side: answers calls with `methods`, all at once or (`sequential`) one after the other in the order they
 * came; on close, answers what it holds, runs `close` and lets the thread end.
 */
export function answerCalls(port: MessagePort, methods: object, opts: { sequential: boolean; close: () => Promise<unknown> }): void {
  let queue: Promise<unknown> = Promise.resolve();
  const answer = async (m: Extract<ToThread, { kind: 'call' }>): Promise<void> => {
    try {
      // The method name comes from our own gateway thread; the check keeps a wrong one an error, not a crash.
      if (!Object.hasOwn(methods, m.method)) throw new Error(`no method named ${m.method}`);
      const result = await (methods as Record<string, (...args: unknown[]) => unknown>)[m.method]!(...m.args);
      port.postMessage({ kind: 'result', id: m.id, result } satisfies FromThread);
    } catch (err) {
      port.postMessage(
        (err instanceof GoodhartError
          ? { kind: 'error', id: m.id, message: err.message, code: err.code, status: err.httpStatus, retryable: err.retryable }
          : { kind: 'error', id: m.id, message: errorText(err) }) satisfies FromThread,
      );
    }
  };
  port.on('message', (m: ToThread) => {
    if (m.kind === 'close') {
      void queue.then(opts.close, opts.close).finally(() => port.close());
      return;
    }
    if (opts.sequential) queue = queue.then(() => answer(m));
    else {
      const done = answer(m);
      queue = Promise.all([queue, done]);
    }
  });
}

export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (err !== null && typeof err === 'object') {
    const o = err as { message?: unknown; code?: unknown };
    if (typeof o.message === 'string' && o.message !== '') return o.message;
    if (typeof o.code === 'string') return o.code;
  }
  return String(err);
}
