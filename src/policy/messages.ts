import { formatWallTime } from '../report/dates.js';
import type { Unit } from './config.js';
import { floorToPercent, formatAmount, headerAmount, percentOf } from './budget-math.js';
import type { Window } from './period.js';
import type { RateRefusal } from './rate-limit.js';
import type { BudgetRule } from './rules.js';
import { isPersonalScope } from './scope.js';

/** Texts and headers people and clients see: what happened, where they stand, what to do. */

export const HEADER_REMAINING = 'x-goodhart-budget-remaining';
export const HEADER_RESET = 'x-goodhart-budget-reset';
export const HEADER_BUDGET = 'x-goodhart-budget';
export const HEADER_WARNING = 'x-goodhart-budget-warning';
export const HEADER_DOWNGRADED = 'x-goodhart-downgraded';

/** One budget as it stands for a request: the numbers headers and messages are made of. */
export interface Standing {
  rule: BudgetRule;
  scopeKey: string;
  window: Window;
  amount: number;
  spent: number;
  reserved: number;
}

export function resetText(window: Window, timeZone: string): string {
  if (!Number.isFinite(window.end)) return 'never (an all-time budget)';
  return `${formatWallTime(window.end, timeZone)} ${timeZone}`;
}

const isoCache = new Map<number, string>();
export function resetIso(window: Window): string | null {
  if (!Number.isFinite(window.end)) return null;
  let s = isoCache.get(window.end);
  if (s === undefined) {
    if (isoCache.size > 1000) isoCache.clear();
    s = new Date(window.end).toISOString();
    isoCache.set(window.end, s);
  }
  return s;
}

function label(s: Standing): string {
  return `"${s.rule.id}" (${s.scopeKey}, ${s.rule.period === 'none' ? 'all time' : `per ${s.rule.period}`})`;
}

/**
 * What the header gives of what is left: a person's own budget exactly; a shared one (org, team, project, tag) rounded
 * down to 1% of its amount, since its exact remaining, read before and after a colleague's request, is that
 * request's cost (scope.ts isPersonalScope).
 */
function shownLeft(s: Standing): number {
  const left = s.amount - s.spent - s.reserved;
  return isPersonalScope(s.scopeKey) ? left : floorToPercent(left, s.amount);
}

/** Headers for an admitted request: the tightest budget's remaining amount and reset, and a warning past a threshold. */
export function budgetHeaders(standings: readonly Standing[], headers: Record<string, string>): void {
  let tightest: Standing | undefined;
  let tightestLeft = 0;
  let tightestShare = Number.POSITIVE_INFINITY;
  let warn: Standing | undefined;
  let warnShare = -1;
  for (const s of standings) {
    // Tightest by what is shown: which budget the header names then moves only as a shared one's rounded figure does.
    const left = shownLeft(s);
    const share = s.amount > 0 ? left / s.amount : 0;
    if (share < tightestShare) {
      tightest = s;
      tightestLeft = left;
      tightestShare = share;
    }
    const first = s.rule.thresholds[0];
    const spentShare = s.amount > 0 ? s.spent / s.amount : 1;
    if (first !== undefined && spentShare >= first && spentShare > warnShare) {
      warn = s;
      warnShare = spentShare;
    }
  }
  if (tightest === undefined) return;
  headers[HEADER_REMAINING] = headerAmount(tightest.rule.unit, tightestLeft);
  const reset = resetIso(tightest.window);
  if (reset !== null) headers[HEADER_RESET] = reset;
  headers[HEADER_BUDGET] = `${tightest.rule.id}; scope=${tightest.scopeKey}; unit=${tightest.rule.unit}`;
  if (warn !== undefined) {
    headers[HEADER_WARNING] =
      `budget ${warn.rule.id} (${warn.scopeKey}) is at ${percentOf(warn.spent, warn.amount)}% of ${formatAmount(warn.rule.unit, warn.amount)}` +
      (resetIso(warn.window) ? `; resets ${resetIso(warn.window)}` : '');
  }
}

// Below what a message can show ($0, or less than a token): floating point leaves 0.05 - 0.03 - 0.02 at 3e-18.
const tiny = (unit: Unit): number => (unit === 'tokens' ? 1 : 1e-9);

/**
 * A figure of a budget for a refusal: of a person's own (user:, key:) the amount; of a shared one a whole percentage
 * of the budget's amount ("82%", "under 1%"), never finer: its exact spend, read before and after a colleague's
 * request, would be that request's cost (scope.ts isPersonalScope).
 */
function figure(s: Standing, n: number): string {
  if (isPersonalScope(s.scopeKey)) return formatAmount(s.rule.unit, n);
  if (n < tiny(s.rule.unit)) return '0%';
  const p = percentOf(n, s.amount);
  return p === 0 ? 'under 1%' : `${p}%`;
}

/**
 * A 429 for a request the budget cannot cover, with advice that can work from where it stands: with something left,
 * a smaller request may fit; with nothing left but requests in flight holding some, what they do not use comes back
 * as they finish; with nothing left at all, only the reset or more budget help. `toolCalls`: the request allows
 * built-in tool calls, reserved per call (worst-case.ts toolCallsAllowed).
 */
export function budgetRefusal(s: Standing, cost: number, timeZone: string, toolCalls = false): string {
  const unit = s.rule.unit;
  const money = (n: number): string => formatAmount(unit, n);
  const left = Math.max(0, s.amount - s.spent - s.reserved);
  const ask = s.rule.cfg.contact ? `ask ${s.rule.cfg.contact}` : 'ask a Goodhart admin or someone in finance to raise it (`goodhart budgets set`)';
  const standing = `${figure(s, s.spent)} spent and ${figure(s, s.reserved)} reserved by requests in flight, of ${money(s.amount)}`;
  const resets = Number.isFinite(s.window.end) ? `It resets ${resetText(s.window, timeZone)}` : 'It is an all-time budget: it does not reset';
  // The advice follows the exact figures; only what the text shows of a shared budget is coarse.
  if (left >= tiny(unit)) {
    return (
      `Budget ${label(s)} cannot cover this request: ${standing}; ${figure(s, left)} left, and this request may cost up to ${money(cost)}. ` +
      `${resets}. To get more, ${ask}. ` +
      (toolCalls
        ? 'A smaller max_tokens, fewer built-in tool calls (max_tool_calls, or the tool\'s max_uses), or a cheaper model may still fit.'
        : 'A smaller max_tokens or a cheaper model may still fit.')
    );
  }
  if (s.spent <= s.amount - tiny(unit)) {
    return (
      `Budget ${label(s)} cannot cover this request: ${standing}; nothing is left while those requests run. ` +
      `What they do not use comes back as they finish: try again in a minute. ${resets}. To get more, ${ask}.`
    );
  }
  return Number.isFinite(s.window.end)
    ? `Budget ${label(s)} is used up: ${standing}; nothing is left until it resets ${resetText(s.window, timeZone)}. To get more before then, ${ask}.`
    : `Budget ${label(s)} is used up: ${standing}; nothing is left, and an all-time budget does not reset. To get more, ${ask}.`;
}

/** A downgrade budget past its downgrade point that could not downgrade this request; `why` says why and what to do. */
export function downgradePointRefusal(s: Standing, why: string, timeZone: string): string {
  const unit = s.rule.unit;
  const point = s.amount * s.rule.downgradeAt;
  // The percentage as configured: a point under 1% (downgradeAt: 0.1) read "0%" rounded.
  return (
    `Budget ${label(s)} would pass its downgrade point with this request (${s.rule.cfg.downgradeAt}%: ${formatAmount(unit, point)} of ${formatAmount(unit, s.amount)}; ` +
    `${figure(s, s.spent)} spent), and ${why}. It resets ${resetText(s.window, timeZone)}.`
  );
}

export function unpricedRefusal(model: string, s: Standing): string {
  return `Model "${model}" has no price, so USD budget ${label(s)} cannot account for it. Ask the operator to give it one under \`models:\` in the config (price: { input, output } in USD per million tokens; 0 for self-hosted).`;
}

export function rateRefusal(r: RateRefusal): string {
  const what = r.what === 'rpm' ? 'requests per minute' : 'tokens per minute';
  if (r.tooLarge) {
    return `Rate limit "${r.line.rule.id}" (${r.line.scope}) allows ${r.limit} ${what}, and this request alone may use more (input plus max output). Send less, or set a smaller max_tokens.`;
  }
  return `Rate limit "${r.line.rule.id}" (${r.line.scope}): ${r.used} of ${r.limit} ${what} used in the last minute. Retry in ${r.retryAfterS} s.`;
}
