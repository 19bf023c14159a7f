import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { UsageEvent } from '../usage/event.js';

/**
 * Prometheus metrics for `GET /metrics`. Updated once per request from its finished event (a few counter
 * increments: no I/O, no allocation beyond label lookups).
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'endpoint' | 'provider' | 'status' | 'error_class'>;
  private readonly tokens: Counter<'provider' | 'type'>;
  private readonly cost: Counter<'provider'>;
  private readonly blocks: Counter<'reason'>;
  private readonly overhead: Histogram<'phase'>;
  private readonly overheadBefore: { observe(v: number): void };
  private readonly overheadAfter: { observe(v: number): void };

  constructor(queueDepth: () => number) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'goodhart_requests_total',
      help: 'Metered requests, by endpoint, provider, HTTP status and error class',
      labelNames: ['endpoint', 'provider', 'status', 'error_class'],
      registers,
    });
    this.tokens = new Counter({
      name: 'goodhart_tokens_total',
      help: 'Tokens metered, by provider and bucket (input includes cache read/write; output includes reasoning)',
      labelNames: ['provider', 'type'],
      registers,
    });
    this.cost = new Counter({ name: 'goodhart_cost_usd_total', help: 'Cost metered, USD', labelNames: ['provider'], registers });
    this.blocks = new Counter({
      name: 'goodhart_refused_total',
      help: 'Requests refused by governance (budget, rate limit, tier)',
      labelNames: ['reason'],
      registers,
    });
    this.overhead = new Histogram({
      name: 'goodhart_gateway_overhead_seconds',
      help: "Time the gateway itself adds: 'before' = request received to upstream dispatched; 'after' = upstream body complete to response sent (non-streamed)",
      labelNames: ['phase'],
      // The gateway's own work is sub-millisecond; buckets resolve it, with a tail for GC pauses and store flushes.
      buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05],
      registers,
    });
    this.overheadBefore = this.overhead.labels('before');
    this.overheadAfter = this.overhead.labels('after');
    new Gauge({
      name: 'goodhart_event_queue_depth',
      help: 'Usage events waiting to be written to the store',
      registers,
      collect() {
        this.set(queueDepth());
      },
    });
  }

  /**
   * Label children by their label values, so a request costs a Map lookup per series instead of prom-client hashing
   * a labels object per call. Series are bounded: endpoints, providers, statuses and error classes are few.
   */
  private readonly children = new Map<string, { inc(n?: number): void }>();

  /** The counter's child for these label values; `id` names the series (labels are only built on first sight). */
  private child(counter: Counter<string>, id: string, labels: () => string[]): { inc(n?: number): void } {
    let c = this.children.get(id);
    if (c === undefined) {
      c = counter.labels(...labels());
      this.children.set(id, c);
    }
    return c;
  }

  onEvent(e: Readonly<UsageEvent>, beforeMs: number | null, afterMs: number | null): void {
    const p = e.provider;
    const errorClass = e.errorClass ?? '';
    this.child(this.requests, `r\u0000${e.endpoint}\u0000${p}\u0000${e.status}\u0000${errorClass}`, () => [e.endpoint, p, String(e.status), errorClass]).inc();
    if (e.status === 429 || e.status === 403) {
      if (e.errorClass === 'budget_exceeded' || e.errorClass === 'rate_limited' || e.errorClass === 'forbidden') {
        this.child(this.blocks, `b\u0000${errorClass}`, () => [errorClass]).inc();
      }
    }
    if (e.inputTokens > 0) this.tokenSeries(p, 'input').inc(e.inputTokens);
    if (e.cacheReadTokens > 0) this.tokenSeries(p, 'cache_read').inc(e.cacheReadTokens);
    const writes = e.cacheWrite5mTokens + e.cacheWrite1hTokens;
    if (writes > 0) this.tokenSeries(p, 'cache_write').inc(writes);
    if (e.outputTokens > 0) this.tokenSeries(p, 'output').inc(e.outputTokens);
    if (e.reasoningTokens > 0) this.tokenSeries(p, 'reasoning').inc(e.reasoningTokens);
    if (e.costUsd) this.child(this.cost, `c\u0000${p}`, () => [p]).inc(e.costUsd);
    if (beforeMs !== null) this.overheadBefore.observe(beforeMs / 1000);
    if (afterMs !== null) this.overheadAfter.observe(afterMs / 1000);
  }

  private tokenSeries(provider: string, type: string): { inc(n?: number): void } {
    return this.child(this.tokens, `t\u0000${provider}\u0000${type}`, () => [provider, type]);
  }
}
