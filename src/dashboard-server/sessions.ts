import { createHash, randomBytes } from 'node:crypto';

/**
 * Dashboard sign-in sessions, server side: the cookie holds 32 random bytes; the table holds only their SHA-256,
 * the key's hash and identity, and the times. A session ends on logout, after `idleMs` without a request, or
 * `maxMs` after sign-in, whichever comes first. In memory: a restart signs everyone out, which is acceptable for
 * a dashboard and means no session secret to store or rotate.
 */
export interface Session {
  /** SHA-256 of the key used to sign in: each request checks it is still valid (not revoked). */
  keyHash: string;
  /** `user:alice` or `admin-key:ops`. */
  actorId: string;
  userId: string | null;
  /** The key's team (a person's team otherwise comes from the directory). */
  keyTeamId: string | null;
  /** Admin keys carry their role from the config; people's roles come from the directory on every request. */
  adminRole: string | null;
  createdAt: number;
  seenAt: number;
}

export const SESSION_COOKIE = 'gh_session';

export interface SessionLimits {
  /** 8 hours: a working day without a request ends the session. */
  idleMs: number;
  /** 24 hours: a stolen cookie is good for a day at most. */
  maxMs: number;
  /** Oldest sessions are dropped beyond this, so a flood of sign-ins cannot exhaust memory. */
  maxSessions: number;
}

export const DEFAULT_LIMITS: SessionLimits = { idleMs: 8 * 3_600_000, maxMs: 24 * 3_600_000, maxSessions: 10_000 };

const digest = (token: string): string => createHash('sha256').update(token).digest('hex');

export class SessionTable {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly now: () => number,
    private readonly limits: SessionLimits = DEFAULT_LIMITS,
  ) {}

  /** Starts a session; returns the token for the cookie (never stored). */
  create(s: Omit<Session, 'createdAt' | 'seenAt'>): string {
    const token = randomBytes(32).toString('base64url');
    const at = this.now();
    if (this.sessions.size >= this.limits.maxSessions) {
      const oldest = this.sessions.keys().next().value;
      if (oldest !== undefined) this.sessions.delete(oldest);
    }
    this.sessions.set(digest(token), { ...s, createdAt: at, seenAt: at });
    return token;
  }

  /** The live session of a token (and marks it seen), or undefined. */
  get(token: string | undefined): Session | undefined {
    if (token === undefined || token.length < 20 || token.length > 100) return undefined;
    const id = digest(token);
    const s = this.sessions.get(id);
    if (s === undefined) return undefined;
    const at = this.now();
    if (at - s.seenAt > this.limits.idleMs || at - s.createdAt > this.limits.maxMs) {
      this.sessions.delete(id);
      return undefined;
    }
    s.seenAt = at;
    return s;
  }

  delete(token: string | undefined): void {
    if (token !== undefined) this.sessions.delete(digest(token));
  }

  get size(): number {
    return this.sessions.size;
  }
}

/** The value of one cookie in a Cookie header. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Set-Cookie for a session: HttpOnly (no script reads it), SameSite=Strict (no cross-site request sends it). */
export function sessionCookie(token: string, opts: { secure: boolean; maxAgeS: number }): string {
  return `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${opts.maxAgeS}${opts.secure ? '; Secure' : ''}`;
}

export function clearedCookie(secure: boolean): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure ? '; Secure' : ''}`;
}
