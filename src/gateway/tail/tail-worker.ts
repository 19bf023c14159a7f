import type { Worker } from 'node:worker_threads';
import { GoodhartError } from '../../errors.js';
import type { RouteDecision, RouteDecisionStore } from '../../route/decisions.js';
import type { GuardTrip } from '../../route/guard.js';
import type { Store } from '../../store/types.js';
import type { UsageEvent } from '../../usage/event.js';
import { startWorker } from '../../util/start-worker.js';
import type { RequestObserver } from '../proxy.js';
import type { StoreSpec } from '../../store/open.js';
import type { FingerprintItem, FromThread, ThreadData, ToThread } from './protocol.js';

/** Conversation endpoints: the only ones with prompts to fingerprint. */
const FINGERPRINTED = new Set(['messages', 'chat.completions', 'responses']);

export interface TailWorkerOptions {
  spec: StoreSpec;
  /** Fingerprint request bodies on the thread; null: events only. */
  fingerprints: { secret: string; retentionDays: number; sweepMs?: number } | null;
  /**
   * Request bytes waiting to be fingerprinted beyond which new requests are skipped (counted in `dropped`). Under
   * overload the gateway keeps serving and detection loses a little recall, never the other way round. 64 MiB is
   * a few hundred agent transcripts, or tens of thousands of chat prompts.
   */
  maxPendingBytes?: number;
  /** A batch of bodies is posted after this long (ms) or at 256 bodies / 1 MiB, whichever comes first. */
  flushMs?: number;
  log?: (message: string) => void;
}

/**
 * The main thread's side of the gateway's tail thread (thread.ts). On the request path it only keeps a reference to
 * the request's raw body; every `flushMs` the bodies are copied into one buffer that is transferred to the thread,
 * which parses, hashes and writes them. Usage events for a SQLite file go through it as well (`insertEvents`, the
 * EventWriter's store): the file's busiest writer. (The gateway's thread still writes what is rare: keys, OTLP
 * counters, outcomes, governance; SQLite's busy timeout makes the two take turns.)
 */
export class TailWorker implements Pick<Store, 'insertEvents'>, RequestObserver {
  private worker: Worker | null = null;
  private seq = 0;
  private readonly waiting = new Map<number, { resolve: (n: number) => void; reject: (e: Error) => void }>();
  private bodies: Buffer[] = [];
  private items: FingerprintItem[] = [];
  private batchBytes = 0;
  private inFlightBytes = 0;
  private timer: NodeJS.Timeout | null = null;
  private closing = false;
  private readonly maxPendingBytes: number;
  private readonly flushMs: number;
  private readonly log: (message: string) => void;
  /** Requests not fingerprinted because too many bytes were waiting. */
  dropped = 0;
  /** Fingerprints written, and requests that could not be fingerprinted (unparseable body, failed write). */
  written = 0;
  failed = 0;

  private constructor(private readonly opts: TailWorkerOptions) {
    this.maxPendingBytes = opts.maxPendingBytes ?? 64 * 1024 * 1024;
    this.flushMs = opts.flushMs ?? 25;
    this.log = opts.log ?? ((m) => console.error(`[goodhart] ${m}`));
  }

  /** Starts the thread; resolves once it has opened the store (a store it cannot open fails the start). */
  static async start(opts: TailWorkerOptions): Promise<TailWorker> {
    const tail = new TailWorker(opts);
    await tail.spawn();
    return tail;
  }

  private spawn(): Promise<void> {
    const fp = this.opts.fingerprints;
    const data: ThreadData = {
      spec: this.opts.spec,
      fingerprints: fp ? { secret: fp.secret, retentionDays: fp.retentionDays, sweepMs: fp.sweepMs ?? 3_600_000 } : null,
    };
    const worker = startWorker(import.meta.url, 'thread', data);
    this.worker = worker;
    return new Promise((resolve, reject) => {
      let ready = false;
      worker.on('message', (m: FromThread) => {
        if (m.kind === 'ready') {
          ready = true;
          resolve();
        } else this.onMessage(m);
      });
      worker.on('error', (err) => {
        if (!ready) reject(new GoodhartError('internal', 500, `the gateway's writer thread could not start: ${err.message}`));
        else this.log(`the gateway's writer thread failed: ${err.message}`);
      });
      // Not unref'd: while a batch is in flight the thread must keep the process alive (SIGTERM drains through it).
      worker.on('exit', () => {
        if (this.worker === worker) this.worker = null;
        this.failAll(new Error('the writer thread exited'));
        this.inFlightBytes = 0;
        if (!ready) reject(new GoodhartError('internal', 500, "the gateway's writer thread exited while starting"));
      });
    });
  }

  /** The running thread; one that died is started again (its pending work was failed and will be retried). */
  private async thread(): Promise<Worker> {
    if (this.closing) throw new Error('the writer thread is closed');
    if (this.worker === null) await this.spawn();
    return this.worker!;
  }

  private onMessage(m: FromThread): void {
    switch (m.kind) {
      case 'events':
      case 'done':
      case 'drained': {
        const w = this.waiting.get(m.id);
        if (!w) return;
        this.waiting.delete(m.id);
        if (m.kind !== 'drained' && m.error !== undefined) w.reject(new GoodhartError('internal', 500, `${m.kind === 'events' ? 'writing usage events' : 'writing routing decisions'} failed: ${m.error}`));
        else w.resolve(m.kind === 'events' ? (m.inserted ?? 0) : 0);
        return;
      }
      case 'fingerprints':
        this.inFlightBytes -= m.bytes;
        this.written += m.written;
        this.failed += m.failed;
        return;
      case 'log':
        this.log(m.message);
        return;
      case 'ready':
        return;
    }
  }

  private request(make: (id: number) => ToThread): Promise<number> {
    return this.thread().then(
      (worker) =>
        new Promise<number>((resolve, reject) => {
          const id = ++this.seq;
          this.waiting.set(id, { resolve, reject });
          worker.postMessage(make(id));
        }),
    );
  }

  insertEvents(events: readonly UsageEvent[]): Promise<number> {
    return this.request((id) => ({ kind: 'events', id, events: events as UsageEvent[] }));
  }

  /**
   * A decision store for routing that writes through this thread (a SQLite file: its inserts are synchronous) and
   * reads from `reads`: the quality guard's history at start and its trips once a minute, small and rare.
   */
  decisionStore(reads: RouteDecisionStore): RouteDecisionStore {
    const write = (w: Extract<ToThread, { kind: 'decisions' }>['write']): Promise<void> =>
      this.request((id) => ({ kind: 'decisions', id, write: w })).then(() => undefined);
    return {
      insertDecisions: (ds: readonly RouteDecision[]) => (ds.length === 0 ? Promise.resolve() : write({ insert: ds as RouteDecision[] })),
      markMiss: (id: string, at: number) => write({ miss: { id, at } }),
      saveTrip: (t: GuardTrip) => write({ trip: t }),
      listDecisions: (f) => reads.listDecisions(f),
      savingsGroups: (f) => reads.savingsGroups(f),
      guardHistory: (since) => reads.guardHistory(since),
      activeTrips: (now) => reads.activeTrips(now),
      close: () => reads.close(),
    };
  }

  /** RequestObserver: on the request path, a reference to the raw body is kept; nothing is parsed or copied here. */
  observe(_body: Readonly<Record<string, unknown>>, event: Readonly<UsageEvent>, raw?: Buffer): void {
    if (this.opts.fingerprints === null || raw === undefined || raw.length === 0 || this.closing) return;
    if (!FINGERPRINTED.has(event.endpoint)) return;
    if (this.batchBytes + this.inFlightBytes + raw.length > this.maxPendingBytes) {
      this.dropped++;
      return;
    }
    this.items.push({
      eventId: event.id,
      at: event.startedAt,
      userId: event.userId,
      sessionId: event.sessionId,
      endpoint: event.endpoint,
      offset: this.batchBytes,
      length: raw.length,
    });
    this.bodies.push(raw);
    this.batchBytes += raw.length;
    if (this.items.length >= 256 || this.batchBytes >= 1024 * 1024) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.flushMs);
  }

  private flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.items.length === 0) return;
    const buf = Buffer.allocUnsafeSlow(this.batchBytes);
    let offset = 0;
    for (const b of this.bodies) offset += b.copy(buf, offset);
    const items = this.items;
    const bytes = this.batchBytes;
    this.bodies = [];
    this.items = [];
    this.batchBytes = 0;
    this.inFlightBytes += bytes;
    const ab = buf.buffer as ArrayBuffer;
    void this.thread().then(
      (worker) => worker.postMessage({ kind: 'fingerprints', buf: ab, items } satisfies ToThread, [ab]),
      (err: unknown) => {
        this.inFlightBytes -= bytes;
        this.failed += items.length;
        this.log(`fingerprinting skipped ${items.length} requests: ${err instanceof Error ? err.message : String(err)}`);
      },
    );
  }

  /** Posts what is waiting and resolves when the thread has done everything posted so far. */
  async drain(): Promise<void> {
    this.flush();
    if (this.worker !== null) await this.request((id) => ({ kind: 'drain', id }));
  }

  /** Drains, closes the thread's store, then ends the thread. Call after the EventWriter has written its last batch. */
  async close(): Promise<void> {
    try {
      this.flush();
      if (this.worker !== null) await this.request((id) => ({ kind: 'close', id }));
    } finally {
      this.closing = true;
    }
    const worker = this.worker;
    this.worker = null;
    await worker?.terminate();
  }

  private failAll(err: Error): void {
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
  }
}
