import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { GoodhartError } from '../errors.js';
import type { Governance } from '../admin/install.js';
import type { JsonBody } from '../gateway/body.js';
import { RULE_IDS } from '../detect/types.js';
import type { Store } from '../store/types.js';
import type { GovernanceSpec } from '../policy/rules.js';
import { checkSameOrigin, type Caller, type DashboardAuth } from './auth.js';
import { budgetsView, findingsView, forMember, memberBudgetHidden, monthRange, orgView, standingOnly, teamView, userView, type MonthRange, type ViewContext } from './views.js';
import { canSeeBudget, canSeeOrg, findingsScope, personAccess, teamAccess, type Visibility } from './visibility.js';

/**
 * The dashboard's JSON API under /api. Every route authenticates the session, checks what the caller may see
 * (visibility.ts) and answers 403 otherwise; the page hides what it cannot show, but this is where it is enforced.
 */
export interface ApiDeps {
  auth: DashboardAuth;
  store: Store;
  governance: Governance | null;
  spec: () => GovernanceSpec;
  context: () => ViewContext;
}

const name = z.string().min(1).max(128).regex(/^[A-Za-z0-9][A-Za-z0-9_.:@/=-]*$/, 'letters, digits and _.:@/=- only');
const monthQuery = z.object({ month: z.string().regex(/^\d{4}-\d{2}$/, 'YYYY-MM').optional() }).strict();
const findingsQuery = monthQuery.extend({ team: name.optional(), user: name.optional(), rule: z.enum(RULE_IDS).optional() }).strict();

const signInBody = z
  .object({
    key: z
      .string({ error: 'Enter your Goodhart key (the gh_… key your tools use, or an admin key).' })
      .trim()
      .min(1, 'Enter your Goodhart key (the gh_… key your tools use, or an admin key).')
      .min(8, 'That is too short to be a Goodhart key: paste the whole key (gh_ and 32 characters), or an admin key.')
      .max(512, 'That is too long to be a Goodhart key: paste the key alone.'),
  })
  .strict();

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new GoodhartError('invalid_request', 400, `Invalid ${what}: ${z.prettifyError(r.error)}`);
  return r.data;
}

const forbidden = (what: string, v: Visibility): GoodhartError =>
  new GoodhartError('forbidden', 403, `You may not see ${what}: ${v.scope === 'self' ? 'members see their own detail and their team’s totals' : v.scope === 'team' ? 'leads see their own team' : 'sign in with a person’s key'}.`);

export function registerDashboardApi(app: FastifyInstance, deps: ApiDeps): void {
  const { auth } = deps;
  /** Team of a person: the directory's, else the team on their keys. */
  let keyTeams: { version: number; teams: Map<string, string>; names: Set<string> } = { version: -1, teams: new Map(), names: new Set() };
  const refreshKeys = async (): Promise<void> => {
    const version = await deps.store.keysVersion();
    if (version === keyTeams.version) return;
    const teams = new Map<string, string>();
    // Every person and team on a key, as `user:alice` and `team:core`.
    const names = new Set<string>();
    for (const k of await deps.store.listKeys()) {
      if (k.teamId !== null && !teams.has(k.userId)) teams.set(k.userId, k.teamId);
      names.add(`user:${k.userId}`);
      if (k.teamId !== null) names.add(`team:${k.teamId}`);
    }
    keyTeams = { version, teams, names };
  };
  const teamOfFn = async (): Promise<(userId: string) => string | null> => {
    await refreshKeys();
    const spec = deps.spec();
    return (userId) => spec.users.get(userId)?.team ?? keyTeams.teams.get(userId) ?? null;
  };
  /**
   * Whether anyone by that name exists: in the directory, on a key or in the usage. A page of someone nobody has heard
   * of would be a page of zeros that reads as real; asked only once the caller may see such a page, so a 404 tells
   * a member nothing a 403 would not.
   */
  const known = async (kind: 'user' | 'team', id: string, ctx: ViewContext): Promise<boolean> => {
    const spec = deps.spec();
    if (kind === 'user' ? spec.users.has(id) : spec.teams.includes(id)) return true;
    await refreshKeys();
    if (keyTeams.names.has(`${kind}:${id}`)) return true;
    // Usage of any time, read where the pages read (the reader thread on SQLite), from the rollups.
    return (await ctx.store.aggregate(kind, kind === 'user' ? { userId: id } : { teamId: id })).length > 0;
  };
  const unknown = (kind: 'user' | 'team', id: string): GoodhartError =>
    new GoodhartError('not_found', 404, kind === 'user' ? `Nobody called ${id} is in the directory, on a key or in the usage.` : `No team ${id} is declared, on a key or in the usage.`);
  /** How many people the directory and the keys put on a team (a member's withheld team page says when that is too few). */
  const peopleOn = (team: string, teamOf: (userId: string) => string | null): Set<string> => {
    const people = new Set<string>();
    for (const id of deps.spec().users.keys()) if (teamOf(id) === team) people.add(id);
    for (const id of keyTeams.teams.keys()) if (teamOf(id) === team) people.add(id);
    return people;
  };
  const budgetVisible = (c: Caller, teamOf: (u: string) => string | null) => (kind: Parameters<typeof canSeeBudget>[1], id: string | null) =>
    canSeeBudget(c.visibility, kind, id, teamOf);

  app.addHook('onRequest', async (req, reply) => {
    if (req.url.startsWith('/api/')) void reply.header('cache-control', 'no-store');
  });

  app.post('/api/session', async (req, reply) => {
    checkSameOrigin(req);
    const body = signInBody.safeParse((req.body as JsonBody | undefined)?.json ?? {});
    // Said as what to do: the form's blank key read "✖ Too small: expected string to have >=8 characters → at key".
    if (!body.success) throw new GoodhartError('invalid_request', 400, body.error.issues[0]?.message ?? 'Enter your Goodhart key.');
    const c = await auth.signIn(req, reply, body.data.key);
    return me(c, deps, await teamOfFn());
  });
  app.delete('/api/session', async (req, reply) => {
    await auth.signOut(req, reply);
    return reply.code(204).send();
  });
  app.get('/api/me', async (req) => me(await auth.caller(req), deps, await teamOfFn()));
  // Whether the browser is signed in, answered 200 either way: the page asks this on load, and a signed-out visitor
  // is not an error (a 401 would be logged in the browser's console on every first visit).
  app.get('/api/session', async (req) => {
    let c: Caller;
    try {
      c = await auth.caller(req);
    } catch (err) {
      if (err instanceof GoodhartError && err.httpStatus === 401) return { signedIn: false };
      throw err;
    }
    return { signedIn: true, me: await me(c, deps, await teamOfFn()) };
  });

  app.get('/api/org', async (req) => {
    const c = await auth.caller(req);
    if (!canSeeOrg(c.visibility)) throw forbidden('the organisation overview', c.visibility);
    const { month } = parse(monthQuery, req.query, 'query');
    const ctx = deps.context();
    return orgView(ctx, monthRange(month, ctx.now, ctx.timeZone), budgetVisible(c, await teamOfFn()));
  });

  app.get('/api/teams/:team', async (req) => {
    const c = await auth.caller(req);
    const { team } = parse(z.object({ team: name }), req.params, 'team');
    const access = teamAccess(c.visibility, team);
    if (access === false) throw forbidden(`team ${team}`, c.visibility);
    const { month } = parse(monthQuery, req.query, 'query');
    const ctx = deps.context();
    if (!(await known('team', team, ctx))) throw unknown('team', team);
    const teamOf = await teamOfFn();
    const r = monthRange(month, ctx.now, ctx.timeZone);
    const visible = budgetVisible(c, teamOf);
    // A lead sees the people's budgets only in the current month, as on a person's page: a past month's personal
    // budget is all of their spend then, on whichever team they were (someone who joined since included).
    const current = ctx.now >= r.start && ctx.now < r.end;
    const shown: typeof visible = c.visibility.scope === 'team' && !current ? (kind, id) => kind !== 'user' && visible(kind, id) : visible;
    return teamView(ctx, r, team, access === 'detail', shown, c.actor.userId, access === 'detail' ? null : peopleOn(team, teamOf));
  });

  app.get('/api/users/:user', async (req) => {
    const c = await auth.caller(req);
    const asked = parse(z.object({ user: name }), req.params, 'user').user;
    const user = asked === 'me' ? c.actor.userId : asked;
    if (user === null) throw new GoodhartError('not_found', 404, 'An admin key is nobody’s usage: pick a team or a person.');
    // A person neither in the directory nor on a key (attributed by an import's identities) is on the team of their
    // latest event: the team whose page lists them.
    const team = (await teamOfFn())(user) ?? (await deps.store.listEvents({ userId: user, limit: 1, order: 'desc' }))[0]?.teamId ?? null;
    const { month } = parse(monthQuery, req.query, 'query');
    const ctx = deps.context();
    const r = monthRange(month, ctx.now, ctx.timeZone);
    const v = c.visibility;
    const access = personAccess(v, user, team, v.scope === 'team' && (await bookedTo(ctx, user, v.teamId, r)));
    if (access === false) throw forbidden(`${user}’s usage`, v);
    if (user !== c.actor.userId && !(await known('user', user, ctx))) throw unknown('user', user);
    // A lead sees what is booked to their team; the person's budgets count all their spend, so only for a member now,
    // and only in the current month: a past month's budget is her spend then, on whichever team she was.
    const current = ctx.now >= r.start && ctx.now < r.end;
    // Someone else's page says `bob`, not `you`.
    const who = user === c.actor.userId ? {} : { who: user };
    return access === 'team' && v.scope === 'team' ? userView(ctx, r, user, { teamId: v.teamId, budgets: team === v.teamId && current, ...who }) : userView(ctx, r, user, who);
  });

  app.get('/api/findings', async (req) => {
    const c = await auth.caller(req);
    const q = parse(findingsQuery, req.query, 'query');
    const ctx = deps.context();
    const r = monthRange(q.month, ctx.now, ctx.timeZone);
    const v = c.visibility;
    const booked = q.user !== undefined && v.scope === 'team' && (await bookedTo(ctx, q.user, v.teamId, r));
    const scope = findingsScope(v, { teamId: q.team, userId: q.user }, await teamOfFn(), booked);
    if (scope === null) throw forbidden('those findings', v);
    return { month: r.month, ...(await findingsView(ctx, r, { ...scope, ...(q.rule ? { rule: q.rule } : {}) })) };
  });

  app.get('/api/budgets', async (req) => {
    const c = await auth.caller(req);
    const v = c.visibility;
    if (v.scope === 'none') throw forbidden('budgets', v);
    const within = v.scope === 'team' ? { teamId: v.teamId } : v.scope === 'self' ? { userId: v.userId } : undefined;
    // The viewer's own person and team are under the per-value budgets (user:*, team:*) before they spend anything.
    const always = [...(c.actor.userId !== null ? [{ kind: 'user' as const, id: c.actor.userId }] : []), ...(c.actor.teamId !== null ? [{ kind: 'team' as const, id: c.actor.teamId }] : [])];
    const ctx = deps.context();
    const data = await budgetsView(ctx, budgetVisible(c, await teamOfFn()), { ...(within ? { within } : {}), always });
    // A member whose team's totals, or their imported/gateway split, are withheld this month gets its budgets as
    // their standing only, as on the team page.
    const team = v.scope === 'self' ? v.teamId : null;
    if (team !== null && (await memberBudgetHidden(ctx, monthRange(undefined, ctx.now, ctx.timeZone), team, v.userId))) {
      return { data: data.map((b) => (b.scope === `team:${team}` ? standingOnly(b) : b)) };
    }
    // Otherwise each by its own window (a day's or a week's team budget is that day's or week's spend), as on the team page.
    if (team !== null) return { data: await Promise.all(data.map((b) => forMember(ctx, b, team, v.userId, ctx.now))) };
    return { data };
  });

  app.get('/api/access-requests', async (req) => {
    const c = await auth.caller(req);
    if (deps.governance === null) return { available: false, data: [] };
    return { available: true, data: await deps.governance.service.listAccess(c.actor) };
  });
  for (const decision of ['approve', 'deny'] as const) {
    app.post(`/api/access-requests/:id/${decision}`, async (req: FastifyRequest) => {
      checkSameOrigin(req);
      const c = await auth.caller(req);
      if (deps.governance === null) throw new GoodhartError('not_found', 404, 'Access requests need governance (budgets, tiers) configured on this gateway.');
      const { id } = parse(z.object({ id: z.string().regex(/^ar_[0-9a-f]{8}$/) }), req.params, 'id');
      return deps.governance.service.decide(c.actor, id, decision, (req.body as JsonBody | undefined)?.json ?? {});
    });
  }
}

/** Whether a person has usage booked to a team in the month shown: the team page's People table lists them then. */
async function bookedTo(ctx: ViewContext, userId: string, teamId: string, r: MonthRange): Promise<boolean> {
  const rows = await ctx.store.aggregate('user', { userId, teamId, since: r.start, until: r.until }, { timeZone: ctx.timeZone });
  return rows.some((x) => x.requests > 0);
}

/** Who the caller is and what the page may offer them (the API checks again on each call). */
async function me(c: Caller, deps: ApiDeps, teamOf: (u: string) => string | null) {
  const v = c.visibility;
  let teams: string[] = [];
  if (v.scope === 'all') {
    const ctx = deps.context();
    const r = monthRange(undefined, ctx.now, ctx.timeZone);
    const seen = await ctx.store.aggregate('team', { since: r.start, until: r.until }, { timeZone: ctx.timeZone });
    // Declared teams (with or without members), the teams of people the directory lists, and any with usage.
    const spec = deps.spec();
    const members = [...spec.users.values()].map((u) => u.team).filter((t): t is string => t !== undefined);
    teams = [...new Set([...spec.teams, ...members, ...seen.map((s) => s.key).filter((k) => k !== '(none)')])].sort();
  } else if (v.teamId !== null) teams = [v.teamId];
  return {
    actor: c.actor.id,
    user: c.actor.userId,
    team: c.actor.teamId ?? (c.actor.userId !== null ? teamOf(c.actor.userId) : null),
    role: c.actor.roleId,
    scope: v.scope,
    can: { org: canSeeOrg(v), approve: c.actor.permissions.has('approve'), teams, teamDetail: v.scope !== 'self' },
  };
}
