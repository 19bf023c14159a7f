import type { GoodhartConfig } from '../../config/schema.js';
import { GoodhartError } from '../../errors.js';
import type { StoreSpec } from '../../store/open.js';
import type { ModelPriceOverride } from '../../usage/pricing.js';
import { CallThread } from '../../util/call-thread.js';
import type { OtlpRequest } from './process.js';

/** What the OTLP thread starts with: plain data (functions do not cross threads). */
export interface OtlpThreadData {
  spec: StoreSpec;
  priceOverrides: Record<string, ModelPriceOverride>;
  rules: Pick<GoodhartConfig, 'identities' | 'users'>;
}

/**
 * The gateway's side of the OTLP thread (otlp-thread.ts): export requests are processed there one at a time, on a
 * store connection of the thread's own. A request the thread could not answer (it died, the store failed) is a 503,
 * which OTLP exporters retry.
 */
export class OtlpThread {
  private readonly thread: CallThread;

  constructor(data: OtlpThreadData) {
    this.thread = new CallThread({
      from: import.meta.url,
      name: 'otlp-thread',
      data,
      label: 'the OTLP thread',
      closedError: () => new GoodhartError('internal', 503, 'The gateway is shutting down: send the batch again in a moment.', { retryable: true }),
      failedError: (why) => new GoodhartError('internal', 503, `Goodhart could not store the batch (${why}); send it again.`, { retryable: true }),
    });
  }

  process(request: OtlpRequest): Promise<{ rejected: number }> {
    return this.thread.call('process', [request]) as Promise<{ rejected: number }>;
  }

  /** Ends the thread once the requests it holds are answered (the gateway closes after its requests). */
  close(): Promise<void> {
    return this.thread.close();
  }
}
