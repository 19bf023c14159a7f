import type { Finding } from '../detect/types.js';
import type { Window } from '../policy/period.js';
import { savingsFromGroups, type SavingsReport } from '../route/savings.js';
import type { UsageAggregate } from '../store/types.js';
import type { EventSource } from '../usage/event.js';
import { loadBudgetStatuses, type BudgetStatus } from './budget-status.js';
import { totalOf, type AggregateTotals } from './format.js';
import { loadSpendSlices } from '../outcomes/slices.js';
import { costPerOutcome, countedOutcomeTotals, type CostPerOutcome, type OutcomeTotals } from './outcomes.js';
import { formatWallTime } from './dates.js';
import { changePercent, dayLabels, monthWindow, previousMonth, seriesOf } from './series.js';
import type { ReportSources } from './sources.js';

/**
 * Everything the periodic audit shows, gathered from the report sources for one month. Each section is either
 * available with its numbers, or carries a plain note saying why not (the capability is not built or not fed).
 */

export type Section<T> = { available: true; data: T } | { available: false; note: string };

export interface AuditData {
  period: string;
  timeZone: string;
  /** `--source`: every spend figure is of this source alone; null: every source added up. */
  source: EventSource | null;
  window: Window;
  generatedAt: number;
  /** True when the month is not over yet: figures are to date. */
  partial: boolean;
  spend: {
    totals: AggregateTotals;
    previousMonthUsd: number;
    /** The previous month to the same point as this one (its whole spend when this month is over). */
    previousToDateUsd: number;
    /** This month against `previousToDateUsd`: a month not over is compared with as much of the one before. */
    changePercent: number | null;
    /** null: a day whose requests all had no price (n/a, drawn with no bar, as the dashboard does), not a $0.00 day. */
    daily: { labels: string[]; values: (number | null)[] };
    /** The last six months, oldest first, this one included. */
    months: { key: string; costUsd: number }[];
  };
  teams: UsageAggregate[];
  models: UsageAggregate[];
  /** Budget standings, and the part of the period's spend not from the gateway, which budgets do not count. */
  budgets: Section<{ statuses: BudgetStatus[]; importedUsd: number }>;
  findings: Section<{ top: Finding[]; count: number; wastedUsd: number }>;
  /** `spendUsd`: the spend outcomes are weighed against (each person's week once, from its most detailed record). */
  outcomes: Section<{ totals: OutcomeTotals; spendUsd: number; cost: CostPerOutcome }>;
  routing: Section<SavingsReport>;
}

const TOP_FINDINGS = 10;

/** `source`: the spend of that source only (`goodhart audit --source`), as `goodhart report --source` reads it. */
export async function collectAudit(src: ReportSources, opts: { period: string; now: number; source?: EventSource | undefined }): Promise<AuditData> {
  const tz = src.timeZone;
  const window = monthWindow(opts.period, tz);
  const until = Math.min(window.end, opts.now);
  const only = opts.source === undefined ? {} : { source: opts.source };
  const range = { since: window.start, until };
  const prev = previousMonth(window, tz);
  const prevToDate = Math.min(prev.start + (until - window.start), prev.end);
  const [daily, prevRows, prevToDateRows, teams, models] = await Promise.all([
    src.store.aggregate('day', { ...range, ...only }, { timeZone: tz }),
    src.store.aggregate('month', { since: prev.start, until: prev.end, ...only }, { timeZone: tz }),
    src.store.aggregate('month', { since: prev.start, until: prevToDate, ...only }, { timeZone: tz }),
    src.store.aggregate('team', { ...range, ...only }, { timeZone: tz }),
    src.store.aggregate('model', { ...range, ...only }, { timeZone: tz }),
  ]);
  const starts = [window.start];
  for (let i = 0; i < 5; i++) starts.unshift(previousMonth({ start: starts[0]!, end: starts[0]! }, tz).start);
  const byMonth = new Map((await src.store.aggregate('month', { since: starts[0]!, until, ...only }, { timeZone: tz })).map((r) => [r.key, r.costUsd]));
  const months = starts.map((t) => formatWallTime(t, tz).slice(0, 7)).map((key) => ({ key, costUsd: byMonth.get(key) ?? 0 }));
  const totals = totalOf(daily);
  const previousMonthUsd = prevRows.reduce((a, r) => a + r.costUsd, 0);
  const previousToDateUsd = prevToDateRows.reduce((a, r) => a + r.costUsd, 0);
  const labels = dayLabels(window.start, window.end, tz);
  const unpricedDays = new Set(daily.filter((r) => r.requests > 0 && r.unpricedRequests >= r.requests).map((r) => r.key));
  const dailyValues = seriesOf(daily, labels).map((v, i) => (unpricedDays.has(labels[i]!) ? null : v));

  return {
    period: opts.period,
    timeZone: tz,
    source: opts.source ?? null,
    window,
    generatedAt: opts.now,
    partial: opts.now < window.end,
    spend: { totals, previousMonthUsd, previousToDateUsd, changePercent: changePercent(totals.costUsd, previousToDateUsd), daily: { labels, values: dailyValues }, months },
    teams,
    models,
    budgets: await budgetsSection(src, window, opts.now, totals.costUsd, opts.source),
    findings: await findingsSection(src, range),
    outcomes: await outcomesSection(src, range, opts.source),
    routing: await routingSection(src, range),
  };
}

async function budgetsSection(src: ReportSources, window: Window, now: number, spentUsd: number, source: EventSource | undefined): Promise<AuditData['budgets']> {
  const budgets = src.budgets();
  if (budgets.length === 0) return { available: false, note: 'No budgets are configured (`budgets:` in goodhart.yaml, or `goodhart budgets set`).' };
  // A past month is judged as it stood at its end.
  const at = Math.min(now, window.end - 1);
  // `spentUsd` is of one source with --source: all of it imported, unless that source is the gateway.
  const gateway =
    source === undefined ? await src.store.aggregate('month', { source: 'gateway', since: window.start, until: Math.min(now, window.end) }, { timeZone: src.timeZone }) : [];
  const gatewayUsd = source === undefined ? gateway.reduce((a, r) => a + r.costUsd, 0) : source === 'gateway' ? spentUsd : 0;
  const importedUsd = Math.max(0, spentUsd - gatewayUsd);
  return { available: true, data: { statuses: await loadBudgetStatuses({ store: src.store, budgets, now: at, timeZone: src.timeZone }), importedUsd } };
}

async function findingsSection(src: ReportSources, range: { since: number; until: number }): Promise<AuditData['findings']> {
  if (src.findings === null) return { available: false, note: 'This store keeps no waste findings (waste detection needs the SQLite store for now).' };
  const all = await src.findings.listFindings(range);
  if (all.length === 0) {
    return { available: false, note: 'No waste findings for this period. Run `goodhart detect --since …` over it, or turn on live detection in the gateway.' };
  }
  const top = [...all].sort((a, b) => b.wastedUsd - a.wastedUsd || b.confidence - a.confidence).slice(0, TOP_FINDINGS);
  return { available: true, data: { top, count: all.length, wastedUsd: all.reduce((a, f) => a + f.wastedUsd, 0) } };
}

async function outcomesSection(src: ReportSources, range: { since: number; until: number }, source: EventSource | undefined): Promise<AuditData['outcomes']> {
  if (src.outcomes === null) return { available: false, note: 'This store keeps no outcome events yet.' };
  const totals = await countedOutcomeTotals(src.outcomes, src.analysis, range);
  if (totals.records === 0) {
    return { available: false, note: 'No outcomes (commits, pull requests, lines) were recorded for this period, so there is no cost per outcome. Send OpenTelemetry from Claude Code or import outcomes to fill it.' };
  }
  // Spend as `goodhart outcomes report` counts it: each person's week once, from its most detailed record (the gateway's
  // metering and Claude Code's telemetry of the same requests are not added up); with --source, that source as it is.
  const costUsd = (await loadSpendSlices(src.store, { ...range, ...(source === undefined ? {} : { source }) })).reduce((a, s) => a + s.costUsd, 0);
  return { available: true, data: { totals, spendUsd: costUsd, cost: costPerOutcome(costUsd, totals) } };
}

async function routingSection(src: ReportSources, range: { since: number; until: number }): Promise<AuditData['routing']> {
  if (src.decisions === null) return { available: false, note: 'This store keeps no routing decisions (an in-memory database).' };
  const report = savingsFromGroups(await src.decisions.savingsGroups(range));
  if (report.rows.length === 0) return { available: false, note: 'No routing decisions in this period: routing is off (set `routing.mode: shadow` to see what it would save).' };
  return { available: true, data: report };
}
