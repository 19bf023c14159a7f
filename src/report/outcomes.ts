import { lookaheadMs, type AnalysisConfig } from '../outcomes/analyse.js';
import { countOutcomes, SHIPPED_KINDS, type CountedOutcome } from '../outcomes/counted.js';
import type { OutcomeEvent } from '../outcomes/event.js';
import { ticketsDoneBy } from '../outcomes/metrics.js';
import { createBotTest, createPeopleResolver } from '../outcomes/people.js';
import type { OutcomeStore } from '../store/types.js';

/** What AI-assisted work produced in a period, and what it cost per unit. Pure. */
export interface OutcomeTotals {
  /** Outcome records read (0: nothing is recorded for this scope and period). */
  records: number;
  commits: number;
  /** Pull requests opened (Claude Code telemetry). */
  pullRequests: number;
  /** Pull/merge requests merged (GitHub, GitLab webhooks, import-git, the API). */
  pullRequestsMerged: number;
  /**
   * Distinct tickets closed, or named by a merged pull request: what `goodhart outcomes report` calls Tickets
   * (metrics.ts ticketsDoneBy). Here from counted work only (countedOutcomeTotals); outcomeTotals counts closures.
   */
  tickets: number;
  deployments: number;
  linesAdded: number;
  linesRemoved: number;
  /**
   * Where the lines come from: `git` (shipped work: commits from import-git or the API, else merged pull requests),
   * `telemetry` (Claude Code's own tally, when no shipped work carries lines), null (none recorded).
   */
  linesFrom: 'git' | 'telemetry' | null;
  sessions: number;
  editsAccepted: number;
  editsRejected: number;
}

export function outcomeTotals(outcomes: readonly OutcomeEvent[]): OutcomeTotals {
  const t: OutcomeTotals = { records: 0, commits: 0, pullRequests: 0, pullRequestsMerged: 0, tickets: 0, deployments: 0, linesAdded: 0, linesRemoved: 0, linesFrom: null, sessions: 0, editsAccepted: 0, editsRejected: 0 };
  for (const o of outcomes) {
    t.records++;
    switch (o.kind) {
      case 'commit':
        t.commits += o.count;
        break;
      case 'pull_request':
        t.pullRequests += o.count;
        break;
      case 'pull_request_merged':
        t.pullRequestsMerged += o.count;
        break;
      case 'ticket_closed':
        t.tickets += o.count;
        break;
      case 'deployment':
        t.deployments += o.count;
        break;
      case 'custom':
        break;
      case 'lines_of_code':
        if (o.attrs['type'] === 'removed') t.linesRemoved += o.count;
        else t.linesAdded += o.count;
        t.linesFrom = 'telemetry';
        break;
      case 'session':
        t.sessions += o.count;
        break;
      case 'edit_decision':
        if (o.attrs['decision'] === 'reject') t.editsRejected += o.count;
        else t.editsAccepted += o.count;
        break;
    }
  }
  return t;
}

export interface CostPerOutcome {
  perCommit: number | null;
  /** Per merged pull request when merges are recorded, else per pull request opened. */
  perPullRequest: number | null;
  perTicket: number | null;
  perDeployment: number | null;
  /** Per 1,000 lines added. */
  perKiloLine: number | null;
  /** Accepted share of offered edits (0…1), when edits were recorded. */
  editAcceptance: number | null;
}

const per = (cost: number, n: number): number | null => (n > 0 ? cost / n : null);

export function costPerOutcome(costUsd: number, t: OutcomeTotals): CostPerOutcome {
  const edits = t.editsAccepted + t.editsRejected;
  return {
    perCommit: per(costUsd, t.commits),
    perPullRequest: per(costUsd, t.pullRequestsMerged > 0 ? t.pullRequestsMerged : t.pullRequests),
    perTicket: per(costUsd, t.tickets),
    perDeployment: per(costUsd, t.deployments),
    perKiloLine: per(costUsd, t.linesAdded / 1000),
    editAcceptance: edits > 0 ? t.editsAccepted / edits : null,
  };
}

const DAY_MS = 86_400_000;

/**
 * The totals of a period as `goodhart outcomes report` counts shipped work (counted.ts: reverts and what they revert
 * left out, people resolved from the recorded author, telemetry commits only where git reported none), with the
 * activity telemetry describes (pull requests opened, lines, sessions, edits) as recorded. Outcomes up to the revert
 * window after the period are read, so a later revert still cancels. `userId`: one person's.
 */
export async function countedOutcomeTotals(
  store: Pick<OutcomeStore, 'listOutcomes'>,
  config: AnalysisConfig,
  range: { since: number; until: number },
  userId?: string,
): Promise<OutcomeTotals> {
  const all = await store.listOutcomes({ since: range.since, until: range.until + lookaheadMs(config) });
  const teamOf = new Map(config.users.map((u) => [u.id, u.team ?? null]));
  const { counted } = countOutcomes(all, {
    revertWindowMs: config.outcomes.revertWindowDays * DAY_MS,
    resolve: createPeopleResolver(config),
    teamOf: (u) => teamOf.get(u) ?? null,
    isBot: createBotTest(config.outcomes),
  });
  const inScope = (o: OutcomeEvent): boolean => o.at >= range.since && o.at < range.until && (userId === undefined || o.userId === userId);
  const shipped = new Set<string>(SHIPPED_KINDS);
  const activity = all.filter((o) => !shipped.has(o.kind) && inScope(o));
  const work = counted.filter(inScope);
  const a = outcomeTotals(activity);
  const w = outcomeTotals(work);
  const tickets = new Set(work.flatMap(ticketsDoneBy)).size;
  const lines = shippedLines(work) ?? { linesAdded: a.linesAdded, linesRemoved: a.linesRemoved, linesFrom: a.linesFrom };
  return { ...a, ...lines, records: activity.length + work.length, commits: w.commits, pullRequestsMerged: w.pullRequestsMerged, tickets, deployments: w.deployments };
}

/**
 * Lines of shipped work, each change once: per repository, its commits' lines when any commit of it carries them
 * (import-git, the API), else its merged pull requests' (GitHub's additions / deletions; a push lists no line counts).
 * A pull request's lines are its commits' lines, so adding both would count them twice. Null when nothing carries any.
 */
function shippedLines(work: readonly CountedOutcome[]): Pick<OutcomeTotals, 'linesAdded' | 'linesRemoved' | 'linesFrom'> | null {
  const carries = (o: CountedOutcome): boolean => o.linesAdded != null || o.linesRemoved != null;
  const reposWithCommitLines = new Set(work.filter((o) => o.kind === 'commit' && carries(o)).map((o) => o.repo));
  let linesAdded = 0;
  let linesRemoved = 0;
  let any = false;
  for (const o of work) {
    if (!carries(o)) continue;
    if (o.kind === 'commit' || (o.kind === 'pull_request_merged' && !reposWithCommitLines.has(o.repo))) {
      linesAdded += o.linesAdded ?? 0;
      linesRemoved += o.linesRemoved ?? 0;
      any = true;
    }
  }
  return any ? { linesAdded, linesRemoved, linesFrom: 'git' } : null;
}
