import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ID_RULE, idSchema } from '../config/id.js';
import { GoodhartError } from '../errors.js';
import type { KeyCache } from '../gateway/auth.js';
import type { JsonBody } from '../gateway/body.js';
import { newKey } from '../keys/keys.js';
import { resetIso } from '../policy/messages.js';
import { keyTeam } from '../policy/directory.js';
import type { Actor, GovernanceService } from '../policy/service.js';
import { ACCESS_STATUSES, type EntityKind } from '../policy/store.js';
import type { KeyRecord, Store } from '../store/types.js';
import type { AdminAuth } from './auth.js';

/**
 * The admin API: JSON over HTTP under /admin/v1, authenticated with an admin key or a person's own key, every
 * change audited. Routes only parse input, call the governance service and shape output.
 */
export interface AdminDeps {
  service: GovernanceService;
  auth: AdminAuth;
  store: Store;
  keys: KeyCache;
  now: () => number;
}

export const PREFIX = '/admin/v1';

/** URL segment → entity kind. */
export const ENTITY_PATHS = {
  teams: 'team',
  users: 'user',
  projects: 'project',
  budgets: 'budget',
  tiers: 'tier',
  roles: 'role',
  'rate-limits': 'rateLimit',
} as const satisfies Record<string, EntityKind>;

/** The `:id` of a path: an entity's, an access request's (ar_…) or a grant's (gr_…), all ids as the config writes them. */
function idOf(req: FastifyRequest): string {
  const id = (req.params as { id?: unknown }).id;
  const r = idSchema.safeParse(id);
  if (!r.success) throw new GoodhartError('invalid_request', 400, `Invalid id "${String(id).slice(0, 140)}": ${ID_RULE}.`);
  return r.data;
}

/**
 * A time in a query: epoch milliseconds, as `goodhart audit-log` sends it, or ISO 8601 (`2026-12-01`, midnight UTC;
 * `2026-12-01T09:00:00+01:00`). A date was refused as "expected number, received NaN".
 */
const queryTime = z.string().transform((s, ctx) => {
  const t = /^-?\d+$/.test(s) ? Number(s) : /^\d{4}-\d\d-\d\d([T ][\d:.]+(Z|[+-]\d\d:?\d\d)?)?$/i.test(s) ? Date.parse(s) : Number.NaN;
  if (Number.isSafeInteger(t)) return t;
  ctx.addIssue({ code: 'custom', message: `"${s.slice(0, 40)}" is not a time: use epoch milliseconds (1796515200000) or ISO 8601 (2026-12-01, 2026-12-01T09:00:00Z)` });
  return z.NEVER;
});

const auditQuery = z
  .object({
    since: queryTime.optional(),
    until: queryTime.optional(),
    actor: z.string().optional(),
    kind: z.string().optional(),
    target: z.string().optional(),
    limit: z.coerce.number().int().min(1).max(10_000).optional(),
  })
  .strict();

const keyBody = z
  .object({ user: idSchema, team: idSchema.optional(), project: idSchema.optional(), name: z.string().max(100).optional() })
  .strict();

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new GoodhartError('invalid_request', 400, `Invalid ${what}: ${z.prettifyError(r.error)}`);
  return r.data;
}

const bodyOf = (req: FastifyRequest): unknown => (req.body as JsonBody | undefined)?.json ?? {};

const keyView = (k: KeyRecord) => ({
  id: k.id,
  prefix: k.prefix,
  user: k.userId,
  team: k.teamId,
  project: k.projectId,
  name: k.name,
  createdAt: new Date(k.createdAt).toISOString(),
  revokedAt: k.revokedAt === null ? null : new Date(k.revokedAt).toISOString(),
});

/** The methods the admin API answers; another on one of its paths is a 405 saying which it takes (Allow). */
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

export function registerAdminRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const paths = new Set<string>();
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith(PREFIX)) paths.add(route.url);
  });
  registerRoutes(app, deps);
  // A wrong method on a path the API has (POST to a budget, PUT to the list) is not "No route": say what it takes.
  for (const url of [...paths]) {
    const allow = METHODS.filter((method) => app.hasRoute({ method, url }));
    const others = METHODS.filter((method) => !allow.includes(method));
    if (others.length === 0) continue;
    app.route({
      method: [...others],
      url,
      handler: async (req) => {
        throw new GoodhartError('method_not_allowed', 405, `${req.method} is not allowed on ${url.replace(/:(\w+)/g, (_m, name: string) => name.toUpperCase())}: it takes ${allow.join(', ')} (README: Admin API and CLI).`, {
          headers: { allow: allow.join(', ') },
        });
      },
    });
  }
}

function registerRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const { service } = deps;
  const actor = async (req: FastifyRequest): Promise<Actor> => {
    const a = deps.auth.authenticate(req.headers);
    return a instanceof Promise ? await a : a;
  };

  app.get(`${PREFIX}/me`, async (req) => {
    const a = await actor(req);
    return { actor: a.id, user: a.userId, team: a.teamId, role: a.roleId, permissions: [...a.permissions] };
  });

  for (const [path, kind] of Object.entries(ENTITY_PATHS) as [string, EntityKind][]) {
    app.get(`${PREFIX}/${path}`, async (req) => ({ data: service.list(await actor(req), kind) }));
    app.get(`${PREFIX}/${path}/:id`, async (req) => service.get(await actor(req), kind, idOf(req)));
    app.put(`${PREFIX}/${path}/:id`, async (req) => service.set(await actor(req), kind, idOf(req), bodyOf(req)));
    app.patch(`${PREFIX}/${path}/:id`, async (req) => service.patch(await actor(req), kind, idOf(req), bodyOf(req)));
    app.delete(`${PREFIX}/${path}/:id`, async (req, reply) => {
      await service.remove(await actor(req), kind, idOf(req));
      return reply.code(204).send();
    });
    // Hands the entity back to the config file: the admin API's change (or delete) of it is forgotten.
    app.delete(`${PREFIX}/${path}/:id/override`, async (req) => {
      const id = idOf(req);
      return { kind, id, inForce: await service.reset(await actor(req), kind, id) };
    });
  }

  app.get(`${PREFIX}/status/budgets`, async (req) => {
    const a = await actor(req);
    if (!service.may(a, 'budgets')) throw new GoodhartError('forbidden', 403, `Budget status, which names each person's spend, needs the "budgets" permission (finance or admin; yours: ${a.roleId}). Your team's budgets are on the dashboard.`);
    const rows = await service.engine.status(deps.now());
    return {
      data: rows.map((s) => ({
        budget: s.rule.id,
        scope: s.scopeKey,
        unit: s.rule.unit,
        period: s.rule.period,
        action: s.rule.cfg.action,
        amount: s.amount,
        spent: s.spent,
        reserved: s.reserved,
        remaining: Math.max(0, s.amount - s.spent - s.reserved),
        periodStart: new Date(s.window.start).toISOString(),
        resetsAt: resetIso(s.window),
      })),
    };
  });

  app.get(`${PREFIX}/keys`, async (req) => {
    service.need(await actor(req), 'manage', 'Listing keys');
    return { data: (await deps.store.listKeys()).map(keyView) };
  });
  app.post(`${PREFIX}/keys`, async (req, reply) => {
    const a = await actor(req);
    service.need(a, 'manage', 'Creating keys');
    const b = parse(keyBody, bodyOf(req), 'key');
    // The checks `keys create` makes: a user, team and project the directory declares, the person's own team.
    const team = keyTeam(service.directoryNow(), b, (name) => `"${name}"`);
    const made = newKey({ userId: b.user, teamId: team, projectId: b.project ?? null, name: b.name ?? null, now: deps.now() });
    await deps.store.createKey(made.record);
    await deps.keys.refresh();
    await service.recordAudit(a, 'key.create', 'key', made.record.id, null, keyView(made.record));
    return reply.code(201).send({ key: made.key, ...keyView(made.record) });
  });
  app.post(`${PREFIX}/keys/:id/revoke`, async (req) => {
    const a = await actor(req);
    service.need(a, 'manage', 'Revoking keys');
    const { id } = parse(z.object({ id: z.string().min(1).max(128) }), req.params, 'id');
    const before = (await deps.store.listKeys()).find((k) => k.id === id || k.prefix === id);
    const revoked = await deps.store.revokeKey(id, deps.now());
    if (!revoked || !before) throw new GoodhartError('not_found', 404, `No active key "${id}".`);
    await deps.keys.refresh();
    await service.recordAudit(a, 'key.revoke', 'key', revoked.id, keyView(before), keyView(revoked));
    return keyView(revoked);
  });

  app.post(`${PREFIX}/access-requests`, async (req, reply) => reply.code(201).send(await service.requestAccess(await actor(req), bodyOf(req))));
  app.get(`${PREFIX}/access-requests`, async (req) => {
    const { status } = parse(z.object({ status: z.enum(ACCESS_STATUSES).optional() }).strict(), req.query, 'query');
    return { data: await service.listAccess(await actor(req), status) };
  });
  for (const decision of ['approve', 'deny'] as const) {
    app.post(`${PREFIX}/access-requests/:id/${decision}`, async (req) =>
      service.decide(await actor(req), idOf(req), decision, bodyOf(req)),
    );
  }
  app.get(`${PREFIX}/grants`, async (req) => {
    const { active } = parse(z.object({ active: z.enum(['true', 'false']).optional() }).strict(), req.query, 'query');
    return { data: await service.listGrants(await actor(req), active !== 'false') };
  });
  app.post(`${PREFIX}/grants/:id/revoke`, async (req) => service.revokeGrant(await actor(req), idOf(req)));

  app.get(`${PREFIX}/audit-log`, async (req) => {
    const q = parse(auditQuery, req.query, 'query');
    const filter = {
      ...(q.since !== undefined ? { since: q.since } : {}),
      ...(q.until !== undefined ? { until: q.until } : {}),
      ...(q.actor !== undefined ? { actor: q.actor } : {}),
      ...(q.kind !== undefined ? { targetKind: q.kind } : {}),
      ...(q.target !== undefined ? { targetId: q.target } : {}),
      limit: q.limit ?? 1000,
    };
    return { data: await service.listAudit(await actor(req), filter) };
  });
  // Append-only: no route edits or deletes an entry, and asking says so.
  app.route({
    method: ['POST', 'PUT', 'PATCH', 'DELETE'],
    url: `${PREFIX}/audit-log`,
    handler: async () => {
      throw auditReadOnly();
    },
  });
  app.route({
    method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
    url: `${PREFIX}/audit-log/:seq`,
    handler: async () => {
      throw auditReadOnly();
    },
  });
}

function auditReadOnly(): GoodhartError {
  return new GoodhartError(
    'method_not_allowed',
    405,
    'The audit log is append-only: entries cannot be edited or deleted. Read it with GET /admin/v1/audit-log.',
    { headers: { allow: 'GET' } },
  );
}
