import type { Finding } from '../detect/types.js';
import { periodWindow, type Window } from '../policy/period.js';
import { formatWallTime, parseDateOption } from './dates.js';
import { totalOf, type AggregateTotals } from './format.js';
import { money, pct, spendCell } from './audit-render.js';
import { countedOutcomeTotals, type OutcomeTotals } from './outcomes.js';
import { changePercent, dayLabels, seriesOf } from './series.js';
import type { ReportSources } from './sources.js';
import { digestSuggestions, type Suggestion } from './suggestions.js';
import { formatCount, plural } from './format.js';
import type { EventSource } from '../usage/event.js';

/**
 * A person's weekly digest: their usage, what it produced, and two or three suggestions from their own findings.
 * Only about that person (no colleague is named or ranked): it goes to them, not to a channel.
 */
export interface DigestData {
  userId: string;
  week: Window;
  /** Local Monday of the week, `YYYY-MM-DD`. */
  weekOf: string;
  timeZone: string;
  /** `--source`: the usage is of this source alone; null: every source added up. */
  source: EventSource | null;
  totals: AggregateTotals;
  previousWeekUsd: number;
  changePercent: number | null;
  daily: { labels: string[]; values: number[] };
  /** `costUsd` leaves out `unpricedRequests` (models with no known price). */
  models: { model: string; costUsd: number; requests: number; unpricedRequests: number }[];
  outcomes: OutcomeTotals | null;
  findings: Finding[] | null;
  suggestions: Suggestion[];
}

/** The week containing `day` (`YYYY-MM-DD` in the zone), or the last complete week before `now`. */
export function digestWeek(day: string | undefined, now: number, timeZone: string): Window {
  if (day === undefined) return periodWindow('week', periodWindow('week', now, timeZone).start - 1, timeZone);
  return periodWindow('week', parseDateOption(day, { option: '--week', timeZone }), timeZone);
}

/** `source`: the usage of that source only (`goodhart digest --source`), as `goodhart report --source` reads it. */
export async function collectDigest(src: ReportSources, userId: string, week: Window, source?: EventSource): Promise<DigestData> {
  const tz = src.timeZone;
  const only = source === undefined ? {} : { source };
  const range = { since: week.start, until: week.end, userId, ...only };
  const prev = periodWindow('week', week.start - 1, tz);
  const [daily, models, prevRows, outcomes, findings] = await Promise.all([
    src.store.aggregate('day', range, { timeZone: tz }),
    src.store.aggregate('model', range, { timeZone: tz }),
    src.store.aggregate('month', { since: prev.start, until: prev.end, userId, ...only }, { timeZone: tz }),
    src.outcomes === null ? null : countedOutcomeTotals(src.outcomes, src.analysis, { since: week.start, until: week.end }, userId),
    src.findings === null ? null : src.findings.listFindings({ since: week.start, until: week.end, userId }),
  ]);
  const totals = totalOf(daily);
  const previousWeekUsd = prevRows.reduce((a, r) => a + r.costUsd, 0);
  const labels = dayLabels(week.start, week.end, tz);
  const modelRows = models.map((m) => ({ model: m.key, costUsd: m.costUsd, requests: m.requests, unpricedRequests: m.unpricedRequests }));
  // Stored input counts every input token, cache reads and writes included.
  const input = totals.inputTokens;
  return {
    userId,
    week,
    weekOf: labels[0] ?? formatWallTime(week.start, tz).slice(0, 10),
    timeZone: tz,
    source: source ?? null,
    totals,
    previousWeekUsd,
    changePercent: changePercent(totals.costUsd, previousWeekUsd),
    daily: { labels, values: seriesOf(daily, labels) },
    models: modelRows,
    outcomes,
    findings,
    suggestions: digestSuggestions(findings ?? [], {
      costUsd: totals.costUsd,
      requests: totals.requests,
      cacheShare: input > 0 ? totals.cacheReadTokens / input : null,
    }),
  };
}

/** ` 3 of them used models with no known price: their cost is not in the dollars.`, or nothing. */
function unpricedText(t: AggregateTotals): string {
  if (t.unpricedRequests === 0) return '';
  const who = t.unpricedRequests >= t.requests ? (t.requests === 1 ? 'It' : 'All of them') : `${formatCount(t.unpricedRequests)} of them`;
  return ` ${who} used ${t.unpricedRequests === 1 ? 'a model' : 'models'} with no known price: ${t.unpricedRequests === 1 ? 'its' : 'their'} cost is not in the dollars.`;
}

const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

export function digestMarkdown(d: DigestData): string {
  const t = d.totals;
  const change = d.changePercent === null ? '' : ` (${pct(d.changePercent)} on the week before)`;
  const lines = [
    `# Your AI usage, week of ${d.weekOf}`,
    '',
    `Hi ${d.userId}: this is only about your own usage, and only you receive it.`,
    '',
    '## Usage',
    '',
    ...(d.source === null ? [] : [`_Usage recorded by source ${d.source} only._`, '']),
    t.requests === 0
      ? 'No requests were recorded for you this week.'
      : `${plural(t.requests, 'request')}, ${money(t.costUsd)}${change}.${unpricedText(t)} ${formatCount(t.inputTokens)} input tokens (${formatCount(t.cacheReadTokens)} from the cache), ${formatCount(t.outputTokens)} output.`,
    '',
  ];
  if (t.requests > 0) {
    lines.push(`| ${WEEKDAYS.join(' | ')} |`, `|${WEEKDAYS.map(() => '---:').join('|')}|`, `| ${d.daily.values.map((v) => money(v)).join(' | ')} |`, '');
    lines.push('| Model | Requests | Spend |', '|---|---:|---:|', ...d.models.slice(0, 5).map((m) => `| ${m.model} | ${formatCount(m.requests)} | ${spendCell(m)} |`), '');
  }
  lines.push('## What it produced', '');
  if (d.outcomes === null || d.outcomes.records === 0) {
    lines.push('No outcomes (commits, pull requests, tickets, lines) were recorded for you this week, so this digest cannot weigh spend against them.', '');
  } else {
    // The counts `goodhart outcomes report` gives for the same person and week (countedOutcomeTotals).
    const o = d.outcomes;
    const work = `${plural(o.commits, 'commit')}, ${plural(o.pullRequestsMerged, 'merged pull request')}, ${plural(o.tickets, 'ticket')} (closed, or named by a merged pull request), ${plural(o.deployments, 'deployment')}.`;
    const lineText =
      o.linesFrom === null ? '' : ` ${plural(o.linesAdded, 'line')} added and ${formatCount(o.linesRemoved)} removed${o.linesFrom === 'telemetry' ? ' (as Claude Code reported them)' : ''}.`;
    const edits = o.editsAccepted + o.editsRejected;
    const editText = edits > 0 ? ` You accepted ${formatCount(o.editsAccepted)} of ${plural(edits, 'suggested edit')}.` : '';
    lines.push(`${work}${lineText}${editText}`, '');
  }
  lines.push('## Suggestions', '');
  if (d.findings === null) lines.push('_Waste detection is not available on this store, so these are general._', '');
  d.suggestions.forEach((s, i) => lines.push(`${i + 1}. ${s.text}`));
  lines.push('');
  return lines.join('\n');
}

/** The webhook body of a digest: the recipient, so the receiver (a mailer, a DM bot) can deliver it to them. */
export function digestWebhookBody(d: DigestData, markdown: string, recipient: { email?: string | undefined; name?: string | undefined }): object {
  return {
    type: 'goodhart.digest.weekly',
    recipient: { user: d.userId, ...recipient },
    weekOf: d.weekOf,
    text: markdown,
    costUsd: Math.round(d.totals.costUsd * 1e6) / 1e6,
    requests: d.totals.requests,
    suggestions: d.suggestions.map((s) => ({ rule: s.rule, text: s.text, wastedUsd: Math.round(s.wastedUsd * 100) / 100 })),
  };
}
