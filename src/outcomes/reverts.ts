import type { OutcomeEvent } from './event.js';

/**
 * What a commit message, pull request or merge request says it reverts. Pure. Recognised:
 * - `This reverts commit <sha>` (git revert, GitHub's and GitLab's revert commits) → the sha;
 * - GitHub's Revert button: a pull request from `revert-<N>-<branch>` whose body says `Reverts owner/repo#N`;
 * - GitLab's Revert button on a merge request: `This reverts merge request !N` (or `group/project!N`);
 * - a title `Revert "…"` marks a revert whose target may be unknown.
 * A reverted pull request number is kept in `attrs.revertsPr` (the store has a column for the sha only), and
 * counted.ts honours it only from the signed webhooks (an API poster could otherwise cancel anyone's work).
 */
export const REVERTS_PR_ATTR = 'revertsPr';

const REVERTS_COMMIT = /\bThis reverts commit ([0-9a-f]{7,64})\b/i;
/** GitHub's Revert button: body `Reverts acme/billing#200`. */
const GITHUB_REVERTS_PR = /^Reverts (?:([\w.-]+\/[\w.-]+))?#(\d+)\b/m;
/** GitHub's Revert button's head branch: `revert-200-feature/x`. */
const GITHUB_REVERT_BRANCH = /^revert-(\d+)-/;
/** GitLab's revert commit of a merged merge request: `This reverts merge request !7` (`group/project!7` across projects). */
const GITLAB_REVERTS_MR = /\bThis reverts merge request ((?:[\w.-]+\/)*[\w.-]+)?!(\d+)\b/;
const REVERT_TITLE = /^Revert "/;

export interface RevertMark {
  /** The sha it reverts, when named. */
  sha: string | null;
  /** The pull / merge request of the same repository it reverts, when named. */
  pr: number | null;
}

export function revertedSha(message: string): string | null {
  return REVERTS_COMMIT.exec(message)?.[1]?.toLowerCase() ?? null;
}

/**
 * A GitHub pull request or pushed commit: `fullName` is the repository's `owner/name` (a `Reverts other/repo#N`
 * names another repository's pull request and is not one of ours). Null when it is not a revert.
 */
export function githubRevert(p: { title?: string | null; body?: string | null; headRef?: string | null; fullName: string }): RevertMark | null {
  const text = `${p.title ?? ''}\n${p.body ?? ''}`;
  const sha = revertedSha(text);
  const m = GITHUB_REVERTS_PR.exec(p.body ?? '');
  const sameRepo = m !== null && (m[1] === undefined || m[1].toLowerCase() === p.fullName.toLowerCase());
  const branch = GITHUB_REVERT_BRANCH.exec(p.headRef ?? '');
  const title = REVERT_TITLE.test(p.title ?? '');
  const pr = sameRepo ? Number(m[2]) : branch !== null && m === null && title ? Number(branch[1]) : null;
  if (sha === null && pr === null && !title) return null;
  return { sha, pr };
}

/** A GitLab merge request: its title, and the message of its last commit (GitLab's revert commit). */
export function gitlabRevert(p: { title?: string | null; lastCommitMessage?: string | null; projectPath: string }): RevertMark | null {
  const message = p.lastCommitMessage ?? '';
  const sha = revertedSha(message);
  const m = GITLAB_REVERTS_MR.exec(message);
  const pr = m !== null && (m[1] === undefined || m[1].toLowerCase() === p.projectPath.toLowerCase()) ? Number(m[2]) : null;
  if (sha === null && pr === null && !REVERT_TITLE.test(p.title ?? '')) return null;
  return { sha, pr };
}

/** The pull request number an outcome reverts (`attrs.revertsPr`), from a signed webhook only. */
export function revertedPrOf(o: Pick<OutcomeEvent, 'attrs' | 'source'>): number | null {
  if (o.source !== 'github' && o.source !== 'gitlab') return null;
  const v = o.attrs[REVERTS_PR_ATTR];
  return v !== undefined && /^[1-9]\d{0,9}$/.test(v) ? Number(v) : null;
}
