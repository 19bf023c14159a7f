import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { Fingerprint } from '../../detect/fingerprint/types.js';
import type { EventRef, FindingsStore, LiveSource } from '../../detect/store.js';
import type { Finding, FindingFilter } from '../../detect/types.js';
import type { UsageEvent } from '../../usage/event.js';
import { findingFromRow, findingToRow, fingerprintFromRow, fingerprintToRow, type FindingRow, type FingerprintRow } from '../findings-rows.js';
import { readOrCreateSecretFile } from '../../detect/fingerprint/secret-file.js';
import { eventFromRow, type EventRow } from '../rows.js';

/**
 * The SQLite side of waste detection (migrations 3 and 6): findings, request fingerprints, the fingerprint secret,
 * and live detection's feed and lease. Kept apart from SqliteStore, which only exposes it as `store.findings`.
 *
 * The feed's cursor is the events table's rowid: SQLite has one writer at a time and events are never deleted, so
 * rowids grow in commit order and every event stored after a cursor has a larger one. (An import that replaces a
 * stored event updates it in place: the feed does not see the replacement.)
 */

const cursorOf = (s: string): number => {
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`not a SQLite feed cursor: "${s}"`);
  return n;
};

/** Where a SQLite database's generated fingerprint secret is kept: a file beside it. */
export function fingerprintKeyFileOf(dbPath: string): string {
  return `${dbPath}.fingerprint-key`;
}

export class SqliteFindingsTables implements FindingsStore, LiveSource {
  private readonly upsertMany: (rows: readonly Finding[]) => number;
  private readonly insertFps: (rows: readonly Fingerprint[]) => number;
  /** Statements live detection runs every tick, prepared once (preparing costs more than running them). */
  private readonly statements = new Map<string, Database.Statement>();

  private stmt(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (st === undefined) {
      st = this.db.prepare(sql);
      this.statements.set(sql, st);
    }
    return st;
  }

  private memorySecret: string | undefined;

  constructor(private readonly db: Database.Database) {
    const upsert = db.prepare(`INSERT OR REPLACE INTO findings (id, rule, subject_kind, subject_id, user_id, team_id, session_id,
      start_at, end_at, wasted_usd, waste_method, confidence, summary, suggestion, evidence, detected_at)
      VALUES (@id, @rule, @subject_kind, @subject_id, @user_id, @team_id, @session_id, @start_at, @end_at, @wasted_usd,
      @waste_method, @confidence, @summary, @suggestion, @evidence, @detected_at)`);
    this.upsertMany = db.transaction((rows: readonly Finding[]) => {
      let n = 0;
      for (const f of rows) n += upsert.run(findingToRow(f)).changes;
      return n;
    });
    const insert = db.prepare(`INSERT OR IGNORE INTO fingerprints (event_id, at, user_id, session_id, human_turn, prompt,
      features, blocks, tool_step, tools_declared, complexity) VALUES (@event_id, @at, @user_id, @session_id, @human_turn,
      @prompt, @features, @blocks, @tool_step, @tools_declared, @complexity)`);
    this.insertFps = db.transaction((rows: readonly Fingerprint[]) => {
      let n = 0;
      for (const f of rows) n += insert.run(fingerprintToRow(f)).changes;
      return n;
    });
  }

  async upsertFindings(findings: readonly Finding[]): Promise<number> {
    return findings.length === 0 ? 0 : this.upsertMany(findings);
  }

  async listFindings(filter: FindingFilter): Promise<Finding[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.since !== undefined) {
      where.push('end_at >= ?');
      params.push(filter.since);
    }
    if (filter.until !== undefined) {
      where.push('start_at < ?');
      params.push(filter.until);
    }
    if (filter.userId !== undefined) {
      where.push('user_id = ?');
      params.push(filter.userId);
    }
    if (filter.teamId !== undefined) {
      where.push('team_id = ?');
      params.push(filter.teamId);
    }
    if (filter.rule !== undefined) {
      where.push('rule = ?');
      params.push(filter.rule);
    }
    const limit = filter.limit !== undefined && Number.isSafeInteger(filter.limit) && filter.limit >= 0 ? ` LIMIT ${filter.limit}` : '';
    const sql = `SELECT * FROM findings ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY start_at DESC, id${limit}`;
    return (this.db.prepare(sql).all(...params) as FindingRow[]).map(findingFromRow);
  }

  async deleteFindings(filter: { since: number; until: number; rules: readonly string[] }): Promise<number> {
    if (filter.rules.length === 0) return 0;
    const marks = filter.rules.map(() => '?').join(', ');
    return this.db
      .prepare(`DELETE FROM findings WHERE start_at >= ? AND start_at < ? AND rule IN (${marks})`)
      .run(filter.since, filter.until, ...filter.rules).changes;
  }

  async insertFingerprints(fps: readonly Fingerprint[]): Promise<number> {
    return this.insertFingerprintsNow(fps);
  }

  /** insertFingerprints, synchronously: inside another transaction (an import batch) it joins that one. */
  insertFingerprintsNow(fps: readonly Fingerprint[]): number {
    return fps.length === 0 ? 0 : this.insertFps(fps);
  }

  async listFingerprints(filter: { since: number; until: number }): Promise<Fingerprint[]> {
    const rows = this
      .stmt('SELECT * FROM fingerprints WHERE at >= ? AND at < ? ORDER BY at, event_id')
      .all(filter.since, filter.until) as FingerprintRow[];
    return rows.map(fingerprintFromRow);
  }

  async fingerprintsOf(eventIds: readonly string[]): Promise<Fingerprint[]> {
    if (eventIds.length === 0) return [];
    const rows = this
      .stmt('SELECT * FROM fingerprints WHERE event_id IN (SELECT value FROM json_each(?))')
      .all(JSON.stringify(eventIds)) as FingerprintRow[];
    return rows.map(fingerprintFromRow);
  }

  async deleteFingerprintsBefore(before: number): Promise<number> {
    return this.stmt('DELETE FROM fingerprints WHERE at < ?').run(before).changes;
  }

  /**
   * Kept beside the database file (`<db>.fingerprint-key`, mode 0600), never in it: with the secret, stored prompt
   * hashes can be inverted against a dictionary. A database in memory keeps one for its lifetime.
   */
  async fingerprintSecret(): Promise<string> {
    if (this.db.memory || this.db.name === '' || this.db.name === ':memory:') {
      this.memorySecret ??= randomBytes(32).toString('base64');
      return this.memorySecret;
    }
    return readOrCreateSecretFile(fingerprintKeyFileOf(this.db.name));
  }

  async feedMark(): Promise<string> {
    const row = this.stmt('SELECT COALESCE(max(rowid), 0) AS m FROM events').get() as { m: number };
    return String(row.m);
  }

  async readFeed(after: string, upTo: string, limit: number): Promise<{ events: EventRef[]; next: string }> {
    const rows = this
      .stmt('SELECT rowid AS seq, id, started_at FROM events WHERE rowid > ? AND rowid <= ? ORDER BY rowid LIMIT ?')
      .all(cursorOf(after), cursorOf(upTo), limit) as { seq: number; id: string; started_at: number }[];
    return {
      events: rows.map((r) => ({ id: r.id, startedAt: r.started_at })),
      next: rows.length === 0 ? after : String(rows[rows.length - 1]!.seq),
    };
  }

  async eventsOf(refs: readonly EventRef[]): Promise<UsageEvent[]> {
    if (refs.length === 0) return [];
    const rows = this.stmt('SELECT * FROM events WHERE id IN (SELECT value FROM json_each(?))').all(JSON.stringify(refs.map((r) => r.id))) as EventRow[];
    return rows.map(eventFromRow);
  }

  async listEventsUpTo(filter: { since: number; until: number; after?: EventRef; limit?: number }, upTo: string): Promise<UsageEvent[]> {
    const after = filter.after ?? { startedAt: filter.since, id: '' };
    const rows = this
      .stmt('SELECT * FROM events WHERE (started_at, id) > (?, ?) AND started_at >= ? AND started_at < ? AND rowid <= ? ORDER BY started_at, id LIMIT ?')
      .all(after.startedAt, after.id, filter.since, filter.until, cursorOf(upTo), filter.limit ?? -1) as EventRow[];
    return rows.map(eventFromRow);
  }

  async acquireLease(name: string, holder: string, ttlMs: number): Promise<{ cursor: string | null } | null> {
    const now = Date.now();
    // One statement: insert, or take over when this holder has it or it expired; RETURNING says who has it now.
    const row = this
      .stmt(`INSERT INTO detect_live (name, holder, lease_until, cursor, updated_at) VALUES (@name, @holder, @until, NULL, @now)
        ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, lease_until = excluded.lease_until, updated_at = excluded.updated_at
        WHERE detect_live.holder = excluded.holder OR detect_live.lease_until < @now
        RETURNING cursor`)
      .get({ name, holder, until: now + ttlMs, now }) as { cursor: string | null } | undefined;
    return row === undefined ? null : { cursor: row.cursor };
  }

  async saveCursor(name: string, holder: string, cursor: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    return (
      this
        .stmt('UPDATE detect_live SET cursor = ?, lease_until = ?, updated_at = ? WHERE name = ? AND holder = ?')
        .run(cursor, now + ttlMs, now, name, holder).changes === 1
    );
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    this.stmt('UPDATE detect_live SET lease_until = 0 WHERE name = ? AND holder = ?').run(name, holder);
  }
}
