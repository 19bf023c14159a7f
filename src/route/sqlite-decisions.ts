import Database from 'better-sqlite3';
import { GoodhartError } from '../errors.js';
import type { Endpoint } from '../usage/event.js';
import type { TaskClass } from './classifier.js';
import type { DecisionFilter, RouteDecision, RouteDecisionStore } from './decisions.js';
import type { SavingsGroup } from './savings.js';

/**
 * Routing decisions in the same SQLite file as the events, on a connection of their own (WAL lets both write in
 * turn). The table is created here rather than in the store's migrations: it belongs to routing, which the
 * Postgres store does not serve yet, and it never joins the events table. `IF NOT EXISTS` is its migration 1;
 * a later change adds a numbered step here.
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
`;

interface Row {
  id: string;
  at: number;
  mode: string;
  applied: number;
  key_id: string;
  user_id: string;
  team_id: string | null;
  project_id: string | null;
  provider: string;
  endpoint: string;
  task_class: string;
  score: number;
  model_requested: string;
  model_routed: string;
  requested_cost_usd: number | null;
  routed_cost_usd: number | null;
  miss_at: number | null;
}

export class SqliteDecisionStore implements RouteDecisionStore {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement;
  private readonly insertMany: (ds: readonly RouteDecision[]) => void;

  constructor(path: string) {
    try {
      this.db = new Database(path);
    } catch (cause) {
      throw new GoodhartError('config_invalid', 500, `Cannot open the SQLite database at ${path} for routing decisions: ${String(cause)}. Check --db / GOODHART_DB.`, { cause });
    }
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('journal_mode = WAL');
    this.db.exec(SCHEMA);
    this.insert = this.db.prepare(
      `INSERT OR IGNORE INTO route_decisions VALUES (@id, @at, @mode, @applied, @key_id, @user_id, @team_id, @project_id,
        @provider, @endpoint, @task_class, @score, @model_requested, @model_routed, @requested_cost_usd, @routed_cost_usd, @miss_at)`,
    );
    this.insertMany = this.db.transaction((ds: readonly RouteDecision[]) => {
      for (const d of ds) this.insert.run(toRow(d));
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
    return (this.db.prepare(`SELECT * FROM route_decisions ${clause} ORDER BY at, id`).all(...params) as Row[]).map(fromRow);
  }

  async savingsGroups(f: DecisionFilter): Promise<SavingsGroup[]> {
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
      .all(...params) as { team_id: string | null; model_requested: string; model_routed: string; applied: number; requests: number; unpriced: number; requested_usd: number; routed_usd: number; misses: number }[];
    return rows.map((r) => ({
      teamId: r.team_id,
      modelRequested: r.model_requested,
      modelRouted: r.model_routed,
      applied: r.applied === 1,
      requests: r.requests,
      unpriced: r.unpriced,
      requestedUsd: r.requested_usd,
      routedUsd: r.routed_usd,
      misses: r.misses,
    }));
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

function whereOf(f: DecisionFilter): { clause: string; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (clause: string, value: unknown) => {
    where.push(clause);
    params.push(value);
  };
  if (f.since !== undefined) add('at >= ?', f.since);
  if (f.until !== undefined) add('at < ?', f.until);
  if (f.teamId !== undefined) add('team_id = ?', f.teamId);
  return { clause: where.length > 0 ? `WHERE ${where.join(' AND ')}` : '', params };
}

function toRow(d: RouteDecision): Row {
  return {
    id: d.id,
    at: d.at,
    mode: d.mode,
    applied: d.applied ? 1 : 0,
    key_id: d.keyId,
    user_id: d.userId,
    team_id: d.teamId,
    project_id: d.projectId,
    provider: d.provider,
    endpoint: d.endpoint,
    task_class: d.taskClass,
    score: d.score,
    model_requested: d.modelRequested,
    model_routed: d.modelRouted,
    requested_cost_usd: d.requestedCostUsd,
    routed_cost_usd: d.routedCostUsd,
    miss_at: d.missAt,
  };
}

function fromRow(r: Row): RouteDecision {
  return {
    id: r.id,
    at: r.at,
    mode: r.mode === 'on' ? 'on' : 'shadow',
    applied: r.applied === 1,
    keyId: r.key_id,
    userId: r.user_id,
    teamId: r.team_id,
    projectId: r.project_id,
    provider: r.provider,
    endpoint: r.endpoint as Endpoint,
    taskClass: r.task_class as TaskClass,
    score: r.score,
    modelRequested: r.model_requested,
    modelRouted: r.model_routed,
    requestedCostUsd: r.requested_cost_usd,
    routedCostUsd: r.routed_cost_usd,
    missAt: r.miss_at,
  };
}
