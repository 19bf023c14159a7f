import { createHash, randomBytes } from 'node:crypto';
import { GoodhartError } from '../errors.js';
import { storeSpec } from '../store/open.js';
import type { Store } from '../store/types.js';

/**
 * Dashboard sign-in sessions, server side: the cookie holds 32 random bytes; the records hold only their SHA-256,
 * the key's hash and identity, and the times. A session ends on logout, after `idleMs` without a request, or
 * `maxMs` after sign-in, whichever comes first.
 *
 * Where the records live (openSessionRecords): in the database, so a restart keeps people signed in; on Postgres
 * every replica reads them, so a load balancer may send a person's requests to any replica and a sign-out on one
 * ends the session on all. A store held in memory keeps them in memory. No session secret to store or rotate.
 */
export interface Session {
  /** SHA-256 of the key used to sign in: each request checks it is still valid (not revoked). */
  keyHash: string;
  /** `user:alice` or `admin-key:ops`. */
  actorId: string;
  userId: string | null;
  /** The key's team (a person's team otherwise comes from the directory). */
  keyTeamId: string | null;
  /**
   * Set for a session signed in with an admin key: the key's role at sign-in, kept for the record. Each request
   * takes the role the config gives the key now, as people's roles come from the directory on every request.
   */
  adminRole: string | null;
  createdAt: number;
  seenAt: number;
}

/** A session as the SQLite and Postgres tables (`dashboard_sessions`) keep it, by the SHA-256 of its token. */
export interface SessionRow {
  key_hash: string;
  actor_id: string;
  user_id: string | null;
  key_team_id: string | null;
  admin_role: string | null;
  created_at: number;
  seen_at: number;
}

export const sessionFromRow = (r: SessionRow): Session => ({
  keyHash: r.key_hash,
  actorId: r.actor_id,
  userId: r.user_id,
  keyTeamId: r.key_team_id,
  adminRole: r.admin_role,
  createdAt: r.created_at,
  seenAt: r.seen_at,
});

export const SESSION_COOKIE = 'gh_session';

export interface SessionLimits {
  /** 8 hours: a working day without a request ends the session. */
  idleMs: number;
  /** 24 hours: a stolen cookie is good for a day at most. */
  maxMs: number;
  /** Oldest sessions are dropped beyond this, so a flood of sign-ins cannot exhaust memory. */
  maxSessions: number;
  /**
   * A person's (or admin key's) oldest sessions are dropped beyond this, so one key signing in over and over drops
   * its own sessions, not everyone's (which the overall cap alone would).
   */
  maxPerActor: number;
}

export const DEFAULT_LIMITS: SessionLimits = { idleMs: 8 * 3_600_000, maxMs: 24 * 3_600_000, maxSessions: 10_000, maxPerActor: 20 };

const digest = (token: string): string => createHash('sha256').update(token).digest('hex');

/** A session's last request is written back at most this often: an API call is a read, not a write, most of the time. */
export const TOUCH_EVERY_MS = 60_000;

/** Where sessions are kept, by the SHA-256 (hex) of their token. */
export interface SessionRecords {
  /** Stores a new session; drops those expired at `at` and, beyond the limits (its actor's, then all), the oldest. */
  add(id: string, s: Session, limits: SessionLimits, at: number): Promise<void>;
  find(id: string): Promise<Session | undefined>;
  /** Records a request at `at`. */
  touch(id: string, at: number): Promise<void>;
  remove(id: string): Promise<void>;
  close(): Promise<void>;
}

/** Sessions of this process: a Map in sign-in order, so the oldest are the first dropped. */
export class MemorySessionRecords implements SessionRecords {
  private readonly sessions = new Map<string, Session>();

  async add(id: string, s: Session, limits: SessionLimits, at: number): Promise<void> {
    for (const [k, v] of this.sessions) if (expired(v, limits, at)) this.sessions.delete(k);
    const own = [...this.sessions].filter(([, v]) => v.actorId === s.actorId);
    for (const [k] of own.slice(0, Math.max(0, own.length - (limits.maxPerActor - 1)))) this.sessions.delete(k);
    while (this.sessions.size >= limits.maxSessions) {
      const oldest = this.sessions.keys().next().value;
      if (oldest === undefined) break;
      this.sessions.delete(oldest);
    }
    this.sessions.set(id, { ...s });
  }

  async find(id: string): Promise<Session | undefined> {
    const s = this.sessions.get(id);
    return s === undefined ? undefined : { ...s };
  }

  async touch(id: string, at: number): Promise<void> {
    const s = this.sessions.get(id);
    if (s !== undefined) s.seenAt = Math.max(s.seenAt, at);
  }

  async remove(id: string): Promise<void> {
    this.sessions.delete(id);
  }

  async close(): Promise<void> {
    this.sessions.clear();
  }
}

const expired = (s: Session, limits: SessionLimits, at: number): boolean => at - s.seenAt > limits.idleMs || at - s.createdAt > limits.maxMs;

export class SessionTable {
  constructor(
    private readonly now: () => number,
    private readonly records: SessionRecords = new MemorySessionRecords(),
    private readonly limits: SessionLimits = DEFAULT_LIMITS,
  ) {}

  /** Starts a session; returns the token for the cookie (never stored). */
  async create(s: Omit<Session, 'createdAt' | 'seenAt'>): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    const at = this.now();
    await unavailableAs503(this.records.add(digest(token), { ...s, createdAt: at, seenAt: at }, this.limits, at));
    return token;
  }

  /** The live session of a token (and marks it seen), or undefined. */
  async get(token: string | undefined): Promise<Session | undefined> {
    if (token === undefined || token.length < 20 || token.length > 100) return undefined;
    const id = digest(token);
    const s = await unavailableAs503(this.records.find(id));
    if (s === undefined) return undefined;
    const at = this.now();
    if (expired(s, this.limits, at)) {
      await unavailableAs503(this.records.remove(id));
      return undefined;
    }
    if (at - s.seenAt >= TOUCH_EVERY_MS) {
      await unavailableAs503(this.records.touch(id, at));
      s.seenAt = at;
    }
    return s;
  }

  async delete(token: string | undefined): Promise<void> {
    if (token !== undefined) await unavailableAs503(this.records.remove(digest(token)));
  }
}

/** A database that cannot be reached is a 503 the person can retry, not an internal error. */
async function unavailableAs503<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (cause) {
    if (cause instanceof GoodhartError) throw cause;
    throw new GoodhartError('internal', 503, 'The dashboard cannot reach its database to check your session. Try again in a moment.', { retryable: true, cause });
  }
}

/**
 * The session records for a store: on Postgres a table of their own beside the events (dashboard_migrations), read by
 * every replica; in a SQLite file, a table there written through the dashboard's reader thread (`sqliteVia`: a
 * sign-in must never wait on the event writer's lock on the gateway's thread); for a store in memory, in memory.
 */
export async function openSessionRecords(store: Store, sqliteVia?: { sessions(): SessionRecords }): Promise<SessionRecords> {
  const spec = storeSpec(store);
  if (spec?.kind === 'sqlite' && sqliteVia !== undefined) return sqliteVia.sessions();
  if (spec?.kind !== 'postgres') return new MemorySessionRecords();
  // Loaded on demand, as the Postgres store itself is: a SQLite gateway never loads the driver.
  const { PostgresSessionRecords } = await import('./postgres-sessions.js');
  return PostgresSessionRecords.open(spec.url, { searchPath: spec.searchPath });
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
