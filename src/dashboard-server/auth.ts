import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AdminAuth } from '../admin/auth.js';
import type { GoodhartConfig } from '../config/schema.js';
import { GoodhartError } from '../errors.js';
import { hashKey } from '../keys/keys.js';
import type { GovernanceSpec } from '../policy/rules.js';
import type { Actor } from '../policy/service.js';
import type { Store } from '../store/types.js';
import { clearedCookie, DEFAULT_LIMITS, readCookie, SESSION_COOKIE, sessionCookie, type SessionTable } from './sessions.js';
import { visibilityOf, type Visibility } from './visibility.js';

/**
 * Sign-in with a Goodhart key (a person's gh_ key, or an admin key from the config), then a session cookie.
 * Every API request re-derives the caller from the session: a revoked key or a changed role applies at once.
 */
export interface Caller {
  actor: Actor;
  visibility: Visibility;
}

export class DashboardAuth {
  private readonly adminRoles = new Map<string, string>();

  constructor(
    private readonly deps: { config: GoodhartConfig; store: Store; spec: () => GovernanceSpec; adminAuth: AdminAuth; sessions: SessionTable },
  ) {
    for (const k of deps.config.admin.keys) this.adminRoles.set(k.sha256 ?? hashKey(k.key!), k.role);
  }

  /** POST /api/session: checks the key, starts a session, sets the cookie. */
  async signIn(req: FastifyRequest, reply: FastifyReply, key: string): Promise<Caller> {
    const presented = { authorization: `Bearer ${key}` };
    const authed = this.deps.adminAuth.authenticate(presented);
    const actor = authed instanceof Promise ? await authed : authed;
    const keyHash = hashKey(key);
    const record = actor.userId === null ? undefined : await this.deps.store.findKeyByHash(keyHash);
    // The gateway's key cache learns of a revocation within seconds; the store knows at once.
    if (actor.userId !== null && (record === undefined || record.revokedAt !== null)) {
      throw new GoodhartError('unauthorized', 401, 'That key was revoked. Ask your Goodhart admin for a new one.');
    }
    const token = await this.deps.sessions.create({
      keyHash,
      actorId: actor.id,
      userId: actor.userId,
      keyTeamId: record?.teamId ?? null,
      adminRole: actor.userId === null ? actor.roleId : null,
    });
    void reply.header('set-cookie', sessionCookie(token, { secure: isHttps(req), maxAgeS: DEFAULT_LIMITS.maxMs / 1000 }));
    return { actor, visibility: visibilityOf(actor) };
  }

  async signOut(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    await this.deps.sessions.delete(readCookie(req.headers.cookie, SESSION_COOKIE));
    void reply.header('set-cookie', clearedCookie(isHttps(req)));
  }

  /** The caller of an API request, or 401. */
  async caller(req: FastifyRequest): Promise<Caller> {
    const s = await this.deps.sessions.get(readCookie(req.headers.cookie, SESSION_COOKIE));
    if (s === undefined) throw new GoodhartError('unauthorized', 401, 'Not signed in, or the session ended. Sign in with your Goodhart key.');
    const spec = this.deps.spec();
    let actor: Actor;
    if (s.adminRole !== null) {
      // The key's role in the config as it is now, not the one stored at sign-in: a key demoted (admin → finance)
      // and the gateway restarted must not keep admin rights in the sessions it already had.
      const roleId = this.adminRoles.get(s.keyHash);
      if (roleId === undefined) throw new GoodhartError('unauthorized', 401, 'That admin key is no longer configured. Sign in again.');
      actor = { id: s.actorId, userId: null, teamId: null, roleId, permissions: new Set(spec.roles[roleId]?.permissions ?? []) };
    } else {
      const key = await this.deps.store.findKeyByHash(s.keyHash);
      if (key === undefined || key.revokedAt !== null) {
        await this.deps.sessions.delete(readCookie(req.headers.cookie, SESSION_COOKIE));
        throw new GoodhartError('unauthorized', 401, 'The key you signed in with was revoked. Ask your Goodhart admin for a new one.');
      }
      const user = spec.users.get(key.userId);
      const roleId = user?.role ?? spec.defaultRole;
      // The directory says which team a person leads or belongs to (it can change after the key was made); the
      // key's team only for people the directory does not list.
      actor = { id: s.actorId, userId: key.userId, teamId: user?.team ?? key.teamId ?? null, roleId, permissions: new Set(spec.roles[roleId]?.permissions ?? []) };
    }
    return { actor, visibility: visibilityOf(actor) };
  }
}

function isHttps(req: FastifyRequest): boolean {
  return req.protocol === 'https';
}

/**
 * Cross-site request defence on top of SameSite=Strict: state-changing API calls must be JSON (a form cannot send
 * it without a CORS preflight) and, when the browser says where it comes from, come from this origin.
 */
export function checkSameOrigin(req: FastifyRequest): void {
  const type = req.headers['content-type'] ?? '';
  if (!type.startsWith('application/json')) {
    throw new GoodhartError('invalid_request', 415, 'Send JSON (Content-Type: application/json).');
  }
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== 'null') {
    let host = '';
    try {
      host = new URL(origin).host;
    } catch {
      // an unparsable origin is not ours
    }
    if (host !== req.headers.host) throw new GoodhartError('forbidden', 403, 'Cross-origin requests are not accepted by the dashboard API.');
  }
}
