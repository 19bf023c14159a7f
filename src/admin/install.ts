import type { FastifyInstance } from 'fastify';
import { AlertDispatcher, type AlertOutbox } from '../alerts/dispatcher.js';
import type { GoodhartConfig } from '../config/schema.js';
import { GoodhartError } from '../errors.js';
import type { KeyCache } from '../gateway/auth.js';
import { ModelRouter } from '../gateway/router.js';
import { downgradeProblems, type ModelLookup } from '../policy/downgrade-check.js';
import { Directory, governanceConfigured } from '../policy/directory.js';
import { GovernanceEngine } from '../policy/engine.js';
import { catalogueProvider } from '../policy/quote.js';
import type { GovernanceSpec } from '../policy/rules.js';
import { RedisBudgetState } from '../policy/redis/budget-state.js';
import { claimAlertInRedis, connectRedis, type SharedRedis } from '../policy/redis/connection.js';
import { GOVERNANCE_CHANNEL, NotifyingGovernanceStore } from '../policy/redis/notify.js';
import { RedisRateState } from '../policy/redis/rate-state.js';
import { GovernanceService } from '../policy/service.js';
import type { GovernanceStore } from '../policy/store.js';
import type { BudgetAlert } from '../policy/thresholds.js';
import { PostgresGovernanceStore } from '../store/postgres/governance-store.js';
import { storeSpec } from '../store/open.js';
import { SqliteGovernanceStore } from '../store/sqlite/governance-store.js';
import type { Store } from '../store/types.js';
import type { Pricer } from '../usage/pricing.js';
import { AdminAuth } from './auth.js';
import { registerAdminRoutes } from './routes.js';

export interface Governance {
  policy: GovernanceEngine;
  service: GovernanceService;
  alerts: AlertDispatcher;
  /** The shared budget state's connection, when replicas share one (for /readyz); null in a single process. */
  redis: SharedRedis | null;
  /** Stops the sweeper, delivers queued alerts, closes the governance store. */
  close(): Promise<void>;
}

export interface GovernanceOptions {
  config: GoodhartConfig;
  store: Store;
  keys: KeyCache;
  pricer: Pricer;
  now: () => number;
  log?: (message: string) => void;
}

/** Which providers serve a model and whether it has a price there: the gateway's own routing and prices. */
function modelLookup(config: GoodhartConfig, pricer: Pricer): ModelLookup {
  const router = new ModelRouter(config);
  const probe = { input: { total: 1, noCache: 1, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 0 }, output: { total: 1, text: 1, reasoning: 0 }, raw: null };
  return (model) =>
    (['openai', 'anthropic'] as const).flatMap((wire) => {
      if (!router.serves(model, wire)) return [];
      const { provider } = router.resolve(model, wire);
      return [{ provider: provider.id, priced: pricer.price(probe, model, catalogueProvider(provider.id, provider.type)).costUsd !== null }];
    });
}

/** How often replicas re-read the governance overlay and grants when no change was announced. */
const RELOAD_EVERY_MS = 60_000;

/**
 * The governance tables next to the events: in the SQLite file, or in the Postgres database; for a store held in
 * memory, tables in memory of their own (`inMemory: false` gives null instead).
 */
export async function openGovernanceStore(store: Store, opts: { inMemory?: boolean } = {}): Promise<GovernanceStore | null> {
  const spec = storeSpec(store);
  if (spec === null) return store.kind === 'sqlite' && opts.inMemory !== false ? new SqliteGovernanceStore(':memory:') : null;
  return spec.kind === 'sqlite' ? new SqliteGovernanceStore(spec.path) : PostgresGovernanceStore.open(spec.url, { searchPath: spec.searchPath });
}

/**
 * Where budget alerts are recorded: the governance store, and with Redis also there (replicas with stores of their
 * own share it). The store is claimed first: it is the durable record that keeps an alert until it is delivered. A
 * Redis key claimed first, and a store that then failed to record the alert, left an alert neither sent nor pending
 * that no replica could ever claim again.
 */
export function budgetAlertOutbox(gstore: GovernanceStore, shared: SharedRedis | null): AlertOutbox {
  return {
    async claimAlert(claim) {
      if (!(await gstore.claimAlert(claim))) return false;
      if (shared === null) return true;
      let first: boolean;
      try {
        first = await claimAlertInRedis(shared, claim.dedupKey, claim.at, (claim.payload as BudgetAlert).windowEnd);
      } catch {
        // Redis does not answer: the store's record stands, and the alert goes out (twice at worst, from replicas
        // with stores of their own) rather than not at all.
        return true;
      }
      // Another replica, with a store of its own, sends it: recorded here as nothing left to deliver.
      if (!first) await gstore.setAlertPending(claim.dedupKey, [], claim.leaseUntil, claim.holder);
      return first;
    },
    setAlertPending: (key, pending, nextTry, holder) => gstore.setAlertPending(key, pending, nextTry, holder),
    takePendingAlerts: (now, since, leaseUntil, limit, holder, dueBy) => gstore.takePendingAlerts(now, since, leaseUntil, limit, holder, dueBy),
    expireAlerts: (now, pendingSince) => gstore.expireAlerts(now, pendingSince),
  };
}

/**
 * Everything governance needs in a running gateway, in one call: the policy the proxy consults, stored history
 * loaded into it, the alert dispatcher, and the admin API routes on `app`. With `redis` configured, budgets,
 * rate limits and alert de-duplication are shared by every replica through Redis; otherwise they live in this
 * process. Null when the store keeps no governance tables (a custom Store) and the config asks for none.
 */
export async function installGovernance(app: FastifyInstance, opts: GovernanceOptions): Promise<Governance | null> {
  const { config, store, keys, now } = opts;
  const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const lookup = modelLookup(config, opts.pricer);
  const checkDowngrades = (spec: Pick<GovernanceSpec, 'budgets' | 'tiers'>) => downgradeProblems(spec, lookup);
  const problems = [...checkDowngrades(new Directory(config).spec()).values()];
  if (problems.length > 0) throw new GoodhartError('config_invalid', 500, `Config: ${problems.join(' ')}`);
  const gstore = await openGovernanceStore(store);
  if (gstore === null) {
    if (!governanceConfigured(config)) return null;
    throw new GoodhartError('config_invalid', 500, `Budgets, tiers, rate limits and the admin API need a SQLite or Postgres store; this gateway uses a ${store.kind} store.`);
  }
  let redis: SharedRedis | null = null;
  try {
    if (config.redis) redis = await connectRedis(config.redis.url, config.redis.keyPrefix, log);
  } catch (err) {
    await gstore.close();
    throw err;
  }
  if (redis === null && store.kind !== 'sqlite' && governanceConfigured(config)) {
    log('goodhart: no redis configured: budgets and rate limits are counted per process. Several replicas need `redis.url` (README: Running several replicas).');
  }
  const shared = redis;
  const alerts = new AlertDispatcher({
    sinks: config.alerts.sinks,
    timeZone: config.timeZone,
    maxAttempts: config.alerts.maxAttempts,
    initialBackoffMs: config.alerts.initialBackoffMs,
    outbox: budgetAlertOutbox(gstore, shared),
    now,
    log,
  });
  const outputLimits = new Map<string, number>();
  for (const m of config.models) if (m.maxOutputTokens !== undefined) outputLimits.set(m.name, m.maxOutputTokens);
  const engine = new GovernanceEngine({
    spec: new Directory(config).spec(),
    pricer: opts.pricer,
    now,
    outputLimits,
    // The upstream timeout bounds a request's silence; a reservation older than it belongs to a request that died.
    reservationTtlMs: config.server.upstreamTimeoutMs,
    log,
    ...(shared
      ? {
          state: new RedisBudgetState({
            shared,
            url: shared.url,
            timeZone: config.timeZone,
            history: gstore,
            now,
            reservationTtlMs: config.server.upstreamTimeoutMs,
            log,
          }),
          rates: new RedisRateState(shared, shared.url),
        }
      : {}),
    ...(config.alerts.sinks.length > 0 ? { onAlert: (a) => alerts.publish(a) } : {}),
  });
  let service: GovernanceService;
  try {
    service = await GovernanceService.open(config, shared ? new NotifyingGovernanceStore(gstore, shared, log) : gstore, engine, now, checkDowngrades, log);
  } catch (err) {
    await gstore.close();
    await shared?.close();
    throw err;
  }
  engine.start();
  if (config.alerts.sinks.length > 0) alerts.start();
  let reloader: NodeJS.Timeout | undefined;
  if (shared) {
    // Admin API changes made through another replica: announced on Redis, and re-read every minute regardless
    // (an announcement sent while this replica was reconnecting is lost).
    const reload = () => service.reload().catch((err: unknown) => log(`goodhart: reloading governance changes failed: ${String(err)}`));
    shared.subscribe(GOVERNANCE_CHANNEL, () => void reload());
    reloader = setInterval(() => void reload(), RELOAD_EVERY_MS);
    reloader.unref();
  }
  registerAdminRoutes(app, { service, auth: new AdminAuth(config, keys, () => engine.current()), store, keys, now });
  return {
    policy: engine,
    service,
    alerts,
    redis: shared,
    async close() {
      clearInterval(reloader);
      engine.stop();
      await alerts.close();
      // Redis first: it waits for the last settlements, which may still read the store (seeding a day).
      await shared?.close();
      await gstore.close();
    },
  };
}
