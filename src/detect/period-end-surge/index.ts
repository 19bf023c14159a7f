import { periodWindow } from '../../policy/period.js';
import type { DetectContext, Detector, DetectorDefinition, DetectInput } from '../types.js';
import { DayClock, costOf, evidence, makeFinding, median, usd } from '../util.js';

/**
 * Period-end surges: a person's spend jumps in the last days before a reporting period closes, without a matching
 * rise in what they asked for.
 *
 * Rationale: when token counts are read at month end (leaderboards, quotas "use it or lose it"), usage gets pumped
 * just before: long agent runs on busywork, huge contexts, nobody typing. A deadline crunch also raises spend, but
 * with more prompts (more work asked for): the cost per human turn stays about the same. So the rule needs both a
 * jump in daily spend (≥ 3× the person's own median, and ≥ $30 more) and a jump in cost per human turn (≥ 2×).
 *
 * Not flagged: crunches where prompts rise with spend; people without enough history (5 active days); a period that
 * has not closed yet.
 */

interface Day {
  cost: number;
  human: number;
  firstId: string;
  lastAt: number;
  firstAt: number;
}

interface UserState {
  teamId: string | null;
  days: Map<number, Day>;
}

/** Fewer active baseline days than this and there is no "usual" to compare with. */
const MIN_BASELINE_DAYS = 5;

function create(ctx: DetectContext): Detector {
  const cfg = ctx.config.periodEndSurge;
  const tz = ctx.config.timeZone;
  const clock = new DayClock(tz);
  const users = new Map<string, UserState>();
  let lastDay = Number.NaN;
  let lastDayEnd = 0;

  const evaluate = (closedDay: number, periodEnd: number, now: number): void => {
    const winFrom = closedDay - cfg.days + 1;
    const baseFrom = winFrom - cfg.baselineDays;
    for (const [userId, u] of users) {
      const base: number[] = [];
      let baseCost = 0;
      let baseHuman = 0;
      let winCost = 0;
      let winHuman = 0;
      let winActive = 0;
      let first = Number.POSITIVE_INFINITY;
      let last = 0;
      const ids: string[] = [];
      for (const [d, day] of u.days) {
        if (d < baseFrom) u.days.delete(d);
        else if (d < winFrom) {
          if (day.cost > 0) base.push(day.cost);
          baseCost += day.cost;
          baseHuman += day.human;
        } else if (d <= closedDay) {
          winCost += day.cost;
          winHuman += day.human;
          if (day.cost > 0) winActive++;
          first = Math.min(first, day.firstAt);
          last = Math.max(last, day.lastAt);
          ids.push(day.firstId);
        }
      }
      if (base.length < MIN_BASELINE_DAYS || baseHuman === 0 || winActive === 0) continue;
      const usual = median(base);
      const daily = winCost / winActive;
      const excess = winCost - usual * winActive;
      if (daily < cfg.minRatio * usual || excess < cfg.minExcessUsd) continue;
      const basePerTurn = baseCost / baseHuman;
      const winPerTurn = winHuman > 0 ? winCost / winHuman : Number.POSITIVE_INFINITY;
      if (winPerTurn < cfg.minCostPerTurnRatio * basePerTurn) continue;
      const wasted = Math.max(0, Math.min(excess, winCost - 1.5 * basePerTurn * winHuman));
      const ratio = daily / usual;
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
              { windowDays: cfg.days, activeDays: winActive, prompts: winHuman, baselineDays: base.length, baselinePrompts: baseHuman },
              {
                dailySpendRatio: ratio,
                costPerPromptRatio: Number.isFinite(winPerTurn) ? winPerTurn / basePerTurn : 999,
                windowSpendUsd: winCost,
                usualDailyUsd: usual,
              },
              ids,
            ),
            wastedUsd: wasted,
            wasteMethod:
              'Spend in the window above 1.5× the prompts made times the usual cost per prompt (capped at the spend above the usual daily level).',
            confidence: 0.55 + Math.min(0.2, 0.04 * (ratio - cfg.minRatio)) + (winHuman < baseHuman / cfg.baselineDays ? 0.15 : 0.05),
            summary: `In the last ${cfg.days} days before the ${cfg.period} closed (${new Date(periodEnd).toISOString().slice(0, 10)}), spend ran at ${ratio.toFixed(1)}× your usual day (${usd(daily)}/day vs ${usd(usual)}) while prompts did not rise with it.`,
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
      const closedStart = closedEnd - 1;
      if (periodWindow(cfg.period, closedStart, tz).end === closedEnd) evaluate(lastDay, closedEnd, now);
      const next = clock.day(closedEnd);
      lastDay = next.index;
      lastDayEnd = next.window.end;
    }
  };

  return {
    observe({ event: e, fp }: DetectInput): void {
      if (e.userId === null) return;
      let u = users.get(e.userId);
      if (u === undefined) {
        u = { teamId: e.teamId, days: new Map() };
        users.set(e.userId, u);
      }
      const { index } = clock.day(e.startedAt);
      let d = u.days.get(index);
      if (d === undefined) {
        d = { cost: 0, human: 0, firstId: e.id, firstAt: e.startedAt, lastAt: e.endedAt };
        u.days.set(index, d);
      }
      d.cost += costOf(e);
      if (fp !== null && fp.humanTurn) d.human++;
      d.lastAt = e.endedAt;
    },
    advance: rollTo,
    finish(now: number): void {
      rollTo(now);
    },
  };
}

export const periodEndSurge: DetectorDefinition = {
  rule: 'period-end-surge',
  title: 'Period-end surges',
  rationale:
    'Spend in the last 3 days of a reporting period at 3× the person\'s usual day (and $30 more) while the cost per prompt doubles: usage pumped before the numbers are read. Deadline crunches raise prompts with spend and are not flagged.',
  create,
};
