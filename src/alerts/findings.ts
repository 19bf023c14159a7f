import { minForecastBasisDays } from '../detect/forecast/index.js';
import { DETECTORS } from '../detect/registry.js';
import type { Finding } from '../detect/types.js';
import { formatAmount } from '../policy/budget-math.js';
import { isPersonalScope } from '../policy/scope.js';
import { formatWallTime } from '../report/dates.js';
import type { BudgetStatus } from '../report/budget-status.js';
import type { OutboundAlert } from './dispatcher.js';
import { detailOf } from './format.js';

/**
 * Waste findings and budget forecasts as alerts: pure. Nothing here holds prompt text (findings have none); what a
 * sink gets about a PERSON depends on the sink's `findings` setting:
 *
 * - `person` (default for `webhook`, a system an admin points at, like the admin's own view): the person, their
 *   team, the session, the request ids, the finding's own summary.
 * - `team` (default for `slack`, a channel many people read): the team and the numbers, never the person's id, the
 *   session or the request ids. A finding is about one person's habits; the dashboard and `goodhart findings`
 *   show it to them, their lead, admins and finance (the same roles that see it in the dashboard), and a channel
 *   gets what a team aggregate would show. Set `findings: person` on a private channel of those people.
 * - `off`: nothing of detection on this sink (budget thresholds still go there).
 */

export { detailOf, type FindingsDetail } from './format.js';

const PERSONAL = new Set(['user', 'session', 'key']);

/**
 * At team detail, a finding on a team with fewer people than `dashboard.minGroupSize` who used it in the month
 * (`smallTeam`) names neither the team nor, for a team's own anomaly, the team as subject: "one person on team
 * ana" is ana when she is the team, and a two-person team's total is the other's less one's own (the dashboard
 * withholds such a team's totals from its members: smallGroupNote). The person, their lead and admins see it in
 * the dashboard; a `findings: person` sink gets it whole.
 */
const hidesTeam = (f: Finding, detail: 'team' | 'person', smallTeam: boolean): boolean => detail === 'team' && smallTeam && f.teamId !== null;

/** Who a finding is about, as this detail level may say it. */
export function subjectText(f: Finding, detail: 'team' | 'person', smallTeam = false): string {
  const team = f.teamId === null ? '' : ` (team ${f.teamId})`;
  if (hidesTeam(f, detail, smallTeam) && PERSONAL.has(f.subject.kind)) return 'one person on a small team';
  if (hidesTeam(f, detail, smallTeam) && f.subject.kind === 'team') return 'a small team';
  if (!PERSONAL.has(f.subject.kind)) return `${f.subject.kind} ${f.subject.id}`;
  if (detail === 'team') return f.teamId === null ? 'one person (no team)' : `one person on team ${f.teamId}`;
  if (f.subject.kind === 'user') return `${f.subject.id}${team}`;
  return `${f.subject.kind} ${f.subject.id}${f.userId !== null ? ` of ${f.userId}` : ''}${team}`;
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The finding's summary at this detail level. Summaries speak to the person ("your usual day") and only spend
 * anomalies name their subject ("user alice spent…"): at team level that name becomes "One person"; any other
 * mention of the person's id drops the summary for a neutral line.
 */
export function summaryText(f: Finding, detail: 'team' | 'person', smallTeam = false): string {
  const small = hidesTeam(f, detail, smallTeam);
  const personal = PERSONAL.has(f.subject.kind);
  if (detail === 'person' || (!personal && !(small && f.subject.kind === 'team'))) return f.summary;
  const prefix = `${f.subject.kind} ${f.subject.id} `;
  const text = f.summary.startsWith(prefix) ? `${personal ? 'One person' : 'A small team'} ${f.summary.slice(prefix.length)}` : f.summary;
  const ids = [f.subject.id, f.userId, f.sessionId, small ? f.teamId : null].filter((x): x is string => x !== null && x.length > 0);
  const leaks = ids.some((id) => new RegExp(`(^|[^\\p{L}\\p{N}_])${escapeRe(id)}($|[^\\p{L}\\p{N}_])`, 'u').test(text));
  return leaks ? `${DETECTORS[f.rule].title} found for ${personal ? 'one person' : 'a team'} (details for ${personal ? 'them and their lead' : 'its lead'} in the dashboard).` : text;
}

function span(f: Finding, timeZone: string): string {
  return `${formatWallTime(f.start, timeZone)} to ${formatWallTime(f.end, timeZone)} ${timeZone}`;
}

const money = (f: Finding): string =>
  f.rule === 'spend-anomaly' ? 'unusual spend (no waste claimed)' : `$${f.wastedUsd.toFixed(2)} avoidable`;

/** One line for people, then the summary and the suggestion. */
export function findingText(f: Finding, detail: 'team' | 'person', timeZone: string, smallTeam = false): string {
  return `${DETECTORS[f.rule].title}: ${subjectText(f, detail, smallTeam)}, ${money(f)}, ${span(f, timeZone)}. ${summaryText(f, detail, smallTeam)} Suggestion: ${f.suggestion}`;
}

export function findingWebhookBody(f: Finding, detail: 'team' | 'person', timeZone: string, smallTeam = false): object {
  const personal = PERSONAL.has(f.subject.kind);
  const hide = detail === 'team';
  const teamId = hidesTeam(f, detail, smallTeam) ? null : f.teamId;
  return {
    type: 'goodhart.finding',
    id: `finding|${f.id}`,
    detail,
    text: findingText(f, detail, timeZone, smallTeam),
    finding: {
      id: f.id,
      rule: f.rule,
      title: DETECTORS[f.rule].title,
      subject: hide && (personal || f.subject.kind === 'team') ? { kind: 'team', id: teamId } : f.subject,
      userId: hide ? null : f.userId,
      teamId,
      sessionId: hide ? null : f.sessionId,
      start: new Date(f.start).toISOString(),
      end: new Date(f.end).toISOString(),
      wastedUsd: f.wastedUsd,
      wasteMethod: f.wasteMethod,
      confidence: f.confidence,
      summary: summaryText(f, detail, smallTeam),
      suggestion: f.suggestion,
      evidence: { counts: f.evidence.counts, ratios: f.evidence.ratios, requestIds: hide ? [] : f.evidence.requestIds },
    },
    at: new Date(f.detectedAt).toISOString(),
  };
}

export function findingSlackBody(f: Finding, detail: 'team' | 'person', timeZone: string, smallTeam = false): object {
  const icon = f.rule === 'spend-anomaly' ? ':chart_with_upwards_trend:' : ':mag:';
  return { text: `${icon} ${findingText(f, detail, timeZone, smallTeam)}` };
}

/**
 * A finding as an alert: once per finding id (a finding that grows keeps its id and is not sent again).
 * `smallTeam`: the finding's team had fewer people using it in the month than `dashboard.minGroupSize` (hidesTeam).
 */
export function findingAlert(f: Finding, timeZone: string, smallTeam = false): OutboundAlert {
  return {
    dedupKey: `finding|${f.id}`,
    at: f.detectedAt,
    payload: { type: 'goodhart.finding', id: f.id, rule: f.rule, subjectKind: f.subject.kind, teamId: f.teamId, wastedUsd: f.wastedUsd },
    render(sink) {
      const detail = detailOf(sink);
      if (detail === 'off') return null;
      return sink.type === 'slack' ? findingSlackBody(f, detail, timeZone, smallTeam) : findingWebhookBody(f, detail, timeZone, smallTeam);
    },
  };
}

/**
 * Whether a budget's forecast is worth an alert: the upper projection reaches the amount before it is spent, and
 * the rate rests on enough observation for the period (a day, or a quarter of a shorter period: 6 hours of a daily
 * budget). A few minutes' burst projected over a quarter is not a forecast.
 */
export function forecastCrosses(s: BudgetStatus): boolean {
  if (s.projection === null || s.spent === null || s.windowEnd === null) return false;
  const periodDays = Math.max(1 / 24, Math.round((s.windowEnd - s.windowStart) / 3_600_000) / 24);
  return s.spent < s.amount && s.projection.high >= s.amount && s.projection.basisDays >= minForecastBasisDays(periodDays);
}

/**
 * At team detail a budget of one person's (`user:…`, or a key, which is one person's) is named neither by its scope
 * nor by its id: a per-person budget's id often carries the name ("alice-cap"). Said as the threshold alerts to the
 * same sink say it (format.ts alertText): "A personal budget".
 */
const hidesBudget = (scope: string, detail: 'team' | 'person'): boolean => detail === 'team' && isPersonalScope(scope);

export function forecastText(s: BudgetStatus, detail: 'team' | 'person'): string {
  const p = s.projection!;
  const unit = s.unit;
  const name = hidesBudget(s.scope, detail) ? 'A personal budget' : `Budget "${s.budget}" (${s.scope})`;
  const range = p.low === p.high ? '' : ` (likely ${formatAmount(unit, p.low)} to ${formatAmount(unit, p.high)})`;
  const runsOut = p.exhaustionDate === null ? '' : ` At this rate it runs out around ${p.exhaustionDate}.`;
  return (
    `${name} is projected to reach ${formatAmount(unit, p.projected)}${range} this ${s.period} ` +
    `against ${formatAmount(unit, s.amount)}; ${formatAmount(unit, s.spent!)} spent so far.${runsOut}`
  );
}

/** A budget forecast crossing as an alert: once per budget instance, period and amount. */
export function forecastAlert(s: BudgetStatus, at: number): OutboundAlert {
  const p = s.projection!;
  return {
    dedupKey: `forecast|${s.budget}|${s.scope}|${s.windowStart}|${s.amount}`,
    at,
    periodEnd: s.windowEnd ?? Number.POSITIVE_INFINITY,
    payload: { type: 'goodhart.budget.forecast', budget: s.budget, scope: s.scope, high: p.high, amount: s.amount },
    render(sink) {
      const detail = detailOf(sink);
      if (detail === 'off') return null;
      const text = forecastText(s, detail);
      if (sink.type === 'slack') return { text: `:crystal_ball: ${text}` };
      // As a threshold alert's webhook body at team detail (format.ts webhookBody): no id, the scope's kind only.
      const hide = hidesBudget(s.scope, detail);
      return {
        type: 'goodhart.budget.forecast',
        id: hide ? null : `forecast|${s.budget}|${s.scope}|${s.windowStart}|${s.amount}`,
        text,
        budget: { id: hide ? null : s.budget, scope: hide ? s.scope.slice(0, s.scope.indexOf(':')) : s.scope, unit: s.unit, period: s.period, amount: s.amount },
        spent: s.spent,
        projected: p.projected,
        low: p.low,
        high: p.high,
        method: p.method,
        exhaustionDate: p.exhaustionDate,
        periodStart: new Date(s.windowStart).toISOString(),
        periodEnd: s.windowEnd === null ? null : new Date(s.windowEnd).toISOString(),
        at: new Date(at).toISOString(),
      };
    },
  };
}
