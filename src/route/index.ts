import { priceOverridesOf } from '../config/prices.js';
import { configInvalid, type ConfigProblem } from '../config/problems.js';
import type { GoodhartConfig } from '../config/schema.js';
import { ModelRouter } from '../gateway/router.js';
import type { Wire } from '../gateway/providers/types.js';
import { createPricer, type Pricer } from '../usage/pricing.js';
import { didYouMean } from '../util/closest.js';
import { BUILTIN_CAPABILITIES } from './capabilities.js';
import { DEFAULT_LADDERS, routingConfigured } from './config.js';
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

const WIRE_NAMES: Record<Wire, string> = { openai: 'OpenAI', anthropic: 'Anthropic Messages' };
/** One token in and out: enough to tell whether a model has a price. */
const PROBE = { input: { total: 1, noCache: 1, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 0 }, output: { total: 1, text: 1, reasoning: 0 }, raw: null };

/**
 * What is wrong with the ladders, where routing is configured: a model no provider serves, or serves only on the
 * other API than the ladder's top model (routing keeps a request on its API), or without a price (a provider's
 * `gpt-*` pattern "serves" a misspelt `gpt-5-nanoo`, which then answers every routed request with a 404; and
 * savings are a price difference). Each names the rung (`routing.ladders.openai[1]`), with the model a misspelt
 * name most likely meant. A family none of whose models is served (a default ladder of a provider not configured)
 * is left alone: nothing will be routed on it. Also used by `serve` when it loads the file, to give the line.
 */
export function ladderProblems(config: GoodhartConfig): ConfigProblem[] {
  if (!routingConfigured(config.routing)) return [];
  const router = new ModelRouter(config);
  const pricer = createPricer(priceOverridesOf(config.models));
  const wiresOf = (model: string): Wire[] => (['openai', 'anthropic'] as const).filter((wire) => router.serves(model, wire));
  const ladders = config.routing.ladders;
  const known = new Set([
    ...Object.keys(BUILTIN_CAPABILITIES),
    ...Object.keys(config.routing.capabilities),
    ...config.models.map((m) => m.name),
    ...Object.values(DEFAULT_LADDERS).flat(),
    ...Object.values(ladders).flat(),
  ]);
  const guess = (model: string) => didYouMean(model, known);
  const problems: ConfigProblem[] = [];
  for (const [family, ladder] of Object.entries(ladders)) {
    const wires = ladder.map(wiresOf);
    const top = ladder.findIndex((_, i) => wires[i]!.length > 0);
    if (top === -1) continue;
    // The ladder's API: its top model's, else (the top is not served) that of the first model served.
    const wire = wires[top]!.includes('openai') ? 'openai' : wires[top]![0]!;
    const catalogue = catalogueOf(router, ladder[top]!, wire);
    ladder.forEach((model, i) => {
      const path = ['routing', 'ladders', family, i];
      const served = wires[i]!;
      if (served.length === 0) {
        problems.push({ path, message: `no configured provider serves "${model}".${guess(model)} Fix the name, or add it to a provider's \`models\` or under \`models:\`.` });
      } else if (!served.includes(wire)) {
        problems.push({
          path,
          message: `"${model}" is served on the ${served.map((w) => WIRE_NAMES[w]).join(' and ')} API and "${ladder[top]}" on the ${WIRE_NAMES[wire]} API: routing keeps a request on the API it came in on, so one ladder's models must share one. Put it on a ladder of its own API.`,
        });
      } else if (!priced(pricer, model, catalogue)) {
        problems.push({
          path,
          message: `"${model}" has no price (neither under \`models:\` nor in the price catalogue), so routing could not say what it saves; a provider's name pattern may serve a misspelt name that its API then refuses.${guess(model)} Fix the name, or give it a price under \`models:\` (price: { input, output } in USD per million tokens).`,
        });
      }
    });
  }
  return problems;
}

/** The price catalogue the routing policy prices a ladder's models in: that of the provider serving its top model. */
function catalogueOf(router: ModelRouter, model: string, wire: Wire): string {
  const { provider } = router.resolve(model, wire);
  return provider.type === 'openai-compatible' ? provider.id : provider.type;
}

/** Priced as the routing policy prices it: by its name (a `models:` price, else the catalogue's). */
function priced(pricer: Pricer, model: string, catalogue: string): boolean {
  return pricer.price(PROBE, model, catalogue).costUsd !== null;
}

/** Fails fast on ladderProblems (without the file: `serve` finds them as it loads one, with the line). */
export function checkLadders(config: GoodhartConfig): void {
  const problems = ladderProblems(config);
  if (problems.length > 0) throw configInvalid(problems);
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
