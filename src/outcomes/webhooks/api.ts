import { z } from 'zod';
import { idSchema } from '../../config/id.js';
import { GoodhartError } from '../../errors.js';
import { MAX_STORED_TIME } from '../../store/rows.js';
import { normaliseRemote } from '../../importers/attribution.js';
import { AI_TOOLS } from '../ai-coauthor.js';
import { AUTHOR_ATTRS, SHIPPED_KINDS } from '../counted.js';
import type { OutcomeEvent } from '../event.js';
import { outcomeIds } from '../ids.js';
import { ticketsOf } from '../tickets.js';
import { zodProblems, type WebhookContext } from './types.js';

/**
 * `POST /v1/outcomes`: outcomes from anything else (a ticket tracker's automation, CI, a script), authenticated with
 * a Goodhart key. A trusted poster's key (`outcomes.trustedPosters`) records for anyone, as `api-trusted`; any other
 * key records for its owner only, self-reported (`api`): the store replaces such a record with any trusted one of the
 * same outcome, and never the other way round (OUTCOME_OVERRIDE); with `outcomes.selfReported: false` it may post
 * only custom outcomes (their ids are its own). One outcome or `{ "outcomes": [...] }` (at most 1,000). Each needs its natural key, so a retried
 * post inserts nothing new: commit → repo + sha; pull_request_merged → repo + prNumber; ticket_closed → ticket;
 * deployment → repo + (externalId or sha); custom → externalId.
 */
const count = z.number().int().nonnegative();

/**
 * An outcome's time: from 2000 (before git, and below it epoch seconds sent as milliseconds: `1796534218` was stored
 * as 21 January 1970) to the end of 2099, as the stores keep usage times (MAX_STORED_TIME).
 */
const EARLIEST_AT = Date.UTC(2000, 0, 1);
/** What is wrong with a time (`iso` when it came as ISO 8601), or null. */
function atProblem(t: number, iso: string | null): string | null {
  const shown = iso ?? `${t} as epoch milliseconds`;
  if (t < EARLIEST_AT) return `${shown} is before 2000${iso === null && t >= EARLIEST_AT / 1000 ? ' (it looks like epoch seconds: multiply by 1000)' : ''}`;
  if (t > MAX_STORED_TIME) return `${shown} is after 2099${iso === null && t / 1000 <= MAX_STORED_TIME ? ' (it looks like epoch microseconds: divide by 1000)' : ''}`;
  return null;
}
const atSchema = z
  .union([z.iso.datetime({ offset: true }), z.number().int().positive()])
  .superRefine((v, ctx) => {
    const problem = typeof v === 'number' ? atProblem(v, null) : atProblem(Date.parse(v), v);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: `${problem}; send a time from 2000 to 2099, ISO 8601 or epoch milliseconds` });
  });

export const apiOutcomeSchema = z
  .object({
    kind: z.enum(SHIPPED_KINDS),
    at: atSchema.optional().describe('ISO 8601 or epoch ms, from 2000 to 2099; default now'),
    user: idSchema.optional().describe('Default: the key owner; others only for outcomes.trustedPosters'),
    team: idSchema.optional(),
    repo: z.string().min(1).max(300).optional(),
    project: idSchema.optional(),
    branch: z.string().min(1).max(255).optional(),
    sha: z.string().regex(/^[0-9a-f]{7,64}$/i, 'a hex commit sha').optional(),
    prNumber: z.number().int().positive().optional(),
    ticket: z.string().min(1).max(200).optional(),
    tickets: z.array(z.string().min(1).max(200)).max(50).optional(),
    externalId: z.string().min(1).max(200).optional(),
    linesAdded: count.optional(),
    linesRemoved: count.optional(),
    filesChanged: count.optional(),
    aiCoAuthored: z.boolean().optional(),
    aiTools: z.array(z.enum(AI_TOOLS)).optional(),
    count: z.number().positive().max(1_000_000).default(1).describe('custom outcomes may count several'),
    attrs: z.record(z.string().max(64), z.string().max(500)).optional(),
  })
  .strict()
  .superRefine((o, ctx) => {
    const need = (ok: boolean, message: string): void => {
      if (!ok) ctx.addIssue({ code: 'custom', message });
    };
    if (o.kind === 'commit') need(o.repo !== undefined && o.sha !== undefined, 'a commit needs repo and sha');
    if (o.kind === 'pull_request_merged') need(o.repo !== undefined && o.prNumber !== undefined, 'a merged pull request needs repo and prNumber');
    if (o.kind === 'ticket_closed') need(o.ticket !== undefined, 'a closed ticket needs ticket (its id, e.g. PROJ-123)');
    if (o.kind === 'deployment') need(o.repo !== undefined && (o.externalId !== undefined || o.sha !== undefined), 'a deployment needs repo and externalId or sha');
    if (o.kind === 'custom') need(o.externalId !== undefined, 'a custom outcome needs externalId (your id for it, so a retry is not counted twice)');
  });
export type ApiOutcome = z.output<typeof apiOutcomeSchema>;

/** 1,000 per post: a day of a large organisation's tickets; bigger backfills are split by the client. */
const batchSchema = z.object({ outcomes: z.array(apiOutcomeSchema).min(1).max(1000) }).strict();

export interface Poster {
  userId: string;
  teamId: string | null;
  /** May post for other people (`outcomes.trustedPosters`). */
  trusted: boolean;
}

export function parseApiBody(body: unknown): ApiOutcome[] {
  if (body === undefined) throw new GoodhartError('invalid_request', 400, 'Empty body. Send an outcome as JSON, e.g. {"kind":"ticket_closed","ticket":"PROJ-123"}, or {"outcomes":[…]}.');
  const isBatch = typeof body === 'object' && body !== null && 'outcomes' in body;
  const r = (isBatch ? batchSchema : apiOutcomeSchema).safeParse(body);
  if (!r.success) {
    throw new GoodhartError('invalid_request', 400, `Invalid outcome: ${zodProblems(r.error)}. See README "Outcomes" for the fields.`);
  }
  return 'outcomes' in r.data ? r.data.outcomes : [r.data];
}

export function apiOutcomes(items: readonly ApiOutcome[], poster: Poster, ctx: WebhookContext): OutcomeEvent[] {
  return items.map((o, i) => {
    if (o.user !== undefined && o.user !== poster.userId && !poster.trusted) {
      throw new GoodhartError('forbidden', 403, `outcomes[${i}].user: your key may record outcomes only for you (${poster.userId}). Leave out "user", or have an admin add your user to outcomes.trustedPosters.`);
    }
    if (!poster.trusted && !ctx.rules.selfReported && o.kind !== 'custom') {
      throw new GoodhartError('forbidden', 403, `outcomes[${i}].kind: here only trusted posters (outcomes.trustedPosters: a ticket bridge, CI) record ${o.kind} outcomes (outcomes.selfReported is false); your key may post custom outcomes.`);
    }
    const userId = o.user ?? poster.userId;
    const ownTeam = o.user === undefined ? poster.teamId : ctx.teamOf(userId);
    if (o.team !== undefined && o.team !== ownTeam && !poster.trusted) {
      throw new GoodhartError('forbidden', 403, `outcomes[${i}].team: your key may record outcomes only for your own team (${ownTeam ?? 'none'}). Leave out "team", or have an admin add your user to outcomes.trustedPosters.`);
    }
    const teamId = o.team ?? ownTeam;
    const repo = o.repo === undefined ? null : o.repo.startsWith('/') ? o.repo : normaliseRemote(o.repo);
    const at = o.at === undefined ? ctx.time(null) : typeof o.at === 'number' ? o.at : ctx.time(o.at);
    const ticket = o.ticket;
    const tickets = [...new Set([...(ticket !== undefined ? [ticket] : []), ...(o.tickets ?? []), ...ticketsOf({ branch: o.branch ?? null }, ctx.rules)])];
    const id =
      o.kind === 'commit' ? outcomeIds.commit(repo!, o.sha!)
      : o.kind === 'pull_request_merged' ? outcomeIds.pullRequest(repo!, o.prNumber!)
      : o.kind === 'ticket_closed' ? outcomeIds.ticket(ticket!)
      : o.kind === 'deployment' ? outcomeIds.deployment(repo!, o.externalId ?? o.sha!)
      : outcomeIds.custom(userId, o.externalId!);
    return {
      id, kind: o.kind, userId, teamId, repo, sessionId: null, at, count: o.kind === 'custom' ? o.count : 1,
      // Self-reported (`api`) or a trusted poster's (`api-trusted`): the store keeps the more trusted of two records.
      source: poster.trusted ? 'api-trusted' : 'api',
      // Attributes that name a person re-attribute an outcome in reports (counted.ts): only a trusted poster's count.
      attrs: { ...(poster.trusted ? (o.attrs ?? {}) : withoutAuthors(o.attrs ?? {})), postedBy: poster.userId },
      projectId: o.project ?? (repo === null || repo.startsWith('/') ? null : ctx.project(repo)),
      branch: o.branch ?? null, sha: o.sha ?? null, prNumber: o.prNumber ?? null, tickets,
      linesAdded: o.linesAdded ?? null, linesRemoved: o.linesRemoved ?? null, filesChanged: o.filesChanged ?? null,
      aiCoAuthored: o.aiCoAuthored ?? null, aiTools: o.aiTools ?? [],
    };
  });
}

/** An untrusted post's attributes without those that name an author (counted.ts AUTHOR_ATTRS). */
function withoutAuthors(attrs: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(attrs).filter(([k]) => !AUTHOR_ATTRS.has(k)));
}
