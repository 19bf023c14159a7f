import { GoodhartError } from '../errors.js';
import { forecastSpend, RATE_DAYS } from '../detect/forecast/index.js';
import type { FindingsStore } from '../detect/store.js';
import type { Finding, RuleId } from '../detect/types.js';
import type { AnalysisConfig } from '../outcomes/analyse.js';
import type { EfficiencyRow } from '../outcomes/metrics.js';
import { outcomesView, type OutcomeViewer, type OutcomeViewSource } from '../outcomes/view.js';
import type { BudgetConfig } from '../policy/config.js';
import { dayWindows } from '../policy/period.js';
import type { ScopeKind } from '../policy/scope.js';
import { loadBudgetStatuses, type BudgetStatus } from '../report/budget-status.js';
import { formatWallTime } from '../report/dates.js';
import { roundUsd, totalOf, type AggregateTotals } from '../report/format.js';
import { dayLabels, lastDayFraction, monthWindow, seriesOf } from '../report/series.js';
import { digestSuggestions, type Suggestion } from '../report/suggestions.js';
import type { RouteDecisionStore } from '../route/decisions.js';
import { savingsFromGroups, type SavingsReport } from '../route/savings.js';
import type { EventFilter, Store, UsageAggregate } from '../store/types.js';

/**
 * The dashboard's data: one function per page, each a handful of aggregate queries (answered from the hourly
 * rollups) shaped for the page. Callers have already checked what the viewer may see; these only read.
 */
export interface ViewContext {
  store: Pick<Store, 'aggregate'>;
  timeZone: string;
  now: number;
  budgets: () => readonly BudgetConfig[];
  findings: Pick<FindingsStore, 'listFindings'> | null;
  /** Outcomes, read and counted as `goodhart outcomes report` does (src/outcomes/view.ts); null when this store keeps none. */
  outcomes: { source: OutcomeViewSource; config: AnalysisConfig } | null;
  /** Routing decisions (kept beside the SQLite store); null when this store keeps none. */
  decisions: Pick<RouteDecisionStore, 'savingsGroups'> | null;
  /** `dashboard.minGroupSize`: a team's totals are shown to a member only with them and this many people less one. */
  minGroupSize: number;
  /** `dashboard.maxShare`: nor when one of the others spent more than this share of what the others spent. */
  maxShare: number;
}

export interface MonthRange {
  month: string;
  start: number;
  end: number;
  /** min(end, now): figures are to date in the current month. */
  until: number;
  labels: string[];
}

export function monthRange(month: string | undefined, now: number, timeZone: string): MonthRange {
  if (month !== undefined && !/^(19[7-9]\d|20\d\d)-(0[1-9]|1[0-2])$/.test(month)) {
    throw new GoodhartError('invalid_request', 400, `month=${month.slice(0, 20)} is not a month: use YYYY-MM, e.g. ${formatWallTime(now, timeZone).slice(0, 7)}.`);
  }
  const current = formatWallTime(now, timeZone).slice(0, 7);
  const m = month ?? current;
  // A month that has not begun has no data, and its budgets no window yet: the current one's would be shown under it.
  if (m > current) throw new GoodhartError('not_found', 404, `${m} has not begun: there is no data for it yet. The latest month is ${current}.`);
  const w = monthWindow(m, timeZone, 'month');
  return { month: m, start: w.start, end: w.end, until: Math.min(w.end, now), labels: dayLabels(w.start, w.end, timeZone) };
}

/** How text names the month: `this month` while it runs, else `in September 2026` (the suggestions are the digest's, which says `this week`). */
export function monthPhrase(r: MonthRange, now: number): string {
  if (now >= r.start && now < r.end) return 'this month';
  const [y, m] = r.month.split('-').map(Number) as [number, number];
  return `in ${new Intl.DateTimeFormat('en-GB', { month: 'long', year: 'numeric', timeZone: 'UTC' }).format(Date.UTC(y, m - 1, 15))}`;
}

export interface Series {
  labels: string[];
  /**
   * null: a day whose requests all had no price (n/a, not $0.00: spendText), or a day not shown to a member (too few
   * others spent on it: teamView).
   */
  values: (number | null)[];
}

export interface SpendBlock {
  totals: AggregateTotals;
  daily: Series;
  /** Days of the month elapsed (today included): the page draws spend to date and the projection after. */
  elapsedDays: number;
  /** Month-end projection of spend (detect/forecast), null for a past month. */
  forecast: { projected: number; low: number; high: number } | null;
  /**
   * The part of `totals.costUsd` that did not come through the gateway (coding-agent logs, provider usage APIs,
   * OTLP). Budgets count gateway traffic only, what the gateway enforces: the page says so when this is above 0.
   * null: not shown to a member (too few others imported, or used the gateway: Hidden.imported).
   */
  importedUsd: number | null;
}

export interface Mix {
  key: string;
  requests: number;
  /** The priced requests' cost: `unpricedRequests` (models with no known price) are not in it, and not free. */
  costUsd: number;
  unpricedRequests: number;
}

const mix = (rows: readonly UsageAggregate[]): Mix[] =>
  rows.map((r) => ({ key: r.key, requests: r.requests, costUsd: roundUsd(r.costUsd), unpricedRequests: r.unpricedRequests }));

/**
 * Daily spend of the month (with the days before it for the forecast's rate) and the month-end projection.
 * `history: false`: the forecast's rate from this month's days alone (a member's team page: the days before are
 * another month's, which may be withheld from them).
 */
async function spend(ctx: ViewContext, r: MonthRange, filter: EventFilter, opts: { history?: boolean } = {}): Promise<SpendBlock> {
  const current = ctx.now;
  const historyFrom = opts.history === false ? r.start : (dayWindows(r.start - RATE_DAYS * 86_400_000, r.start, ctx.timeZone)[0]?.start ?? r.start);
  const [rows, gateway] = await Promise.all([
    ctx.store.aggregate('day', { ...filter, since: historyFrom, until: r.until }, { timeZone: ctx.timeZone }),
    ctx.store.aggregate('month', { ...filter, source: 'gateway', since: r.start, until: r.until }, { timeZone: ctx.timeZone }),
  ]);
  const inMonth = new Set(r.labels);
  const totals = totalOf(rows.filter((x) => inMonth.has(x.key)));
  const importedUsd = roundUsd(Math.max(0, totals.costUsd - gateway.reduce((a, x) => a + x.costUsd, 0)));
  const unpriced = new Set(rows.filter((x) => x.requests > 0 && x.unpricedRequests >= x.requests).map((x) => x.key));
  const values = seriesOf(rows, r.labels).map((v, i) => (unpriced.has(r.labels[i]!) ? null : roundUsd(v)));
  const elapsedDays = current < r.end ? dayLabels(r.start, current, ctx.timeZone).length : r.labels.length;
  let forecast: SpendBlock['forecast'] = null;
  if (current < r.end) {
    const elapsed = dayLabels(r.start, current, ctx.timeZone);
    const f = forecastSpend({
      daily: seriesOf(rows, elapsed),
      history: seriesOf(rows, dayLabels(historyFrom, r.start, ctx.timeZone)),
      periodDays: r.labels.length,
      amount: Number.POSITIVE_INFINITY,
      lastDayFraction: lastDayFraction(current, ctx.timeZone),
    });
    forecast = { projected: roundUsd(f.projected), low: roundUsd(f.low), high: roundUsd(f.high) };
  }
  return { totals, daily: { labels: r.labels, values }, elapsedDays, forecast, importedUsd };
}

export interface OutcomesBlock {
  available: boolean;
  note: string | null;
  /**
   * The person's or team's row of `goodhart outcomes report --user U / --team T` for the month: what counts
   * (merged pull requests, not opened ones; reverts applied), cost per outcome on all their spend.
   */
  row: EfficiencyRow | null;
  /** Their changes reverted within the revert window this month, which are not counted. */
  reverted: number;
}

/** The same computation as `goodhart outcomes report` (outcomesView), for the month so far: both show the same numbers. */
async function outcomes(ctx: ViewContext, r: MonthRange, viewer: OutcomeViewer): Promise<OutcomesBlock> {
  return (await outcomesAndPeople(ctx, r, viewer)).block;
}

/** With a lead's `people`: each person's row too, or null when the team has no outcomes counted this month. */
async function outcomesAndPeople(ctx: ViewContext, r: MonthRange, viewer: OutcomeViewer): Promise<{ block: OutcomesBlock; people: EfficiencyRow[] | null }> {
  if (ctx.outcomes === null) return { block: { available: false, note: 'This store keeps no outcome events yet.', row: null, reverted: 0 }, people: null };
  if (!(r.until > r.start)) return { block: { available: false, note: 'This month has not started.', row: null, reverted: 0 }, people: null };
  const view = await outcomesView(ctx.outcomes.source, ctx.outcomes.config, viewer, { since: r.start, until: r.until }, ctx.now);
  const row = view.rows[0] ?? null;
  if (row === null || (row.outcomes.total === 0 && view.reverted === 0)) {
    return { block: { available: false, note: 'No commits, merged pull requests, closed tickets or deployments counted for this month.', row, reverted: view.reverted }, people: null };
  }
  return { block: { available: true, note: null, row, reverted: view.reverted }, people: view.people ?? null };
}

/**
 * A row of a team's People table: the person's usage in the team and, beside it, what they shipped this month
 * (null when the team has no outcomes counted), so heavy use that ships reads as such. Ordered by name, never by
 * spend: no page ranks people.
 */
export interface PersonRow extends Mix {
  outcomes: EfficiencyRow['outcomes'] | null;
  costPerOutcome: number | null;
}

function peopleRows(users: readonly UsageAggregate[], people: readonly EfficiencyRow[] | null): PersonRow[] {
  const byId = new Map((people ?? []).map((p) => [p.subject.id, p]));
  const named = [...users].sort((a, b) => (a.key === '(none)' ? 1 : b.key === '(none)' ? -1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return mix(named).map((u) => {
    const p = people === null ? undefined : byId.get(u.key);
    return { ...u, outcomes: p?.outcomes ?? null, costPerOutcome: p?.costPerOutcome ?? null };
  });
}

export interface RoutingBlock {
  available: boolean;
  note: string | null;
  /** Realised (mode on) and potential (shadow) savings per team and model pair, and the quality guard's misses. */
  savings: SavingsReport | null;
}

/** Right-sizing savings of the month, for everyone (org) or one team: one GROUP BY over the stored decisions. */
export async function routingView(ctx: ViewContext, r: MonthRange, filter: { teamId?: string }): Promise<RoutingBlock> {
  if (ctx.decisions === null) return { available: false, note: 'This store keeps no routing decisions (an in-memory database).', savings: null };
  const savings = savingsFromGroups(await ctx.decisions.savingsGroups({ ...filter, since: r.start, until: r.until }));
  if (savings.rows.length === 0) {
    return { available: false, note: 'No routing decisions this month: routing is off here (`routing.mode: shadow` shows what it would save without changing anything).', savings };
  }
  return { available: true, note: null, savings };
}

export interface FindingsBlock {
  /** The zone the page shows the findings' times in: the config's, as its days and months. */
  timeZone: string;
  available: boolean;
  note: string | null;
  findings: Finding[];
  wastedUsd: number;
}

export async function findingsView(ctx: ViewContext, r: MonthRange, filter: { teamId?: string; userId?: string; rule?: RuleId }, limit = 200): Promise<FindingsBlock> {
  if (ctx.findings === null) return { timeZone: ctx.timeZone, available: false, note: 'Waste detection keeps its findings in the SQLite store; this store has none.', findings: [], wastedUsd: 0 };
  const all = await ctx.findings.listFindings({ ...filter, since: r.start, until: r.until });
  const findings = [...all].sort((a, b) => b.wastedUsd - a.wastedUsd || b.start - a.start).slice(0, limit);
  return { timeZone: ctx.timeZone, available: true, note: all.length === 0 ? 'No findings this month.' : null, findings, wastedUsd: roundUsd(all.reduce((a, f) => a + f.wastedUsd, 0)) };
}

export async function budgetsView(
  ctx: ViewContext,
  visible: (kind: ScopeKind, id: string | null) => boolean,
  opts: { at?: number; within?: EventFilter; kinds?: readonly ScopeKind[]; always?: readonly { kind: ScopeKind; id: string }[] } = {},
): Promise<BudgetStatus[]> {
  return loadBudgetStatuses({
    store: ctx.store,
    budgets: ctx.budgets(),
    now: opts.at ?? ctx.now,
    timeZone: ctx.timeZone,
    visible,
    ...(opts.within ? { within: opts.within } : {}),
    ...(opts.kinds ? { kinds: opts.kinds } : {}),
    ...(opts.always ? { always: opts.always } : {}),
  });
}

export async function orgView(ctx: ViewContext, r: MonthRange, visible: (kind: ScopeKind, id: string | null) => boolean) {
  const range = { since: r.start, until: r.until };
  const [s, teams, models, budgets, routing] = await Promise.all([
    spend(ctx, r, {}),
    ctx.store.aggregate('team', range, { timeZone: ctx.timeZone }),
    ctx.store.aggregate('model', range, { timeZone: ctx.timeZone }),
    budgetsView(ctx, (kind, id) => kind === 'org' && visible(kind, id), { at: Math.min(ctx.now, r.end - 1), kinds: ['org'] }),
    routingView(ctx, r, {}),
  ]);
  return { month: r.month, timeZone: ctx.timeZone, spend: s, teams: mix(teams), models: mix(models), budgets, routing };
}

/** Default `dashboard.maxShare`. */
export const MAX_SHARE = 0.85;

/**
 * The people besides `viewer` who contributed to a group: with spend above 0. A refused or failed request costs
 * nothing (the rollups the pages read keep no status, but a request that failed is priced at 0), and neither does a
 * $0 one: a colleague with one refused request no longer makes a team "three people". Events with no person count
 * as nobody.
 */
export function contributors(rows: readonly UsageAggregate[], viewer: string | null): UsageAggregate[] {
  return rows.filter((u) => u.key !== viewer && u.key !== '(none)' && u.costUsd > 0);
}

/**
 * Why a team's totals are withheld from a member, or null when they may see them: a member can take their own
 * figures out of the total, so it must hold at least `minGroupSize - 1` other people's spend of the month
 * (dashboard.minGroupSize: the threshold rule), none of whom spent more than `maxShare` of what the others spent
 * (dashboard.maxShare: the dominance rule, with which statistical offices pair the threshold rule; otherwise the
 * total less one's own is one colleague's spend within a few percent, whoever else made a $0.01 request).
 * `minGroupSize` 1 turns both off.
 */
export function smallGroupNote(
  users: readonly UsageAggregate[],
  viewer: string | null,
  minGroupSize: number,
  r: MonthRange,
  now: number,
  maxShare = MAX_SHARE,
  /** People on the team: the directory's and those on its keys (null: not known). */
  people: ReadonlySet<string> | null = null,
): string | null {
  if (minGroupSize <= 1) return null;
  const others = contributors(users, viewer);
  const needed = minGroupSize - 1;
  const tail = ', so taking your own usage out of them could leave one colleague\'s figures. Your own usage is under My usage; your lead, finance and admins see the team.';
  // Too few people on the team at all: waiting for a busier month would not help, only a larger team.
  const onTeam = people === null ? null : new Set([...people, ...others.map((u) => u.key), ...(viewer === null ? [] : [viewer])]).size;
  if (others.length < needed && onTeam !== null && onTeam < minGroupSize) {
    return `Your team has ${onTeam} ${onTeam === 1 ? 'person' : 'people'} (you included), and a member sees a team's totals only in a month when at least ${needed} ${needed === 1 ? 'person' : 'people'} besides them used its AI (dashboard.minGroupSize ${minGroupSize}), so they stay withheld unless more people join the team${tail}`;
  }
  if (others.length < needed) {
    return `Your team's totals are shown once at least ${needed} ${needed === 1 ? 'person' : 'people'} besides you used the team's AI in the month; fewer did ${monthPhrase(r, now)}${tail}`;
  }
  // With one other (minGroupSize 2), the threshold rule alone decides: the operator lets a member see one colleague.
  const total = others.reduce((a, u) => a + u.costUsd, 0);
  const largest = Math.max(...others.map((u) => u.costUsd));
  if (others.length > 1 && largest > maxShare * total) {
    return `Your team's totals are shown when no one besides you accounts for more than ${Math.round(maxShare * 100)}% of what the others spent; one did ${monthPhrase(r, now)}${tail}`;
  }
  return null;
}

/**
 * What of a team page shown to a member is left out, cell by cell: a day or a model is left out when fewer than
 * `minGroupSize - 1` of the others spent on it, or when one of them spent more than `maxShare` of what the others
 * spent on it (the month's two rules, smallGroupNote, applied to the cell: a day bob spent $42.42 on and carol $0.01
 * is bob's day within a cent). Those days are null in the daily series (and then there is no forecast, which adds
 * the days up); those models are summed into one row, `(other models)`. When the days or models left out, together,
 * fail the same rules (the total less what is shown would give them), all days or the whole model mix are left out.
 * The imported/gateway split is a cell too (`imported`): `spend.importedUsd` is null unless both the imported spend
 * and the gateway spend of the others pass the rules. Three queries: the team's days and models, each split by
 * person, and everyone's gateway spend; only members' pages pay them.
 */
export interface Hidden {
  days: string[];
  /** Models summed into `(other models)`; all of them when `models` is null. */
  models: string[];
  allDays: boolean;
  allModels: boolean;
  /** The imported/gateway split (spend.importedUsd) is left out. */
  imported: boolean;
}

/** Whether others' spend `costs` (person to USD, viewer left out, each above 0) fails the threshold or dominance rule. */
function tooFew(costs: ReadonlyMap<string, number>, needed: number, maxShare: number): boolean {
  if (costs.size < needed) return true;
  if (costs.size < 2) return false;
  const values = [...costs.values()];
  const total = values.reduce((a, c) => a + c, 0);
  return Math.max(...values) > maxShare * total;
}

async function cellsHidden(ctx: ViewContext, r: MonthRange, teamId: string, users: readonly UsageAggregate[], viewer: string | null): Promise<Hidden> {
  const needed = ctx.minGroupSize - 1;
  const range = { since: r.start, until: r.until, teamId };
  const others = new Set(contributors(users, viewer).map((u) => u.key));
  const [perDay, perModel, gateway] = await Promise.all([
    ctx.store.aggregate('day', range, { timeZone: ctx.timeZone, by: 'user' }),
    ctx.store.aggregate('model', range, { timeZone: ctx.timeZone, by: 'user' }),
    ctx.store.aggregate('user', { ...range, source: 'gateway' }, { timeZone: ctx.timeZone }),
  ]);
  const byCell = (rows: readonly UsageAggregate[], countsShown: boolean) => {
    // cell -> person -> their cost on it
    const cost = new Map<string, Map<string, number>>();
    for (const row of rows) {
      if (row.by === undefined || row.by === viewer || row.by === '(none)') continue;
      // A model's row shows its requests too: one only others asked for and nobody spent on (refused, failed, no
      // price, a made-up name) would show a colleague's requests, so it is a cell nobody spent on, left out.
      if (countsShown && row.requests > 0 && !cost.has(row.key)) cost.set(row.key, new Map());
      if (row.costUsd <= 0 || !others.has(row.by)) continue;
      const people = cost.get(row.key) ?? new Map<string, number>();
      people.set(row.by, (people.get(row.by) ?? 0) + row.costUsd);
      cost.set(row.key, people);
    }
    const hidden = [...cost].filter(([, people]) => tooFew(people, needed, ctx.maxShare));
    // What the hidden cells add up to, person by person: the total less what is shown.
    const sum = new Map<string, number>();
    for (const [, people] of hidden) for (const [who, c] of people) sum.set(who, (sum.get(who) ?? 0) + c);
    // Cells nobody spent on add no dollars to the total less what is shown: only those spent on can give one away.
    return { hidden: hidden.map(([k]) => k).sort(), all: sum.size > 0 && tooFew(sum, needed, ctx.maxShare) };
  };
  const days = byCell(perDay, false);
  const models = byCell(perModel, true);
  const imported = splitHidden(users, gateway, viewer, needed, ctx.maxShare);
  return { days: days.hidden, models: models.hidden, allDays: days.all, allModels: models.all, imported };
}

/**
 * Whether the split of a team's month into imported and gateway spend is left out for member `viewer`: the others'
 * imported spend (`users`, all of it, less `gateway`, theirs through the gateway) and their gateway spend are each a
 * cell (tooFew). No one else imported: the split is the viewer's own and the others' month. No one else used the
 * gateway: theirs is $0.
 */
function splitHidden(users: readonly UsageAggregate[], gateway: readonly UsageAggregate[], viewer: string | null, needed: number, maxShare: number): boolean {
  const viaGateway = new Map(gateway.map((g) => [g.key, g.costUsd]));
  const importedBy = new Map<string, number>();
  const gatewayBy = new Map<string, number>();
  for (const u of contributors(users, viewer)) {
    const g = Math.min(u.costUsd, viaGateway.get(u.key) ?? 0);
    if (roundUsd(u.costUsd - g) > 0) importedBy.set(u.key, u.costUsd - g);
    if (roundUsd(g) > 0) gatewayBy.set(u.key, g);
  }
  return importedBy.size > 0 && (tooFew(importedBy, needed, maxShare) || (gatewayBy.size > 0 && tooFew(gatewayBy, needed, maxShare)));
}

/**
 * Whether a team budget's spend (gateway traffic only) is left out for member `viewer` in month `r`: the team's
 * totals are withheld (smallGroupNote), or its imported/gateway split is (splitHidden: the month's spend less the
 * budget's would give it).
 */
export async function memberBudgetHidden(ctx: ViewContext, r: MonthRange, teamId: string, viewer: string | null): Promise<boolean> {
  if (ctx.minGroupSize <= 1) return false;
  const range = { since: r.start, until: r.until, teamId };
  const [users, gateway] = await Promise.all([
    ctx.store.aggregate('user', range, { timeZone: ctx.timeZone }),
    ctx.store.aggregate('user', { ...range, source: 'gateway' }, { timeZone: ctx.timeZone }),
  ]);
  return smallGroupNote(users, viewer, ctx.minGroupSize, r, ctx.now, ctx.maxShare) !== null || splitHidden(users, gateway, viewer, ctx.minGroupSize - 1, ctx.maxShare);
}

const OTHER_MODELS = '(other models)';

function hideCells(s: SpendBlock, models: readonly UsageAggregate[], hidden: Hidden): { spend: SpendBlock; models: Mix[] | null } {
  const days = new Set(hidden.days);
  const values = s.daily.values.map((v, i) => (hidden.allDays || days.has(s.daily.labels[i]!) ? null : v));
  const anyDay = hidden.allDays || hidden.days.length > 0;
  const out = new Set(hidden.models);
  // The times of the team's first and last request of the month are one person's each, often on a day left out.
  const totals = { ...s.totals, firstAt: null, lastAt: null };
  const spendShown: SpendBlock = { ...s, totals, daily: { ...s.daily, values }, forecast: anyDay ? null : s.forecast, importedUsd: hidden.imported ? null : s.importedUsd };
  if (hidden.allModels) return { spend: spendShown, models: null };
  const shown = mix(models.filter((m) => !out.has(m.key)));
  const rest = models.filter((m) => out.has(m.key));
  if (rest.length > 0) {
    shown.push({
      key: OTHER_MODELS,
      requests: rest.reduce((a, m) => a + m.requests, 0),
      costUsd: roundUsd(rest.reduce((a, m) => a + m.costUsd, 0)),
      unpricedRequests: rest.reduce((a, m) => a + m.unpricedRequests, 0),
    });
  }
  return { spend: spendShown, models: shown };
}

/** `near`: from 80% used, the alert threshold budgets send by default before the cap. */
const NEAR_PERCENT = 80;

/**
 * A budget as its standing only: where it stands and when it resets, without its amount, spend or projection.
 * What a member whose team's totals are withheld gets of the team's budgets: with two people on a team, the team's
 * spend less their own is the colleague's, and the gateway's headers name only the tightest budget a request falls
 * under (often the personal cap), so they do not already tell it. The amount goes too: a hybrid budget's amount is
 * computed from the team's past spend.
 */
export interface BudgetStanding extends Omit<BudgetStatus, 'amount' | 'spent' | 'usedPercent' | 'projection'> {
  amount: null;
  spent: null;
  usedPercent: null;
  projection: null;
  standing: 'on track' | 'near' | 'over';
}

export function standingOnly(b: BudgetStatus): BudgetStanding {
  const used = b.usedPercent ?? 0;
  return {
    ...b,
    amount: null,
    spent: null,
    usedPercent: null,
    projection: null,
    standing: used >= 100 ? 'over' : used >= NEAR_PERCENT ? 'near' : 'on track',
    note: 'Shown as its standing only: with so few people using the team, its spend less yours would be a colleague’s.',
  };
}

/**
 * A team budget as member `viewer` may see it: its spend is the team's gateway spend of the budget's window, a day or
 * a week as well as a month (or a quarter, a year, all time), so it is shown only when the others' gateway spend in
 * that window passes both rules (tooFew), as a day of the team page is; otherwise as its standing only. Never its
 * projection: its rate comes from the days before the window too. Other budgets are returned as they are.
 */
export async function forMember(ctx: ViewContext, b: BudgetStatus, teamId: string, viewer: string | null, at: number): Promise<BudgetStatus | BudgetStanding> {
  if (b.scope !== `team:${teamId}` || b.spent === null) return b;
  if (ctx.minGroupSize <= 1) return { ...b, projection: null };
  const until = Math.min(at + 1, b.windowEnd ?? Number.POSITIVE_INFINITY);
  const rows = await ctx.store.aggregate('user', { teamId, source: 'gateway', since: b.windowStart, until }, { timeZone: ctx.timeZone });
  const others = new Map(contributors(rows, viewer).map((u) => [u.key, u.costUsd]));
  if (tooFew(others, ctx.minGroupSize - 1, ctx.maxShare)) {
    return { ...standingOnly(b), note: `Shown as its standing only: too few people besides you used the team’s AI this ${b.period === 'none' ? 'budget' : b.period}, so its spend less yours would be a colleague’s.` };
  }
  return { ...b, projection: null };
}

/**
 * A team's page. `viewer` is who asks without `detail` (a member): they get the totals only when the team is not
 * too small for them to read a colleague's figures out of them (smallGroupNote); the team's budgets they always get,
 * as the gateway tells each request where its budgets stand, but then as their standing only (standingOnly).
 */
export async function teamView(
  ctx: ViewContext,
  r: MonthRange,
  teamId: string,
  detail: boolean,
  visible: (kind: ScopeKind, id: string | null) => boolean,
  viewer: string | null = null,
  /** People on the team (directory and keys), for the note on a withheld page. */
  people: ReadonlySet<string> | null = null,
) {
  const range = { since: r.start, until: r.until, teamId };
  // A member's forecast takes its rate from this month's days alone: the 14 days before are last month's, which
  // may be withheld from them (its forecast inverted gave a colleague's spend of those days).
  const totals = () => Promise.all([spend(ctx, r, { teamId }, { history: detail }), ctx.store.aggregate('model', range, { timeZone: ctx.timeZone })]);
  // Asked at once for who may see the people; for a member, once they may see the totals.
  const early = detail ? totals() : null;
  // Handled where it is awaited below; meanwhile a failure must not count as an unhandled rejection.
  early?.catch(() => undefined);
  const [users, budgets] = await Promise.all([
    ctx.store.aggregate('user', range, { timeZone: ctx.timeZone }),
    budgetsView(ctx, (kind, id) => (kind === 'team' ? id === teamId : kind === 'user' && detail) && visible(kind, id), { at: Math.min(ctx.now, r.end - 1), within: { teamId }, kinds: detail ? ['team', 'user'] : ['team'] }),
  ]);
  const head = {
    month: r.month,
    timeZone: ctx.timeZone,
    team: teamId,
    detail,
    budgets: budgets.filter((b) => b.scope === `team:${teamId}` || (detail && b.scope.startsWith('user:'))),
  };
  const withheld = detail ? null : smallGroupNote(users, viewer, ctx.minGroupSize, r, ctx.now, ctx.maxShare, people);
  if (withheld !== null) {
    const budgets = head.budgets.map((b) => (b.scope === `team:${teamId}` ? standingOnly(b) : b));
    return { ...head, budgets, withheld, spend: null, models: null, users: null, findings: null, outcomes: null, routing: null };
  }
  const [[s, models], hidden] = await Promise.all([
    early ?? totals(),
    detail || ctx.minGroupSize <= 1 ? null : cellsHidden(ctx, r, teamId, users, viewer),
  ]);
  const shown = hidden === null ? { spend: s, models: mix(models) } : hideCells(s, models, hidden);
  const shipped = await outcomesAndPeople(ctx, r, { role: 'lead', teamId, people: detail });
  return {
    ...head,
    // A budget's projection takes its rate from the days before the month too, as the forecast did.
    // A team budget counts gateway spend only: with the split hidden, the month's spend less the budget's would
    // give the others' imported spend back, so it is shown as its standing only.
    budgets: detail
      ? head.budgets
      : await Promise.all(
          head.budgets.map((b) =>
            hidden?.imported && b.scope === `team:${teamId}`
              ? { ...standingOnly(b), note: 'Shown as its standing only: a budget counts gateway spend alone, and the team’s spend less it would be what too few colleagues imported.' }
              : forMember(ctx, b, teamId, viewer, Math.min(ctx.now, r.end - 1)),
          ),
        ),
    withheld: null,
    spend: shown.spend,
    models: shown.models,
    hidden,
    users: detail ? peopleRows(users, shipped.people) : null,
    findings: detail ? await findingsView(ctx, r, { teamId }, 50) : null,
    outcomes: hidden !== null && (hidden.allDays || hidden.days.length > 0) ? withoutWeeks(shipped.block) : shipped.block,
    // Team totals per model pair: for who may see the people. Decisions are summed per team and pair, not per
    // person, so a pair one colleague alone was routed on could not be told from the others for a member.
    routing: detail ? await routingView(ctx, r, { teamId }) : { available: false, note: 'Routing savings per model pair are for the team lead, finance and admins: they are not counted per person, so a pair one colleague alone used could not be left out.', savings: null },
  };
}

/**
 * The outcomes block of a member's team page with days left out: its weekly spend less the days shown in that week
 * would give them (a week of days bob alone spent on besides the viewer is bob's week), and the correlation and
 * trend are computed from those weeks.
 */
function withoutWeeks(block: OutcomesBlock): OutcomesBlock {
  if (block.row === null) return block;
  return { ...block, row: { ...block.row, weekly: [], spendOutcomeCorrelation: null, trend: { change: null, direction: 'unknown' } } };
}

/**
 * A person's page. `opts.teamId`: only what is booked to that team (a lead sees a person's time on their team, not
 * their time on another); `opts.budgets: false` leaves out the person's budgets, which count all their spend.
 */
export async function userView(ctx: ViewContext, r: MonthRange, userId: string, opts: { teamId?: string; budgets?: boolean; who?: string } = {}) {
  const onTeam = opts.teamId !== undefined ? { teamId: opts.teamId } : {};
  const range = { since: r.start, until: r.until, userId, ...onTeam };
  const [s, models, budgets, findings] = await Promise.all([
    spend(ctx, r, { userId, ...onTeam }),
    ctx.store.aggregate('model', range, { timeZone: ctx.timeZone }),
    opts.budgets === false
      ? Promise.resolve([])
      : budgetsView(ctx, (kind, id) => kind === 'user' && id === userId, { at: Math.min(ctx.now, r.end - 1), within: { userId }, kinds: ['user'], always: [{ kind: 'user', id: userId }] }),
    findingsView(ctx, r, { userId, ...onTeam }, 50),
  ]);
  const t = s.totals;
  // Stored input counts every input token, cache reads and writes included.
  const input = t.inputTokens;
  const suggestions: Suggestion[] = digestSuggestions(
    findings.findings,
    {
      costUsd: t.costUsd,
      requests: t.requests,
      cacheShare: input > 0 ? t.cacheReadTokens / input : null,
    },
    { when: monthPhrase(r, ctx.now), ...(opts.who === undefined ? {} : { who: opts.who }) },
  );
  return {
    month: r.month,
    timeZone: ctx.timeZone,
    user: userId,
    /** The team the figures are limited to, or null: all of the person's usage. */
    team: opts.teamId ?? null,
    spend: s,
    models: mix(models),
    budgets,
    findings,
    outcomes: await outcomes(ctx, r, { role: 'person', userId, ...onTeam }),
    suggestions,
  };
}
