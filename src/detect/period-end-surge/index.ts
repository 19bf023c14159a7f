import { periodWindow } from '../../policy/period.js';
import { formatWallTime } from '../../report/dates.js';
import type { DetectContext, Detector, DetectorDefinition, DetectInput, OutcomeInput } from '../types.js';
import { DayClock, costOf, evidence, makeFinding, median, usd } from '../util.js';

/**
 * Period-end surges: a person's usage jumps, day after day, in the last days before a reporting period closes,
 * without a matching rise in what they asked for or what they shipped.
 *
 * Rationale: when token counts are read at month end (leaderboards, "use it or lose it" quotas), usage gets pumped
 * just before: long agent runs on busywork, huge contexts, nobody typing. Usage is measured in tokens, because tokens
 * are what such numbers count (cached tokens are cheap, so dollars understate the pumping). A deadline crunch also
 * raises usage, but with more prompts (more work asked for) and, where outcomes are recorded, more commits and
 * merged pull requests. So the rule needs all of:
 * - daily tokens in the window ≥ 3× the person's usual day, every active day of it at least 2× (sustained: one big
 *   day is a spend anomaly, not a pattern; a busy day next to a quiet one is a week), and at least $5 more spend;
 * - tokens per prompt ≥ 2× usual: the rise is not explained by more work being asked for;
 * - when the person has outcomes: no significant rise in shipped work (one-sided quasi-Poisson test at 5%).
 *
 * Not flagged: crunches where prompts or outcomes rise with usage; one long run; people without 5 active days of
 * history; a period that has not closed yet.
 */

interface Day {
  cost: number;
  tokens: number;
  human: number;
  outcomes: number;
  firstId: string | null;
  lastAt: number;
  firstAt: number;
}

interface UserState {
  teamId: string | null;
  days: Map<number, Day>;
}

/** Fewer active baseline days than this and there is no "usual" to compare with. */
const MIN_BASELINE_DAYS = 5;
/** A window day counts as surging at 2× the usual day's tokens. */
const SURGE_DAY = 2;
/**
 * Kinds counted as shipped work, one each (weighting a pull request as several commits would make the counts
 * overdispersed and the Poisson test below too eager); lines and sessions are not units of work.
 */
const OUTCOME_UNITS: Record<string, number> = { commit: 1, pull_request: 1, pull_request_merged: 1, ticket_closed: 1, deployment: 1 };
/**
 * Shipped work significantly up in the window (a one-sided quasi-Poisson test at 5% against the baseline rate, the
 * counts scaled by the baseline's own overdispersion: commits come in bursts): a push that delivered, whatever the
 * tokens did. A test, not a ratio: three days of a few commits each are too few for ratios.
 */
const SHIPPED_P = 0.05;

/** P(X ≥ k) for X ~ Poisson(lambda). */
export function poissonUpperTail(k: number, lambda: number): number {
  if (k <= 0) return 1;
  if (lambda <= 0) return 0;
  let term = Math.exp(-lambda);
  let below = term;
  for (let i = 1; i < k; i++) {
    term *= lambda / i;
    below += term;
  }
  return Math.max(0, 1 - below);
}
/** Below this many outcome units in the baseline, outcomes are too sparse to compare. */
const MIN_BASELINE_OUTCOMES = 3;

/**
 * What the finding says happened, as the rule found it: tokens per prompt up (the prompts do not account for the
 * usage), and shipped work not significantly above its usual rate. Not "shipped work did not rise": it may have, by
 * too little to tell from a few days (one commit where a third of one was usual is a ratio of 3), which the evidence's
 * outcomeRateRatio shows.
 */
export function surgeSummary(s: {
  days: number;
  period: string;
  /** The period's last day, YYYY-MM-DD in the config's zone. */
  lastDay: string;
  ratio: number;
  spendUsd: number;
  /** Tokens per prompt against usual; null when there was no prompt at all. */
  perPromptRatio: number | null;
  /** Outcome units in the window and the number usual for as many days; null without enough outcome history. */
  shipped: { outcomes: number; usual: number } | null;
}): string {
  const prompts = s.perPromptRatio === null ? 'with no prompt typed at all' : `at ${s.perPromptRatio.toFixed(1)}× your usual tokens per prompt, more than what you asked for accounts for`;
  const head = `In the last ${s.days} days of the ${s.period} ending ${s.lastDay}, usage ran at ${s.ratio.toFixed(1)}× your usual day in tokens (${usd(s.spendUsd)} in all), ${prompts}.`;
  if (s.shipped === null) return head;
  const n = s.shipped.outcomes;
  const shipped = `${n} ${n === 1 ? 'outcome' : 'outcomes'} (commits, merged pull requests, tickets, deployments) where about ${s.shipped.usual.toFixed(1)} ${n > s.shipped.usual ? 'were usual: not significantly more' : 'were usual'}`;
  return `${head} Shipped work: ${shipped}.`;
}

function create(ctx: DetectContext): Detector {
  const cfg = ctx.config.periodEndSurge;
  const tz = ctx.config.timeZone;
  const clock = new DayClock(tz);
  const users = new Map<string, UserState>();
  let lastDay = Number.NaN;
  let lastDayEnd = 0;

  const dayOf = (userId: string, teamId: string | null, at: number): Day => {
    let u = users.get(userId);
    if (u === undefined) {
      u = { teamId, days: new Map() };
      users.set(userId, u);
    } else if (teamId !== null) {
      // An outcome seen first knows no team: the person's events do.
      u.teamId = teamId;
    }
    const { index } = clock.day(at);
    let d = u.days.get(index);
    if (d === undefined) {
      d = { cost: 0, tokens: 0, human: 0, outcomes: 0, firstId: null, firstAt: at, lastAt: at };
      u.days.set(index, d);
    }
    return d;
  };

  const evaluate = (closedDay: number, periodEnd: number, now: number): void => {
    const winFrom = closedDay - cfg.days + 1;
    const baseFrom = winFrom - cfg.baselineDays;
    for (const [userId, u] of users) {
      const baseTokens: number[] = [];
      const baseOutcomeDays: number[] = [];
      const base = { cost: 0, tokens: 0, human: 0, outcomes: 0 };
      const win = { cost: 0, tokens: 0, human: 0, outcomes: 0, active: 0 };
      const winTokens: number[] = [];
      let first = Number.POSITIVE_INFINITY;
      let last = 0;
      const ids: string[] = [];
      for (const [d, day] of u.days) {
        if (d < baseFrom) u.days.delete(d);
        else if (d < winFrom) {
          if (day.cost > 0) {
            baseTokens.push(day.tokens);
            baseOutcomeDays.push(day.outcomes);
          }
          base.cost += day.cost;
          base.tokens += day.tokens;
          base.human += day.human;
          base.outcomes += day.outcomes;
        } else if (d <= closedDay) {
          win.cost += day.cost;
          win.tokens += day.tokens;
          win.human += day.human;
          win.outcomes += day.outcomes;
          if (day.cost <= 0) continue;
          win.active++;
          winTokens.push(day.tokens);
          first = Math.min(first, day.firstAt);
          last = Math.max(last, day.lastAt);
          if (day.firstId !== null) ids.push(day.firstId);
        }
      }
      if (baseTokens.length < MIN_BASELINE_DAYS || base.human === 0 || win.active === 0) continue;
      const usualTokens = median(baseTokens);
      const ratio = win.tokens / win.active / usualTokens;
      const usualCost = base.cost / baseTokens.length;
      const excess = win.cost - usualCost * win.active;
      const surgeDays = winTokens.filter((t) => t >= SURGE_DAY * usualTokens).length;
      // Sustained: every active day of the window surges, and at least two do (one big day is an anomaly, not this).
      if (ratio < cfg.minRatio || excess < cfg.minExcessUsd || surgeDays < Math.max(win.active, Math.min(2, cfg.days))) continue;
      const basePerPrompt = base.tokens / base.human;
      const winPerPrompt = win.human > 0 ? win.tokens / win.human : Number.POSITIVE_INFINITY;
      if (winPerPrompt < cfg.minCostPerTurnRatio * basePerPrompt) continue;
      const baseOutcomeRate = base.outcomes / baseTokens.length;
      const outcomeRatio = base.outcomes >= MIN_BASELINE_OUTCOMES ? win.outcomes / win.active / baseOutcomeRate : null;
      if (outcomeRatio !== null) {
        const mean = baseOutcomeDays.reduce((a, b) => a + b, 0) / baseOutcomeDays.length;
        const variance = baseOutcomeDays.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, baseOutcomeDays.length - 1);
        const dispersion = mean > 0 ? Math.max(1, variance / mean) : 1;
        if (poissonUpperTail(Math.round(win.outcomes / dispersion), (baseOutcomeRate * win.active) / dispersion) < SHIPPED_P) continue;
      }
      // Waste: spend beyond what the prompts made would usually cost (1.5× slack), capped at the spend above usual.
      const usualCostPerPrompt = base.cost / base.human;
      const wasted = Math.max(0, Math.min(excess, win.cost - 1.5 * usualCostPerPrompt * win.human));
      ctx.emit(
        makeFinding(
          {
            rule: 'period-end-surge',
            subject: { kind: 'user', id: userId },
            userId,
            teamId: u.teamId,
            sessionId: null,
            start: first,
            end: last,
            evidence: evidence(
              { windowDays: cfg.days, activeDays: win.active, surgeDays, prompts: win.human, baselineDays: baseTokens.length, baselinePrompts: base.human, outcomes: win.outcomes, baselineOutcomes: base.outcomes },
              {
                dailyTokenRatio: ratio,
                tokensPerPromptRatio: Number.isFinite(winPerPrompt) ? winPerPrompt / basePerPrompt : 999,
                ...(outcomeRatio !== null ? { outcomeRateRatio: outcomeRatio } : {}),
                windowSpendUsd: win.cost,
                usualDailyUsd: usualCost,
              },
              ids,
            ),
            wastedUsd: wasted,
            wasteMethod:
              'Spend in the window above 1.5× (prompts made × the usual cost per prompt), capped at the spend above the usual daily level.',
            confidence: 0.55 + Math.min(0.2, 0.03 * (ratio - cfg.minRatio)) + (outcomeRatio !== null ? 0.15 : 0.05),
            summary: surgeSummary({
              days: cfg.days,
              period: cfg.period,
              lastDay: formatWallTime(periodEnd - 1, tz).slice(0, 10),
              ratio,
              spendUsd: win.cost,
              perPromptRatio: Number.isFinite(winPerPrompt) ? winPerPrompt / basePerPrompt : null,
              shipped: outcomeRatio === null ? null : { outcomes: win.outcomes, usual: baseOutcomeRate * win.active },
            }),
            suggestion:
              'If this was a real push (a release, a migration), link it to its pull requests or tickets so it shows as delivered work; if the runs were started to use up an allowance or move a usage number, they are not needed: Goodhart measures outcomes, not tokens.',
          },
          now,
        ),
      );
    }
  };

  const rollTo = (now: number): void => {
    const { index, window } = clock.day(now);
    if (Number.isNaN(lastDay)) {
      lastDay = index;
      lastDayEnd = window.end;
      return;
    }
    while (now >= lastDayEnd) {
      const closedEnd = lastDayEnd;
      if (periodWindow(cfg.period, closedEnd - 1, tz).end === closedEnd) evaluate(lastDay, closedEnd, now);
      const next = clock.day(closedEnd);
      lastDay = next.index;
      lastDayEnd = next.window.end;
    }
  };

  return {
    observe({ event: e, fp }: DetectInput): void {
      if (e.userId === null) return;
      const d = dayOf(e.userId, e.teamId, e.startedAt);
      d.cost += costOf(e);
      d.tokens += e.inputTokens + e.outputTokens;
      if (fp !== null && fp.humanTurn) d.human++;
      d.firstId ??= e.id;
      d.lastAt = e.endedAt;
    },
    observeOutcome(o: OutcomeInput): void {
      const units = OUTCOME_UNITS[o.kind];
      if (o.userId === null || units === undefined) return;
      dayOf(o.userId, null, o.at).outcomes += units * o.count;
    },
    advance: rollTo,
    finish: rollTo,
  };
}

export const periodEndSurge: DetectorDefinition = {
  rule: 'period-end-surge',
  title: 'Period-end surges',
  rationale:
    "Usage (tokens) in the last 3 days of a reporting period at 3× the person's usual day, sustained on every active day of them, with tokens per prompt doubled and, where outcomes are recorded, no significant rise in shipped work: usage pumped before the numbers are read. Crunches that raise prompts or outcomes with usage are not flagged.",
  create,
};
