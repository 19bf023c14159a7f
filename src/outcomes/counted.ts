import type { OutcomeEvent, OutcomeKind, OutcomeSource } from './event.js';
import type { Who } from './people.js';
import { revertedPrOf } from './reverts.js';

/**
 * Which stored outcomes count as shipped work. Pure; applied when metrics are computed, never at import, so a
 * changed revert window or people mapping applies to all history at once.
 *
 * - Shipped work is commits, merged pull requests, closed tickets, deployments and custom outcomes. Telemetry
 *   counts (lines of code, sessions, edit decisions, pull requests *opened*) describe activity, not outcomes.
 * - A revert never counts, and a commit or merged pull request reverted within `revertWindowMs` stops counting:
 *   by its sha (`This reverts commit X`), or, for a pull request, by its number (`attrs.revertsPr`, reverts.ts).
 * - A commit counts once, as it reached the default branch (push webhooks record no other branch's, import-git reads
 *   HEAD): a squash commit of pull request N (`Title (#N)`, the sha N was merged as) counts as the commits N had
 *   (`attrs.commits`, GitHub's count), so a pull request's commits count the same whichever way it was merged.
 * - Claude Code's commit counts (OTel, and the analytics API's `commits_by_claude_code`) are a fallback: used for a
 *   person and week only when git, a webhook or the API reported none of their commits that week (they describe the
 *   same commits).
 * - People are resolved again from the author recorded with the outcome (`attrs.authorEmail` / `authorLogin`).
 * - Bots' work is no one's (`isBot`: dependency updates, release automation): left out, as `bots`, unless
 *   `outcomes.countBots`.
 */
/** On a merged pull request: how many commits it had (GitHub's `pull_request.commits`). */
export const PR_COMMITS_ATTR = 'commits';

export const SHIPPED_KINDS = ['commit', 'pull_request_merged', 'ticket_closed', 'deployment', 'custom'] as const satisfies readonly OutcomeKind[];
export type ShippedKind = (typeof SHIPPED_KINDS)[number];

export interface CountedOutcome extends OutcomeEvent {
  kind: ShippedKind;
  tickets: string[];
}

export interface CountedResult {
  counted: CountedOutcome[];
  /** Commits and pull requests that were reverted within the window. */
  reverted: OutcomeEvent[];
  reverts: number;
  /** Claude Code commit counts (OTel, analytics) left out because git or a webhook reported that person's commits that week. */
  telemetryReplaced: number;
  /** Outcomes left out because a bot authored them. */
  bots: number;
}

const WEEK_MS = 7 * 86_400_000;
/** Monday 00:00 UTC of the week `at` is in (epoch 0 was a Thursday). */
export function weekStart(at: number): number {
  return Math.floor((at - 4 * 86_400_000) / WEEK_MS) * WEEK_MS + 4 * 86_400_000;
}

const isShipped = (k: OutcomeKind): k is ShippedKind => (SHIPPED_KINDS as readonly string[]).includes(k);
/** Sources whose commit counts are Claude Code's own tally of commits git and the webhooks report one by one. */
const TELEMETRY_SOURCES: ReadonlySet<OutcomeSource> = new Set<OutcomeSource>(['otel', 'anthropic-claude-code']);

export function countOutcomes(
  all: readonly OutcomeEvent[],
  opts: {
    revertWindowMs: number;
    resolve?: (p: { email?: string | null; login?: string | null; host?: string | null }) => Who;
    teamOf?: (userId: string) => string | null;
    /** Whether the recorded author is a bot (people.ts createBotTest); default: none is. */
    isBot?: (attrs: Readonly<Record<string, string>>) => boolean;
  },
): CountedResult {
  const people = all.map((o) => reattribute(o, opts));
  const isRevert = (o: OutcomeEvent): boolean => !!o.revertsSha || revertedPrOf(o) !== null;
  const inWindow = (o: OutcomeEvent, r: { at: number }): boolean => r.at >= o.at && r.at - o.at <= opts.revertWindowMs;
  // Reverts name the sha in full, or abbreviated (7+ characters): index by repository and the first 7.
  const revertsOf = new Map<string, { sha: string; at: number }[]>();
  const key = (repo: string | null, sha: string): string => `${repo ?? ''}\u0000${sha.slice(0, 7).toLowerCase()}`;
  const addShaRevert = (repo: string | null, sha: string, at: number): void => {
    const list = revertsOf.get(key(repo, sha)) ?? [];
    list.push({ sha: sha.toLowerCase(), at });
    revertsOf.set(key(repo, sha), list);
  };
  for (const o of people) if (o.revertsSha) addShaRevert(o.repo, o.revertsSha, o.at);
  // A revert of pull request N (GitHub's or GitLab's Revert button) cancels that pull request, and through its
  // merge or squash commit's sha whatever else records that commit (the squash commit of a push or of import-git).
  const prReverts = new Map<string, { at: number }[]>();
  const prKey = (repo: string | null, n: number): string => `${repo ?? ''}\u0000${n}`;
  for (const o of people) {
    const n = revertedPrOf(o);
    if (n === null || o.repo === null) continue;
    prReverts.set(prKey(o.repo, n), [...(prReverts.get(prKey(o.repo, n)) ?? []), { at: o.at }]);
  }
  for (const o of people) {
    if (o.kind !== 'pull_request_merged' || isRevert(o) || !o.sha || o.prNumber == null) continue;
    for (const r of prReverts.get(prKey(o.repo, o.prNumber)) ?? []) if (inWindow(o, r)) addShaRevert(o.repo, o.sha, r.at);
  }
  const reverted = new Set<string>();
  const revertedList: OutcomeEvent[] = [];
  for (const o of people) {
    if (isRevert(o) || (o.kind !== 'commit' && o.kind !== 'pull_request_merged')) continue;
    const sha = o.sha?.toLowerCase() ?? null;
    const bySha = sha !== null && revertsOf.get(key(o.repo, sha))?.some((r) => sha.startsWith(r.sha) && inWindow(o, r)) === true;
    const byPr = o.kind === 'pull_request_merged' && o.prNumber != null && prReverts.get(prKey(o.repo, o.prNumber))?.some((r) => inWindow(o, r)) === true;
    if (bySha || byPr) {
      reverted.add(o.id);
      revertedList.push(o);
    }
  }
  // Squash merges: the one commit on the default branch stands for the pull request's commits.
  const prCommits = new Map<string, { sha: string; commits: number }>();
  for (const o of people) {
    const n = Number(o.attrs[PR_COMMITS_ATTR]);
    if (o.kind === 'pull_request_merged' && o.prNumber != null && o.sha && Number.isInteger(n) && n > 0) prCommits.set(prKey(o.repo, o.prNumber), { sha: o.sha.toLowerCase(), commits: n });
  }
  const commitsOf = (o: OutcomeEvent): number => {
    if (o.kind !== 'commit' || o.prNumber == null || !o.sha) return o.count;
    const pr = prCommits.get(prKey(o.repo, o.prNumber));
    return pr !== undefined && pr.sha === o.sha.toLowerCase() ? pr.commits : o.count;
  };
  const gitWeeks = new Set<string>();
  for (const o of people) if (o.kind === 'commit' && !TELEMETRY_SOURCES.has(o.source)) gitWeeks.add(`${o.userId ?? ''}\u0000${weekStart(o.at)}`);
  let telemetryReplaced = 0;
  let reverts = 0;
  let bots = 0;
  const counted: CountedOutcome[] = [];
  for (const o of people) {
    if (!isShipped(o.kind)) continue;
    if (isRevert(o)) {
      reverts += 1;
      continue;
    }
    if (reverted.has(o.id)) continue;
    if (opts.isBot?.(o.attrs) === true) {
      bots += o.count;
      continue;
    }
    if (o.kind === 'commit' && TELEMETRY_SOURCES.has(o.source) && gitWeeks.has(`${o.userId ?? ''}\u0000${weekStart(o.at)}`)) {
      telemetryReplaced += o.count;
      continue;
    }
    counted.push({ ...o, kind: o.kind, tickets: o.tickets ?? [], count: commitsOf(o) });
  }
  return { counted, reverted: revertedList, reverts, telemetryReplaced, bots };
}

/** The attributes that name an outcome's author, which reports attribute it by (`reattribute`). */
export const AUTHOR_ATTRS: ReadonlySet<string> = new Set(['authorEmail', 'authorLogin', 'authorHost']);

function reattribute(o: OutcomeEvent, opts: Parameters<typeof countOutcomes>[1]): OutcomeEvent {
  let { userId, teamId } = o;
  const email = o.attrs['authorEmail'];
  const login = o.attrs['authorLogin'];
  if (opts.resolve !== undefined && (email !== undefined || login !== undefined)) {
    const who = opts.resolve({ email: email ?? null, login: login ?? null, host: o.attrs['authorHost'] ?? null });
    userId = who.userId;
    teamId = who.teamId ?? teamId;
  }
  if (teamId === null && userId !== null && opts.teamOf !== undefined) teamId = opts.teamOf(userId);
  return userId === o.userId && teamId === o.teamId ? o : { ...o, userId, teamId };
}
