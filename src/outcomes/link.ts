import { normaliseRemote } from '../importers/attribution.js';
import type { CountedOutcome } from './counted.js';
import type { SpendSlice } from './slices.js';
import { ticketsInBranch, type TicketRules } from './tickets.js';

/**
 * Linking spend to outcomes. Pure. Each slice of spend is linked by the first rule that finds anything, most
 * explicit first, and its cost is shared among the outcomes that rule found (by their count):
 *
 * 1. task-tag               requests tagged `task:PROJ-123` → outcomes naming PROJ-123
 * 2. branch                 requests made on repository R, branch B (Claude Code's cwd / gitBranch, or the
 *                           gateway's headers) → the pull request of R from B, or commits posted with branch B
 * 3. ticket                 a ticket id in the requests' branch name → outcomes naming that ticket
 * 4. person-project-window  the same person, the same project or repository, shipped within the link window after
 * 5. person-window          the same person, when the requests carry no project the outcomes know
 *
 * Explicit links (1–3) reach back `explicitMaxAgeMs` before the outcome; windows look forward `windowMs`.
 * Computed on demand, never stored: see README "Outcomes" for why.
 */
export const LINK_METHODS = ['task-tag', 'branch', 'ticket', 'person-project-window', 'person-window'] as const;
export type LinkMethod = (typeof LINK_METHODS)[number];

/** How sure each rule is that the spend was for the outcome (shown with every link; used by no arithmetic). */
export const LINK_CONFIDENCE = {
  'task-tag': 1,
  branch: 0.9,
  ticket: 0.8,
  'person-project-window': 0.5,
  'person-window': 0.3,
} as const satisfies Record<LinkMethod, number>;

export interface Link {
  /** Index into the slices given. */
  slice: number;
  outcomeId: string;
  method: LinkMethod;
  confidence: number;
  /** This link's share of the slice's cost and tokens. */
  usd: number;
  tokens: number;
}

export interface LinkOptions extends TicketRules {
  windowMs: number;
  explicitMaxAgeMs: number;
  defaultBranches: readonly string[];
}

/** Spend a few minutes after an outcome is still its own (clocks differ; the last request before a push). */
const GRACE_MS = 15 * 60_000;

/** A repository in a comparable form: a remote (any URL style) or an absolute path. */
export function repoKey(repo: string): string {
  return repo.startsWith('/') ? repo.replace(/\/+$/, '') : normaliseRemote(repo);
}

function sameProject(s: SpendSlice, o: CountedOutcome): boolean {
  if (s.projectId !== null && o.projectId != null && s.projectId === o.projectId) return true;
  if (s.repo === null || o.repo === null) return false;
  const a = repoKey(s.repo);
  const b = repoKey(o.repo);
  // A session in a subfolder of a clone belongs to it.
  return a === b || (a.startsWith('/') && a.startsWith(`${b}/`));
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

export function linkSpend(slices: readonly SpendSlice[], outcomes: readonly CountedOutcome[], opts: LinkOptions): Link[] {
  const byTicket = new Map<string, CountedOutcome[]>();
  const byBranch = new Map<string, CountedOutcome[]>();
  const byUser = new Map<string, CountedOutcome[]>();
  const knownProjects = new Set<string>();
  const shared = new Set(opts.defaultBranches);
  for (const o of outcomes) {
    for (const t of o.tickets) push(byTicket, t, o);
    if (o.branch != null && !shared.has(o.branch)) push(byBranch, o.branch, o);
    if (o.userId !== null) push(byUser, o.userId, o);
    if (o.projectId != null) knownProjects.add(`p:${o.projectId}`);
    if (o.repo !== null) knownProjects.add(`r:${repoKey(o.repo)}`);
  }
  for (const list of byUser.values()) list.sort((a, b) => a.at - b.at);

  const explicit = (s: SpendSlice) => (o: CountedOutcome) => s.start >= o.at - opts.explicitMaxAgeMs && s.start <= o.at + GRACE_MS;
  const links: Link[] = [];
  slices.forEach((s, i) => {
    if (s.costUsd <= 0 && s.tokens <= 0) return;
    const inTime = explicit(s);
    const rules: [LinkMethod, () => CountedOutcome[]][] = [
      ['task-tag', () => s.tasks.flatMap((t) => byTicket.get(t) ?? []).filter(inTime)],
      ['branch', () => (s.branch === null || shared.has(s.branch) ? [] : (byBranch.get(s.branch) ?? []).filter((o) => inTime(o) && sameProject(s, o)))],
      ['ticket', () => ticketsInBranch(s.branch, opts).flatMap((t) => byTicket.get(t) ?? []).filter(inTime)],
      ['person-project-window', () => windowed(byUser, s, opts.windowMs).filter((o) => sameProject(s, o))],
      ['person-window', () => (projectKnown(s, knownProjects) ? [] : windowed(byUser, s, opts.windowMs))],
    ];
    for (const [method, find] of rules) {
      const found = [...new Map(find().map((o) => [o.id, o])).values()];
      if (found.length === 0) continue;
      const weight = found.reduce((a, o) => a + o.count, 0);
      for (const o of found) {
        links.push({
          slice: i, outcomeId: o.id, method, confidence: LINK_CONFIDENCE[method],
          usd: (s.costUsd * o.count) / weight, tokens: (s.tokens * o.count) / weight,
        });
      }
      return;
    }
  });
  return links;
}

/** The person's outcomes shipped from the slice's start to `windowMs` after it (binary search on time). */
function windowed(byUser: Map<string, CountedOutcome[]>, s: SpendSlice, windowMs: number): CountedOutcome[] {
  if (s.userId === null) return [];
  const list = byUser.get(s.userId);
  if (list === undefined) return [];
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]!.at < s.start) lo = mid + 1;
    else hi = mid;
  }
  const out: CountedOutcome[] = [];
  for (let j = lo; j < list.length && list[j]!.at <= s.start + windowMs; j++) out.push(list[j]!);
  return out;
}

/** Whether the slice names a project or repository that any outcome belongs to. */
function projectKnown(s: SpendSlice, known: Set<string>): boolean {
  if (s.projectId !== null && known.has(`p:${s.projectId}`)) return true;
  if (s.repo === null) return false;
  const key = repoKey(s.repo);
  if (known.has(`r:${key}`)) return true;
  if (!key.startsWith('/')) return false;
  for (const k of known) if (k.startsWith('r:/') && key.startsWith(`${k.slice(2)}/`)) return true;
  return false;
}
