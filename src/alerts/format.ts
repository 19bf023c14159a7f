import { formatWallTime } from '../report/dates.js';
import { formatAmount, percentOf } from '../policy/budget-math.js';
import { isPersonalScope } from '../policy/scope.js';
import type { BudgetAlert } from '../policy/thresholds.js';

/** The two body formats alert sinks take: generic JSON, and Slack-compatible incoming webhooks. Pure. */

export const SINK_TYPES = ['webhook', 'slack'] as const;
export type SinkType = (typeof SINK_TYPES)[number];

/** How much of a person a sink hears (its `findings` setting): Slack channels default to the team, webhooks to the person. */
export type FindingsDetail = 'off' | 'team' | 'person';

export function detailOf(sink: { type: SinkType; findings?: FindingsDetail | undefined }): FindingsDetail {
  return sink.findings ?? (sink.type === 'slack' ? 'team' : 'person');
}

function periodText(a: BudgetAlert): string {
  return a.period === 'none' ? 'in total' : `this ${a.period}`;
}

function resetText(a: BudgetAlert, timeZone: string): string {
  return Number.isFinite(a.windowEnd) ? `Resets ${formatWallTime(a.windowEnd, timeZone)} ${timeZone}.` : 'It does not reset.';
}

/**
 * Whether a sink hears whose budget this is: a person's (`user:…`, `key:…`) only where the sink takes people's
 * detail (`findings: person`, the default for webhooks); a team channel (Slack's default `team`) hears "a personal
 * budget", as it does for forecasts and findings.
 */
export type BudgetDetail = 'person' | 'team';

/** One line people read in a channel or an inbox. */
export function alertText(a: BudgetAlert, timeZone: string, detail: BudgetDetail = 'person'): string {
  const name = detail === 'team' && isPersonalScope(a.scope) ? 'A personal budget' : `Budget "${a.budgetId}" (${a.scope})`;
  const ask = a.contact ? ` Contact: ${a.contact}.` : '';
  if (a.blocked !== null) return `${name} ${blockedText(a, a.blocked)} ${resetText(a, timeZone)}${ask}`;
  return `${name} ${crossedText(a)} ${periodText(a)}: ${formatAmount(a.unit, a.spent)} spent of ${formatAmount(a.unit, a.amount)}. ${resetText(a, timeZone)}${ask}`;
}

/** "reached 80%", or for one step past several thresholds "passed 100% (also 50% and 80%)". */
function crossedText(a: BudgetAlert): string {
  if (a.passed.length === 0) return `reached ${a.threshold}%`;
  const list = a.passed.map((t) => `${t}%`);
  const also = list.length === 1 ? list[0]! : `${list.slice(0, -1).join(', ')} and ${list[list.length - 1]!}`;
  return `passed ${a.threshold}% (also ${also})`;
}

/** What happened to one request, at the spend of the moment (not a threshold: spend has not reached one). */
function blockedText(a: BudgetAlert, b: NonNullable<BudgetAlert['blocked']>): string {
  const money = (n: number) => formatAmount(a.unit, n);
  const left = Math.max(0, b.limit - a.spent - b.reserved);
  // A downgrade point may be under 1% (downgradeAt: 0.1).
  const point = Math.round((b.limit / a.amount) * 10_000) / 100;
  const under = b.limit < a.amount ? `under its downgrade point (${point}%: ${money(b.limit)} of ${money(a.amount)})` : `of ${money(a.amount)}`;
  const inFlight = b.reserved > 0 ? ` (${money(b.reserved)} reserved by requests in flight)` : '';
  return (
    `${b.action} a request at ${percentOf(a.spent, a.amount)}% spent ${periodText(a)} (${money(a.spent)}): ` +
    `it could cost up to ${money(b.cost)}, more than the ${money(left)} left ${under}${inFlight}.`
  );
}

export function webhookBody(a: BudgetAlert, timeZone: string, detail: BudgetDetail = 'person'): object {
  const hide = detail === 'team' && isPersonalScope(a.scope);
  return {
    type: 'goodhart.budget.threshold',
    id: hide ? null : a.dedupKey,
    text: alertText(a, timeZone, detail),
    budget: hide
      ? { id: null, scope: a.scope.slice(0, a.scope.indexOf(':')), unit: a.unit, period: a.period, amount: a.amount, contact: a.contact }
      : { id: a.budgetId, scope: a.scope, unit: a.unit, period: a.period, amount: a.amount, contact: a.contact },
    threshold: a.threshold,
    passed: a.passed,
    reason: a.reason,
    blocked: a.blocked,
    spent: a.spent,
    remaining: Math.max(0, a.amount - a.spent),
    periodStart: new Date(a.windowStart).toISOString(),
    periodEnd: Number.isFinite(a.windowEnd) ? new Date(a.windowEnd).toISOString() : null,
    at: new Date(a.at).toISOString(),
  };
}

/** Slack (and Mattermost, Rocket.Chat, Discord's /slack endpoint) incoming webhooks: `text` is required. */
export function slackBody(a: BudgetAlert, timeZone: string, detail: BudgetDetail = 'team'): object {
  const icon = a.reason === 'blocked' || (a.threshold ?? 0) >= 100 ? ':no_entry:' : ':warning:';
  return { text: `${icon} ${alertText(a, timeZone, detail)}` };
}

export const FORMATS = { webhook: webhookBody, slack: slackBody } as const satisfies Record<SinkType, (a: BudgetAlert, tz: string, detail: BudgetDetail) => object>;

/** A budget alert's body for one sink: its format, with as much of the person as the sink takes (detailOf). */
export function renderBudgetAlert(a: BudgetAlert, sink: { type: SinkType; findings?: FindingsDetail | undefined }, timeZone: string): object {
  return FORMATS[sink.type](a, timeZone, detailOf(sink) === 'person' ? 'person' : 'team');
}
