import { z } from 'zod';
import { normaliseRemote } from '../../importers/attribution.js';
import { detectAiTools } from '../ai-coauthor.js';
import { outcomeIds } from '../ids.js';
import { gitlabRevert, REVERTS_PR_ATTR } from '../reverts.js';
import { ticketsOf } from '../tickets.js';
import type { WebhookContext, WebhookResult } from './types.js';

/**
 * GitLab "Merge Request Hook" payloads → merged pull request outcomes. Pure. The payload names who acted (`user`:
 * for a merge, whoever merged) and the merge request's last commit with its author: the author is the person the
 * work belongs to, the merger only when the commit has no email.
 */
const mergeRequestEvent = z.object({
  object_kind: z.literal('merge_request'),
  user: z.object({ username: z.string() }).nullish(),
  project: z.object({ web_url: z.string() }),
  object_attributes: z.object({
    iid: z.number().int().positive(),
    action: z.string().nullish(),
    state: z.string().nullish(),
    source_branch: z.string(),
    title: z.string().nullish(),
    description: z.string().nullish(),
    merge_commit_sha: z.string().nullish(),
    updated_at: z.string().nullish(),
    merged_at: z.string().nullish(),
    last_commit: z.object({ id: z.string(), message: z.string().nullish(), author: z.object({ name: z.string().nullish(), email: z.string().nullish() }) }).nullish(),
  }),
});

export function gitlabOutcomes(event: string, payload: unknown, ctx: WebhookContext): WebhookResult {
  if (event !== 'Merge Request Hook') return { outcomes: [], ignored: `event ${event}` };
  const p = ctx.parse(mergeRequestEvent, payload, 'GitLab merge request');
  const mr = p.object_attributes;
  if (mr.action !== 'merge') return { outcomes: [], ignored: `merge request ${mr.action ?? mr.state ?? 'update'}` };
  const repo = normaliseRemote(p.project.web_url);
  const host = repo.split('/')[0] ?? 'gitlab.com';
  // GitLab's Revert button opens a merge request whose commit says `This reverts merge request !N` (or `This
  // reverts commit X`): recorded so that it never counts and N stops counting (counted.ts); a `Revert "…"` that
  // names nothing is ignored.
  const revert = gitlabRevert({ title: mr.title, lastCommitMessage: mr.last_commit?.message, projectPath: repo.slice(host.length + 1) });
  if (revert !== null && revert.sha === null && revert.pr === null) return { outcomes: [], ignored: 'merge request merge: a revert, of a change it does not name' };
  const email = mr.last_commit?.author.email ?? null;
  const loginName = email === null ? (p.user?.username ?? null) : null;
  const who = ctx.who({ email, login: loginName, host });
  const text = `${mr.title ?? ''}\n${mr.description ?? ''}`;
  const ai = detectAiTools(text);
  const attrs: Record<string, string> = email !== null ? { authorEmail: email } : loginName !== null ? { authorLogin: loginName, authorHost: host } : {};
  if (revert?.pr != null) attrs[REVERTS_PR_ATTR] = String(revert.pr);
  return {
    outcomes: [{
      id: outcomeIds.pullRequest(repo, mr.iid), kind: 'pull_request_merged', userId: who.userId, teamId: who.teamId, repo,
      sessionId: null, at: ctx.time(mr.merged_at ?? mr.updated_at), count: 1, source: 'gitlab', attrs,
      projectId: ctx.project(repo), branch: mr.source_branch, sha: mr.merge_commit_sha ?? mr.last_commit?.id ?? null, prNumber: mr.iid,
      tickets: ticketsOf({ text, branch: mr.source_branch, repo }, ctx.rules),
      aiCoAuthored: ai.aiCoAuthored ? true : null, aiTools: ai.aiTools, revertsSha: revert?.sha ?? null,
    }],
  };
}
