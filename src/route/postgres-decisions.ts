import postgres from 'postgres';
import { GoodhartError } from '../errors.js';
import { openSideTables, readSideTables, type SideSql } from '../store/postgres/side-tables.js';
import type { TaskClass } from './classifier.js';
import { MemoryDecisionStore, type DecisionFilter, type GuardHistoryRow, type RouteDecision, type RouteDecisionStore } from './decisions.js';
import type { GuardTrip } from './guard.js';
import type { SavingsGroup } from './savings.js';
import { decisionFromRow, decisionToRow, savingsByHours, savingsGroupFromRow, tripFromRow, type DecisionRow, type SavingsGroupRow, type TripRow } from './decision-rows.js';

const PRICED = 'requested_cost_usd IS NOT NULL AND routed_cost_usd IS NOT NULL';
/**
 * Adds to the rollup the decisions of `rows`, a query with a `sign` column (1 to add a decision, -1 to take it
 * away), per hour, team, models and mode. One statement, sorted, so two replicas' statements lock the rows they
 * share in the same order (an update's old and new rows included).
 */
function ROLLUP_UPSERT(rows: string): string {
  return `INSERT INTO route_savings_hourly AS r
      SELECT at - (((at % 3600000) + 3600000) % 3600000), COALESCE(team_id, ''), model_requested, model_routed, applied,
        sum(sign), COALESCE(sum(sign) FILTER (WHERE NOT (${PRICED})), 0),
        COALESCE(sum(sign * requested_cost_usd) FILTER (WHERE ${PRICED}), 0), COALESCE(sum(sign * routed_cost_usd) FILTER (WHERE ${PRICED}), 0),
        COALESCE(sum(sign) FILTER (WHERE miss_at IS NOT NULL), 0)
      FROM (${rows}) AS d GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
      ON CONFLICT (hour, team_key, model_requested, model_routed, applied) DO UPDATE SET
        requests = r.requests + excluded.requests, unpriced = r.unpriced + excluded.unpriced,
        requested_usd = r.requested_usd + excluded.requested_usd, routed_usd = r.routed_usd + excluded.routed_usd,
        misses = r.misses + excluded.misses;`;
}

/**
 * Routing decisions and the quality guard's trips on Postgres, with the behaviour of the SQLite tables
 * (sqlite-decisions.ts), for gateways on the Postgres store: every replica writes its decisions here, reads the
 * trips the others wrote, and a restart finds both. Versioned on their own (`route_migrations`, under an advisory
 * lock), like the governance tables, so the core store's migrations never collide with them.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE route_decisions (
    id                  TEXT COLLATE "C" PRIMARY KEY,
    at                  BIGINT NOT NULL,
    mode                TEXT NOT NULL,
    applied             BOOLEAN NOT NULL,
    key_id              TEXT COLLATE "C" NOT NULL,
    user_id             TEXT COLLATE "C" NOT NULL,
    team_id             TEXT COLLATE "C",
    project_id          TEXT COLLATE "C",
    provider            TEXT NOT NULL,
    endpoint            TEXT NOT NULL,
    task_class          TEXT NOT NULL,
    score               DOUBLE PRECISION NOT NULL,
    model_requested     TEXT COLLATE "C" NOT NULL,
    model_routed        TEXT COLLATE "C" NOT NULL,
    requested_cost_usd  DOUBLE PRECISION,
    routed_cost_usd     DOUBLE PRECISION,
    miss_at             BIGINT
  );
  CREATE INDEX route_decisions_at ON route_decisions (at, id);
  CREATE TABLE route_guard_trips (
    team_key    TEXT COLLATE "C" NOT NULL,
    task_class  TEXT NOT NULL,
    misses      INTEGER NOT NULL,
    routed      INTEGER NOT NULL,
    tripped_at  BIGINT NOT NULL,
    until       BIGINT NOT NULL,
    PRIMARY KEY (team_key, task_class)
  );
  `,
  // 2: the hourly savings rollup (as SQLite's, sqlite-decisions.ts), kept by statement-level triggers: one grouped
  // upsert per statement (a gateway's batch of decisions), not one per decision. Filled from the decisions already
  // there; CREATE TRIGGER locks out writers until this commits, so none is counted twice or missed.
  `
  CREATE TABLE route_savings_hourly (
    hour             BIGINT NOT NULL,
    team_key         TEXT COLLATE "C" NOT NULL,
    model_requested  TEXT COLLATE "C" NOT NULL,
    model_routed     TEXT COLLATE "C" NOT NULL,
    applied          BOOLEAN NOT NULL,
    requests         BIGINT NOT NULL,
    unpriced         BIGINT NOT NULL,
    requested_usd    DOUBLE PRECISION NOT NULL,
    routed_usd       DOUBLE PRECISION NOT NULL,
    misses           BIGINT NOT NULL,
    PRIMARY KEY (hour, team_key, model_requested, model_routed, applied)
  );
  CREATE FUNCTION route_savings_apply() RETURNS trigger LANGUAGE plpgsql AS $fn$
  BEGIN
    IF TG_OP = 'INSERT' THEN
      ${ROLLUP_UPSERT('SELECT *, 1 AS sign FROM new_rows')}
    ELSIF TG_OP = 'DELETE' THEN
      ${ROLLUP_UPSERT('SELECT *, -1 AS sign FROM old_rows')}
    ELSE
      ${ROLLUP_UPSERT('SELECT *, -1 AS sign FROM old_rows UNION ALL SELECT *, 1 FROM new_rows')}
    END IF;
    RETURN NULL;
  END
  $fn$;
  CREATE TRIGGER route_savings_insert AFTER INSERT ON route_decisions REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION route_savings_apply();
  CREATE TRIGGER route_savings_update AFTER UPDATE ON route_decisions REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION route_savings_apply();
  CREATE TRIGGER route_savings_delete AFTER DELETE ON route_decisions REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION route_savings_apply();
  ${ROLLUP_UPSERT('SELECT *, 1 AS sign FROM route_decisions')}
  `,
];

type Sql = SideSql;

/** Column order of the batch arrays in insertDecisions, with each array's SQL type. */
const COLUMNS = [
  ['id', 'text'],
  ['at', 'int8'],
  ['mode', 'text'],
  ['applied', 'int2'], // 1/0: postgres.js sends a JS boolean[] parameter as a scalar
  ['key_id', 'text'],
  ['user_id', 'text'],
  ['team_id', 'text'],
  ['project_id', 'text'],
  ['provider', 'text'],
  ['endpoint', 'text'],
  ['task_class', 'text'],
  ['score', 'float8'],
  ['model_requested', 'text'],
  ['model_routed', 'text'],
  ['requested_cost_usd', 'float8'],
  ['routed_cost_usd', 'float8'],
  ['miss_at', 'int8'],
] as const;

const INSERT_SQL = `INSERT INTO route_decisions (${COLUMNS.map(([c]) => c).join(', ')})
  SELECT ${COLUMNS.map(([c]) => (c === 'applied' ? 'b.applied <> 0' : `b.${c}`)).join(', ')}
  FROM unnest(${COLUMNS.map(([, t], i) => `$${i + 1}::${t}[]`).join(', ')}) AS b(${COLUMNS.map(([c]) => c).join(', ')})
  ON CONFLICT (id) DO NOTHING`;

export class PostgresDecisionStore implements RouteDecisionStore {
  private constructor(private readonly sql: Sql) {}

  /** Connects (a small pool of its own) and applies pending migrations. */
  static async open(url: string, opts: { searchPath?: string | undefined } = {}): Promise<PostgresDecisionStore> {
    const sql = await openSideTables(url, { name: 'route', migrations: MIGRATIONS, max: 2, searchPath: opts.searchPath });
    return new PostgresDecisionStore(sql);
  }

  /**
   * For reports: creates and migrates nothing (a role that may only SELECT reads them); a database whose gateway
   * never routed (no routing tables) has no decisions.
   */
  static async read(url: string, opts: { searchPath?: string | undefined } = {}): Promise<RouteDecisionStore> {
    const sql = await readSideTables(url, { name: 'route', migrations: MIGRATIONS, max: 2, searchPath: opts.searchPath });
    return sql === null ? new MemoryDecisionStore() : new PostgresDecisionStore(sql);
  }

  async insertDecisions(decisions: readonly RouteDecision[]): Promise<void> {
    if (decisions.length === 0) return;
    const rows = decisions.map(decisionToRow);
    const arrays = COLUMNS.map(([c]) => rows.map((r) => r[c]));
    await this.sql.unsafe(INSERT_SQL, arrays as never[], { prepare: true });
  }

  async markMiss(id: string, at: number): Promise<void> {
    await this.sql`UPDATE route_decisions SET miss_at = ${at} WHERE id = ${id}`;
  }

  async listDecisions(f: DecisionFilter): Promise<RouteDecision[]> {
    const rows = await this.sql<DecisionRow[]>`SELECT * FROM route_decisions WHERE ${this.where(f)} ORDER BY at, id`;
    return rows.map(decisionFromRow);
  }

  /** Whole UTC hours from the rollup, the partial hours at the ends from the decisions (savingsByHours). */
  async savingsGroups(f: DecisionFilter): Promise<SavingsGroup[]> {
    return savingsByHours(f, (r) => this.rolledGroups(r), (r) => this.rawGroups(r));
  }

  private async rolledGroups(f: DecisionFilter): Promise<SavingsGroup[]> {
    const rows = await this.sql<(Omit<SavingsGroupRow, 'team_id'> & { team_key: string })[]>`
      SELECT team_key, model_requested, model_routed, applied, sum(requests)::int8 AS requests, sum(unpriced)::int8 AS unpriced,
        sum(requested_usd)::float8 AS requested_usd, sum(routed_usd)::float8 AS routed_usd, sum(misses)::int8 AS misses
      FROM route_savings_hourly WHERE ${this.where(f, 'hour', 'team_key')}
      GROUP BY team_key, model_requested, model_routed, applied HAVING sum(requests) > 0`;
    return rows.map((r) => savingsGroupFromRow({ ...r, team_id: r.team_key === '' ? null : r.team_key }));
  }

  private async rawGroups(f: DecisionFilter): Promise<SavingsGroup[]> {
    const rows = await this.sql<SavingsGroupRow[]>`
      SELECT team_id, model_requested, model_routed, applied, count(*)::int8 AS requests,
        count(*) FILTER (WHERE requested_cost_usd IS NULL OR routed_cost_usd IS NULL)::int8 AS unpriced,
        COALESCE(sum(requested_cost_usd) FILTER (WHERE requested_cost_usd IS NOT NULL AND routed_cost_usd IS NOT NULL), 0)::float8 AS requested_usd,
        COALESCE(sum(routed_cost_usd) FILTER (WHERE requested_cost_usd IS NOT NULL AND routed_cost_usd IS NOT NULL), 0)::float8 AS routed_usd,
        count(miss_at)::int8 AS misses
      FROM route_decisions WHERE ${this.where(f)}
      GROUP BY team_id, model_requested, model_routed, applied`;
    return rows.map(savingsGroupFromRow);
  }

  async guardHistory(since: number): Promise<GuardHistoryRow[]> {
    const rows = await this.sql<{ team_id: string | null; task_class: string; at: number; miss_at: number | null }[]>`
      SELECT team_id, task_class, at, miss_at FROM route_decisions WHERE at >= ${since} AND applied ORDER BY at, id`;
    return rows.map((r) => ({ teamId: r.team_id, taskClass: r.task_class as TaskClass, at: r.at, missAt: r.miss_at }));
  }

  async saveTrip(t: GuardTrip): Promise<void> {
    await this.sql`
      INSERT INTO route_guard_trips VALUES (${t.teamId ?? ''}, ${t.taskClass}, ${t.misses}, ${t.routed}, ${t.trippedAt}, ${t.until})
      ON CONFLICT (team_key, task_class) DO UPDATE SET misses = excluded.misses, routed = excluded.routed,
        tripped_at = excluded.tripped_at, until = excluded.until WHERE excluded.until > route_guard_trips.until`;
  }

  async activeTrips(now: number): Promise<GuardTrip[]> {
    const rows = await this.sql<TripRow[]>`SELECT * FROM route_guard_trips WHERE until > ${now} ORDER BY team_key, task_class`;
    return rows.map(tripFromRow);
  }

  async close(): Promise<void> {
    await this.sql.end({ timeout: 5 });
  }

  private where(f: DecisionFilter, at = 'at', team = 'team_id'): postgres.PendingQuery<postgres.Row[]> {
    const sql = this.sql;
    return sql`${f.since === undefined ? sql`TRUE` : sql`${sql(at)} >= ${f.since}`}
      AND ${f.until === undefined ? sql`TRUE` : sql`${sql(at)} < ${f.until}`}
      AND ${f.teamId === undefined ? sql`TRUE` : sql`${sql(team)} = ${f.teamId}`}`;
  }
}
