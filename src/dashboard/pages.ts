import { api, type Me } from './api.js';
import { budgetBars, dailySpend, forecastChart, mixChart } from './charts.js';
import { card, count, counted, dateTime, h, kpi, note, pct, requestsLine, spendText, table, tokensLine, usd } from './dom.js';
import { sortableTable } from './sortable.js';

/** One function per page: fetch the page's data from /api, build its elements. Types mirror the server's views. */

interface Totals { requests: number; costUsd: number; inputTokens: number; cacheReadTokens: number; outputTokens: number; unpricedRequests: number; estimatedRequests: number }
/** A daily value null: a day whose requests all had no price, or a day not shown to a member (too few others spent on it). */
interface Spend { totals: Totals; daily: { labels: string[]; values: (number | null)[] }; elapsedDays: number; forecast: { projected: number; low: number; high: number } | null; importedUsd: number | null }
/** `costUsd` leaves out `unpricedRequests` (models with no known price): shown with spendText, never as $0.00. */
interface Mix { key: string; requests: number; costUsd: number; unpricedRequests: number }
const mixSpend = (m: Mix): string => spendText(m.costUsd, m.requests, m.unpricedRequests);
/** `standing` alone (amount, spent, projection null): a team budget shown to a member whose team's totals are withheld. */
interface Budget { budget: string; scope: string; unit: 'usd' | 'tokens'; period: string; amount: number; spent: number | null; windowEnd: number | null; standing?: 'on track' | 'near' | 'over'; usedPercent: number | null; projection: { projected: number; exhaustionDate: string | null; method: string } | null; note: string | null }
interface Finding { id: string; rule: string; subject: { kind: string; id: string }; userId: string | null; teamId: string | null; start: number; end: number; wastedUsd: number; confidence: number; summary: string; suggestion: string; wasteMethod: string; evidence: { counts: Record<string, number>; ratios: Record<string, number>; requestIds: string[] } }
interface Findings { timeZone: string; available: boolean; note: string | null; findings: Finding[]; wastedUsd: number }
/** A page of one month: its root says which (`data-month`), and the shell adds the links to the months either side. */
const monthPage = (month: string, ...children: Parameters<typeof h>[2][]): HTMLElement => h('div', { 'data-month': month }, ...children);
/** The row `goodhart outcomes report` prints (src/outcomes/metrics.ts EfficiencyRow), the fields the card shows. */
interface OutcomeRow { linkedShare: number | null; outcomes: { commits: number; mergedPrs: number; tickets: number; deployments: number; total: number }; costPerOutcome: number | null; costPerCommit: number | null; costPerMergedPr: number | null; costPerTicket: number | null }
interface Outcomes { available: boolean; note: string | null; row: OutcomeRow | null; reverted: number }
interface Bucket { requests: number; requestedUsd: number; routedUsd: number; savedUsd: number; unpriced: number }
interface SavingsRow { teamId: string | null; modelRequested: string; modelRouted: string; realised: Bucket; potential: Bucket; misses: number }
interface Routing { available: boolean; note: string | null; savings: { rows: SavingsRow[]; teams: { teamId: string | null; realised: Bucket; potential: Bucket; misses: number }[]; total: { realised: Bucket; potential: Bucket; misses: number } } | null }
interface AccessRequest {
  id: string; userId: string; teamId: string | null; tier: string | null; model: string | null; justification: string; hours: number; status: string; createdAt: number; decidedBy: string | null;
  /** Once approved: what became of the grant (the request stays "approved"), and the hours granted. */
  grant: { state: 'active' | 'expired' | 'revoked'; hours: number; expiresAt: number } | null;
}

const roundCents = (n: number): number => Math.round(n * 100) / 100;
const q = (month: string | undefined): string => (month ? `?month=${encodeURIComponent(month)}` : '');
const amount = (b: Budget, n: number | null): string => (b.unit === 'usd' ? usd(n) : `${count(n === null ? null : Math.round(n))} tokens`);
const status = (b: Budget): HTMLElement => {
  const used = b.usedPercent ?? 0;
  const projected = b.projection ? (b.projection.projected / b.amount) * 100 : used;
  const cls = used >= 100 ? 'bad' : projected >= 100 ? 'warn' : 'ok';
  return h('span', { class: `pill ${cls}` }, used >= 100 ? 'over' : projected >= 100 ? 'will run out' : 'on track');
};

/** `month`: the page's (`YYYY-MM`); a month that has ended has no projection, and its spend is not "this month's". */
function kpis(s: Spend, month: string, extra: HTMLElement[] = []): HTMLElement {
  const t = s.totals;
  return h('div', { class: 'kpis' },
    kpi(s.forecast ? 'Spend this month' : `Spend in ${month}`, t.requests > 0 && t.unpricedRequests >= t.requests ? 'n/a' : usd(t.costUsd), requestsLine(t.requests, t.unpricedRequests)),
    kpi('Projected at month end', s.forecast ? usd(s.forecast.projected) : 'month over', s.forecast ? `${usd(s.forecast.low)} – ${usd(s.forecast.high)}` : undefined),
    kpi('Tokens', `${t.estimatedRequests > 0 ? '~' : ''}${count(t.inputTokens + t.outputTokens)}`, tokensLine(t.cacheReadTokens, t.estimatedRequests)),
    ...extra);
}

/**
 * Budgets count gateway traffic, what the gateway enforces; a month's spend also counts imported usage. When it has
 * some, the budget cards say how much, so a budget "on track" beside a larger spend does not read as a contradiction.
 */
function gatewayOnly(s: Spend, month: string): HTMLElement | null {
  if (s.importedUsd === null) return note(`Budgets count gateway traffic only (what the gateway enforces). How much of the ${usd(s.totals.costUsd)} spent in ${month} was imported is not shown: too few people besides you imported usage or used the gateway, so taking yours out would leave a colleague’s.`);
  if (s.importedUsd <= 0) return null;
  const el = note(`Budgets count gateway traffic only (what the gateway enforces): ${usd(s.importedUsd)} of the ${usd(s.totals.costUsd)} spent in ${month} was imported (coding-agent logs, provider usage APIs, OTLP) and is not counted against them.`);
  el.dataset['imported'] = String(s.importedUsd);
  return el;
}

export function budgetsTable(budgets: Budget[], s?: { spend: Spend; month: string }): HTMLElement {
  if (budgets.length === 0) return note('No budget applies here.');
  const imported = s ? gatewayOnly(s.spend, s.month) : null;
  const standing = budgets.filter((b) => b.standing !== undefined);
  const rest = budgets.filter((b) => b.standing === undefined);
  return h('div', {}, imported, rest.length > 0 ? budgetRowsTable(rest) : null, standing.length > 0 ? budgetStandingTable(standing, s !== undefined) : null);
}

/** Budgets as their standing only, with the day each resets (a withheld team page: no amounts, see teamPage). */
function budgetStandingTable(budgets: Budget[], totalsShown = false): HTMLElement {
  const pill = (x: NonNullable<Budget['standing']>) => h('span', { class: `pill ${x === 'over' ? 'bad' : x === 'near' ? 'warn' : 'ok'}` }, x);
  return h('div', {},
    note(totalsShown
      ? 'Its budgets show where they stand, not their amounts: a budget counts gateway spend alone, and the team’s spend less it would be what too few colleagues imported.'
      : 'With so few people using the team this month, its budgets show where they stand, not their amounts: the team’s spend less yours would be a colleague’s.'),
    table(['Budget', 'Scope', 'Period', 'Standing', 'Resets'],
      budgets.map((b) => [b.budget, b.scope, b.period, b.standing ? pill(b.standing) : '—', b.windowEnd === null ? 'never' : new Date(b.windowEnd).toISOString().slice(0, 10)])));
}

function budgetRowsTable(budgets: Budget[]): HTMLElement {
  return table(['Budget', 'Scope', 'Period', 'Amount', 'Spent', 'Used', 'Projected', 'Runs out', ''],
    budgets.map((b) => [b.budget, b.scope, b.period, amount(b, b.amount), amount(b, b.spent), pct(b.usedPercent), b.projection ? amount(b, b.projection.projected) : 'n/a', b.projection?.exhaustionDate ?? '—', b.note ? h('span', { class: 'muted', title: b.note }, 'ⓘ') : status(b)]),
    [3, 4, 5, 6]);
}

export function findingsList(f: Findings, showWho: boolean): HTMLElement {
  if (!f.available || f.findings.length === 0) return note(f.note ?? 'No findings.');
  return h('div', {},
    h('p', { class: 'muted', 'data-findings': String(f.findings.length) }, `${f.findings.length} finding${f.findings.length === 1 ? '' : 's'}, ${usd(f.wastedUsd)} estimated avoidable.`),
    table([`When (${f.timeZone})`, 'Rule', ...(showWho ? ['Who'] : []), 'Avoidable', 'What happened', 'Evidence'],
      f.findings.map((x) => [
        dateTime(x.start, f.timeZone), x.rule, ...(showWho ? [x.userId ?? `${x.subject.kind} ${x.subject.id}`] : []), usd(x.wastedUsd),
        h('div', {}, x.summary, h('div', { class: 'muted' }, `→ ${x.suggestion}`)),
        h('div', { class: 'evidence' },
          Object.entries({ ...x.evidence.counts, ...x.evidence.ratios }).map(([k, v]) => h('div', {}, `${k}: ${Number.isInteger(v) ? v : v.toFixed(2)}`)),
          h('div', {}, `confidence ${x.confidence.toFixed(2)}; ${x.wasteMethod}`),
          x.evidence.requestIds.length > 0 ? h('div', { title: x.evidence.requestIds.join('\n') }, counted(x.evidence.requestIds.length, 'request id')) : null),
      ]), [showWho ? 3 : 2]));
}

/**
 * What `goodhart outcomes report` shows for the same person or team and month: merged pull requests (not opened
 * ones), reverts not counted, cost each = all spend ÷ that kind. No lines of code: a pull request's lines are its
 * commits' lines, and the report counts neither.
 */
function outcomesCard(o: Outcomes): HTMLElement {
  if (!o.available || o.row === null) return card('Outcomes', note(o.note ?? 'No outcomes recorded.'));
  const r = o.row;
  const linked = r.linkedShare === null ? null : Math.round(r.linkedShare * 100);
  return card('Outcomes',
    table(['Outcome', 'Count', 'Cost each'], [
      ['Commits', count(r.outcomes.commits), usd(r.costPerCommit)],
      ['Merged pull requests', count(r.outcomes.mergedPrs), usd(r.costPerMergedPr)],
      ['Tickets closed', count(r.outcomes.tickets), usd(r.costPerTicket)],
      ['Deployments', count(r.outcomes.deployments), '—'],
      ['All outcomes', count(r.outcomes.total), usd(r.costPerOutcome)],
    ], [1, 2]),
    note(`${pct(linked)} of the spend is linked to an outcome.${o.reverted > 0 ? ` ${counted(o.reverted, 'change')} reverted within the revert window ${o.reverted === 1 ? 'is' : 'are'} not counted.` : ''}`));
}

/** Savings are often fractions of a cent per request: four decimals below $10, cents above. */
const usdFine = (n: number): string => (Math.abs(n) < 10 ? `$${n.toFixed(4)}` : usd(n));
const saved = (b: Bucket, kind: 'realised' | 'potential'): HTMLElement =>
  h('span', { 'data-usd': String(b.savedUsd), 'data-kind': kind, title: b.unpriced > 0 ? `${counted(b.unpriced, 'request')} with no price ${b.unpriced === 1 ? 'is' : 'are'} counted but not in the dollars` : undefined },
    b.requests === 0 ? '—' : usdFine(b.savedUsd) + (b.unpriced > 0 ? ' *' : ''));

/** Right-sizing: realised (routing on) and potential (shadow) savings, per team (org page) and per model pair. */
function routingCard(r: Routing, perTeam: boolean): HTMLElement {
  if (!r.available || r.savings === null) return card('Routing savings', note(r.note ?? 'No routing decisions.'));
  const s = r.savings;
  const team = (t: string | null) => t ?? '(none)';
  return card('Routing savings',
    h('div', { class: 'kpis' },
      kpi('Saved by routing', usdFine(s.total.realised.savedUsd), `${counted(s.total.realised.requests, 'request')} served by a cheaper model`),
      kpi('Shadow: would save', usdFine(s.total.potential.savedUsd), `${counted(s.total.potential.requests, 'request')} routing would send down`),
      kpi('Re-asked on premium', count(s.total.misses), 'routed answers the quality guard saw asked again')),
    perTeam ? h('h3', {}, 'By team') : null,
    perTeam
      ? table(['Team', 'Routed', 'Saved', 'Would route', 'Would save', 'Misses'],
          s.teams.map((t) => [team(t.teamId), count(t.realised.requests), saved(t.realised, 'realised'), count(t.potential.requests), saved(t.potential, 'potential'), count(t.misses)]), [1, 2, 3, 4, 5])
      : null,
    h('div', { 'data-routing': 'models' },
      h('h3', {}, 'By model'),
      table([...(perTeam ? ['Team'] : []), 'Requested → routed', 'Routed', 'Saved', 'Would route', 'Would save', 'Misses'],
        s.rows.map((x) => [...(perTeam ? [team(x.teamId)] : []), `${x.modelRequested} → ${x.modelRouted}`, count(x.realised.requests), saved(x.realised, 'realised'), count(x.potential.requests), saved(x.potential, 'potential'), count(x.misses)]),
        perTeam ? [2, 3, 4, 5, 6] : [1, 2, 3, 4, 5])),
    note('Saved: the requests priced at the requested model minus their price at the routed one, for the same tokens. Shadow mode changes nothing; it records what routing would have done.'));
}

export async function orgPage(month?: string): Promise<HTMLElement> {
  const d = await api<{ month: string; spend: Spend; teams: Mix[]; models: Mix[]; budgets: Budget[]; routing: Routing }>(`/api/org${q(month)}`);
  const orgBudget = d.budgets.find((b) => b.scope === 'org' && b.unit === 'usd' && b.period === 'month');
  return monthPage(d.month,
    h('h1', {}, `Organisation, ${d.month}`),
    kpis(d.spend, d.month, orgBudget ? [kpi('Org budget', usd(orgBudget.amount), `${pct(orgBudget.usedPercent)} used${(d.spend.importedUsd ?? 0) > 0 ? ' (gateway traffic)' : ''}`)] : []),
    h('div', { class: 'grid' },
      card('Spend per day', dailySpend('org-daily', d.spend.daily.labels, d.spend.daily.values)),
      card('Forecast against budget', forecastChart('org-forecast', d.spend.daily.labels, d.spend.daily.values, d.spend.elapsedDays, d.spend.forecast, orgBudget?.amount ?? null),
        orgBudget ? ((d.spend.importedUsd ?? 0) > 0 ? note(`The lines are all spend, imported included; the budget counts only the ${usd(roundCents(d.spend.totals.costUsd - (d.spend.importedUsd ?? 0)))} that went through the gateway.`) : null)
          : note('No monthly org budget in USD is configured: the projection is shown without one.'))),
    h('div', { class: 'grid' },
      card('Spend by team', d.teams.length ? table(['Team', 'Requests', 'Spend'], d.teams.map((t) => [t.key === '(none)' ? t.key : h('a', { href: `#/teams/${encodeURIComponent(t.key)}` }, t.key), count(t.requests), mixSpend(t)]), [1, 2]) : note('No usage this month.')),
      card('Model mix', d.models.length ? mixChart('org-models', d.models.map((m) => m.key), d.models.map((m) => m.costUsd), d.models.map(mixSpend)) : note('No usage this month.'))),
    card('Org budgets', budgetsTable(d.budgets, { spend: d.spend, month: d.month })),
    routingCard(d.routing, true));
}

/** A person's row of a team (views.ts PersonRow): what they shipped beside what they spent; null: none counted for the team. */
interface PersonRow extends Mix { outcomes: OutcomeRow['outcomes'] | null; costPerOutcome: number | null }

const plural = (n: number, one: string, many: string): string => `${count(n)} ${n === 1 ? one : many}`;
function shippedText(o: OutcomeRow['outcomes']): string {
  const parts = [
    o.commits > 0 ? plural(o.commits, 'commit', 'commits') : '',
    o.mergedPrs > 0 ? plural(o.mergedPrs, 'merged PR', 'merged PRs') : '',
    o.tickets > 0 ? plural(o.tickets, 'ticket', 'tickets') : '',
    o.deployments > 0 ? plural(o.deployments, 'deployment', 'deployments') : '',
  ].filter((x) => x !== '');
  return parts.length > 0 ? parts.join(', ') : 'none counted';
}

/**
 * The team's people by name, never by spend (no page ranks people): each one's usage with what it produced beside
 * it, so heavy use that ships reads as such. A click on a header sorts by that column, if the viewer wants to.
 */
function peopleTable(users: PersonRow[]): HTMLElement {
  if (users.length === 0) return note('Nobody used the team’s AI this month.');
  const shipped = users.some((u) => u.outcomes !== null);
  const name = (u: PersonRow) => (u.key === '(none)' ? u.key : h('a', { href: `#/users/${encodeURIComponent(u.key)}` }, u.key));
  return h('div', { 'data-people': '' },
    sortableTable(
      [{ label: 'Person' }, { label: 'Requests', numeric: true }, { label: 'Spend', numeric: true }, ...(shipped ? [{ label: 'Shipped' }, { label: 'Spend per outcome', numeric: true }] : [])],
      users.map((u) => [
        { show: name(u), by: u.key },
        { show: count(u.requests), by: u.requests },
        { show: mixSpend(u), by: u.costUsd },
        ...(shipped
          ? [
              { show: u.outcomes === null ? '—' : shippedText(u.outcomes), by: u.outcomes?.total ?? null },
              { show: u.costPerOutcome === null ? '—' : usd(u.costPerOutcome), by: u.costPerOutcome },
            ]
          : []),
      ])),
    shipped
      ? note('Shipped: commits, merged pull requests, closed tickets and deployments counted this month, as on each person’s page; spend per outcome divides their spend in the team by them.')
      : note('No commits, merged pull requests or tickets are counted for this team this month, so the table shows spend alone.'));
}

/** What a member's team page leaves out, cell by cell (views.ts Hidden). */
interface Hidden { days: string[]; models: string[]; allDays: boolean; allModels: boolean; imported: boolean }

/** Says what of a member's team page is left out, and why; null when nothing is. */
function hiddenNote(x: Hidden | null): HTMLElement | null {
  if (x === null || (x.days.length === 0 && x.models.length === 0 && !x.imported)) return null;
  const parts = [
    x.allDays ? 'the daily spend' : x.days.length > 0 ? `${x.days.length} day${x.days.length === 1 ? '' : 's'} of the daily spend` : '',
    x.allModels ? 'the model mix' : x.models.length > 0 ? `${x.models.length} model${x.models.length === 1 ? '' : 's'} (summed as “(other models)”)` : '',
    x.days.length > 0 || x.allDays ? 'the projection' : '',
    x.imported ? 'how much was imported rather than spent through the gateway (and the team budget’s amount)' : '',
  ].filter((p) => p !== '');
  const el = note(`Not shown: ${parts.join(', ')}. Too few people besides you spent on ${parts.length === 1 ? 'it' : 'them'}, so taking your own usage out would leave a colleague’s figures.`);
  el.dataset['hidden'] = '';
  return el;
}

type TeamData = { month: string; detail: boolean; budgets: Budget[] } & (
  | { withheld: null; spend: Spend; models: Mix[] | null; hidden: Hidden | null; users: PersonRow[] | null; findings: Findings | null; outcomes: Outcomes; routing: Routing }
  | { withheld: string }
);

export async function teamPage(team: string, month?: string): Promise<HTMLElement> {
  const d = await api<TeamData>(`/api/teams/${encodeURIComponent(team)}${q(month)}`);
  // Too few people besides the viewer used the team this month (dashboard.minGroupSize): the server sent no totals.
  if (d.withheld !== null) {
    const why = note(d.withheld);
    why.dataset['withheld'] = '';
    return monthPage(d.month, h('h1', {}, `Team ${team}, ${d.month}`), card('Team totals', why), card('Budgets', budgetsTable(d.budgets)));
  }
  // The team's USD budget, a monthly one first: the chart draws its own spend and projection (gateway traffic, its
  // window), not the month's spend from every source against it.
  const usdBudgets = d.budgets.filter((b) => b.scope === `team:${team}` && b.unit === 'usd' && b.standing === undefined);
  const tb = usdBudgets.find((b) => b.period === 'month') ?? usdBudgets[0];
  return monthPage(d.month,
    h('h1', {}, `Team ${team}, ${d.month}`),
    kpis(d.spend, d.month),
    h('div', { class: 'grid' },
      card(tb ? `Budget ${tb.budget} (${tb.period}), spend and forecast` : 'Spend and forecast',
        tb ? budgetBars('team-budget', tb.amount, tb.spent ?? 0, tb.projection?.projected ?? null, (d.spend.importedUsd ?? 0) > 0 ? 'gateway' : null)
          : budgetBars('team-budget', null, d.spend.totals.costUsd, d.spend.forecast?.projected ?? null, null),
        tb ? gatewayOnly(d.spend, d.month)
          : note(d.budgets.some((b) => b.scope === `team:${team}` && b.standing !== undefined) ? 'The team’s budgets are under Budgets, as their standing only.' : 'No USD budget for this team.')),
      card('Model mix', d.models === null ? note('Not shown: too few people besides you used the models you did not.') : d.models.length ? mixChart('team-models', d.models.map((m) => m.key), d.models.map((m) => m.costUsd), d.models.map(mixSpend)) : note('No usage this month.'))),
    hiddenNote(d.hidden),
    card('Spend per day', dailySpend('team-daily', d.spend.daily.labels, d.spend.daily.values)),
    d.users ? card('People', peopleTable(d.users))
      : card('People', note('Per-person figures are for the team lead, finance and admins; you see the team’s totals.')),
    card('Budgets', budgetsTable(d.budgets, { spend: d.spend, month: d.month })),
    d.findings ? card('Findings', findingsList(d.findings, true)) : null,
    outcomesCard(d.outcomes),
    routingCard(d.routing, false));
}

export async function userPage(user: string, month?: string): Promise<HTMLElement> {
  const d = await api<{ month: string; user: string; team: string | null; spend: Spend; models: Mix[]; budgets: Budget[]; findings: Findings; outcomes: Outcomes; suggestions: { text: string }[] }>(`/api/users/${encodeURIComponent(user)}${q(month)}`);
  return monthPage(d.month,
    h('h1', {}, `${user === 'me' ? 'My usage' : `Usage of ${d.user}`}, ${d.month}`),
    d.team ? note(`Only the usage booked to team ${d.team}, which you lead: time on another team is not shown.`) : null,
    kpis(d.spend, d.month),
    h('div', { class: 'grid' },
      card('Spend per day', dailySpend('user-daily', d.spend.daily.labels, d.spend.daily.values)),
      card('Model mix', d.models.length ? mixChart('user-models', d.models.map((m) => m.key), d.models.map((m) => m.costUsd), d.models.map(mixSpend)) : note('No usage this month.'))),
    card('Suggestions', h('ol', {}, d.suggestions.map((s) => h('li', {}, s.text)))),
    card('Budgets', budgetsTable(d.budgets, { spend: d.spend, month: d.month })),
    card('Findings', findingsList(d.findings, false)),
    outcomesCard(d.outcomes));
}

export async function findingsPage(month?: string): Promise<HTMLElement> {
  const f = await api<Findings & { month: string }>(`/api/findings${q(month)}`);
  return monthPage(f.month, h('h1', {}, `Findings, ${f.month}`), card('Waste findings you may see, largest first', findingsList(f, true)));
}

export async function budgetsPage(me: Me, rerender: () => void): Promise<HTMLElement> {
  const [budgets, access] = await Promise.all([
    api<{ data: Budget[] }>('/api/budgets'),
    api<{ available: boolean; data: AccessRequest[] }>('/api/access-requests'),
  ]);
  const decide = (id: string, decision: 'approve' | 'deny') => async () => {
    try {
      await api(`/api/access-requests/${id}/${decision}`, { method: 'POST', body: {} });
      rerender();
    } catch (err) {
      alert(err instanceof Error ? err.message : String(err));
      // Decided elsewhere in the meantime (409), or refused: show the requests as they stand now.
      rerender();
    }
  };
  const rows = access.data.map((r) => {
    // An approved request says what became of its grant, and for how long it was granted (a lead may change the hours).
    const status = r.status === 'approved' && r.grant !== null && r.grant.state !== 'active' ? r.grant.state : r.status;
    const hours = r.grant !== null && r.grant.hours !== r.hours ? `${r.grant.hours} h (asked ${r.hours} h)` : `${r.hours} h`;
    return [
    r.id, r.userId, r.teamId ?? '—', r.tier ?? r.model ?? '', r.justification, hours, h('span', { class: 'pill', 'data-status': status }, status),
    me.can.approve && r.status === 'pending' && r.userId !== me.user
      ? h('span', {}, h('button', { class: 'primary', 'data-approve': r.id, onclick: decide(r.id, 'approve') }, 'Approve'), ' ', h('button', { class: 'danger', 'data-deny': r.id, onclick: decide(r.id, 'deny') }, 'Deny'))
      : r.decidedBy ?? '',
    ];
  });
  return h('div', {},
    h('h1', {}, 'Budgets and access'),
    card('Budgets', budgetsTable(budgets.data)),
    card('Access requests', !access.available ? note('Access requests need governance configured on this gateway.')
      : rows.length === 0 ? note('No access requests.') : table(['Id', 'Person', 'Team', 'Asks for', 'Why', 'For', 'Status', ''], rows)));
}
