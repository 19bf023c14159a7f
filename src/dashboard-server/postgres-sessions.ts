import { openSideTables, type SideSql } from '../store/postgres/side-tables.js';
import { sessionFromRow, type Session, type SessionLimits, type SessionRecords, type SessionRow } from './sessions.js';

/**
 * Dashboard sessions on Postgres, shared by every replica: signed in through one, a person may be sent to any other
 * by the load balancer; signed out through one, the session is gone on all. Versioned on their own
 * (`dashboard_migrations`, under an advisory lock), like the governance and routing tables.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE dashboard_sessions (
    id          text PRIMARY KEY,
    key_hash    text NOT NULL,
    actor_id    text NOT NULL,
    user_id     text,
    key_team_id text,
    admin_role  text,
    created_at  int8 NOT NULL,
    seen_at     int8 NOT NULL
  );
  CREATE INDEX dashboard_sessions_created ON dashboard_sessions (created_at);`,
];

export class PostgresSessionRecords implements SessionRecords {
  private constructor(private readonly sql: SideSql) {}

  /** Connects (a small pool of its own) and applies pending migrations. */
  static async open(url: string, opts: { searchPath?: string | undefined } = {}): Promise<PostgresSessionRecords> {
    return new PostgresSessionRecords(await openSideTables(url, { name: 'dashboard', migrations: MIGRATIONS, max: 2, searchPath: opts.searchPath }));
  }

  async add(id: string, s: Session, limits: SessionLimits, at: number): Promise<void> {
    await this.sql.begin(async (tx) => {
      await tx`DELETE FROM dashboard_sessions WHERE seen_at < ${at - limits.idleMs} OR created_at < ${at - limits.maxMs}`;
      // Beyond the caps the oldest go (the actor's own first), so a flood of sign-ins cannot fill the table.
      await tx`DELETE FROM dashboard_sessions WHERE id IN (
        SELECT id FROM dashboard_sessions WHERE actor_id = ${s.actorId} ORDER BY created_at DESC, id OFFSET ${Math.max(0, limits.maxPerActor - 1)})`;
      await tx`DELETE FROM dashboard_sessions WHERE id IN (
        SELECT id FROM dashboard_sessions ORDER BY created_at DESC, id OFFSET ${Math.max(0, limits.maxSessions - 1)})`;
      await tx`INSERT INTO dashboard_sessions (id, key_hash, actor_id, user_id, key_team_id, admin_role, created_at, seen_at)
        VALUES (${id}, ${s.keyHash}, ${s.actorId}, ${s.userId}, ${s.keyTeamId}, ${s.adminRole}, ${s.createdAt}, ${s.seenAt})`;
    });
  }

  async find(id: string): Promise<Session | undefined> {
    const [r] = await this.sql<SessionRow[]>`
      SELECT key_hash, actor_id, user_id, key_team_id, admin_role, created_at, seen_at FROM dashboard_sessions WHERE id = ${id}`;
    return r === undefined ? undefined : sessionFromRow(r);
  }

  async touch(id: string, at: number): Promise<void> {
    await this.sql`UPDATE dashboard_sessions SET seen_at = greatest(seen_at, ${at}) WHERE id = ${id}`;
  }

  async remove(id: string): Promise<void> {
    await this.sql`DELETE FROM dashboard_sessions WHERE id = ${id}`;
  }

  async close(): Promise<void> {
    await this.sql.end({ timeout: 5 });
  }
}
