import type { OutcomeEvent } from '../event.js';
import { detectAiTools } from '../ai-coauthor.js';
import { outcomeIds } from '../ids.js';
import type { Who } from '../people.js';
import { ticketsOf, type TicketRules } from '../tickets.js';
import { classifyCommit, type GitCommit } from './parse-log.js';

/**
 * One commit of `git log` → the outcomes it stands for. Pure.
 * - An ordinary commit is a `commit` (a revert says which sha it reverts; it never counts itself, see counted.ts).
 * - A squash-merged pull request (`Title (#12)`) is a `commit` and a `pull_request_merged`.
 * - A merge commit of a pull request is a `pull_request_merged`, attributed to the author of the branch's last
 *   commit (the merge commit's author is whoever pressed the button) once that commit is read: `pendingAuthor`.
 * - Other merges (syncing main into a branch, merging a revert branch) are not work: their commits count alone.
 */
export interface RepoContext {
  repo: string;
  projectId: string | null;
  who: (email: string) => Who;
  rules: TicketRules;
}

export interface CommitOutcomes {
  outcomes: OutcomeEvent[];
  /** For a pull request merge: the sha whose author it should be attributed to. */
  pendingAuthor: string | null;
  kind: 'commit' | 'pr-merge' | 'sync-merge';
}

export function commitToOutcomes(c: GitCommit, ctx: RepoContext): CommitOutcomes {
  const cls = classifyCommit(c);
  // GitHub's "Revert" button opens `revert-12-…`: undoing a pull request is not a new one (its revert commit
  // inside makes the original stop counting).
  if (cls.kind === 'sync-merge' || (cls.kind === 'pr-merge' && /^revert-\d+-/.test(cls.branch ?? ''))) {
    return { outcomes: [], pendingAuthor: null, kind: 'sync-merge' };
  }
  const who = ctx.who(c.authorEmail);
  const ai = detectAiTools(c.message, { name: c.authorName, email: c.authorEmail });
  const base = {
    userId: who.userId,
    teamId: who.teamId,
    repo: ctx.repo,
    sessionId: null,
    count: 1,
    source: 'git' as const,
    attrs: { authorEmail: c.authorEmail },
    projectId: ctx.projectId,
    sha: c.sha,
    linesAdded: c.linesAdded,
    linesRemoved: c.linesRemoved,
    filesChanged: c.filesChanged,
    aiTools: ai.aiTools,
  };
  if (cls.kind === 'pr-merge') {
    const pr: OutcomeEvent = {
      ...base,
      id: outcomeIds.pullRequest(ctx.repo, cls.prNumber),
      kind: 'pull_request_merged',
      at: c.commitTime,
      branch: cls.branch,
      prNumber: cls.prNumber,
      tickets: ticketsOf({ text: c.message, branch: cls.branch, repo: ctx.repo }, ctx.rules),
      // The merge message names the pull request, not how its commits were written: unknown unless it says.
      aiCoAuthored: ai.aiCoAuthored ? true : null,
    };
    return { outcomes: [pr], pendingAuthor: c.parents[1] ?? null, kind: cls.kind };
  }
  const tickets = ticketsOf({ text: c.message, repo: ctx.repo }, ctx.rules);
  const commit: OutcomeEvent = {
    ...base,
    id: outcomeIds.commit(ctx.repo, c.sha),
    kind: 'commit',
    at: c.authorTime,
    prNumber: cls.squashedPr,
    tickets,
    aiCoAuthored: ai.aiCoAuthored,
    revertsSha: cls.revertsSha,
  };
  if (cls.squashedPr === null) return { outcomes: [commit], pendingAuthor: null, kind: cls.kind };
  const squashed: OutcomeEvent = {
    ...commit,
    id: outcomeIds.pullRequest(ctx.repo, cls.squashedPr),
    kind: 'pull_request_merged',
    at: c.commitTime,
  };
  return { outcomes: [commit, squashed], pendingAuthor: null, kind: cls.kind };
}
