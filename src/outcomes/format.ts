import { formatWallTime } from '../report/dates.js';
import { formatCount, formatUsd, plural } from '../report/format.js';
import { drawTable } from '../report/table.js';
import { visibleText } from '../report/visible.js';
import type { RepoImportSummary } from './git/import.js';
import type { EfficiencyRow } from './metrics.js';
import type { OutcomeView } from './view.js';

/** Terminal output for outcomes: the efficiency view and import summaries. No colours (same in a pipe and a test). */

/** Whole dollars from $100 (a narrow table), cents below, and spend under a cent as it is (format.ts formatUsd). */
const money = (n: number | null): string => (n === null ? '–' : formatUsd(n, Math.abs(n) >= 100 ? 0 : 2));
const pct = (n: number | null): string => (n === null ? '–' : `${Math.round(n * 100)}%`);
/** Token counts for a narrow column: `950`, `12k`, `3.4M`, `44.7B`, `1.2T`, and grouped trillions beyond (`1,234T`). */
export function compact(n: number | null): string {
  if (n === null) return '–';
  if (Math.round(n) < 1e3) return n.toFixed(0);
  const units = [[1e3, 'k', 0], [1e6, 'M', 1], [1e9, 'B', 1], [1e12, 'T', 1]] as const;
  let i = 0;
  while (i < units.length - 1 && n >= units[i + 1]![0]) i++;
  // A figure that rounds up to 1,000 of its unit is 1 of the next: 999,999 is `1.0M`, not `1000k`.
  if (i < units.length - 1 && Number((n / units[i]![0]).toFixed(units[i]![2])) >= 1e3) i++;
  const [size, suffix, digits] = units[i]!;
  const v = n / size;
  return v >= 1e3 ? `${formatCount(Math.round(v))}${suffix}` : `${v.toFixed(digits)}${suffix}`;
}

/** A change beyond ten times is said as such: `+356501431%` reads as noise, not as a trend. */
const TREND_SHOWN = 9.99;

function trendCell(r: EfficiencyRow): string {
  const { change, direction } = r.trend;
  if (change === null) return '–';
  const arrow = direction === 'improving' ? '↓' : direction === 'worsening' ? '↑' : '→';
  if (change > TREND_SHOWN) return `${arrow} >+999%`;
  return `${arrow} ${change > 0 ? '+' : ''}${Math.round(change * 100)}%`;
}

export function formatEfficiencyTable(rows: readonly EfficiencyRow[], label = 'Team'): string {
  const body = rows.map((r) => [
    r.subject.kind === 'org' ? 'Organisation' : r.subject.id,
    money(r.spendUsd),
    formatCount(r.outcomes.commits),
    formatCount(r.outcomes.mergedPrs),
    formatCount(r.outcomes.tickets),
    formatCount(r.outcomes.deployments),
    money(r.costPerOutcome),
    money(r.costPerMergedPr),
    compact(r.tokensPerOutcome),
    pct(r.linkedShare),
    pct(r.aiCoAuthoredShare),
    r.spendOutcomeCorrelation === null ? '–' : r.spendOutcomeCorrelation.toFixed(2),
    trendCell(r),
  ]);
  return drawTable(
    {
      head: [label, 'Spend', 'Commits', 'PRs', 'Tickets', 'Deploys', 'Cost/outcome', 'Cost/PR', 'Tokens/outcome', 'Linked', 'AI co-auth.', 'r(spend,out)', 'Trend'],
      aligns: ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
      compact: true,
    },
    body,
  );
}

export function formatView(view: OutcomeView, timeZone = 'UTC'): string {
  const period = `${formatWallTime(view.since, timeZone).slice(0, 10)} – ${formatWallTime(view.until - 1, timeZone).slice(0, 10)}`;
  const who = view.viewer.role === 'person' ? `your outcomes (${view.viewer.userId})` : view.viewer.role === 'lead' ? `team ${view.viewer.teamId}` : 'every team';
  const lines = [`Outcomes, ${who}, ${period} (${timeZone}; weeks for the trend and r are UTC). Cost per outcome = all AI spend / outcomes; Trend = cost per outcome, later weeks vs earlier.`];
  if (view.rows.length === 0) lines.push('No spend and no outcomes in this period.');
  else lines.push(formatEfficiencyTable(view.rows, view.viewer.role === 'person' ? 'Person' : 'Team'));
  if (view.reverted > 0) lines.push(`${plural(view.reverted, 'change')} reverted within the revert window ${view.reverted === 1 ? 'is' : 'are'} not counted.`);
  for (const q of view.questions) lines.push(`? ${q.summary}\n  ${q.suggestion}`);
  const open = Object.entries(view.openQuestions).filter(([, n]) => n > 0);
  if (open.length > 0) lines.push(`Open questions (weeks of large spend with nothing linked; shown to each person): ${open.map(([t, n]) => `${t} ${n}`).join(', ')}.`);
  // Team and person ids come from the store: their control characters are shown, not sent to the terminal.
  return visibleText(lines.join('\n'));
}

export function formatImportSummary(rows: readonly RepoImportSummary[]): string {
  return rows
    .map((r) => {
      const head = `${r.repo}${r.projectId !== null ? ` (project ${r.projectId})` : ''}: ${r.incremental ? 'new commits only' : 'full history'}`;
      const body = `  ${plural(r.commits, 'commit')} (${formatCount(r.aiCoAuthored)} AI co-authored, ${plural(r.reverts, 'revert')}), ${plural(r.prMerges, 'merged pull request')}, ${plural(r.syncMerges, 'other merge')}; ${plural(r.inserted, 'new outcome')} stored.`;
      const extra = [
        r.skippedRecords > 0 ? `  ${plural(r.skippedRecords, 'unreadable log record')} skipped.` : '',
        r.unmappedAuthors.length > 0
          ? `  ${plural(r.unmappedAuthors.length, 'author')} ${r.unmappedAuthors.length === 1 ? 'maps' : 'map'} to no person, kept under their email: ${r.unmappedAuthors.slice(0, 5).join(', ')}${r.unmappedAuthors.length > 5 ? '…' : ''}. Add them to outcomes.people.`
          : '',
      ].filter((l) => l !== '');
      return [head, body, ...extra].join('\n');
    })
    .join('\n');
}
