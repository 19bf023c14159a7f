import { uuidv7 } from '../keys/ids.js';
import type { AdmissionRequest, AdmissionResult, Policy } from '../policy/types.js';
import type { Endpoint } from '../usage/event.js';
import type { Pricer } from '../usage/pricing.js';
import type { NormalisedUsage } from '../usage/types.js';
import { capabilitiesOf, knownCapabilitiesOf, missingCapability } from './capabilities.js';
import { scoreRequest } from './classifier.js';
import type { RouteMode, RoutingConfig } from './config.js';
import type { RouteDecision } from './decisions.js';
import type { QualityGuard } from './guard.js';
import { Ladders } from './ladder.js';

/**
 * Right-sizing as a Policy: scores the request, and when it is simple enough steps it down its ladder
 * (`routing.thresholds[k]` or lower: k + 1 tiers), never past a model that lacks a capability the request needs.
 *
 * - off: nothing, not even a score.
 * - shadow: decides and records what routing would have done and saved; the request, response and headers are
 *   exactly those of no routing at all.
 * - on: serves the cheaper model and says so in `x-goodhart-routed-from` and `x-goodhart-route-reason`; a request
 *   left alone gets the reason only (pinned, capability=…, guard, complex).
 *
 * `x-goodhart-route: off` on the request pins the model in every mode.
 */

export const ROUTED_FROM_HEADER = 'x-goodhart-routed-from';
export const ROUTE_REASON_HEADER = 'x-goodhart-route-reason';
export const ROUTE_PIN_HEADER = 'x-goodhart-route';

/** Only conversations are routed; embeddings and token counts are tied to their model. */
const ROUTABLE: ReadonlySet<Endpoint> = new Set(['chat.completions', 'responses', 'messages']);

const NOTHING: AdmissionResult = Object.freeze({ headers: Object.freeze({}) as Record<string, string>, settle() {} });

export interface DecisionSink {
  add(decision: RouteDecision): void;
}

export interface RoutingPolicyDeps {
  config: RoutingConfig;
  /** Prices the model a request did not go to (the same pricer, with the same overrides, as the gateway). */
  pricer: Pricer;
  decisions?: DecisionSink;
  guard?: QualityGuard;
}

export class RoutingPolicy implements Policy {
  private readonly ladders: Ladders;
  /**
   * Requests with a decision not yet settled, by body: a fallback admitted for one (the routed model failed, or in
   * shadow the model asked for) takes the decision over, so it is recorded at what served (`handOver`). Null: the
   * decision is not handed over (the model asked for failed, on): the request was served as asked after all.
   */
  private readonly pending = new WeakMap<object, (failedModel: string | undefined) => AdmissionResult['settle'] | null>();
  private readonly modes: {
    keys: Readonly<Record<string, RouteMode>>;
    projects: Readonly<Record<string, RouteMode>>;
    teams: Readonly<Record<string, RouteMode>>;
  };

  constructor(private readonly deps: RoutingPolicyDeps) {
    this.ladders = new Ladders(deps.config.ladders);
    this.modes = { keys: deps.config.keys, projects: deps.config.projects, teams: deps.config.teams };
  }

  /**
   * The most specific mode set for this key: key (by id, or by the prefix `keys list` shows, with or without its
   * "…"), then project, then team, then the organisation default.
   */
  modeFor(key: AdmissionRequest['key']): RouteMode {
    const { keys, projects, teams } = this.modes;
    const byKey = (name: string) => (Object.hasOwn(keys, name) ? keys[name] : undefined);
    return (
      byKey(key.id) ??
      byKey(key.prefix) ??
      byKey(`${key.prefix}…`) ??
      (key.projectId !== null && Object.hasOwn(projects, key.projectId) ? projects[key.projectId] : undefined) ??
      (key.teamId !== null && Object.hasOwn(teams, key.teamId) ? teams[key.teamId] : undefined) ??
      this.deps.config.mode
    );
  }

  admit(req: AdmissionRequest): AdmissionResult {
    // A fallback is served as configured: the equivalent model the config names, not a cheaper one.
    if (req.fallback === true) return this.handOver(req.body, req.failedModel);
    const mode = this.modeFor(req.key);
    if (mode === 'off' || !ROUTABLE.has(req.endpoint)) return NOTHING;
    const rung = this.ladders.find(req.model);
    if (rung === undefined || rung.index === rung.ladder.length - 1) return NOTHING;
    const kept = (reason: string): AdmissionResult =>
      mode === 'on' ? { headers: { [ROUTE_REASON_HEADER]: reason }, settle() {} } : NOTHING;

    const pin = req.headers[ROUTE_PIN_HEADER];
    if (typeof pin === 'string' && pin.trim().toLowerCase() === 'off') {
      // The one request the quality guard judges as a re-ask: the person chose the model over routing.
      this.deps.guard?.notePinned(req.body);
      return kept('pinned');
    }

    const { score, taskClass, features } = scoreRequest(req.body, req.endpoint);
    if (this.deps.guard?.isDisabled(req.key.teamId, taskClass, req.now)) return kept(`guard; class=${taskClass}`);

    const thresholds = this.deps.config.thresholds;
    let steps = 0;
    while (steps < thresholds.length && score <= thresholds[steps]!) steps++;
    if (steps === 0) return kept(`complex; score=${score.toFixed(3)}; class=${taskClass}`);

    // The cheapest rung the classifier allows, moved back up past any model missing a needed capability.
    let target = Math.min(rung.index + steps, rung.ladder.length - 1);
    let missing: string | null = null;
    let held: string | null = null;
    const overrides = this.deps.config.capabilities;
    // Only a conversation stored upstream, or a file not in the body, is judged against the model asked for (what it could hold).
    const asked = features.storedContext === null ? null : (knownCapabilitiesOf(rung.ladder[rung.index]!, overrides) ?? null);
    for (; target > rung.index; target--) {
      missing = missingCapability(features, req.bodyBytes, capabilitiesOf(rung.ladder[target]!, overrides), asked);
      if (missing === null) break;
      held = missing;
    }
    if (target === rung.index) return kept(`capability=${missing ?? 'unknown'}`);
    // Fewer tiers than the score allows: say what held it (a capability a cheaper model lacks, or the ladder's end).
    const limit = target - rung.index < steps ? (held !== null ? `; held by capability=${held}` : '; ladder end') : '';

    const routed = rung.prefix + rung.ladder[target]!;
    const decision: RouteDecision = {
      id: uuidv7(req.now),
      at: req.now,
      mode,
      applied: mode === 'on',
      keyId: req.key.id,
      userId: req.key.userId,
      teamId: req.key.teamId,
      projectId: req.key.projectId,
      provider: req.provider,
      endpoint: req.endpoint,
      taskClass,
      score: Math.round(score * 10_000) / 10_000,
      modelRequested: req.model,
      modelRouted: routed,
      requestedCostUsd: null,
      routedCostUsd: null,
      missAt: null,
    };
    const catalogue = req.providerType === 'openai-compatible' ? req.provider : req.providerType;
    // Priced by the model's own name: the catalogue does not know "openai/gpt-5" (the prefix names the provider).
    const unprefixed = (model: string) => (rung.prefix !== '' && model.startsWith(rung.prefix) ? model.slice(rung.prefix.length) : model);
    const finish = (outcome: { usage: NormalisedUsage | null; costUsd: number | null; model: string }) => {
      this.pending.delete(req.body);
      // Nothing generated (the provider failed, the client left first) saves nothing: not a decision worth counting.
      // Nor is a routed request served as asked after all, because the cheaper model failed (fallbackTo).
      if (outcome.usage === null || (decision.applied && outcome.model === decision.modelRequested)) {
        // Nor is it a routed answer the quality guard should judge re-asks against.
        this.deps.guard?.forget(req.body);
        return;
      }
      // Served by the cheaper model's own fallback: the saving is against what served.
      if (decision.applied) decision.modelRouted = outcome.model;
      const other = (model: string) => (outcome.usage ? this.deps.pricer.price(outcome.usage, unprefixed(model), catalogue).costUsd : 0);
      decision.requestedCostUsd = decision.applied ? other(decision.modelRequested) : outcome.costUsd;
      decision.routedCostUsd = decision.applied ? outcome.costUsd : other(decision.modelRouted);
      this.deps.decisions?.add(decision);
    };
    // Settled by the admission holding the decision: this one, until a fallback's admission takes it over (the
    // gateway then settles this one with nothing consumed, which must not drop the decision).
    let holder = 0;
    const settleAs = (n: number): AdmissionResult['settle'] => (outcome) => {
      if (n === holder) finish(outcome);
    };
    this.pending.set(req.body, (failedModel) => {
      // Routed, then back on the model asked for (the cheaper model failed), which failed too: this is a fallback of
      // the model asked for, as configured, with or without routing. The decision ends served as asked (the
      // admission holding it settles with nothing consumed, forgetting the guard's note), and is not handed over.
      if (decision.applied && failedModel === decision.modelRequested) return null;
      return settleAs(++holder);
    });
    const settle = settleAs(0);
    if (mode === 'shadow') return { headers: NOTHING.headers, settle };

    this.deps.guard?.noteRouted(req.body, {
      decisionId: decision.id,
      teamId: req.key.teamId,
      taskClass,
      family: rung.family,
      routedIndex: target,
    });
    return {
      model: routed,
      fallbackTo: req.model,
      headers: {
        [ROUTED_FROM_HEADER]: req.model,
        [ROUTE_REASON_HEADER]: `simple; score=${score.toFixed(3)}; threshold=${thresholds[steps - 1]!.toFixed(3)}; class=${taskClass}; tiers=${target - rung.index}${limit}`,
      },
      settle,
    };
  }

  /**
   * A fallback admitted for a request routing decided on: its settle records the decision, with the model and cost
   * that served. A fallback of the model asked for (routed, that model failed: `failedModel`), or of any other
   * request, changes nothing.
   */
  private handOver(body: object, failedModel: string | undefined): AdmissionResult {
    const settle = this.pending.get(body)?.(failedModel) ?? null;
    return settle === null ? NOTHING : { headers: NOTHING.headers, settle };
  }
}
