import { GoodhartError } from '../../errors.js';
import type { StoreSpec } from '../../store/open.js';
import type { ModelPriceOverride } from '../../usage/pricing.js';
import { CallThread } from '../../util/call-thread.js';
import type { OtlpRequest, OtlpRules } from './process.js';
import type { Rejections } from './types.js';

/** What the OTLP thread starts with: plain data (functions do not cross threads). */
export interface OtlpThreadData {
  spec: StoreSpec;
  priceOverrides: Record<string, ModelPriceOverride>;
  rules: OtlpRules;
}

/**
 * Requests waiting for the thread, and their bytes, beyond which a new one is refused with 429 and Retry-After (OTLP
 * exporters retry it): a burst of large batches must not pile up in memory while the thread works through them.
 */
export interface OtlpQueueLimits {
  requests: number;
  bytes: number;
}

export const DEFAULT_QUEUE_LIMITS: OtlpQueueLimits = { requests: 64, bytes: 256 << 20 };

/**
 * The gateway's side of the OTLP thread (otlp-thread.ts): export requests are processed there one at a time, on a
 * store connection of the thread's own. A request the thread could not answer (it died, the store failed) is a 503,
 * which OTLP exporters retry.
 */
export class OtlpThread {
  private readonly thread: CallThread;
  private waiting = 0;
  private waitingBytes = 0;

  constructor(
    data: OtlpThreadData,
    private readonly limits: OtlpQueueLimits = DEFAULT_QUEUE_LIMITS,
  ) {
    this.thread = new CallThread({
      from: import.meta.url,
      name: 'otlp-thread',
      data,
      label: 'the OTLP thread',
      closedError: () => new GoodhartError('internal', 503, 'The gateway is shutting down: send the batch again in a moment.', { retryable: true }),
      failedError: (why) => new GoodhartError('internal', 503, `Goodhart could not store the batch (${why}); send it again.`, { retryable: true }),
    });
  }

  async process(request: OtlpRequest): Promise<{ rejected: Rejections }> {
    const bytes = request.body.byteLength;
    if (this.waiting >= this.limits.requests || (this.waiting > 0 && this.waitingBytes + bytes > this.limits.bytes)) {
      throw new GoodhartError('rate_limited', 429, `Goodhart is still storing ${this.waiting} earlier telemetry batches; send this one again in a few seconds.`, {
        retryable: true,
        headers: { 'retry-after': '5' },
      });
    }
    this.waiting += 1;
    this.waitingBytes += bytes;
    try {
      return (await this.thread.call('process', [request])) as { rejected: Rejections };
    } finally {
      this.waiting -= 1;
      this.waitingBytes -= bytes;
    }
  }

  /** Ends the thread once the requests it holds are answered (the gateway closes after its requests). */
  close(): Promise<void> {
    return this.thread.close();
  }
}
