import { z } from 'zod';
import { normaliseRemote } from '../../importers/attribution.js';
import { detectAiTools } from '../ai-coauthor.js';
import type { OutcomeEvent } from '../event.js';
import { classifyCommit, isMergeMessage } from '../git/parse-log.js';
import { outcomeIds } from '../ids.js';
import { PR_COMMITS_ATTR } from '../counted.js';
import { githubRevert, REVERTS_PR_ATTR } from '../reverts.js';
import { ticketsOf } from '../tickets.js';
import type { WebhookContext, WebhookResult } from './types.js';

/**
 * GitHub webhook payloads → outcomes. Pure. Handled: `pull_request` closed and merged, `push` to the default branch
 * (its commits but merges), `deployment_status` success, `issues` closed as completed; `ping`, pushes to other
 * branches and everything else are acknowledged and ignored. Only the fields used are validated (GitHub adds fields freely); titles and bodies are read for ticket
 * ids and AI markers and then dropped.
 */
const login = z.object({ login: z.string() });
const repository = z.object({ html_url: z.string(), full_name: z.string(), default_branch: z.string().nullish() });

const pullRequestEvent = z.object({
  action: z.string(),
  repository,
  pull_request: z.object({
    number: z.number().int().positive(),
    merged: z.boolean().nullish(),
    merged_at: z.string().nullish(),
    merge_commit_sha: z.string().nullish(),
    title: z.string().nullish(),
    body: z.string().nullish(),
    user: login,
    head: z.object({ ref: z.string() }),
    additions: z.number().int().nonnegative().nullish(),
    deletions: z.number().int().nonnegative().nullish(),
    changed_files: z.number().int().nonnegative().nullish(),
    /** How many commits the pull request had when merged (a squash merge leaves one on the default branch). */
    commits: z.number().int().nonnegative().nullish(),
  }),
});

const pushEvent = z.object({
  ref: z.string(),
  deleted: z.boolean().nullish(),
  repository,
  commits: z
    .array(
      z.object({
        id: z.string(),
        message: z.string(),
        timestamp: z.string(),
        author: z.object({ name: z.string().nullish(), email: z.string().nullish(), username: z.string().nullish() }),
        added: z.array(z.string()).nullish(),
        removed: z.array(z.string()).nullish(),
        modified: z.array(z.string()).nullish(),
      }),
    )
    .default([]),
});

const deploymentStatusEvent = z.object({
  repository,
  deployment_status: z.object({ state: z.string(), created_at: z.string(), environment: z.string().nullish() }),
  deployment: z.object({ id: z.number().int(), sha: z.string(), ref: z.string().nullish(), environment: z.string().nullish(), creator: login.nullish() }),
});

const issuesEvent = z.object({
  action: z.string(),
  repository,
  sender: login,
  issue: z.object({
    number: z.number().int().positive(),
    title: z.string().nullish(),
    closed_at: z.string().nullish(),
    state_reason: z.string().nullish(),
    assignee: login.nullish(),
  }),
});

const hostOf = (htmlUrl: string): string => normaliseRemote(htmlUrl).split('/')[0] ?? 'github.com';

export function githubOutcomes(event: string, payload: unknown, ctx: WebhookContext): WebhookResult {
  switch (event) {
    case 'pull_request': {
      const p = ctx.parse(pullRequestEvent, payload, 'pull_request');
      const pr = p.pull_request;
      if (p.action !== 'closed' || pr.merged !== true) return { outcomes: [], ignored: `pull_request ${p.action}${p.action === 'closed' ? ' without merge' : ''}` };
      // A revert pull request is not work. Recorded when it names what it reverts (it never counts, and stops what
      // it reverts from counting, counted.ts); ignored when it does not.
      const revert = githubRevert({ title: pr.title, body: pr.body, headRef: pr.head.ref, fullName: p.repository.full_name });
      if (revert !== null && revert.sha === null && revert.pr === null) return { outcomes: [], ignored: 'pull_request closed: a revert, of a change it does not name' };
      const repo = normaliseRemote(p.repository.html_url);
      const host = hostOf(p.repository.html_url);
      const who = ctx.who({ login: pr.user.login, host });
      const text = `${pr.title ?? ''}\n${pr.body ?? ''}`;
      const ai = detectAiTools(text, { name: pr.user.login });
      return {
        outcomes: [{
          id: outcomeIds.pullRequest(repo, pr.number), kind: 'pull_request_merged', userId: who.userId, teamId: who.teamId, repo,
          sessionId: null, at: ctx.time(pr.merged_at), count: 1, source: 'github',
          attrs: {
            authorLogin: pr.user.login, authorHost: host,
            ...(pr.commits != null && pr.commits > 0 ? { [PR_COMMITS_ATTR]: String(pr.commits) } : {}),
            ...(revert?.pr != null ? { [REVERTS_PR_ATTR]: String(revert.pr) } : {}),
          },
          projectId: ctx.project(repo), branch: pr.head.ref, sha: pr.merge_commit_sha ?? null, prNumber: pr.number,
          tickets: ticketsOf({ text, branch: pr.head.ref, repo }, ctx.rules),
          linesAdded: pr.additions ?? null, linesRemoved: pr.deletions ?? null, filesChanged: pr.changed_files ?? null,
          aiCoAuthored: ai.aiCoAuthored ? true : null, aiTools: ai.aiTools, revertsSha: revert?.sha ?? null,
        }],
      };
    }
    case 'push': {
      const p = ctx.parse(pushEvent, payload, 'push');
      if (p.deleted === true || !p.ref.startsWith('refs/heads/')) return { outcomes: [], ignored: 'push of a tag or a deleted branch' };
      const repo = normaliseRemote(p.repository.html_url);
      const host = hostOf(p.repository.html_url);
      const branch = p.ref.slice('refs/heads/'.length);
      // A commit counts once, when it reaches the default branch: commits pushed to other branches are drafts that a
      // force push replaces, a rebase or squash merge copies, a backport cherry-picks. What reaches the default branch
      // is what was kept (a merge commit's push lists the branch's surviving commits; a rebase merge's, their copies).
      const defaultBranch = p.repository.default_branch ?? (ctx.rules.defaultBranches.includes(branch) ? branch : null);
      if (branch !== defaultBranch) {
        return { outcomes: [], ignored: `push to ${branch}: commits count when they reach the default branch${p.repository.default_branch ? ` (${p.repository.default_branch})` : ''}` };
      }
      // Merge commits are not work (import-git skips them too): a pull request's merge commit is its
      // merge_commit_sha, counted as the merged pull request, and a sync merge's commits count on their own. The
      // push payload lists no parents, so merges are known by the subject git, GitHub, GitLab or Bitbucket gives them.
      const outcomes = p.commits.filter((c) => !isMergeMessage(c.message)).map((c): OutcomeEvent => {
        const who = ctx.who({ email: c.author.email ?? null, login: c.author.username ?? null, host });
        const ai = detectAiTools(c.message, { name: c.author.name ?? '', email: c.author.email ?? '' });
        const [title, ...rest] = c.message.split('\n');
        const revert = githubRevert({ title, body: rest.join('\n'), fullName: p.repository.full_name });
        const cls = classifyCommit({ parents: [], message: c.message });
        const attrs: Record<string, string> = {};
        if (c.author.email) attrs['authorEmail'] = c.author.email;
        if (c.author.username) Object.assign(attrs, { authorLogin: c.author.username, authorHost: host });
        if (revert?.pr != null) attrs[REVERTS_PR_ATTR] = String(revert.pr);
        return {
          id: outcomeIds.commit(repo, c.id), kind: 'commit', userId: who.userId, teamId: who.teamId, repo, sessionId: null,
          at: ctx.time(c.timestamp), count: 1, source: 'github', attrs, projectId: ctx.project(repo), branch, sha: c.id,
          // A squash merge (`Title (#12)`): counted as the commits of pull request 12 (counted.ts).
          prNumber: cls.kind === 'commit' ? cls.squashedPr : null,
          tickets: ticketsOf({ text: c.message, repo }, ctx.rules),
          filesChanged: (c.added?.length ?? 0) + (c.removed?.length ?? 0) + (c.modified?.length ?? 0),
          aiCoAuthored: ai.aiCoAuthored, aiTools: ai.aiTools, revertsSha: revert?.sha ?? null,
        };
      });
      return { outcomes };
    }
    case 'deployment_status': {
      const p = ctx.parse(deploymentStatusEvent, payload, 'deployment_status');
      if (p.deployment_status.state !== 'success') return { outcomes: [], ignored: `deployment ${p.deployment_status.state}` };
      const repo = normaliseRemote(p.repository.html_url);
      const host = hostOf(p.repository.html_url);
      const creator = p.deployment.creator?.login ?? null;
      const who = creator === null ? { userId: null, teamId: null } : ctx.who({ login: creator, host });
      const environment = p.deployment_status.environment ?? p.deployment.environment ?? 'unknown';
      return {
        outcomes: [{
          id: outcomeIds.deployment(repo, String(p.deployment.id)), kind: 'deployment', userId: who.userId, teamId: who.teamId, repo,
          sessionId: null, at: ctx.time(p.deployment_status.created_at), count: 1, source: 'github',
          attrs: { environment, ...(creator !== null ? { authorLogin: creator, authorHost: host } : {}) },
          projectId: ctx.project(repo), branch: p.deployment.ref ?? null, sha: p.deployment.sha,
        }],
      };
    }
    case 'issues': {
      const p = ctx.parse(issuesEvent, payload, 'issues');
      // Closed as completed only (GitHub's state_reason; older payloads have none): not_planned, duplicate and the
      // like closed nothing that shipped.
      const reason = p.issue.state_reason ?? 'completed';
      if (p.action !== 'closed' || reason !== 'completed') return { outcomes: [], ignored: `issue ${p.action}${p.issue.state_reason ? ` (${p.issue.state_reason})` : ''}` };
      const repo = normaliseRemote(p.repository.html_url);
      const host = hostOf(p.repository.html_url);
      const person = p.issue.assignee?.login ?? p.sender.login;
      const who = ctx.who({ login: person, host });
      const ticket = `${repo}#${p.issue.number}`;
      return {
        outcomes: [{
          id: outcomeIds.ticket(ticket), kind: 'ticket_closed', userId: who.userId, teamId: who.teamId, repo, sessionId: null,
          at: ctx.time(p.issue.closed_at), count: 1, source: 'github', attrs: { authorLogin: person, authorHost: host },
          projectId: ctx.project(repo), tickets: [...new Set([ticket, ...ticketsOf({ text: p.issue.title ?? '' }, ctx.rules)])],
        }],
      };
    }
    default:
      return { outcomes: [], ignored: `event ${event}` };
  }
}
