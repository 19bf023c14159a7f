import { priceOverridesOf } from '../config/prices.js';
import type { GoodhartConfig } from '../config/schema.js';
import { GoodhartError } from '../errors.js';
import { ModelRouter } from '../gateway/router.js';
import type { Wire } from '../gateway/providers/types.js';
import { createPricer } from '../usage/pricing.js';
import { DecisionWriter, type RouteDecisionStore } from './decisions.js';
import { QualityGuard } from './guard.js';
import { Ladders } from './ladder.js';
import { RoutingPolicy } from './policy.js';

/**
 * Right-sizing, assembled: the routing Policy, the quality guard (a RequestObserver) and the decision writer.
 *
 *   const routing = createRouting(config, new SqliteDecisionStore(dbPath));
 *   createGateway({ config, store, policy: composePolicies(governance, routing.policy), observers: [routing.guard] });
 *   … await routing.close();
 */
export { scoreRequest, TASK_CLASSES, type Score, type TaskClass } from './classifier.js';
export type { RequestFeatures } from './features.js';
export { RoutingPolicy, ROUTED_FROM_HEADER, ROUTE_PIN_HEADER, ROUTE_REASON_HEADER } from './policy.js';
export { QualityGuard, type GuardTrip } from './guard.js';
export { summariseSavings, type SavingsReport } from './savings.js';
export { MemoryDecisionStore, type GuardHistoryRow, type RouteDecision, type RouteDecisionStore } from './decisions.js';

export interface Routing {
  policy: RoutingPolicy;
  guard: QualityGuard;
  writer: DecisionWriter;
  /** Resolves when the guard has its stored state back (trips in force, the period's counts); never rejects. */
  ready: Promise<void>;
  /** Stops reading trips back, writes pending decisions, misses and trips, then closes the decision store. */
  close(): Promise<void>;
}

/**
 * Fails fast when a ladder steps from a model the gateway serves to one it does not serve on the same wire:
 * routing there would turn a working request into a 404.
 */
export function checkLadders(config: GoodhartConfig): void {
  const router = new ModelRouter(config);
  const wireOf = (model: string): Wire | null => {
    for (const wire of ['openai', 'anthropic'] as const) {
      try {
        router.resolve(model, wire);
        return wire;
      } catch {
        // not served on this wire
      }
    }
    return null;
  };
  for (const [family, ladder] of Object.entries(config.routing.ladders)) {
    const wire = wireOf(ladder[0]!);
    if (wire === null) continue; // the family is not served at all: nothing will be routed
    for (const model of ladder.slice(1)) {
      try {
        router.resolve(model, wire);
      } catch {
        throw new GoodhartError(
          'config_invalid',
          500,
          `routing.ladders.${family}: "${model}" is not served by any configured provider on the ${wire} wire, so requests routed to it would fail. Add it to a provider's \`models\` or to \`models:\`, or remove it from the ladder.`,
        );
      }
    }
  }
}

/** How often trips written by other replicas are read back: a tripped class keeps routing elsewhere at most this long. */
const TRIP_REFRESH_MS = 60_000;

export interface RoutingOptions {
  flushIntervalMs?: number;
  tripRefreshMs?: number;
  now?: () => number;
  log?: (message: string) => void;
}

export function createRouting(config: GoodhartConfig, store: RouteDecisionStore, opts: RoutingOptions = {}): Routing {
  checkLadders(config);
  const now = opts.now ?? Date.now;
  const log = opts.log ?? ((m: string) => console.error(`[goodhart] ${m}`));
  const overrides = priceOverridesOf(config.models);
  const writer = new DecisionWriter(store, opts.flushIntervalMs, log);
  const guardConfig = config.routing.qualityGuard;
  const guard = new QualityGuard(guardConfig, new Ladders(config.routing.ladders), (id, at) => writer.miss(id, at), (t) => writer.trip(t));
  const policy = new RoutingPolicy({ config: config.routing, pricer: createPricer(overrides), decisions: writer, guard });
  // A store that cannot be read at start leaves the guard empty (routing works; a stopped class may route again
  // until it trips anew), said once on stderr rather than refusing to start the gateway.
  const ready = (async () => {
    const at = now();
    const [history, trips] = await Promise.all([store.guardHistory(at - guardConfig.periodHours * 3_600_000), store.activeTrips(at)]);
    // Only what was decided before this start: anything newer is already in the live counts.
    guard.restore(history.filter((h) => h.at < at), trips);
  })().catch((err: unknown) => log(`quality guard state not restored: ${String(err)}`));
  const refresh = setInterval(() => {
    store.activeTrips(now()).then(
      (trips) => guard.adoptTrips(trips),
      () => {}, // the next tick tries again; the writer already reports an unreachable store
    );
  }, opts.tripRefreshMs ?? TRIP_REFRESH_MS);
  refresh.unref();
  return {
    policy,
    guard,
    writer,
    ready,
    async close() {
      clearInterval(refresh);
      await ready;
      await writer.close();
      await store.close();
    },
  };
}
