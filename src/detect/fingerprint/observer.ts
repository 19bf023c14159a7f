import type { RequestObserver } from '../../gateway/proxy.js';
import type { UsageEvent } from '../../usage/event.js';
import type { FindingsStore } from '../store.js';
import { fingerprintOf, fingerprintRequest } from './fingerprint.js';
import type { Fingerprint } from './types.js';

/**
 * The gateway's fingerprint recorder. `observe` runs on the request's tail and only queues (body, event); the
 * hashing happens in batches on a later turn of the event loop (setImmediate), yielding between batches so
 * requests keep flowing. Fingerprints are written to the findings store; bodies are dropped after hashing.
 * A retention sweep deletes fingerprints older than the configured number of days.
 */

export interface FingerprintObserverOptions {
  store: FindingsStore;
  secret: string;
  retentionDays: number;
  /** At most this many requests hashed per event-loop turn (default 64). */
  batchSize?: number;
  /**
   * …and at most this long (ms) per turn, default 8: a 1 MB agent transcript takes a few ms to hash, so a batch of
   * them must not hold requests back for longer than a frame.
   */
  sliceMs?: number;
  /**
   * Pending requests beyond which new ones are not fingerprinted (counted in `dropped`): under overload the gateway
   * keeps serving and detection loses a little recall, never the other way round. 5,000 bodies of a few hundred KB
   * is the memory this may hold.
   */
  maxQueue?: number;
  /** How often the retention sweep runs (ms); default hourly. */
  sweepMs?: number;
  now?: () => number;
  onError?: (err: unknown) => void;
}

interface Pending {
  body: Readonly<Record<string, unknown>>;
  event: Readonly<UsageEvent>;
}

export class FingerprintObserver implements RequestObserver {
  private queue: Pending[] = [];
  private scheduled = false;
  private running: Promise<void> = Promise.resolve();
  private readonly sweep: NodeJS.Timeout;
  dropped = 0;
  written = 0;

  constructor(private readonly opts: FingerprintObserverOptions) {
    this.sweep = setInterval(() => void this.purge(), opts.sweepMs ?? 3_600_000);
    this.sweep.unref();
  }

  observe(body: Readonly<Record<string, unknown>>, event: Readonly<UsageEvent>): void {
    if (event.endpoint !== 'messages' && event.endpoint !== 'chat.completions' && event.endpoint !== 'responses') return;
    if (this.queue.length >= (this.opts.maxQueue ?? 5_000)) {
      this.dropped++;
      return;
    }
    this.queue.push({ body, event });
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.running = this.running.then(() => this.drain());
      });
    }
  }

  /** Hashes and writes everything queued, a batch per event-loop turn. */
  private async drain(): Promise<void> {
    this.scheduled = false;
    const size = this.opts.batchSize ?? 64;
    const sliceMs = this.opts.sliceMs ?? 8;
    while (this.queue.length > 0) {
      const fps: Fingerprint[] = [];
      const started = performance.now();
      for (let n = 0; n < size && this.queue.length > 0 && performance.now() - started < sliceMs; n++) {
        const { body, event } = this.queue.shift()!;
        try {
          const core = fingerprintRequest(body, event.endpoint, this.opts.secret);
          if (core !== null) fps.push(fingerprintOf(core, { eventId: event.id, at: event.startedAt, userId: event.userId, sessionId: event.sessionId }));
        } catch (err) {
          this.opts.onError?.(err);
        }
      }
      try {
        this.written += await this.opts.store.insertFingerprints(fps);
      } catch (err) {
        this.opts.onError?.(err);
      }
      if (this.queue.length > 0) await new Promise<void>((r) => setImmediate(r));
    }
  }

  /** Deletes fingerprints past retention; returns how many. */
  async purge(): Promise<number> {
    const now = (this.opts.now ?? Date.now)();
    try {
      return await this.opts.store.deleteFingerprintsBefore(now - this.opts.retentionDays * 86_400_000);
    } catch (err) {
      this.opts.onError?.(err);
      return 0;
    }
  }

  /** Writes what is queued and stops the retention timer (call before closing the store). */
  async close(): Promise<void> {
    clearInterval(this.sweep);
    this.running = this.running.then(() => this.drain());
    await this.running;
  }
}

/** An observer for a store and the `detect.fingerprints` config: the secret from config, else the store's own. */
export async function createFingerprintObserver(
  store: FindingsStore,
  cfg: { enabled: boolean; retentionDays: number; secret?: string | undefined },
  opts: Partial<FingerprintObserverOptions> = {},
): Promise<FingerprintObserver | null> {
  if (!cfg.enabled) return null;
  const secret = cfg.secret ?? (await store.fingerprintSecret());
  return new FingerprintObserver({ ...opts, store, secret, retentionDays: cfg.retentionDays });
}
