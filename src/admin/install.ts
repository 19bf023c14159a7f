import type { FastifyInstance } from 'fastify';
import { AlertDispatcher } from '../alerts/dispatcher.js';
import type { GoodhartConfig } from '../config/schema.js';
import { GoodhartError } from '../errors.js';
import type { KeyCache } from '../gateway/auth.js';
import { Directory, governanceConfigured } from '../policy/directory.js';
import { GovernanceEngine } from '../policy/engine.js';
import { GovernanceService } from '../policy/service.js';
import { SqliteGovernanceStore } from '../store/sqlite/governance-store.js';
import type { Store } from '../store/types.js';
import type { Pricer } from '../usage/pricing.js';
import { AdminAuth } from './auth.js';
import { registerAdminRoutes } from './routes.js';

export interface Governance {
  policy: GovernanceEngine;
  service: GovernanceService;
  alerts: AlertDispatcher;
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

/**
 * Everything governance needs in a running gateway, in one call: the policy the proxy consults, stored history
 * loaded into it, the alert dispatcher, and the admin API routes on `app`.
 * Null when the store has no governance persistence (Postgres, for now) and the config asks for none.
 */
export async function installGovernance(app: FastifyInstance, opts: GovernanceOptions): Promise<Governance | null> {
  const { config, store, keys, now } = opts;
  const path = store.kind === 'sqlite' ? (store as { path?: unknown }).path : undefined;
  if (typeof path !== 'string') {
    if (!governanceConfigured(config)) return null;
    throw new GoodhartError(
      'config_invalid',
      500,
      `Budgets, tiers, rate limits and the admin API keep their state in SQLite for now; this gateway uses a ${store.kind} store. Use a SQLite --db, or remove those sections from the config.`,
    );
  }
  const gstore = new SqliteGovernanceStore(path);
  const alerts = new AlertDispatcher({
    sinks: config.alerts.sinks,
    timeZone: config.timeZone,
    maxAttempts: config.alerts.maxAttempts,
    initialBackoffMs: config.alerts.initialBackoffMs,
    claim: (key, at, payload) => gstore.claimAlert(key, at, payload),
    ...(opts.log ? { log: opts.log } : {}),
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
    ...(config.alerts.sinks.length > 0 ? { onAlert: (a) => alerts.publish(a) } : {}),
  });
  const service = await GovernanceService.open(config, gstore, engine, now);
  engine.start();
  registerAdminRoutes(app, { service, auth: new AdminAuth(config, keys, () => engine.current()), store, keys, now });
  return {
    policy: engine,
    service,
    alerts,
    async close() {
      engine.stop();
      await alerts.close();
      await gstore.close();
    },
  };
}
