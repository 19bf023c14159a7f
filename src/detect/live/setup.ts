import { priceOverridesOf } from '../../config/prices.js';
import { AlertDispatcher, memoryOutbox } from '../../alerts/dispatcher.js';
import { detailOf } from '../../alerts/findings.js';
import type { GoodhartConfig } from '../../config/schema.js';
import type { BudgetConfig } from '../../policy/config.js';
import type { GovernanceStore } from '../../policy/store.js';
import { openGovernanceStore } from '../../admin/install.js';
import type { Store } from '../../store/types.js';
import { createPricer } from '../../usage/pricing.js';
import { liveSourceOf } from '../store.js';
import { LiveDetector } from './live.js';

/**
 * A LiveDetector wired to a store and the config: prices (with the config's overrides), the alert sinks that take
 * findings, and a place to record sent alerts (the governance tables, where budget alerts are recorded too, so a
 * restart or another replica never resends one). Used by the worker thread, and in-process for in-memory stores.
 */
export interface Live {
  detector: LiveDetector;
  dispatcher: AlertDispatcher | null;
  /** Gives the lease up, delivers queued alerts (waiting at most `drainMs`), closes what it opened. */
  close(drainMs?: number): Promise<void>;
}

export interface LiveSetup {
  config: GoodhartConfig;
  store: Store;
  budgets: () => readonly BudgetConfig[];
  log: (message: string) => void;
  now?: () => number;
  holder?: string;
  /** Send timeouts and backoffs of the dispatcher (tests shorten them). */
  sleep?: (ms: number) => Promise<void>;
  /** Events per tick at most (LiveDeps.maxPerTick; tests make it small). */
  maxPerTick?: number;
}

export async function openLive(o: LiveSetup): Promise<Live | null> {
  const source = liveSourceOf(o.store);
  if (source === undefined) return null;
  const overrides = priceOverridesOf(o.config.models);
  const sinks = o.config.alerts.sinks.filter((s) => detailOf(s) !== 'off');
  let claims: GovernanceStore | null = null;
  let dispatcher: AlertDispatcher | null = null;
  if (sinks.length > 0) {
    claims = await openGovernanceStore(o.store, { inMemory: false });
    dispatcher = new AlertDispatcher({
      // Every sink: a pending budget alert this process retries may be for a sink that takes no findings.
      sinks: o.config.alerts.sinks,
      timeZone: o.config.timeZone,
      maxAttempts: o.config.alerts.maxAttempts,
      initialBackoffMs: o.config.alerts.initialBackoffMs,
      outbox: claims ?? memoryOutbox(),
      ...(o.now ? { now: o.now } : {}),
      log: o.log,
      ...(o.sleep ? { sleep: o.sleep } : {}),
    });
    dispatcher.start();
  }
  const d = dispatcher;
  const detector = new LiveDetector({
    store: o.store,
    source,
    detect: o.config.detect,
    pricer: createPricer(overrides),
    timeZone: o.config.timeZone,
    budgets: o.budgets,
    publish: d === null ? null : (a) => d.publishOutbound(a),
    log: o.log,
    ...(o.now ? { now: o.now } : {}),
    ...(o.holder ? { holder: o.holder } : {}),
    ...(o.maxPerTick ? { maxPerTick: o.maxPerTick } : {}),
    minGroupSize: o.config.dashboard.minGroupSize,
  });
  return {
    detector,
    dispatcher,
    async close(drainMs = 10_000) {
      await detector.close();
      if (d !== null) await Promise.race([d.close(), new Promise((r) => setTimeout(r, drainMs).unref())]);
      await claims?.close();
    },
  };
}
