import type { GoodhartConfig } from '../config/schema.js';
import { GoodhartError } from '../errors.js';
import { ModelRouter } from '../gateway/router.js';
import type { Wire } from '../gateway/providers/types.js';
import { createPricer, type ModelPriceOverride } from '../usage/pricing.js';
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
export { MemoryDecisionStore, type RouteDecision, type RouteDecisionStore } from './decisions.js';

export interface Routing {
  policy: RoutingPolicy;
  guard: QualityGuard;
  writer: DecisionWriter;
  /** Writes pending decisions and misses, then closes the decision store. */
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

export function createRouting(config: GoodhartConfig, store: RouteDecisionStore, opts: { flushIntervalMs?: number } = {}): Routing {
  checkLadders(config);
  const overrides: Record<string, ModelPriceOverride> = {};
  for (const m of config.models) if (m.price) overrides[m.name] = m.price;
  const writer = new DecisionWriter(store, opts.flushIntervalMs);
  const guard = new QualityGuard(config.routing.qualityGuard, new Ladders(config.routing.ladders), (id, at) => writer.miss(id, at));
  const policy = new RoutingPolicy({ config: config.routing, pricer: createPricer(overrides), decisions: writer, guard });
  return {
    policy,
    guard,
    writer,
    async close() {
      await writer.close();
      await store.close();
    },
  };
}
