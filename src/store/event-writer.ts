import { GoodhartError } from '../errors.js';
import type { UsageEvent } from '../usage/event.js';
import type { Store } from './types.js';

export interface EventWriterOptions {
  /** How often queued events are written. 200 ms keeps reports near-live at a few commits per second. */
  flushIntervalMs?: number;
  /** Events per insertEvents call; reaching it also triggers a flush before the timer. */
  batchSize?: number;
  /**
   * The most events held in memory while the store is failing. An event is well under 1 KB, so 100k caps the
   * backlog near 100 MB while covering minutes of a store outage at hundreds of requests per second.
   */
  maxQueued?: number;
  /** First retry delay after a failed flush; doubles per consecutive failure up to maxBackoffMs. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Where failures are reported; default console.error. */
  log?: (message: string) => void;
}

export interface EventWriterStats {
  queued: number;
  /** Events handed to the store successfully (including replays it ignored as duplicates). */
  flushed: number;
  /** Of those, how many the store reported as new. */
  inserted: number;
  failedFlushes: number;
  /** Events refused because the queue was full. */
  dropped: number;
}

const DEFAULTS = {
  flushIntervalMs: 200,
  batchSize: 500,
  maxQueued: 100_000,
  initialBackoffMs: 250,
  maxBackoffMs: 30_000,
} as const;

/**
 * Buffers usage events off the request path and writes them in batches. A failed write keeps the batch and
 * retries with backoff; events are only ever dropped when the queue is full.
 */
export class EventWriter {
  private readonly store: Pick<Store, 'insertEvents'>;
  private readonly opts: Required<Omit<EventWriterOptions, 'log'>>;
  private readonly log: (message: string) => void;

  /** Queued events are queue[head…]; the consumed front is cut off now and then, so enqueue stays O(1). */
  private queue: UsageEvent[] = [];
  private head = 0;

  private flushing: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;
  private flushSoonScheduled = false;
  private consecutiveFailures = 0;
  private retryAt = 0;
  private loggedDrop = false;

  private flushed = 0;
  private inserted = 0;
  private failedFlushes = 0;
  private dropped = 0;

  constructor(store: Pick<Store, 'insertEvents'>, opts: EventWriterOptions = {}) {
    this.store = store;
    this.opts = {
      flushIntervalMs: opts.flushIntervalMs ?? DEFAULTS.flushIntervalMs,
      batchSize: opts.batchSize ?? DEFAULTS.batchSize,
      maxQueued: opts.maxQueued ?? DEFAULTS.maxQueued,
      initialBackoffMs: opts.initialBackoffMs ?? DEFAULTS.initialBackoffMs,
      maxBackoffMs: opts.maxBackoffMs ?? DEFAULTS.maxBackoffMs,
    };
    this.log = opts.log ?? ((message) => console.error(`[goodhart] ${message}`));
    this.timer = setInterval(() => this.tick(), this.opts.flushIntervalMs);
    this.timer.unref();
  }

  /** Queues an event. Never awaits, never touches the store synchronously. */
  enqueue(event: UsageEvent): void {
    if (this.size() >= this.opts.maxQueued) {
      this.dropped += 1;
      if (!this.loggedDrop) {
        this.loggedDrop = true;
        this.log(
          `event queue full (${this.opts.maxQueued} events waiting for the store); dropping new usage events until it drains. See stats().dropped.`,
        );
      }
      return;
    }
    this.queue.push(event);
    if (this.size() >= this.opts.batchSize && !this.flushSoonScheduled) {
      this.flushSoonScheduled = true;
      // Deferred: a synchronous store (SQLite) would otherwise write on the caller's request path.
      setImmediate(() => {
        this.flushSoonScheduled = false;
        this.tick();
      });
    }
  }

  stats(): EventWriterStats {
    return {
      queued: this.size(),
      flushed: this.flushed,
      inserted: this.inserted,
      failedFlushes: this.failedFlushes,
      dropped: this.dropped,
    };
  }

  /**
   * Writes everything queued, retrying failed batches with backoff (for SIGTERM/SIGINT). Rejects only if the
   * store still fails after `timeoutMs` (default 30 s), with the events left in the queue.
   */
  async drain(opts: { timeoutMs?: number } = {}): Promise<void> {
    const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
    for (;;) {
      if (this.flushing !== undefined) await this.flushing;
      if (this.size() === 0) return;
      const wait = Math.max(0, this.retryAt - Date.now());
      if (Date.now() + wait > deadline) {
        throw new GoodhartError(
          'internal',
          500,
          `The store is still failing after ${this.failedFlushes} attempts; ${this.size()} usage events were not written.`,
        );
      }
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      await this.startFlush();
    }
  }

  /** Stops the timer and drains. The writer must not be used afterwards. */
  async close(opts: { timeoutMs?: number } = {}): Promise<void> {
    clearInterval(this.timer);
    await this.drain(opts);
  }

  private size(): number {
    return this.queue.length - this.head;
  }

  private tick(): void {
    if (this.flushing !== undefined || this.size() === 0 || Date.now() < this.retryAt) return;
    void this.startFlush();
  }

  private startFlush(): Promise<void> {
    this.flushing ??= this.flushAll().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  /** Writes batches until the queue is empty or a write fails. Never rejects. */
  private async flushAll(): Promise<void> {
    while (this.size() > 0) {
      const batch = this.queue.slice(this.head, this.head + this.opts.batchSize);
      try {
        this.inserted += await this.store.insertEvents(batch);
      } catch (err) {
        this.failedFlushes += 1;
        this.consecutiveFailures += 1;
        const backoff = Math.min(
          this.opts.maxBackoffMs,
          this.opts.initialBackoffMs * 2 ** (this.consecutiveFailures - 1),
        );
        this.retryAt = Date.now() + backoff;
        if (this.consecutiveFailures === 1 || this.consecutiveFailures % 10 === 0) {
          this.log(
            `writing ${batch.length} usage events failed (${this.consecutiveFailures} in a row; ${this.size()} queued, retrying in ${backoff} ms): ${String(err)}`,
          );
        }
        return;
      }
      if (this.consecutiveFailures > 0) {
        this.log(`usage events are being written again after ${this.consecutiveFailures} failed attempts.`);
      }
      this.consecutiveFailures = 0;
      this.retryAt = 0;
      this.head += batch.length;
      this.flushed += batch.length;
      this.compact();
    }
  }

  private compact(): void {
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }
}
