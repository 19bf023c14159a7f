import { heuristicComplexity } from '../complexity.js';
import type { DetectContext, Detector, DetectorDefinition, DetectInput } from '../types.js';
import { ACTIVITY_GAP, IdSample, costOf, evidence, globMatcher, makeFinding, modelOf, newActivityDay, priceAs, usd } from '../util.js';

/**
 * Premium overkill: simple requests (a cheap complexity heuristic) served by premium models, day after day.
 *
 * Rationale: a top-tier model costs 5–20× a small one, and for reformatting, a lookup or a one-line answer the
 * small one is as good (RouteLLM's data: most such prompts are answered correctly by the weak model). The waste is
 * the price difference, computed from the catalogue for the request's own token counts.
 *
 * Simple = the routing classifier (src/route) would send it two tiers down AND the answer was short. Only prompt
 * requests are judged (agent steps are agentic work by nature). Not flagged: premium models used for complex work
 * (long prompts, code, reasoning, long answers, tools); a few quick questions a day on the premium default (below 10
 * a day, or under half of the day's premium prompts).
 */

/** One activity day of premium prompts (see ACTIVITY_GAP). */
interface DayBucket {
  started: number;
  lastAt: number;
  premium: number;
  simple: number;
  cost: number;
  cheaper: number;
  score: number;
  ids: IdSample;
  first: number;
  last: number;
  models: Set<string>;
  alternatives: Set<string>;
}

function create(ctx: DetectContext): Detector {
  const cfg = ctx.config.premiumOverkill;
  const classify = ctx.complexity ?? heuristicComplexity;
  const isPremium = globMatcher(cfg.premiumModels);
  const cheaperRules = Object.entries(cfg.cheaperModels).map(([glob, model]) => ({ match: globMatcher([glob]), model }));
  const cheaperMemo = new Map<string, string | null>();
  const cheaperFor = (model: string): string | null => {
    let hit = cheaperMemo.get(model);
    if (hit === undefined) {
      hit = cheaperRules.find((r) => r.match(model))?.model ?? null;
      cheaperMemo.set(model, hit);
    }
    return hit;
  };
  const users = new Map<string, { teamId: string | null; bucket: DayBucket | null }>();
  const open = new Set<string>();

  const evaluate = (userId: string, now: number): void => {
    const u = users.get(userId)!;
    const b = u.bucket;
    u.bucket = null;
    open.delete(userId);
    if (b === null || b.simple < cfg.minRequests || b.simple / b.premium < cfg.minShare) return;
    const wasted = b.cost - b.cheaper;
    if (wasted < cfg.minWastedUsd) return;
    const models = [...b.models].join(', ');
    const alternatives = [...b.alternatives].join(', ');
    ctx.emit(
      makeFinding(
        {
          rule: 'premium-overkill',
          subject: { kind: 'user', id: userId },
          userId,
          teamId: u.teamId,
          sessionId: null,
          start: b.first,
          end: b.last,
          evidence: evidence(
            { premiumPrompts: b.premium, simplePrompts: b.simple },
            { simpleShare: b.simple / b.premium, meanComplexity: b.score / b.simple, costUsd: b.cost, cheaperCostUsd: b.cheaper },
            b.ids.ids(),
          ),
          wastedUsd: wasted,
          wasteMethod: `Price of the simple requests on ${models} minus the price of the same token counts on ${alternatives} (catalogue prices).`,
          confidence: 0.5 + 0.3 * (b.simple / b.premium) + Math.min(0.15, 0.01 * (b.simple - cfg.minRequests)),
          summary: `${b.simple} of ${b.premium} prompts on ${models} were simple (short, no code, short answers); on ${alternatives} they would have cost ${usd(b.cheaper)} instead of ${usd(b.cost)}.`,
          suggestion: `Keep ${models} for design, debugging and large changes, and use ${alternatives} (or the gateway's automatic routing) for quick lookups, reformatting and short questions; answers to those are as good on the smaller model.`,
        },
        now,
      ),
    );
  };

  return {
    observe({ event: e, fp }: DetectInput): void {
      if (e.userId === null || fp === null || !fp.humanTurn || fp.features === null || e.errorClass !== null) return;
      const model = modelOf(e);
      if (!isPremium(model)) return;
      let u = users.get(e.userId);
      if (u === undefined) {
        u = { teamId: e.teamId, bucket: null };
        users.set(e.userId, u);
      }
      if (u.bucket !== null && newActivityDay(u.bucket.started, u.bucket.lastAt, e.startedAt)) evaluate(e.userId, e.startedAt);
      if (u.bucket === null) {
        u.bucket = { started: e.startedAt, lastAt: e.startedAt, premium: 0, simple: 0, cost: 0, cheaper: 0, score: 0, ids: new IdSample(), first: e.startedAt, last: e.endedAt, models: new Set(), alternatives: new Set() };
        open.add(e.userId);
      }
      const b = u.bucket;
      b.premium++;
      b.lastAt = e.startedAt;
      const score =
        fp.complexity ??
        classify({ features: fp.features, toolsDeclared: fp.toolsDeclared, inputTokens: e.inputTokens, outputTokens: e.outputTokens, reasoningTokens: e.reasoningTokens });
      if (score > cfg.maxComplexity || e.outputTokens > cfg.maxOutputTokens) return;
      const alt = cheaperFor(model);
      const altCost = alt === null ? null : priceAs(ctx.pricer, e, alt);
      if (alt === null || altCost === null) return;
      b.simple++;
      b.score += score;
      b.cost += costOf(e);
      b.cheaper += altCost;
      b.ids.add(e.id);
      b.models.add(model);
      b.alternatives.add(alt);
      if (b.simple === 1) b.first = e.startedAt;
      b.last = e.endedAt;
    },
    advance(now: number): void {
      for (const userId of open) if (now - users.get(userId)!.bucket!.lastAt > ACTIVITY_GAP) evaluate(userId, now);
    },
    finish(now: number): void {
      for (const userId of [...open]) evaluate(userId, now);
    },
  };
}

export const premiumOverkill: DetectorDefinition = {
  rule: 'premium-overkill',
  title: 'Premium overkill',
  rationale:
    'Simple prompts (short, no code, short answers) on premium models cost 5–20× what a small model charges for an answer that is as good. Flagged when they are a daily habit (10+ a day and most of the premium prompts), with the catalogue price difference as the waste.',
  create,
};
