import Database from 'better-sqlite3';
import { sessionFromRow, type Session, type SessionLimits, type SessionRecords, type SessionRow } from './sessions.js';

/**
 * Dashboard sessions in the gateway's SQLite file, so a restart keeps people signed in. Used on the dashboard's reader
 * thread only (reader-thread.ts): better-sqlite3 is synchronous, and a sign-in that waited on the event writer's lock
 * must not hold the gateway's thread. The table is created here (`IF NOT EXISTS`), like the routing tables: it
 * belongs to the dashboard and never joins the events.
 */
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS dashboard_sessions (
    id          TEXT PRIMARY KEY,
    key_hash    TEXT NOT NULL,
    actor_id    TEXT NOT NULL,
    user_id     TEXT,
    key_team_id TEXT,
    admin_role  TEXT,
    created_at  INTEGER NOT NULL,
    seen_at     INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS dashboard_sessions_created ON dashboard_sessions (created_at);
`;

export class SqliteSessionRecords implements SessionRecords {
  private readonly db: Database.Database;
  private readonly addTx: (id: string, s: Session, limits: SessionLimits, at: number) => void;
  private readonly findStmt: Database.Statement<[string], SessionRow>;
  private readonly touchStmt: Database.Statement<[number, string]>;
  private readonly removeStmt: Database.Statement<[string]>;

  constructor(path: string) {
    this.db = new Database(path);
    // The event writer holds the file's write lock for a batch at a time: wait for it (this thread only).
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    const expire = this.db.prepare<[number, number]>('DELETE FROM dashboard_sessions WHERE seen_at < ? OR created_at < ?');
    // Beyond the caps the oldest go (the actor's own first), so a flood of sign-ins cannot fill the table.
    const capActor = this.db.prepare<[string, number]>(
      'DELETE FROM dashboard_sessions WHERE id IN (SELECT id FROM dashboard_sessions WHERE actor_id = ? ORDER BY created_at DESC, id LIMIT -1 OFFSET ?)',
    );
    const cap = this.db.prepare<[number]>('DELETE FROM dashboard_sessions WHERE id IN (SELECT id FROM dashboard_sessions ORDER BY created_at DESC, id LIMIT -1 OFFSET ?)');
    const insert = this.db.prepare<[string, string, string, string | null, string | null, string | null, number, number]>(
      'INSERT INTO dashboard_sessions (id, key_hash, actor_id, user_id, key_team_id, admin_role, created_at, seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.addTx = this.db.transaction((id: string, s: Session, limits: SessionLimits, at: number) => {
      expire.run(at - limits.idleMs, at - limits.maxMs);
      capActor.run(s.actorId, Math.max(0, limits.maxPerActor - 1));
      cap.run(Math.max(0, limits.maxSessions - 1));
      insert.run(id, s.keyHash, s.actorId, s.userId, s.keyTeamId, s.adminRole, s.createdAt, s.seenAt);
    });
    this.findStmt = this.db.prepare('SELECT key_hash, actor_id, user_id, key_team_id, admin_role, created_at, seen_at FROM dashboard_sessions WHERE id = ?');
    this.touchStmt = this.db.prepare('UPDATE dashboard_sessions SET seen_at = max(seen_at, ?) WHERE id = ?');
    this.removeStmt = this.db.prepare('DELETE FROM dashboard_sessions WHERE id = ?');
  }

  async add(id: string, s: Session, limits: SessionLimits, at: number): Promise<void> {
    this.addTx(id, s, limits, at);
  }

  async find(id: string): Promise<Session | undefined> {
    const r = this.findStmt.get(id);
    return r === undefined ? undefined : sessionFromRow(r);
  }

  async touch(id: string, at: number): Promise<void> {
    this.touchStmt.run(at, id);
  }

  async remove(id: string): Promise<void> {
    this.removeStmt.run(id);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
