import { formatWallTime } from '../report/dates.js';
import { formatAmount } from '../policy/budget-math.js';
import type { BudgetAlert } from '../policy/thresholds.js';

/** The two body formats alert sinks take: generic JSON, and Slack-compatible incoming webhooks. Pure. */

export const SINK_TYPES = ['webhook', 'slack'] as const;
export type SinkType = (typeof SINK_TYPES)[number];

function periodText(a: BudgetAlert): string {
  return a.period === 'none' ? 'in total' : `this ${a.period}`;
}

function resetText(a: BudgetAlert, timeZone: string): string {
  return Number.isFinite(a.windowEnd) ? `Resets ${formatWallTime(a.windowEnd, timeZone)} ${timeZone}.` : 'It does not reset.';
}

/** One line people read in a channel or an inbox. */
export function alertText(a: BudgetAlert, timeZone: string): string {
  const head =
    a.reason === 'blocked'
      ? `Budget "${a.budgetId}" (${a.scope}) is used up to ${a.threshold}% ${periodText(a)}: requests are being ${a.threshold < 100 ? 'downgraded' : 'refused'}`
      : `Budget "${a.budgetId}" (${a.scope}) reached ${a.threshold}% ${periodText(a)}`;
  const ask = a.contact ? ` Contact: ${a.contact}.` : '';
  return `${head}: ${formatAmount(a.unit, a.spent)} spent of ${formatAmount(a.unit, a.amount)}. ${resetText(a, timeZone)}${ask}`;
}

export function webhookBody(a: BudgetAlert, timeZone: string): object {
  return {
    type: 'goodhart.budget.threshold',
    id: a.dedupKey,
    text: alertText(a, timeZone),
    budget: { id: a.budgetId, scope: a.scope, unit: a.unit, period: a.period, amount: a.amount, contact: a.contact },
    threshold: a.threshold,
    reason: a.reason,
    spent: a.spent,
    remaining: Math.max(0, a.amount - a.spent),
    periodStart: new Date(a.windowStart).toISOString(),
    periodEnd: Number.isFinite(a.windowEnd) ? new Date(a.windowEnd).toISOString() : null,
    at: new Date(a.at).toISOString(),
  };
}

/** Slack (and Mattermost, Rocket.Chat, Discord's /slack endpoint) incoming webhooks: `text` is required. */
export function slackBody(a: BudgetAlert, timeZone: string): object {
  const icon = a.reason === 'blocked' || a.threshold >= 100 ? ':no_entry:' : ':warning:';
  return { text: `${icon} ${alertText(a, timeZone)}` };
}

export const FORMATS = { webhook: webhookBody, slack: slackBody } as const satisfies Record<SinkType, (a: BudgetAlert, tz: string) => object>;
