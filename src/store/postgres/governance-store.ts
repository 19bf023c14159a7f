import { GoodhartError } from '../../errors.js';
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
import { alreadyDecided, OverlayChanged, overlayStill } from '../../policy/store.js';
import { foldSpendRows, type SpendRow } from '../spend-rows.js';
import { openSideTables, type SideSql } from './side-tables.js';
import { toAccess, toGrant, type AccessRow, type GrantRow } from '../governance-rows.js';

/**
 * Governance tables on Postgres, with the behaviour of the SQLite ones (sqlite/governance-store.ts): the admin
 * API's overlay, access requests, grants, sent alerts, and the append-only audit log, whose UPDATE, DELETE and
 * TRUNCATE a trigger refuses in the database itself. Versioned on their own (`governance_migrations`, under an
 * advisory lock), so replicas starting together migrate once and the core store's migrations never collide.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE gov_overlay (
    kind        TEXT COLLATE "C" NOT NULL,
    id          TEXT COLLATE "C" NOT NULL,
    data        TEXT,
    updated_at  BIGINT NOT NULL,
    updated_by  TEXT NOT NULL,
    PRIMARY KEY (kind, id)
  );
  CREATE TABLE gov_audit (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           BIGINT NOT NULL,
    actor        TEXT NOT NULL,
    actor_role   TEXT NOT NULL,
    action       TEXT NOT NULL,
    target_kind  TEXT NOT NULL,
    target_id    TEXT NOT NULL,
    before_json  TEXT,
    after_json   TEXT
  );
  CREATE INDEX idx_gov_audit_at ON gov_audit (at);
  CREATE FUNCTION gov_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;
  CREATE TRIGGER gov_audit_no_change BEFORE UPDATE OR DELETE ON gov_audit
    FOR EACH ROW EXECUTE FUNCTION gov_audit_append_only();
  CREATE TRIGGER gov_audit_no_truncate BEFORE TRUNCATE ON gov_audit
    FOR EACH STATEMENT EXECUTE FUNCTION gov_audit_append_only();
  CREATE TABLE gov_access_requests (
    id             TEXT COLLATE "C" PRIMARY KEY,
    user_id        TEXT NOT NULL,
    team_id        TEXT,
    tier           TEXT,
    model          TEXT,
    justification  TEXT NOT NULL,
    hours          DOUBLE PRECISION NOT NULL,
    status         TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    decided_at     BIGINT,
    decided_by     TEXT,
    note           TEXT,
    grant_id       TEXT
  );
  CREATE INDEX idx_gov_access_status ON gov_access_requests (status, created_at);
  CREATE TABLE gov_grants (
    id          TEXT COLLATE "C" PRIMARY KEY,
    user_id     TEXT NOT NULL,
    tier        TEXT,
    model       TEXT,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    granted_by  TEXT NOT NULL,
    request_id  TEXT
  );
  CREATE INDEX idx_gov_grants_expiry ON gov_grants (expires_at);
  CREATE TABLE gov_alerts (
    dedup_key  TEXT COLLATE "C" PRIMARY KEY,
    at         BIGINT NOT NULL,
    payload    TEXT NOT NULL
  );
  `,
  // Alerts are recorded when claimed and marked delivered only once every sink took them: one whose webhook was
  // down is retried later (alerts/dispatcher.ts), also after a restart. Rows from before were delivered or given up.
  `
  ALTER TABLE gov_alerts ADD COLUMN pending TEXT;
  ALTER TABLE gov_alerts ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0;
  CREATE INDEX idx_gov_alerts_pending ON gov_alerts (at) WHERE pending IS NOT NULL;
  `,
  // Who holds an alert's lease: a process whose lease ran out while it was sending must not overwrite the record of
  // the one that took the alert over.
  `ALTER TABLE gov_alerts ADD COLUMN lease_holder TEXT;`,
  // How long an alert is kept (NULL: for good, an alert of a budget without periods): past its period it is forgotten.
  // Alerts from before are kept 400 days after they were raised (the longest a period, a year, needs), or for good
  // for a budget without periods.
  `
  ALTER TABLE gov_alerts ADD COLUMN keep_until BIGINT;
  UPDATE gov_alerts SET keep_until = at + ${400 * 86_400_000} WHERE payload NOT LIKE '%"period":"none"%';
  CREATE INDEX idx_gov_alerts_keep ON gov_alerts (keep_until);
  `,
];

type Sql = SideSql;

const json = (v: unknown): string | null => (v === undefined || v === null ? null : JSON.stringify(v));
const parse = (s: string | null): unknown => (s === null ? null : JSON.parse(s));
/** NULL once nothing is left to deliver. */
const pendingJson = (p: readonly PendingDelivery[]): string | null => (p.length === 0 ? null : JSON.stringify(p));

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

export class PostgresGovernanceStore implements GovernanceStore {
  private constructor(private readonly sql: Sql) {}

  /** Connects (a small pool of its own: governance writes are rare) and applies pending migrations. */
  static async open(url: string, opts: { searchPath?: string | undefined } = {}): Promise<PostgresGovernanceStore> {
    const sql = await openSideTables(url, { name: 'governance', migrations: MIGRATIONS, max: 3, searchPath: opts.searchPath, needs: 'create tables and functions' });
    return new PostgresGovernanceStore(sql);
  }

  async loadOverlay(): Promise<OverlayRecord[]> {
    const rows = await this.sql<{ kind: string; id: string; data: string | null; updated_at: number; updated_by: string }[]>`
      SELECT kind, id, data, updated_at, updated_by FROM gov_overlay ORDER BY kind, id`;
    return rows.map((r) => ({ kind: r.kind as EntityKind, id: r.id, data: parse(r.data) as Record<string, unknown> | null, updatedAt: r.updated_at, updatedBy: r.updated_by }));
  }

  async commit(change: GovernanceChange): Promise<AuditEntry> {
    return this.sql.begin(async (tx): Promise<AuditEntry> => {
      const { overlay: o, overlayReset: reset, accessRequest: a, grant: g, audit } = change;
      if (reset) await tx`DELETE FROM gov_overlay WHERE kind = ${reset.kind} AND id = ${reset.id}`;
      if (o) {
        const guard = change.overlayIf;
        if (guard !== undefined) {
          // Locks the row: a concurrent guarded change waits, then reads this one's (read committed re-reads a locked row).
          const [row] = await tx<{ data: string | null }[]>`SELECT data FROM gov_overlay WHERE kind = ${o.kind} AND id = ${o.id} FOR UPDATE`;
          if (!overlayStill(row, guard)) throw new OverlayChanged(o.kind, o.id);
        }
        // No row to lock when none was expected: one inserted meanwhile is a conflict, which updates nothing then.
        const written = await tx`INSERT INTO gov_overlay (kind, id, data, updated_at, updated_by) VALUES (${o.kind}, ${o.id}, ${json(o.data)}, ${o.updatedAt}, ${o.updatedBy})
          ON CONFLICT (kind, id) DO UPDATE SET data = EXCLUDED.data, updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by
          WHERE ${guard !== null}
          RETURNING kind`;
        if (written.length === 0) throw new OverlayChanged(o.kind, o.id);
      }
      if (a) {
        // A concurrent decision holds the row until it commits; this one then sees its status (read committed).
        const written = await tx`INSERT INTO gov_access_requests (id, user_id, team_id, tier, model, justification, hours, status, created_at, decided_at, decided_by, note, grant_id)
          VALUES (${a.id}, ${a.userId}, ${a.teamId}, ${a.tier}, ${a.model}, ${a.justification}, ${a.hours}, ${a.status}, ${a.createdAt}, ${a.decidedAt}, ${a.decidedBy}, ${a.note}, ${a.grantId})
          ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, decided_at = EXCLUDED.decided_at, decided_by = EXCLUDED.decided_by, note = EXCLUDED.note, grant_id = EXCLUDED.grant_id
          WHERE ${change.decidesPending !== true} OR gov_access_requests.status = 'pending'
          RETURNING id`;
        if (written.length === 0) throw alreadyDecided(a.id);
      }
      if (g) {
        await tx`INSERT INTO gov_grants (id, user_id, tier, model, created_at, expires_at, granted_by, request_id)
          VALUES (${g.id}, ${g.userId}, ${g.tier}, ${g.model}, ${g.createdAt}, ${g.expiresAt}, ${g.grantedBy}, ${g.requestId})
          ON CONFLICT (id) DO UPDATE SET expires_at = EXCLUDED.expires_at`;
      }
      const [row] = await tx<{ seq: number }[]>`
        INSERT INTO gov_audit (at, actor, actor_role, action, target_kind, target_id, before_json, after_json)
        VALUES (${audit.at}, ${audit.actor}, ${audit.actorRole}, ${audit.action}, ${audit.targetKind}, ${audit.targetId}, ${json(audit.before)}, ${json(audit.after)})
        RETURNING seq`;
      return { ...audit, seq: row!.seq };
    });
  }

  async listAudit(f: AuditFilter): Promise<AuditEntry[]> {
    const { where, params } = clauses([
      ['at >=', f.since],
      ['at <', f.until],
      ['actor =', f.actor],
      ['target_kind =', f.targetKind],
      ['target_id =', f.targetId],
    ]);
    params.push(f.limit ?? 1000);
    const rows = await this.sql.unsafe<AuditRow[]>(`SELECT * FROM gov_audit ${where} ORDER BY seq DESC LIMIT $${params.length}`, params);
    return rows.map((r) => ({
      seq: r.seq,
      at: r.at,
      actor: r.actor,
      actorRole: r.actor_role,
      action: r.action,
      targetKind: r.target_kind,
      targetId: r.target_id,
      before: parse(r.before_json),
      after: parse(r.after_json),
    }));
  }

  async listAccessRequests(f: { status?: AccessStatus; userId?: string; teamId?: string }): Promise<AccessRequest[]> {
    const { where, params } = clauses([
      ['status =', f.status],
      ['user_id =', f.userId],
      ['team_id =', f.teamId],
    ]);
    return (await this.sql.unsafe<AccessRow[]>(`SELECT * FROM gov_access_requests ${where} ORDER BY created_at DESC, id`, params)).map(toAccess);
  }

  async getAccessRequest(id: string): Promise<AccessRequest | undefined> {
    const [row] = await this.sql<AccessRow[]>`SELECT * FROM gov_access_requests WHERE id = ${id}`;
    return row ? toAccess(row) : undefined;
  }

  async listGrants(f: { activeAt?: number; userId?: string }): Promise<Grant[]> {
    const { where, params } = clauses([
      ['expires_at >', f.activeAt],
      ['user_id =', f.userId],
    ]);
    const rows = await this.sql.unsafe<GrantRow[]>(`SELECT * FROM gov_grants ${where} ORDER BY created_at DESC, id`, params);
    return rows.map(toGrant);
  }

  async claimAlert({ dedupKey, at, payload, pending, leaseUntil, holder, keepUntil }: AlertClaim): Promise<boolean> {
    const rows = await this.sql`
      INSERT INTO gov_alerts (dedup_key, at, payload, pending, lease_until, lease_holder, keep_until)
      VALUES (${dedupKey}, ${at}, ${JSON.stringify(payload)}, ${pendingJson(pending)}, ${leaseUntil}, ${holder}, ${keepUntil})
      ON CONFLICT DO NOTHING RETURNING 1`;
    return rows.length === 1;
  }

  async expireAlerts(now: number, pendingSince: number): Promise<{ expired: number; pruned: number }> {
    const expired = await this.sql`UPDATE gov_alerts SET pending = NULL WHERE pending IS NOT NULL AND at < ${pendingSince}`;
    const pruned = await this.sql`DELETE FROM gov_alerts WHERE keep_until < ${now}`;
    return { expired: expired.count, pruned: pruned.count };
  }

  async setAlertPending(dedupKey: string, pending: readonly PendingDelivery[], nextTry: number, holder: string): Promise<boolean> {
    const rows = await this.sql`
      UPDATE gov_alerts SET pending = ${pendingJson(pending)}, lease_until = ${nextTry}, lease_holder = NULL
      WHERE dedup_key = ${dedupKey} AND lease_holder = ${holder} RETURNING 1`;
    return rows.length === 1;
  }

  async takePendingAlerts(now: number, since: number, leaseUntil: number, limit: number, holder: string, dueBy = now): Promise<PendingAlert[]> {
    // SKIP LOCKED: replicas sweeping at once take different rows, never the same one twice. lease_until is when the
    // alert is due: the longest due first, so a backlog a sink keeps refusing never hides a newer alert.
    const rows = await this.sql<{ dedup_key: string; pending: string }[]>`
      UPDATE gov_alerts SET lease_until = ${leaseUntil}, lease_holder = ${holder} WHERE dedup_key IN (
        SELECT dedup_key FROM gov_alerts WHERE pending IS NOT NULL AND (lease_until <= ${now} OR (lease_holder IS NULL AND lease_until <= ${Math.max(now, dueBy)})) AND at >= ${since}
        ORDER BY lease_until, at LIMIT ${limit} FOR UPDATE SKIP LOCKED
      ) RETURNING dedup_key, pending`;
    return rows.map((r) => ({ dedupKey: r.dedup_key, pending: JSON.parse(r.pending) as PendingDelivery[] }));
  }

  async firstGatewayEventAt(): Promise<number | null> {
    if (!(await this.hasEvents())) return null;
    const [row] = await this.sql<{ first: number | null }[]>`SELECT min(started_at) AS first FROM events WHERE source = 'gateway'`;
    return row?.first ?? null;
  }

  /** One pass over the range (the started_at index), summed per day and dimension combination, folded into scopes. */
  async spendByDay(days: readonly Window[], until: number): Promise<LedgerRow[]> {
    if (days.length === 0 || !(await this.hasEvents())) return [];
    const starts = days.map((w) => w.start);
    const ends = days.map((w) => (Number.isFinite(w.end) ? w.end : Number.MAX_SAFE_INTEGER));
    const rows = await this.sql<SpendRow[]>`
      WITH d(s, e) AS (SELECT * FROM unnest(${starts}::int8[], ${ends}::int8[]))
      SELECT d.s AS day, ev.user_id, ev.team_id, ev.project_id, ev.key_id, ev.tags::text AS tags,
             COALESCE(sum(ev.cost_usd), 0)::float8 AS usd, COALESCE(sum(ev.input_tokens + ev.output_tokens), 0)::float8 AS tokens
      FROM d JOIN events ev ON ev.started_at >= d.s AND ev.started_at < LEAST(d.e, ${until}::int8)
      WHERE ev.source = 'gateway'
      GROUP BY d.s, ev.user_id, ev.team_id, ev.project_id, ev.key_id, ev.tags::text`;
    return foldSpendRows(rows);
  }

  async close(): Promise<void> {
    await this.sql.end({ timeout: 5 });
  }

  private async hasEvents(): Promise<boolean> {
    const [row] = await this.sql<{ t: string | null }[]>`SELECT to_regclass('events')::text AS t`;
    return row?.t !== null && row?.t !== undefined;
  }
}

/** `WHERE a = $1 AND b < $2` from the filters that are set. */
function clauses(filters: readonly (readonly [string, string | number | undefined])[]): { where: string; params: (string | number)[] } {
  const parts: string[] = [];
  const params: (string | number)[] = [];
  for (const [op, value] of filters) {
    if (value === undefined) continue;
    params.push(value);
    parts.push(`${op} $${params.length}`);
  }
  return { where: parts.length > 0 ? `WHERE ${parts.join(' AND ')}` : '', params };
}
