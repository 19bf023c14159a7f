import { forecastSpend, RATE_DAYS } from '../detect/forecast/index.js';
import { formatAmount, hybridAmount } from '../policy/budget-math.js';
import type { BudgetConfig } from '../policy/config.js';
import { dayWindows, periodWindow, previousWindows, type Window } from '../policy/period.js';
import { parseScope, type ScopeKind } from '../policy/scope.js';
import type { EventFilter, Store } from '../store/types.js';
import { dayLabels, lastDayFraction, seriesOf, valueOf, type Unit } from './series.js';

/**
 * Where each budget stands and where it will be at the end of its period, computed from the store (gateway
 * events: what budgets enforce). The arithmetic is `budgetStanding` (pure); `loadBudgetStatuses` reads the store.
 */

export interface Projection {
  /** Projected spend at the period's end, and its interval (equal for a run-rate projection). */
  projected: number;
  low: number;
  high: number;
  /** ISO date (local) when the budget runs out at the projected rate, or null within this period. */
  exhaustionDate: string | null;
  /** `trend`: the forecast over daily spend (detect/forecast); `run-rate`: spent so far scaled to the period. */
  method: 'trend' | 'run-rate';
  /**
   * Days of observation behind the rate: for the trend, the days from the scope's first spend and today's elapsed
   * part; for the run rate, the period's elapsed days. Forecast alerts need `minForecastBasisDays` of it.
   */
  basisDays: number;
}

export interface BudgetStatus {
  budget: string;
  /** The scope instance: `org`, `team:core`, `user:alice`… */
  scope: string;
  unit: Unit;
  period: string;
  action: string;
  amount: number;
  spent: number | null;
  usedPercent: number | null;
  windowStart: number;
  windowEnd: number | null;
  projection: Projection | null;
  /** Why a number is missing or approximate. */
  note: string | null;
}

export interface StandingInput {
  amount: number;
  /** Values per local day of the window so far (the last one partial). */
  daily: readonly number[];
  /** Values per local day before the window (for the rate when the period has just begun). */
  history: readonly number[];
  /** Local dates of the window's days, all of them (so the length is the period's). */
  periodLabels: readonly string[];
  lastDayFraction: number;
}

/** Pure: spent, share used and the trend forecast of one budget instance. */
export function budgetStanding(i: StandingInput): { spent: number; usedPercent: number; projection: Projection } {
  const f = forecastSpend({
    daily: i.daily,
    history: i.history,
    periodDays: i.periodLabels.length,
    amount: i.amount,
    lastDayFraction: i.lastDayFraction,
  });
  const day = f.exhaustion.day;
  const exhaustionDate = day === null ? null : (i.periodLabels[dayIndex(day, i.periodLabels.length)] ?? null);
  return {
    spent: f.spent,
    usedPercent: percent(f.spent, i.amount),
    projection: { projected: f.projected, low: f.low, high: f.high, exhaustionDate, method: 'trend', basisDays: f.basisDays },
  };
}

/** Pure: a run-rate projection (spent so far, scaled to the whole period). */
export function runRate(spent: number, amount: number, elapsedDays: number, periodLabels: readonly string[]): Projection {
  const days = periodLabels.length;
  const rate = elapsedDays > 0 ? spent / elapsedDays : 0;
  const projected = spent + rate * Math.max(0, days - elapsedDays);
  let exhaustionDate: string | null = null;
  if (spent >= amount) exhaustionDate = periodLabels[Math.max(0, Math.ceil(elapsedDays) - 1)] ?? null;
  else if (rate > 0 && projected >= amount) exhaustionDate = periodLabels[dayIndex(amount / rate, days)] ?? null;
  return { projected, low: projected, high: projected, exhaustionDate, method: 'run-rate', basisDays: Math.max(0, elapsedDays) };
}

/** The day a fractional day count from the period's start falls in: 24.3 is the 25th day, and so is 25.0 (its end). */
const dayIndex = (d: number, days: number): number => Math.min(days - 1, Math.max(0, Math.ceil(d) - 1));

const percent = (spent: number, amount: number): number => (amount > 0 ? Math.round((spent / amount) * 1000) / 10 : 0);

export interface BudgetQuery {
  store: Pick<Store, 'aggregate'>;
  budgets: readonly BudgetConfig[];
  now: number;
  timeZone: string;
  /** Which scope values the viewer may see (default: all). */
  visible?: (kind: ScopeKind, id: string | null) => boolean;
  /** Per-value budgets (`user:*`): at most this many instances, the most used first. */
  maxInstances?: number;
  /** Only budgets of these scope kinds (an org page needs no per-person instances). Default: all. */
  kinds?: readonly ScopeKind[];
  /** Narrows the per-value budgets' query (a team page: `{ teamId }`), so it reads only the rows it can show. */
  within?: EventFilter;
  /**
   * Scope values whose per-value budgets (`user:*`, `team:*`) are listed even with no spend in the window: the
   * viewer's own. A person who has not spent yet is still under the budget.
   */
  always?: readonly { kind: ScopeKind; id: string }[];
}

const FILTER_KEYS = { team: 'teamId', user: 'userId', project: 'projectId' } as const satisfies Partial<Record<ScopeKind, keyof EventFilter>>;
type Dim = keyof typeof FILTER_KEYS;
const GROUP_OF = { team: 'team', user: 'user', project: 'project' } as const satisfies Record<Dim, 'team' | 'user' | 'project'>;
const DAY_MS = 86_400_000;

/**
 * The part of `within` that only leaves out other instances, never part of one's spend: a person's page may read
 * `user:*` budgets for that person alone, but a `team:*` budget's spend is the whole team's (a member saw their own
 * spend as the team's), and a `project:*` budget's the whole project's.
 */
function narrowing(kind: Dim, within: EventFilter | undefined): EventFilter {
  if (within === undefined || kind === 'project') return {};
  if (kind === 'team') return within.teamId === undefined ? {} : { teamId: within.teamId };
  return within;
}

export async function loadBudgetStatuses(q: BudgetQuery): Promise<BudgetStatus[]> {
  const out: BudgetStatus[] = [];
  const visible = q.visible ?? (() => true);
  for (const b of q.budgets) {
    const scope = parseScope(b.scope);
    if (scope === null || (q.kinds !== undefined && !q.kinds.includes(scope.kind))) continue;
    const window = periodWindow(b.period, q.now, q.timeZone);
    const base = {
      budget: b.id,
      unit: b.unit,
      period: b.period,
      action: b.action,
      amount: b.amount,
      windowStart: window.start,
      windowEnd: Number.isFinite(window.end) ? window.end : null,
    };
    if (scope.kind === 'key' || scope.kind === 'tag') {
      if (!visible(scope.kind, scope.id)) continue;
      out.push({ ...base, scope: b.scope, spent: null, usedPercent: null, projection: null, note: 'Spend per key or tag is enforced by the gateway but not broken down in reports yet.' });
      continue;
    }
    const gateway: EventFilter = { source: 'gateway' };
    if (scope.kind !== 'org' && scope.each) {
      const rows = await q.store.aggregate(GROUP_OF[scope.kind], { ...narrowing(scope.kind, q.within), ...gateway, since: window.start, until: q.now }, { timeZone: q.timeZone });
      const labels = window.start > 0 ? dayLabels(window.start, window.end, q.timeZone) : [];
      const elapsed = Math.max(0, (q.now - window.start) / DAY_MS);
      // The most used first, in the budget's unit (rows come most expensive first).
      const all = rows
        .filter((r) => r.key !== '(none)' && visible(scope.kind, r.key))
        .map((r) => ({ key: r.key, spent: valueOf(r, b.unit) }))
        .sort((x, y) => y.spent - x.spent);
      const shown = all.slice(0, q.maxInstances ?? 50);
      let hidden = all.slice(shown.length);
      // The viewer's own instance is always listed, at its real spend (0 if it has none yet).
      for (const a of q.always ?? []) {
        if (a.kind !== scope.kind || !visible(a.kind, a.id) || shown.some((r) => r.key === a.id)) continue;
        shown.push({ key: a.id, spent: hidden.find((r) => r.key === a.id)?.spent ?? 0 });
        hidden = hidden.filter((r) => r.key !== a.id);
      }
      for (const r of shown) {
        const spent = r.spent;
        out.push({
          ...base,
          scope: `${scope.kind}:${r.key}`,
          spent,
          usedPercent: percent(spent, b.amount),
          projection: labels.length > 0 ? runRate(spent, b.amount, elapsed, labels) : null,
          note: b.hybrid ? 'Hybrid budget: the baseline amount is shown; the gateway adds each value’s own trailing percentile.' : null,
        });
      }
      if (hidden.length > 0) {
        const top = hidden[0]!.spent;
        out.push({
          ...base,
          scope: `${scope.kind}:* (${hidden.length} more)`,
          spent: null,
          usedPercent: null,
          projection: null,
          note: `${hidden.length} more ${hidden.length === 1 ? 'instance is' : 'instances are'} not listed; the most used of those has ${formatAmount(b.unit, top)} (${percent(top, b.amount)}%).`,
        });
      }
      continue;
    }
    if (!visible(scope.kind, scope.id)) continue;
    const filter: EventFilter = { ...gateway };
    if (scope.kind !== 'org') filter[FILTER_KEYS[scope.kind]] = scope.id!;
    out.push({ ...base, scope: b.scope, ...(await standingOf(q, b, window, filter)) });
  }
  return out;
}

async function standingOf(
  q: BudgetQuery,
  b: BudgetConfig,
  window: Window,
  filter: EventFilter,
): Promise<Pick<BudgetStatus, 'amount' | 'spent' | 'usedPercent' | 'projection' | 'note'>> {
  let amount = b.amount;
  let note: string | null = null;
  if (b.hybrid) {
    const trailing: number[] = [];
    for (const w of previousWindows(b.period, window, b.hybrid.lookback, q.timeZone)) {
      const rows = await q.store.aggregate('month', { ...filter, since: w.start, until: w.end }, { timeZone: q.timeZone });
      trailing.push(rows.reduce((a, r) => a + valueOf(r, b.unit), 0));
    }
    amount = hybridAmount(b.amount, trailing, b.hybrid.percentile);
    note = `Hybrid: ${b.amount} + p${b.hybrid.percentile} of the last ${b.hybrid.lookback} periods.`;
  }
  if (b.period === 'none') {
    const rows = await q.store.aggregate('month', { ...filter, until: q.now }, { timeZone: q.timeZone });
    const spent = rows.reduce((a, r) => a + valueOf(r, b.unit), 0);
    return { amount, spent, usedPercent: percent(spent, amount), projection: null, note: note ?? 'All-time budget: no period end to forecast.' };
  }
  const historyFrom = dayWindows(window.start - RATE_DAYS * DAY_MS, window.start, q.timeZone)[0]?.start ?? window.start;
  const rows = await q.store.aggregate('day', { ...filter, since: historyFrom, until: q.now }, { timeZone: q.timeZone });
  const periodLabels = dayLabels(window.start, window.end, q.timeZone);
  const elapsedLabels = dayLabels(window.start, q.now, q.timeZone);
  const standing = budgetStanding({
    amount,
    daily: seriesOf(rows, elapsedLabels, b.unit),
    history: seriesOf(rows, dayLabels(historyFrom, window.start, q.timeZone), b.unit),
    periodLabels,
    lastDayFraction: lastDayFraction(q.now, q.timeZone),
  });
  return { amount, ...standing, note };
}
