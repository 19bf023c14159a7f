/**
 * An outcome: something an AI-assisted developer produced (a commit, a merged pull request, a closed ticket, a
 * deployment), recorded next to usage events so spend can later be weighed against what it bought. Never any code
 * or message text: ticket ids, branch names and counts are extracted at the edge and the text is dropped.
 */
export const OUTCOME_KINDS = [
  'commit',
  /** A pull request Claude Code opened (OTel `claude_code.pull_request.count`): opened, not merged. */
  'pull_request',
  /** A pull request (GitHub) or merge request (GitLab) merged; `prNumber` is its number / iid. */
  'pull_request_merged',
  /** `tickets` holds the ticket id (PROJ-123, or `host/owner/repo#45` for a GitHub issue). */
  'ticket_closed',
  /** A successful deployment; `sha` is what was deployed, `attrs.environment` where. */
  'deployment',
  /** Anything else an organisation counts, posted to `POST /v1/outcomes`. */
  'custom',
  /** `attrs.type` is `added` or `removed`. */
  'lines_of_code',
  'session',
  /** A code edit offered by the agent; `attrs.decision` is `accept` or `reject`. */
  'edit_decision',
] as const;
export type OutcomeKind = (typeof OUTCOME_KINDS)[number];

/**
 * Where an outcome came from. `api` is a self-reported post (an ordinary key: the poster's word, and every API post
 * stored before trust was recorded); `api-trusted` a post by a key of `outcomes.trustedPosters` (a ticket bridge, CI).
 * Of two records of one outcome the more trusted is kept (store OUTCOME_OVERRIDE): self-reported < trusted post <
 * the provider's own (webhooks, git history).
 */
export const OUTCOME_SOURCES = ['otel', 'anthropic-claude-code', 'git', 'github', 'gitlab', 'api', 'api-trusted'] as const;
export type OutcomeSource = (typeof OUTCOME_SOURCES)[number];

export interface OutcomeEvent {
  /**
   * Deterministic. Telemetry: series identity + time, so a replayed batch inserts nothing new. Shipped work: its
   * natural key (`commit` repo+sha, `pull_request_merged` repo+number, `ticket_closed` ticket id), so the same
   * commit read by `import-git` and by a push webhook is stored once (see src/outcomes/ids.ts).
   */
  id: string;
  kind: OutcomeKind;
  userId: string | null;
  teamId: string | null;
  /** `host/owner/name` of the remote (normalised as importers do), else the repository's absolute path. */
  repo: string | null;
  sessionId: string | null;
  /**
   * Epoch milliseconds: the end of the interval the count covers (a whole day's totals, Claude Code analytics: within
   * the day, dated as its usage is, usage-api/bucket-date.ts); for a commit its author time.
   */
  at: number;
  /** How many (commits, pull requests, lines, sessions…) in the interval; 1 for one piece of shipped work. */
  count: number;
  source: OutcomeSource;
  /** Other attributes as reported (model, language, environment…), string values only. */
  attrs: Record<string, string>;

  // Shipped work (git, webhooks, the API). Absent when the source does not know (telemetry counts leave them out).
  projectId?: string | null;
  /** The branch the work was on: a pull request's head branch, the branch a push went to. */
  branch?: string | null;
  /** Commit sha; for a merged pull request the merge (or squash) commit; for a deployment what was deployed. */
  sha?: string | null;
  prNumber?: number | null;
  /** Ticket / task ids the work names (commit message, PR title, branch name, `task:` tags), deduplicated. */
  tickets?: string[];
  linesAdded?: number | null;
  linesRemoved?: number | null;
  filesChanged?: number | null;
  /** True when a trailer or marker says an AI tool co-wrote it; false when the message has none; null unknown. */
  aiCoAuthored?: boolean | null;
  /** Which tools (claude, copilot, codex, cursor, aider…), when `aiCoAuthored`. */
  aiTools?: string[];
  /** For a revert commit: the sha it reverts (`This reverts commit X`). */
  revertsSha?: string | null;
}

export interface OutcomeFilter {
  since?: number;
  until?: number;
  kind?: OutcomeKind;
  userId?: string;
  teamId?: string;
  repo?: string;
  source?: OutcomeSource;
}
