import { createHash, randomUUID } from 'node:crypto';
import type { GovernanceStore, PendingDelivery } from '../policy/store.js';
import type { BudgetAlert } from '../policy/thresholds.js';
import { detailOf, renderBudgetAlert, type SinkType } from './format.js';
import { postJson, redactUrl } from './send.js';

/**
 * Delivers alerts to webhook sinks off the request path: `publish` only queues. Each alert is claimed once (by its
 * dedup key, in the store, so neither a restart nor another replica sends it again) with the body each sink gets,
 * then posted to every sink that takes it, each retried with exponential backoff on network errors, 408, 429 and
 * 5xx, until `maxAttempts`. A delivery still failing then stays pending in the store, due again RETRY_EVERY_MS later:
 * every SWEEP_EVERY_MS each process takes over what is due, and at start (`start`) everything pending that no process
 * holds, due or not (a webhook fixed and the gateway restarted need not wait out the 5 minutes), under a lease in the
 * store (one process at a time), and tries again, for up to RETRY_FOR_MS. A delivery the webhook refused for good (a 4xx
 * but 408 and 429: a revoked Slack webhook answers 404) is not tried again.
 * Budget thresholds come from the gateway (`publish`); waste findings and budget forecasts from live detection
 * (`publishOutbound`, src/alerts/findings.ts).
 */

/** A webhook down for a while: its alerts are tried again every 5 minutes (and at every start)… */
export const RETRY_EVERY_MS = 5 * 60_000;
/**
 * How often each process looks for alerts due again. Each alert is due RETRY_EVERY_MS after its last failure; a sweep
 * as often as that would find one that failed just after the previous sweep not yet due, and leave it for 10 minutes.
 */
export const SWEEP_EVERY_MS = 60_000;
/** …for a day; by then the alert's news is stale (a day budget's period is over). */
export const RETRY_FOR_MS = 24 * 3_600_000;
/**
 * How long an alert without a period (a waste finding) is remembered as sent: 400 days, as Redis remembers an alert
 * of a budget without periods (claimAlertInRedis). A finding is found again only within detection's look-back.
 */
export const KEEP_FOR_MS = 400 * 86_400_000;
/** An alert of a period is remembered a day past its end, as Redis does: late settlements, replicas' clocks. */
const KEEP_PAST_PERIOD_MS = 86_400_000;
/** Pending alerts taken per sweep: a backlog is worked through sweep by sweep, never all at once. */
const RETRY_BATCH = 100;

/** Where alerts are recorded: the governance store's alert table, or `memoryOutbox` without one. */
export type AlertOutbox = Pick<GovernanceStore, 'claimAlert' | 'setAlertPending' | 'takePendingAlerts' | 'expireAlerts'>;

/** Without governance tables (an in-memory store): a sent alert is remembered by this process only, never retried. */
export function memoryOutbox(): AlertOutbox {
  const sent = new Set<string>();
  return {
    async claimAlert({ dedupKey }) {
      if (sent.has(dedupKey)) return false;
      sent.add(dedupKey);
      return true;
    },
    async setAlertPending() {
      return true;
    },
    async takePendingAlerts() {
      return [];
    },
    async expireAlerts() {
      return { expired: 0, pruned: 0 };
    },
  };
}

const hash = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 16);

/**
 * What a pending delivery names its sink by, the same at every start: a hash (webhook URLs and headers carry
 * secrets) of all that makes a sink one of its own, its type, URL, headers (names in lower case, in order) and how
 * much of a finding it gets. Sinks differing in any of them each get the alert (one URL can route by a header);
 * identical entries get it once.
 */
export function sinkId(sink: Pick<Sink, 'type' | 'url' | 'headers' | 'findings'>): string {
  // Sorted by code unit (not by locale): the same order on every machine.
  const headers = Object.entries(sink.headers ?? {})
    .map(([name, value]) => `${name.toLowerCase()}: ${value}`)
    .sort();
  return hash(`${sink.type} ${sink.url} ${JSON.stringify({ headers, findings: detailOf(sink) })}`);
}

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
  /**
   * When the period the alert is about ends (Infinity: a budget without periods). Its record, which keeps it from
   * being sent twice, is kept a day past it (for good without an end); without a period, KEEP_FOR_MS.
   */
  periodEnd?: number | undefined;
  /** The JSON body for this sink, or null when this sink does not take it. */
  render(sink: Sink): object | null;
}

export interface DispatcherOptions {
  sinks: readonly Sink[];
  timeZone: string;
  maxAttempts: number;
  initialBackoffMs: number;
  /** Records alerts and what is left to deliver of them (dedup and retries across processes and restarts). */
  outbox: AlertOutbox;
  /** The clock alerts are stamped with (`at`); leases and the retry horizon are measured on it. */
  now?: () => number;
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
  private readonly now: () => number;
  private readonly sinks = new Map<string, Sink>();
  /** How long one process may take to deliver an alert before another may take it over (all attempts, plus a minute). */
  private readonly leaseMs: number;
  /** Names this dispatcher's leases in the store. */
  private readonly holder = randomUUID();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly opts: DispatcherOptions) {
    this.log = opts.log ?? ((m) => process.stderr.write(`${m}\n`));
    this.now = opts.now ?? Date.now;
    for (const s of opts.sinks) {
      const id = sinkId(s);
      if (!this.sinks.has(id)) this.sinks.set(id, s);
    }
    this.leaseMs = deliveryBoundMs(opts) + 60_000;
  }

  /**
   * Retries what earlier processes (or this one) left undelivered: now everything pending that no process holds, due
   * or not (as the failure's log line promises: "and at the next start"), then what is due every SWEEP_EVERY_MS.
   */
  start(): void {
    if (this.closed || this.timer !== undefined) return;
    this.track(this.retryPending({ waiting: true }));
    this.timer = setInterval(() => this.track(this.retryPending()), SWEEP_EVERY_MS);
    this.timer.unref();
  }

  /** Queues a budget alert; never throws, never waits. */
  publish(alert: BudgetAlert): void {
    this.publishOutbound({
      dedupKey: alert.dedupKey,
      at: alert.at,
      payload: alert,
      periodEnd: alert.windowEnd,
      render: (s) => renderBudgetAlert(alert, s, this.opts.timeZone),
    });
  }

  /** Queues any alert; never throws, never waits. */
  publishOutbound(alert: OutboundAlert): void {
    if (this.closed) return;
    this.stats.published++;
    this.track(new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.deliver(alert)));
  }

  /** Resolves once every queued alert is delivered or left pending for a later retry. */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.drain();
  }

  /**
   * Gives up what was not delivered within RETRY_FOR_MS and forgets alerts past their keeping; then takes over alerts
   * whose deliveries failed (here or in another process) and are due (`waiting`: or wait for their retry time, held by
   * no process), and tries them again.
   */
  async retryPending(o: { waiting?: boolean } = {}): Promise<void> {
    const now = this.now();
    try {
      const { expired } = await this.opts.outbox.expireAlerts(now, now - RETRY_FOR_MS);
      if (expired > 0) this.log(`goodhart: ${expired} alert(s) given up: a sink did not take them within ${RETRY_FOR_MS / 3_600_000} hours (see the earlier failures).`);
    } catch (err) {
      this.log(`goodhart: could not clear old alerts (${String(err)}); trying again in ${SWEEP_EVERY_MS / 60_000} minute.`);
    }
    let taken;
    try {
      taken = await this.opts.outbox.takePendingAlerts(now, now - RETRY_FOR_MS, now + this.leaseMs, RETRY_BATCH, this.holder, o.waiting === true ? Number.MAX_SAFE_INTEGER : now);
    } catch (err) {
      this.log(`goodhart: could not read the alerts left to deliver (${String(err)}); trying again in ${SWEEP_EVERY_MS / 60_000} minute.`);
      return;
    }
    // A sink no longer in the config is dropped: there is nowhere (and no credentials) to send to.
    await Promise.all(taken.map(({ dedupKey, pending }) => this.attempt(dedupKey, pending.filter((d) => this.sinks.has(d.sink)))));
  }

  private track(p: Promise<void>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private async deliver(alert: OutboundAlert): Promise<void> {
    const deliveries: PendingDelivery[] = [];
    for (const [id, sink] of this.sinks) {
      const shaped = alert.render(sink);
      if (shaped !== null) deliveries.push({ sink: id, body: JSON.stringify(shaped) });
    }
    try {
      const fresh = await this.opts.outbox.claimAlert({ dedupKey: alert.dedupKey, at: alert.at, payload: alert.payload, pending: deliveries, leaseUntil: this.now() + this.leaseMs, holder: this.holder, keepUntil: keepUntil(alert) });
      if (!fresh) {
        this.stats.duplicates++;
        return;
      }
    } catch (err) {
      this.log(`goodhart: alert ${alert.dedupKey} not sent: could not record it (${String(err)})`);
      return;
    }
    await this.attempt(alert.dedupKey, deliveries);
  }

  /** Posts each delivery; records what is still to deliver (nothing, once every sink took it or refused it for good). */
  private async attempt(dedupKey: string, deliveries: readonly PendingDelivery[]): Promise<void> {
    const outcomes = await Promise.all(deliveries.map((d) => this.send(d, dedupKey)));
    const left = deliveries.filter((_, i) => outcomes[i] === 'retry');
    try {
      const held = await this.opts.outbox.setAlertPending(dedupKey, left, this.now() + RETRY_EVERY_MS, this.holder);
      if (!held) this.log(`goodhart: alert ${dedupKey}: its lease ran out while this process was sending it and another took it over; that one records it.`);
    } catch (err) {
      // The lease runs out and the deliveries still recorded as pending are tried again: some may go out twice.
      this.log(`goodhart: alert ${dedupKey}: could not record its delivery (${String(err)})`);
    }
  }

  private async send(d: PendingDelivery, dedupKey: string): Promise<'delivered' | 'retry' | 'refused'> {
    const sink = this.sinks.get(d.sink)!;
    const r = await postJson(sink, d.body, this.opts);
    this.stats.attempts += r.attempts;
    if (r.ok) {
      this.stats.delivered++;
      return 'delivered';
    }
    this.stats.failed++;
    if (r.permanent) {
      this.log(`goodhart: alert ${dedupKey} to ${redactUrl(sink.url)} was refused (${r.last}); not trying again: check the sink's url and headers.`);
      return 'refused';
    }
    this.log(`goodhart: alert ${dedupKey} to ${redactUrl(sink.url)} failed (${r.last}); trying again in ${RETRY_EVERY_MS / 60_000} minutes and at the next start, for a day.`);
    return 'retry';
  }
}

/** Until when an alert's record is kept (null: for good). Never before its deliveries are given up. */
function keepUntil(alert: OutboundAlert): number | null {
  if (alert.periodEnd === undefined) return alert.at + KEEP_FOR_MS;
  if (!Number.isFinite(alert.periodEnd)) return null;
  return Math.max(alert.periodEnd + KEEP_PAST_PERIOD_MS, alert.at + RETRY_FOR_MS);
}

/** The longest one delivery can take: every attempt running to its deadline (send.ts), with the backoffs between them. */
function deliveryBoundMs(o: DispatcherOptions): number {
  const timeout = o.timeoutMs ?? 10_000;
  let total = 0;
  let delay = o.initialBackoffMs;
  for (let attempt = 1; attempt <= o.maxAttempts; attempt++) {
    total += timeout + (attempt < o.maxAttempts ? delay : 0);
    delay = Math.min(delay * 2, o.maxBackoffMs ?? 60_000);
  }
  return total;
}
