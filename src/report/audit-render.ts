import { formatWallTime } from './dates.js';
import type { AuditData, Section } from './audit-data.js';
import type { BudgetStatus } from './budget-status.js';
import { formatCount, formatUsd, plural } from './format.js';
import { barChart, escapeXml, horizontalBars } from './svg-chart.js';

/**
 * The audit as Markdown (for a wiki or an email) and as one self-contained HTML file with inline SVG charts (no
 * script, no external resource). Pure: the same sections in the same order, built from one list of blocks.
 */

/** The money formatter of every report (format.ts): spend under a cent shows, not as $0.00. */
export const money = (n: number): string => formatUsd(n);
/**
 * Spend of a row that may hold requests to models with no known price (their cost is not in `costUsd`, and they are
 * not free): `n/a` when all of them are, `$12.00 + 3 unpriced` when some are (`report` prints `(+3 n/a)`).
 */
export const spendCell = (r: { costUsd: number; requests: number; unpricedRequests: number }): string =>
  r.requests > 0 && r.unpricedRequests >= r.requests ? 'n/a' : r.unpricedRequests > 0 ? `${money(r.costUsd)} + ${formatCount(r.unpricedRequests)} unpriced` : money(r.costUsd);
/** A row's share of the priced spend; `n/a` for a row with no priced request. */
const shareOf = (r: { costUsd: number; requests: number; unpricedRequests: number }, whole: number): string =>
  r.requests > 0 && r.unpricedRequests >= r.requests ? 'n/a' : share(r.costUsd, whole);
/** A change in percent; beyond ten times (`+2140453083.6%` on a month of cents) said as `>+999%`. */
export const pct = (n: number | null): string => (n === null ? 'n/a' : n > 999 ? '>+999%' : `${n > 0 ? '+' : ''}${n}%`);
const amountIn = (unit: string, n: number | null): string => (n === null ? 'n/a' : unit === 'usd' ? money(n) : `${formatCount(Math.round(n))} tokens`);

type Block =
  | { kind: 'h2'; text: string }
  | { kind: 'p'; text: string }
  | { kind: 'note'; text: string }
  | { kind: 'table'; head: string[]; rows: string[][]; align?: ('l' | 'r')[] }
  | { kind: 'chart'; svg: string };

function budgetRows(rows: readonly BudgetStatus[]): string[][] {
  return rows.map((b) => [
    b.budget,
    b.scope,
    b.period,
    amountIn(b.unit, b.amount),
    amountIn(b.unit, b.spent),
    b.usedPercent === null ? 'n/a' : `${b.usedPercent}%`,
    b.projection === null ? 'n/a' : `${amountIn(b.unit, b.projection.projected)} (${b.projection.method})`,
    b.projection?.exhaustionDate ?? (b.spent === null ? 'n/a' : 'not this period'),
    b.note ?? '',
  ]);
}

function section<T>(s: Section<T>, title: string, body: (d: T) => Block[]): Block[] {
  return [{ kind: 'h2', text: title }, ...(s.available ? body(s.data) : [{ kind: 'note' as const, text: s.note }])];
}

export function auditBlocks(d: AuditData): Block[] {
  const t = d.spend.totals;
  const blocks: Block[] = [
    {
      kind: 'p',
      text: `Period ${d.period} (${d.timeZone})${d.partial ? `, to ${formatWallTime(d.generatedAt, d.timeZone)} (month not over)` : ''}.${d.source === null ? '' : ` Spend of source ${d.source} only (--source).`} Generated ${new Date(d.generatedAt).toISOString()}.`,
    },
    { kind: 'h2', text: 'Spend and trend' },
    {
      kind: 'p',
      text: `Spend ${money(t.costUsd)} over ${plural(t.requests, 'request')}; ${d.partial ? `previous month to the same point ${money(d.spend.previousToDateUsd)} (${pct(d.spend.changePercent)}), all of it ${money(d.spend.previousMonthUsd)}` : `previous month ${money(d.spend.previousMonthUsd)} (${pct(d.spend.changePercent)})`}.${t.unpricedRequests > 0 ? ` ${plural(t.unpricedRequests, 'request')} used models with no known price and ${t.unpricedRequests === 1 ? 'is' : 'are'} not in the dollars.` : ''}`,
    },
    { kind: 'chart', svg: barChart({ title: `Spend per day, ${d.period}`, labels: d.spend.daily.labels.map((l) => l.slice(8)), values: d.spend.daily.values, format: money }) },
    { kind: 'chart', svg: barChart({ title: 'Spend per month (last six)', labels: d.spend.months.map((m) => m.key), values: d.spend.months.map((m) => m.costUsd), format: money, height: 200 }) },
    { kind: 'table', head: ['Month', 'Spend'], rows: d.spend.months.map((m) => [m.key, money(m.costUsd)]), align: ['l', 'r'] },
    ...section(d.budgets, 'Budgets and forecasts', (b) => [
      { kind: 'table', head: ['Budget', 'Scope', 'Period', 'Amount', 'Spent', 'Used', 'Projected at period end', 'Runs out', 'Note'], rows: budgetRows(b.statuses), align: ['l', 'l', 'l', 'r', 'r', 'r', 'r', 'l', 'l'] },
      ...(b.importedUsd >= 0.005
        ? [{ kind: 'note' as const, text: `Budgets count gateway traffic only (what the gateway enforces): ${money(b.importedUsd)} of the ${money(t.costUsd)} spent in ${d.period} was imported (coding-agent logs, provider usage APIs, OTLP) and is not counted against them.` }]
        : []),
    ]),
    { kind: 'h2', text: 'Spend by team' },
    d.teams.length === 0
      ? { kind: 'note', text: 'No usage in this period.' }
      : { kind: 'table', head: ['Team', 'Requests', 'Spend', 'Share'], rows: d.teams.map((r) => [r.key, formatCount(r.requests), spendCell(r), shareOf(r, t.costUsd)]), align: ['l', 'r', 'r', 'r'] },
    ...section(d.findings, 'Top findings (estimated avoidable spend)', (f) => [
      { kind: 'p', text: `${plural(f.count, 'finding')}, ${money(f.wastedUsd)} estimated avoidable. The ten largest:` },
      {
        kind: 'table',
        head: ['Start', 'Rule', 'Who', 'Avoidable', 'What happened', 'Suggestion'],
        rows: f.top.map((x) => [formatWallTime(x.start, d.timeZone).slice(0, 16), x.rule, x.teamId ? `team ${x.teamId}` : `${x.subject.kind} ${x.subject.id}`, money(x.wastedUsd), x.summary, x.suggestion]),
        align: ['l', 'l', 'l', 'r', 'l', 'l'],
      },
    ]),
    ...section(d.outcomes, 'Cost per outcome', (o) => [
      {
        kind: 'table',
        head: ['Outcome', 'Count', 'Cost each'],
        rows: [
          ['Commits', formatCount(o.totals.commits), o.cost.perCommit === null ? 'n/a' : money(o.cost.perCommit)],
          o.totals.pullRequestsMerged > 0
            ? ['Pull requests merged', formatCount(o.totals.pullRequestsMerged), o.cost.perPullRequest === null ? 'n/a' : money(o.cost.perPullRequest)]
            : ['Pull requests opened', formatCount(o.totals.pullRequests), o.cost.perPullRequest === null ? 'n/a' : money(o.cost.perPullRequest)],
          ['Tickets (closed, or named by a merged pull request)', formatCount(o.totals.tickets), o.cost.perTicket === null ? 'n/a' : money(o.cost.perTicket)],
          ['Deployments', formatCount(o.totals.deployments), o.cost.perDeployment === null ? 'n/a' : money(o.cost.perDeployment)],
          [`Lines added (per 1,000)${o.totals.linesFrom === 'telemetry' ? ', as Claude Code reported them' : ''}`, formatCount(o.totals.linesAdded), o.cost.perKiloLine === null ? 'n/a' : money(o.cost.perKiloLine)],
          ['Edits accepted', `${formatCount(o.totals.editsAccepted)} of ${formatCount(o.totals.editsAccepted + o.totals.editsRejected)}`, o.cost.editAcceptance === null ? 'n/a' : `${Math.round(o.cost.editAcceptance * 100)}% accepted`],
        ],
        align: ['l', 'r', 'r'],
      },
      {
        kind: 'note',
        text:
          d.source === null
            ? `The period's spend (${money(o.spendUsd)}: each person's week counted once, from its most detailed record, so the gateway's metering and the telemetry of the same requests are not added up) divided by the outcomes recorded in it: a trend to watch, not a price per unit of work.`
            : `The period's spend of source ${d.source} (${money(o.spendUsd)}) divided by the outcomes recorded in it: a trend to watch, not a price per unit of work.`,
      },
    ]),
    ...section(d.routing, 'Routing savings', (r) => [
      {
        kind: 'table',
        head: ['Team', 'Requested → routed', 'Routed', 'Saved', 'Would route (shadow)', 'Would save', 'Re-asked'],
        rows: r.rows.map((x) => [x.teamId ?? '(none)', `${x.modelRequested} → ${x.modelRouted}`, formatCount(x.realised.requests), money(x.realised.savedUsd), formatCount(x.potential.requests), money(x.potential.savedUsd), formatCount(x.misses)]),
        align: ['l', 'l', 'r', 'r', 'r', 'r', 'r'],
      },
      { kind: 'p', text: `Total saved ${money(r.total.realised.savedUsd)} on ${formatCount(r.total.realised.requests)} routed requests; shadow mode says ${money(r.total.potential.savedUsd)} more was possible on ${formatCount(r.total.potential.requests)}. ${r.total.misses === 1 ? '1 routed answer was' : `${formatCount(r.total.misses)} routed answers were`} asked again on a premium model (the quality guard's misses).` },
    ]),
    { kind: 'h2', text: 'Model mix' },
  ];
  if (d.models.length === 0) blocks.push({ kind: 'note', text: 'No usage in this period.' });
  else {
    blocks.push({ kind: 'chart', svg: horizontalBars({ title: 'Spend by model', labels: d.models.map((m) => m.key), values: d.models.map((m) => m.costUsd), format: money, texts: d.models.map(spendCell) }) });
    blocks.push({ kind: 'table', head: ['Model', 'Requests', 'Spend', 'Share'], rows: d.models.map((m) => [m.key, formatCount(m.requests), spendCell(m), shareOf(m, t.costUsd)]), align: ['l', 'r', 'r', 'r'] });
  }
  return blocks;
}

const share = (part: number, whole: number): string => (whole > 0 ? `${Math.round((part / whole) * 1000) / 10}%` : 'n/a');

const mdCell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function auditMarkdown(d: AuditData): string {
  const out: string[] = [`# AI spend audit: ${d.period}`, ''];
  for (const b of auditBlocks(d)) {
    switch (b.kind) {
      case 'h2':
        out.push(`## ${b.text}`, '');
        break;
      case 'p':
        out.push(b.text, '');
        break;
      case 'note':
        out.push(`> ${b.text}`, '');
        break;
      case 'table':
        out.push(`| ${b.head.map(mdCell).join(' | ')} |`);
        out.push(`|${b.head.map((_, i) => (b.align?.[i] === 'r' ? '---:' : '---')).join('|')}|`);
        for (const r of b.rows) out.push(`| ${r.map(mdCell).join(' | ')} |`);
        out.push('');
        break;
      case 'chart':
        break; // Markdown carries the tables; the HTML draws the charts.
    }
  }
  return out.join('\n');
}

const STYLE = `body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;color:#1d2430;max-width:980px;margin:24px auto;padding:0 16px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #e3e6ea;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0 16px;width:100%}th,td{border-bottom:1px solid #eef0f3;padding:4px 8px;text-align:left;vertical-align:top}
td.r,th.r{text-align:right;font-variant-numeric:tabular-nums}.note{background:#f6f7f9;border-left:3px solid #9aa4b2;padding:6px 10px;color:#444}
svg{max-width:100%;height:auto;display:block;margin:8px 0}`;

export function auditHtml(d: AuditData): string {
  const body: string[] = [];
  for (const b of auditBlocks(d)) {
    switch (b.kind) {
      case 'h2':
        body.push(`<h2>${escapeXml(b.text)}</h2>`);
        break;
      case 'p':
        body.push(`<p>${escapeXml(b.text)}</p>`);
        break;
      case 'note':
        body.push(`<p class="note">${escapeXml(b.text)}</p>`);
        break;
      case 'table': {
        const cls = (i: number): string => (b.align?.[i] === 'r' ? ' class="r"' : '');
        body.push(
          `<table><thead><tr>${b.head.map((h, i) => `<th${cls(i)}>${escapeXml(h)}</th>`).join('')}</tr></thead><tbody>${b.rows
            .map((r) => `<tr>${r.map((c, i) => `<td${cls(i)}>${escapeXml(c)}</td>`).join('')}</tr>`)
            .join('')}</tbody></table>`,
        );
        break;
      }
      case 'chart':
        body.push(b.svg);
        break;
    }
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>AI spend audit: ${escapeXml(d.period)}</title><style>${STYLE}</style></head>
<body><h1>AI spend audit: ${escapeXml(d.period)}</h1>
${body.join('\n')}
</body></html>
`;
}
