import Database from 'better-sqlite3';
import type { TaskClass } from './classifier.js';
import { connectSqlite, isReadOnlyError, outdatedReadOnlyError, readOnlyError, type SqliteConnection } from '../store/sqlite/connect.js';
import { MemoryDecisionStore, type DecisionFilter, type GuardHistoryRow, type RouteDecision, type RouteDecisionStore } from './decisions.js';
import type { GuardTrip } from './guard.js';
import type { SavingsGroup } from './savings.js';
import { decisionFromRow, decisionToRow, savingsByHours, savingsGroupFromRow, tripFromRow, type DecisionRow, type SavingsGroupRow, type TripRow } from './decision-rows.js';

/**
 * Routing decisions in the same SQLite file as the events, on a connection of their own (WAL lets both write in
 * turn). The table is created here rather than in the store's migrations: it belongs to routing, which the
 * Postgres store keeps in its own tables too (postgres-decisions.ts, with the same rollup), and it never joins the
 * events table. `IF NOT EXISTS` makes each step idempotent: step 1 the decisions, step 2 the quality guard's trips
 * (a new table, so a file from before it simply gains it). Step 3, the hourly savings rollup, is filled from the
 * decisions already there when it is created (ROLLUP_SCHEMA).
 */
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS route_decisions (
    id                  TEXT PRIMARY KEY,
    at                  INTEGER NOT NULL,
    mode                TEXT NOT NULL,
    applied             INTEGER NOT NULL,
    key_id              TEXT NOT NULL,
    user_id             TEXT NOT NULL,
    team_id             TEXT,
    project_id          TEXT,
    provider            TEXT NOT NULL,
    endpoint            TEXT NOT NULL,
    task_class          TEXT NOT NULL,
    score               REAL NOT NULL,
    model_requested     TEXT NOT NULL,
    model_routed        TEXT NOT NULL,
    requested_cost_usd  REAL,
    routed_cost_usd     REAL,
    miss_at             INTEGER
  );
  CREATE INDEX IF NOT EXISTS idx_route_decisions_at ON route_decisions (at, id);

  -- team_key: the team id, '' for keys without a team (a primary key column cannot be NULL in Postgres; kept alike).
  CREATE TABLE IF NOT EXISTS route_guard_trips (
    team_key    TEXT NOT NULL,
    task_class  TEXT NOT NULL,
    misses      INTEGER NOT NULL,
    routed      INTEGER NOT NULL,
    tripped_at  INTEGER NOT NULL,
    until       INTEGER NOT NULL,
    PRIMARY KEY (team_key, task_class)
  );
`;

/**
 * Savings per UTC hour, team, model pair and mode: what `savingsGroups` sums, so a month's savings read a few
 * thousand rows instead of every decision (a gateway routing in shadow mode writes one per request). Kept by
 * triggers, so every writer of the file keeps it exact (an older goodhart included): an insert adds the decision,
 * an update moves it (a miss), a delete takes it away; an ignored duplicate fires nothing. team_key is '' for keys
 * without a team. Created, with its triggers, and filled from the decisions already there, in one transaction.
 */
const ROLLUP_TABLE = 'route_savings_hourly';
const ROLLUP_TRIGGERS = ['route_savings_insert', 'route_savings_update', 'route_savings_delete'];
const PRICED = (r: string): string => `${r}.requested_cost_usd IS NOT NULL AND ${r}.routed_cost_usd IS NOT NULL`;
/** A decision's row as a rollup insert: added to the row of its hour, team, models and mode. */
const ADD = (r: 'NEW'): string => `
  INSERT INTO ${ROLLUP_TABLE} VALUES (${r}.at - (((${r}.at % 3600000) + 3600000) % 3600000), IFNULL(${r}.team_id, ''),
    ${r}.model_requested, ${r}.model_routed, ${r}.applied, 1, CASE WHEN ${PRICED(r)} THEN 0 ELSE 1 END,
    CASE WHEN ${PRICED(r)} THEN ${r}.requested_cost_usd ELSE 0 END, CASE WHEN ${PRICED(r)} THEN ${r}.routed_cost_usd ELSE 0 END,
    ${r}.miss_at IS NOT NULL)
  ON CONFLICT (hour, team_key, model_requested, model_routed, applied) DO UPDATE SET
    requests = requests + 1, unpriced = unpriced + excluded.unpriced, requested_usd = requested_usd + excluded.requested_usd,
    routed_usd = routed_usd + excluded.routed_usd, misses = misses + excluded.misses;`;
/** The same taken away. */
const SUBTRACT = (r: 'OLD'): string => `
  UPDATE ${ROLLUP_TABLE} SET requests = requests - 1, unpriced = unpriced - (CASE WHEN ${PRICED(r)} THEN 0 ELSE 1 END),
    requested_usd = requested_usd - (CASE WHEN ${PRICED(r)} THEN ${r}.requested_cost_usd ELSE 0 END),
    routed_usd = routed_usd - (CASE WHEN ${PRICED(r)} THEN ${r}.routed_cost_usd ELSE 0 END),
    misses = misses - (${r}.miss_at IS NOT NULL)
  WHERE hour = ${r}.at - (((${r}.at % 3600000) + 3600000) % 3600000) AND team_key = IFNULL(${r}.team_id, '')
    AND model_requested = ${r}.model_requested AND model_routed = ${r}.model_routed AND applied = ${r}.applied;`;
const ROLLUP_SCHEMA = `
  CREATE TABLE ${ROLLUP_TABLE} (
    hour             INTEGER NOT NULL,
    team_key         TEXT NOT NULL,
    model_requested  TEXT NOT NULL,
    model_routed     TEXT NOT NULL,
    applied          INTEGER NOT NULL,
    requests         INTEGER NOT NULL,
    unpriced         INTEGER NOT NULL,
    requested_usd    REAL NOT NULL,
    routed_usd       REAL NOT NULL,
    misses           INTEGER NOT NULL,
    PRIMARY KEY (hour, team_key, model_requested, model_routed, applied)
  ) WITHOUT ROWID;
  INSERT INTO ${ROLLUP_TABLE}
    SELECT at - (((at % 3600000) + 3600000) % 3600000), IFNULL(team_id, ''), model_requested, model_routed, applied, COUNT(*),
      SUM(CASE WHEN requested_cost_usd IS NOT NULL AND routed_cost_usd IS NOT NULL THEN 0 ELSE 1 END),
      TOTAL(CASE WHEN requested_cost_usd IS NOT NULL AND routed_cost_usd IS NOT NULL THEN requested_cost_usd END),
      TOTAL(CASE WHEN requested_cost_usd IS NOT NULL AND routed_cost_usd IS NOT NULL THEN routed_cost_usd END),
      COUNT(miss_at)
    FROM route_decisions GROUP BY 1, 2, 3, 4, 5;
  ${ROLLUP_TRIGGERS.map((t) => `DROP TRIGGER IF EXISTS ${t};`).join('\n  ')}
  CREATE TRIGGER route_savings_insert AFTER INSERT ON route_decisions BEGIN ${ADD('NEW')} END;
  CREATE TRIGGER route_savings_update AFTER UPDATE ON route_decisions BEGIN ${SUBTRACT('OLD')} ${ADD('NEW')} END;
  CREATE TRIGGER route_savings_delete AFTER DELETE ON route_decisions BEGIN ${SUBTRACT('OLD')} END;
`;

/** The tables SCHEMA creates. */
const ROUTE_TABLES = ['route_decisions', 'route_guard_trips'];
const routeTables = (db: Database.Database): number =>
  db.prepare(`SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN (${ROUTE_TABLES.map((t) => `'${t}'`).join(', ')})`).pluck().get() as number;

/**
 * The routing decisions of the file at path, for reports: a file this user may not write is opened read-only, and
 * one that never had routing tables (no gateway routed through it) has no decisions.
 */
export function readDecisionStore(path: string): RouteDecisionStore {
  const connection = connectSqlite(path, { readOnly: true });
  if (connection.readOnly && routeTables(connection.db) === 0) {
    connection.db.close();
    return new MemoryDecisionStore();
  }
  return new SqliteDecisionStore(path, connection);
}

export class SqliteDecisionStore implements RouteDecisionStore {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement;
  private readonly insertMany: (ds: readonly RouteDecision[]) => void;

  /** `connection`: a read-only one (see readDecisionStore) must hold every routing table; nothing is created then. */
  constructor(path: string, connection: SqliteConnection = connectSqlite(path)) {
    this.db = connection.db;
    // Only a file without the rollup takes the write lock here (opening must not wait on another connection's
    // long write); the check is repeated inside, where two processes opening the same old file take turns.
    const rollupParts = this.db
      .prepare(`SELECT COUNT(*) FROM sqlite_master WHERE name IN ('${ROLLUP_TABLE}', ${ROLLUP_TRIGGERS.map((t) => `'${t}'`).join(', ')})`)
      .pluck();
    const complete = (): boolean => rollupParts.get() === 1 + ROLLUP_TRIGGERS.length;
    if (connection.readOnly) {
      if (!complete() || routeTables(this.db) < ROUTE_TABLES.length) {
        this.db.close();
        throw outdatedReadOnlyError(path, 'routing tables');
      }
    } else {
      try {
        this.db.exec(SCHEMA);
        if (!complete()) {
          this.db
            .transaction(() => {
              if (!complete()) this.db.exec(`DROP TABLE IF EXISTS ${ROLLUP_TABLE}; ${ROLLUP_SCHEMA}`);
            })
            .immediate();
        }
      } catch (cause) {
        this.db.close();
        throw isReadOnlyError(cause) ? readOnlyError(path, cause) : cause;
      }
    }
    this.insert = this.db.prepare(
      `INSERT OR IGNORE INTO route_decisions VALUES (@id, @at, @mode, @applied, @key_id, @user_id, @team_id, @project_id,
        @provider, @endpoint, @task_class, @score, @model_requested, @model_routed, @requested_cost_usd, @routed_cost_usd, @miss_at)`,
    );
    this.insertMany = this.db.transaction((ds: readonly RouteDecision[]) => {
      for (const d of ds) this.insert.run(decisionToRow(d));
    });
  }

  async insertDecisions(decisions: readonly RouteDecision[]): Promise<void> {
    if (decisions.length > 0) this.insertMany(decisions);
  }

  async markMiss(id: string, at: number): Promise<void> {
    this.db.prepare('UPDATE route_decisions SET miss_at = ? WHERE id = ?').run(at, id);
  }

  async listDecisions(f: DecisionFilter): Promise<RouteDecision[]> {
    const { clause, params } = whereOf(f);
    return (this.db.prepare(`SELECT * FROM route_decisions ${clause} ORDER BY at, id`).all(...params) as DecisionRow[]).map(decisionFromRow);
  }

  /** Whole UTC hours from the rollup, the partial hours at the ends from the decisions (savingsByHours). */
  async savingsGroups(f: DecisionFilter): Promise<SavingsGroup[]> {
    return savingsByHours(f, (r) => this.rolledGroups(r), (r) => this.rawGroups(r));
  }

  private rolledGroups(f: DecisionFilter): SavingsGroup[] {
    const { clause, params } = whereOf(f, 'hour', 'team_key');
    const rows = this.db
      .prepare(
        `SELECT team_key, model_requested, model_routed, applied, SUM(requests) AS requests, SUM(unpriced) AS unpriced,
           TOTAL(requested_usd) AS requested_usd, TOTAL(routed_usd) AS routed_usd, SUM(misses) AS misses
         FROM ${ROLLUP_TABLE} ${clause}
         GROUP BY team_key, model_requested, model_routed, applied HAVING SUM(requests) > 0`,
      )
      .all(...params) as (Omit<SavingsGroupRow, 'team_id'> & { team_key: string })[];
    return rows.map((r) => savingsGroupFromRow({ ...r, team_id: r.team_key === '' ? null : r.team_key }));
  }

  private rawGroups(f: DecisionFilter): SavingsGroup[] {
    const { clause, params } = whereOf(f);
    const priced = 'requested_cost_usd IS NOT NULL AND routed_cost_usd IS NOT NULL';
    const rows = this.db
      .prepare(
        `SELECT team_id, model_requested, model_routed, applied, COUNT(*) AS requests,
           SUM(CASE WHEN ${priced} THEN 0 ELSE 1 END) AS unpriced,
           TOTAL(CASE WHEN ${priced} THEN requested_cost_usd END) AS requested_usd,
           TOTAL(CASE WHEN ${priced} THEN routed_cost_usd END) AS routed_usd,
           COUNT(miss_at) AS misses
         FROM route_decisions ${clause}
         GROUP BY team_id, model_requested, model_routed, applied`,
      )
      .all(...params) as SavingsGroupRow[];
    return rows.map(savingsGroupFromRow);
  }

  async guardHistory(since: number): Promise<GuardHistoryRow[]> {
    const rows = this.db
      .prepare('SELECT team_id, task_class, at, miss_at FROM route_decisions WHERE at >= ? AND applied = 1 ORDER BY at, id')
      .all(since) as { team_id: string | null; task_class: string; at: number; miss_at: number | null }[];
    return rows.map((r) => ({ teamId: r.team_id, taskClass: r.task_class as TaskClass, at: r.at, missAt: r.miss_at }));
  }

  async saveTrip(t: GuardTrip): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO route_guard_trips VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (team_key, task_class) DO UPDATE SET misses = excluded.misses, routed = excluded.routed,
           tripped_at = excluded.tripped_at, until = excluded.until WHERE excluded.until > route_guard_trips.until`,
      )
      .run(t.teamId ?? '', t.taskClass, t.misses, t.routed, t.trippedAt, t.until);
  }

  async activeTrips(now: number): Promise<GuardTrip[]> {
    const rows = this.db.prepare('SELECT * FROM route_guard_trips WHERE until > ? ORDER BY team_key, task_class').all(now) as TripRow[];
    return rows.map(tripFromRow);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

function whereOf(f: DecisionFilter, at = 'at', team = 'team_id'): { clause: string; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (clause: string, value: unknown) => {
    where.push(clause);
    params.push(value);
  };
  if (f.since !== undefined) add(`${at} >= ?`, f.since);
  if (f.until !== undefined) add(`${at} < ?`, f.until);
  if (f.teamId !== undefined) add(`${team} = ?`, f.teamId);
  return { clause: where.length > 0 ? `WHERE ${where.join(' AND ')}` : '', params };
}
