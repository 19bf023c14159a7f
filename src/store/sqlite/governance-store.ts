import Database from 'better-sqlite3';
import type { Grant } from '../../policy/access.js';
import type { Window } from '../../policy/period.js';
import type { LedgerRow } from '../../policy/state.js';
import type {
  AccessRequest,
  AccessStatus,
  AlertClaim,
  AuditEntry,
  AuditFilter,
  EntityKind,
  GovernanceChange,
  GovernanceStore,
  OverlayRecord,
  PendingAlert,
  PendingDelivery,
} from '../../policy/store.js';
import { GoodhartError } from '../../errors.js';
import { alreadyDecided, OverlayChanged, overlayStill } from '../../policy/store.js';
import { foldSpendRows, type SpendRow } from '../spend-rows.js';
import { toAccess, toGrant, type AccessRow, type GrantRow } from '../governance-rows.js';
import { connectSqlite, isReadOnlyError, outdatedReadOnlyError, readOnlyError } from './connect.js';

/**
 * A step of the schema: SQL, or a function for a step that must check what is there first. Every step after the
 * first must be safe to run again on a file it already ran on: goodhart before the alert outbox (schema 1) writes
 * schema_version = 1 back whenever it opens the file, so a file opened by an older replica, or after a rollback, has
 * the later steps run on it again.
 */
type Migration = string | ((db: Database.Database) => void);

/** ALTER TABLE … ADD COLUMN unless the column is there (SQLite has no ADD COLUMN IF NOT EXISTS). */
function addColumn(db: Database.Database, table: string, column: string, definition: string): void {
  const columns = db.prepare(`SELECT name FROM pragma_table_info(?)`).all(table) as { name: string }[];
  if (!columns.some((c) => c.name === column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${definition}`);
}

/** How long an alert recorded before alerts had a keep_until is kept: 400 days, the longest a period (a year) needs. */
const KEEP_BEFORE_MS = 400 * 86_400_000;

/**
 * Governance tables in the same SQLite file as the events, through a connection of their own. Their schema has
 * its own version (in `governance_meta`, not `PRAGMA user_version`), so governance migrations and the core
 * store's are appended independently and never collide.
 *
 * The audit log is append-only in the database itself: triggers refuse UPDATE and DELETE, so neither the API
 * (which offers no such call) nor a stray statement can rewrite history.
 */
const GOVERNANCE_MIGRATIONS: readonly Migration[] = [
  `
  CREATE TABLE gov_overlay (
    kind        TEXT NOT NULL,
    id          TEXT NOT NULL,
    data        TEXT,
    updated_at  INTEGER NOT NULL,
    updated_by  TEXT NOT NULL,
    PRIMARY KEY (kind, id)
  );
  CREATE TABLE gov_audit (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    at           INTEGER NOT NULL,
    actor        TEXT NOT NULL,
    actor_role   TEXT NOT NULL,
    action       TEXT NOT NULL,
    target_kind  TEXT NOT NULL,
    target_id    TEXT NOT NULL,
    before_json  TEXT,
    after_json   TEXT
  );
  CREATE INDEX idx_gov_audit_at ON gov_audit (at);
  CREATE TRIGGER gov_audit_no_update BEFORE UPDATE ON gov_audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
  CREATE TRIGGER gov_audit_no_delete BEFORE DELETE ON gov_audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
  CREATE TABLE gov_access_requests (
    id             TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL,
    team_id        TEXT,
    tier           TEXT,
    model          TEXT,
    justification  TEXT NOT NULL,
    hours          REAL NOT NULL,
    status         TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    decided_at     INTEGER,
    decided_by     TEXT,
    note           TEXT,
    grant_id       TEXT
  );
  CREATE INDEX idx_gov_access_status ON gov_access_requests (status, created_at);
  CREATE TABLE gov_grants (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL,
    tier        TEXT,
    model       TEXT,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    granted_by  TEXT NOT NULL,
    request_id  TEXT
  );
  CREATE INDEX idx_gov_grants_expiry ON gov_grants (expires_at);
  CREATE TABLE gov_alerts (
    dedup_key  TEXT PRIMARY KEY,
    at         INTEGER NOT NULL,
    payload    TEXT NOT NULL
  );
  `,
  // Alerts are recorded when claimed and marked delivered only once every sink took them: one whose webhook was
  // down is retried later (alerts/dispatcher.ts), also after a restart. Rows from before were delivered or given up.
  (db) => {
    addColumn(db, 'gov_alerts', 'pending', 'TEXT');
    addColumn(db, 'gov_alerts', 'lease_until', 'INTEGER NOT NULL DEFAULT 0');
    db.exec('CREATE INDEX IF NOT EXISTS idx_gov_alerts_pending ON gov_alerts (at) WHERE pending IS NOT NULL');
  },
  // Who holds an alert's lease: a process whose lease ran out while it was sending must not overwrite the record of
  // the one that took the alert over.
  (db) => addColumn(db, 'gov_alerts', 'lease_holder', 'TEXT'),
  // How long an alert is kept (NULL: for good, an alert of a budget without periods): past its period it is forgotten.
  // Alerts from before are kept 400 days after they were raised, or for good for a budget without periods; this
  // runs again on a file an older goodhart wrote to (see Migration), for the rows it added.
  (db) => {
    addColumn(db, 'gov_alerts', 'keep_until', 'INTEGER');
    db.exec(`UPDATE gov_alerts SET keep_until = at + ${KEEP_BEFORE_MS} WHERE keep_until IS NULL AND payload NOT LIKE '%"period":"none"%'`);
    db.exec('CREATE INDEX IF NOT EXISTS idx_gov_alerts_keep ON gov_alerts (keep_until)');
  },
];

interface AuditRow {
  seq: number;
  at: number;
  actor: string;
  actor_role: string;
  action: string;
  target_kind: string;
  target_id: string;
  before_json: string | null;
  after_json: string | null;
}

const json = (v: unknown): string | null => (v === undefined || v === null ? null : JSON.stringify(v));
const parse = (s: string | null): unknown => (s === null ? null : JSON.parse(s));

/** NULL once nothing is left to deliver. */
const pendingJson = (p: readonly PendingDelivery[]): string | null => (p.length === 0 ? null : JSON.stringify(p));

const toAudit = (r: AuditRow): AuditEntry => ({
  seq: r.seq,
  at: r.at,
  actor: r.actor,
  actorRole: r.actor_role,
  action: r.action,
  targetKind: r.target_kind,
  targetId: r.target_id,
  before: parse(r.before_json),
  after: parse(r.after_json),
});

export class SqliteGovernanceStore implements GovernanceStore {
  private readonly db: Database.Database;
  /** Opened read-only on a file that never had governance tables: nothing was ever changed through the admin API. */
  private readonly absent: boolean = false;

  /**
   * `readOnly`: for reports (the audit, the digest), which only load the overlay; a file this user may not write is
   * opened read-only, and one without the governance tables reads as an empty overlay.
   */
  constructor(path: string, opts: { readOnly?: boolean } = {}) {
    const connection = connectSqlite(path, { readOnly: opts.readOnly });
    this.db = connection.db;
    this.db.pragma('synchronous = NORMAL');
    const applied = (): number => {
      const row = this.db.prepare("SELECT value FROM governance_meta WHERE key = 'schema_version'").get() as { value: number } | undefined;
      return row?.value ?? 0;
    };
    const newer = (found: number): GoodhartError =>
      new GoodhartError(
        'config_invalid',
        500,
        `The governance tables in ${path} are version ${found}, newer than this goodhart supports (${GOVERNANCE_MIGRATIONS.length}). Upgrade goodhart, or point --db / GOODHART_DB at another file.`,
      );
    const hasMeta = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'governance_meta'").get() !== undefined;
    const found = hasMeta ? applied() : 0;
    if (found > GOVERNANCE_MIGRATIONS.length) {
      this.db.close();
      throw newer(found);
    }
    if (connection.readOnly) {
      if (found === 0) this.absent = true;
      else if (found < GOVERNANCE_MIGRATIONS.length) {
        this.db.close();
        throw outdatedReadOnlyError(path, 'governance tables');
      }
      return;
    }
    if (found === GOVERNANCE_MIGRATIONS.length) return;
    try {
      // IMMEDIATE: the write lock first, then the version read under it, so two processes opening an older file at
      // once migrate it one after the other (the second finds it done) instead of both from the version they read.
      this.db
        .transaction(() => {
          this.db.exec('CREATE TABLE IF NOT EXISTS governance_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)');
          const from = applied();
          if (from > GOVERNANCE_MIGRATIONS.length) throw newer(from);
          if (from === GOVERNANCE_MIGRATIONS.length) return;
          for (const step of GOVERNANCE_MIGRATIONS.slice(from)) {
            if (typeof step === 'string') this.db.exec(step);
            else step(this.db);
          }
          this.db
            .prepare("INSERT INTO governance_meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)")
            .run(GOVERNANCE_MIGRATIONS.length);
        })
        .immediate();
    } catch (cause) {
      this.db.close();
      throw isReadOnlyError(cause) ? readOnlyError(path, cause) : cause;
    }
  }

  async loadOverlay(): Promise<OverlayRecord[]> {
    if (this.absent) return [];
    const rows = this.db.prepare('SELECT kind, id, data, updated_at, updated_by FROM gov_overlay ORDER BY kind, id').all() as {
      kind: string;
      id: string;
      data: string | null;
      updated_at: number;
      updated_by: string;
    }[];
    return rows.map((r) => ({
      kind: r.kind as EntityKind,
      id: r.id,
      data: parse(r.data) as Record<string, unknown> | null,
      updatedAt: r.updated_at,
      updatedBy: r.updated_by,
    }));
  }

  async commit(change: GovernanceChange): Promise<AuditEntry> {
    return this.db.transaction((): AuditEntry => {
      const { overlay, overlayReset: reset, accessRequest: a, grant: g, audit } = change;
      if (reset) this.db.prepare('DELETE FROM gov_overlay WHERE kind = ? AND id = ?').run(reset.kind, reset.id);
      if (overlay) {
        if (change.overlayIf !== undefined) {
          const row = this.db.prepare('SELECT data FROM gov_overlay WHERE kind = ? AND id = ?').get(overlay.kind, overlay.id) as { data: string | null } | undefined;
          if (!overlayStill(row, change.overlayIf)) throw new OverlayChanged(overlay.kind, overlay.id);
        }
        this.db
          .prepare(
            `INSERT INTO gov_overlay (kind, id, data, updated_at, updated_by) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (kind, id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
          )
          .run(overlay.kind, overlay.id, json(overlay.data), overlay.updatedAt, overlay.updatedBy);
      }
      if (a) {
        const { changes } = this.db
          .prepare(
            `INSERT INTO gov_access_requests (id, user_id, team_id, tier, model, justification, hours, status, created_at, decided_at, decided_by, note, grant_id)
             VALUES (@id, @userId, @teamId, @tier, @model, @justification, @hours, @status, @createdAt, @decidedAt, @decidedBy, @note, @grantId)
             ON CONFLICT (id) DO UPDATE SET status = excluded.status, decided_at = excluded.decided_at,
               decided_by = excluded.decided_by, note = excluded.note, grant_id = excluded.grant_id
             WHERE @pendingOnly = 0 OR gov_access_requests.status = 'pending'`,
          )
          .run({ ...a, pendingOnly: change.decidesPending === true ? 1 : 0 });
        // Thrown inside the transaction: the grant and the audit entry are not written either.
        if (changes === 0) throw alreadyDecided(a.id);
      }
      if (g) {
        this.db
          .prepare(
            `INSERT INTO gov_grants (id, user_id, tier, model, created_at, expires_at, granted_by, request_id)
             VALUES (@id, @userId, @tier, @model, @createdAt, @expiresAt, @grantedBy, @requestId)
             ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at`,
          )
          .run(g);
      }
      const info = this.db
        .prepare(
          `INSERT INTO gov_audit (at, actor, actor_role, action, target_kind, target_id, before_json, after_json)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(audit.at, audit.actor, audit.actorRole, audit.action, audit.targetKind, audit.targetId, json(audit.before), json(audit.after));
      return { ...audit, seq: Number(info.lastInsertRowid) };
      // Immediate: the write lock from the start, so what overlayIf read is still so when the change is written.
    }).immediate();
  }

  async listAudit(f: AuditFilter): Promise<AuditEntry[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (f.since !== undefined) (where.push('at >= ?'), params.push(f.since));
    if (f.until !== undefined) (where.push('at < ?'), params.push(f.until));
    if (f.actor !== undefined) (where.push('actor = ?'), params.push(f.actor));
    if (f.targetKind !== undefined) (where.push('target_kind = ?'), params.push(f.targetKind));
    if (f.targetId !== undefined) (where.push('target_id = ?'), params.push(f.targetId));
    const sql = `SELECT * FROM gov_audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...params, f.limit ?? 1000) as AuditRow[]).map(toAudit);
  }

  async listAccessRequests(f: { status?: AccessStatus; userId?: string; teamId?: string }): Promise<AccessRequest[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (f.status !== undefined) (where.push('status = ?'), params.push(f.status));
    if (f.userId !== undefined) (where.push('user_id = ?'), params.push(f.userId));
    if (f.teamId !== undefined) (where.push('team_id = ?'), params.push(f.teamId));
    const sql = `SELECT * FROM gov_access_requests ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id`;
    return (this.db.prepare(sql).all(...params) as AccessRow[]).map(toAccess);
  }

  async getAccessRequest(id: string): Promise<AccessRequest | undefined> {
    const row = this.db.prepare('SELECT * FROM gov_access_requests WHERE id = ?').get(id) as AccessRow | undefined;
    return row ? toAccess(row) : undefined;
  }

  async listGrants(f: { activeAt?: number; userId?: string }): Promise<Grant[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (f.activeAt !== undefined) (where.push('expires_at > ?'), params.push(f.activeAt));
    if (f.userId !== undefined) (where.push('user_id = ?'), params.push(f.userId));
    const sql = `SELECT * FROM gov_grants ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id`;
    return (this.db.prepare(sql).all(...params) as GrantRow[]).map(toGrant);
  }

  async claimAlert({ dedupKey, at, payload, pending, leaseUntil, holder, keepUntil }: AlertClaim): Promise<boolean> {
    const info = this.db
      .prepare('INSERT OR IGNORE INTO gov_alerts (dedup_key, at, payload, pending, lease_until, lease_holder, keep_until) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(dedupKey, at, JSON.stringify(payload), pendingJson(pending), leaseUntil, holder, keepUntil);
    return info.changes === 1;
  }

  async expireAlerts(now: number, pendingSince: number): Promise<{ expired: number; pruned: number }> {
    const expired = this.db.prepare('UPDATE gov_alerts SET pending = NULL WHERE pending IS NOT NULL AND at < ?').run(pendingSince).changes;
    const pruned = this.db.prepare('DELETE FROM gov_alerts WHERE keep_until < ?').run(now).changes;
    return { expired, pruned };
  }

  async setAlertPending(dedupKey: string, pending: readonly PendingDelivery[], nextTry: number, holder: string): Promise<boolean> {
    const info = this.db
      .prepare('UPDATE gov_alerts SET pending = ?, lease_until = ?, lease_holder = NULL WHERE dedup_key = ? AND lease_holder = ?')
      .run(pendingJson(pending), nextTry, dedupKey, holder);
    return info.changes === 1;
  }

  async takePendingAlerts(now: number, since: number, leaseUntil: number, limit: number, holder: string, dueBy = now): Promise<PendingAlert[]> {
    // One statement: another connection (live detection's, another process on the file) cannot take the same rows.
    // lease_until is when the alert is due: the longest due first, so alerts tried and failed a moment ago (a sink
    // that keeps refusing) go to the back and a backlog never hides a newer alert from the sweeps.
    const rows = this.db
      .prepare(
        `UPDATE gov_alerts SET lease_until = ?, lease_holder = ? WHERE dedup_key IN (
           SELECT dedup_key FROM gov_alerts WHERE pending IS NOT NULL AND (lease_until <= ? OR (lease_holder IS NULL AND lease_until <= ?)) AND at >= ?
           ORDER BY lease_until, at LIMIT ?
         ) RETURNING dedup_key, pending`,
      )
      .all(leaseUntil, holder, now, Math.max(now, dueBy), since, limit) as { dedup_key: string; pending: string }[];
    return rows.map((r) => ({ dedupKey: r.dedup_key, pending: JSON.parse(r.pending) as PendingDelivery[] }));
  }

  async firstGatewayEventAt(): Promise<number | null> {
    if (!this.hasEvents()) return null;
    const row = this.db.prepare("SELECT MIN(started_at) AS first FROM events WHERE source = 'gateway'").get() as { first: number | null };
    return row.first;
  }

  /**
   * One pass over the events of the range (the started_at index, one range per day): sums per day and per
   * (user, team, project, key, tags) combination, folded into scope values here.
   */
  async spendByDay(days: readonly Window[], until: number): Promise<LedgerRow[]> {
    if (days.length === 0 || !this.hasEvents()) return [];
    const rows = this.db
      .prepare(
        `WITH d(s, e) AS (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?))
         SELECT d.s AS day, ev.user_id, ev.team_id, ev.project_id, ev.key_id, ev.tags,
                COALESCE(SUM(ev.cost_usd), 0) AS usd, COALESCE(SUM(ev.input_tokens + ev.output_tokens), 0) AS tokens
         FROM d JOIN events ev ON ev.started_at >= d.s AND ev.started_at < MIN(d.e, ?)
         WHERE ev.source = 'gateway'
         GROUP BY d.s, ev.user_id, ev.team_id, ev.project_id, ev.key_id, ev.tags`,
      )
      .all(JSON.stringify(days.map((w) => [w.start, Number.isFinite(w.end) ? w.end : Number.MAX_SAFE_INTEGER])), until) as SpendRow[];
    return foldSpendRows(rows);
  }

  /** A private `:memory:` database has no events table: no history to load. */
  private hasEvents(): boolean {
    return this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'").get() !== undefined;
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
