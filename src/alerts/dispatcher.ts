import type { BudgetAlert } from '../policy/thresholds.js';
import { renderBudgetAlert, type SinkType } from './format.js';
import { postJson, redactUrl } from './send.js';

/**
 * Delivers alerts to webhook sinks off the request path: `publish` only queues. Each alert is claimed once (by its
 * dedup key, in the store, so a restart does not resend) and then posted to every sink that takes it, each retried
 * with exponential backoff on network errors, 429 and 5xx, until `maxAttempts`. Budget thresholds come from the
 * gateway (`publish`); waste findings and budget forecasts from live detection (`publishOutbound`, src/alerts/findings.ts).
 */

export interface Sink {
  type: SinkType;
  url: string;
  headers?: Record<string, string> | undefined;
  /** How much of a waste finding this sink gets (default: team for slack, person for webhook). */
  findings?: 'off' | 'team' | 'person' | undefined;
}

/** An alert with its body already shaped per sink. */
export interface OutboundAlert {
  dedupKey: string;
  at: number;
  /** What the store records about it (never prompt text: there is none). */
  payload: unknown;
  /** The JSON body for this sink, or null when this sink does not take it. */
  render(sink: Sink): object | null;
}

export interface DispatcherOptions {
  sinks: readonly Sink[];
  timeZone: string;
  maxAttempts: number;
  initialBackoffMs: number;
  /** Records the alert; false when it already went out (dedup across processes and restarts). */
  claim: (dedupKey: string, at: number, payload: unknown) => Promise<boolean>;
  log?: (message: string) => void;
  /** Per attempt. A webhook that takes longer than 10 s is down for our purposes. */
  timeoutMs?: number;
  /** Backoffs never exceed this (1 minute). */
  maxBackoffMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

export interface DeliveryStats {
  published: number;
  duplicates: number;
  delivered: number;
  failed: number;
  attempts: number;
}

export class AlertDispatcher {
  readonly stats: DeliveryStats = { published: 0, duplicates: 0, delivered: 0, failed: 0, attempts: 0 };
  private readonly pending = new Set<Promise<void>>();
  private readonly log: (message: string) => void;
  private closed = false;

  constructor(private readonly opts: DispatcherOptions) {
    this.log = opts.log ?? ((m) => process.stderr.write(`${m}\n`));
  }

  /** Queues a budget alert; never throws, never waits. */
  publish(alert: BudgetAlert): void {
    this.publishOutbound({ dedupKey: alert.dedupKey, at: alert.at, payload: alert, render: (s) => renderBudgetAlert(alert, s, this.opts.timeZone) });
  }

  /** Queues any alert; never throws, never waits. */
  publishOutbound(alert: OutboundAlert): void {
    if (this.closed) return;
    this.stats.published++;
    const p = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.deliver(alert));
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /** Resolves once every queued alert is delivered or given up. */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.drain();
  }

  private async deliver(alert: OutboundAlert): Promise<void> {
    try {
      const fresh = await this.opts.claim(alert.dedupKey, alert.at, alert.payload);
      if (!fresh) {
        this.stats.duplicates++;
        return;
      }
    } catch (err) {
      this.log(`goodhart: alert ${alert.dedupKey} not sent: could not record it (${String(err)})`);
      return;
    }
    await Promise.all(this.opts.sinks.map((s) => this.send(s, alert)));
  }

  private async send(sink: Sink, alert: OutboundAlert): Promise<void> {
    const shaped = alert.render(sink);
    if (shaped === null) return;
    const body = JSON.stringify(shaped);
    const r = await postJson(sink, body, this.opts);
    this.stats.attempts += r.attempts;
    if (r.ok) {
      this.stats.delivered++;
      return;
    }
    this.stats.failed++;
    this.log(`goodhart: alert ${alert.dedupKey} to ${redactUrl(sink.url)} failed (${r.last}); giving up.`);
  }
}
