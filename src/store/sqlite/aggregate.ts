import type Database from 'better-sqlite3';
import type { EventFilter, GroupBy, UsageAggregate } from '../types.js';
import { DayBuckets } from './day-buckets.js';
import { SLOT_MS, localDateFormatter } from './local-date.js';
import { planRollup } from './rollup-plan.js';
import { HOUR_MS } from './rollups.js';

/**
 * `SqliteStore.aggregate`. Every part of the answer is read as rows of (group key, model, sums) and folded here:
 * raw events for what no rollup covers, the planned rollup level for whole hours. Day and month groups read
 * UTC hours (rollup) and 15-minute slots (raw: every offset in use is a multiple of 15 minutes) and fold them
 * into local dates; a rollup hour that does not lie on one local date or month (zones at +5:30 or +5:45, where
 * every day starts mid-hour in UTC) is read again from events by slot, so the result equals the raw one in
 * every zone.
 */

/** The model an event is reported under: what the provider served, else what the client asked for. */
const MODEL_EXPR = 'COALESCE(model_served, model_requested)';
const NONE_KEY = '(none)';

const GROUP_COLUMNS = {
  session: 'session_id',
  team: 'team_id',
  user: 'user_id',
  project: 'project_id',
  model: MODEL_EXPR,
} as const satisfies Record<Exclude<GroupBy, 'day' | 'month'>, string>;

const RAW_SUMS = `COUNT(*) AS requests, SUM(input_tokens) AS input_tokens, SUM(cache_read_tokens) AS cache_read_tokens,
  SUM(cache_write_5m_tokens) AS cache_write_5m_tokens, SUM(cache_write_1h_tokens) AS cache_write_1h_tokens,
  SUM(output_tokens) AS output_tokens, SUM(reasoning_tokens) AS reasoning_tokens, COALESCE(SUM(cost_usd), 0) AS cost_usd,
  SUM(cost_usd IS NULL) AS unpriced, SUM(usage_estimated) AS estimated, MIN(started_at) AS first_at, MAX(started_at) AS last_at`;

const ROLLUP_SUMS = `SUM(requests) AS requests, SUM(input_tokens) AS input_tokens, SUM(cache_read_tokens) AS cache_read_tokens,
  SUM(cache_write_5m_tokens) AS cache_write_5m_tokens, SUM(cache_write_1h_tokens) AS cache_write_1h_tokens,
  SUM(output_tokens) AS output_tokens, SUM(reasoning_tokens) AS reasoning_tokens, SUM(cost_usd) AS cost_usd,
  SUM(unpriced) AS unpriced, SUM(estimated) AS estimated, MIN(first_at) AS first_at, MAX(last_at) AS last_at`;

interface PartRow {
  k: string | number | null;
  model: string | null;
  requests: number;
  input_tokens: number;
  cache_read_tokens: number;
  cache_write_5m_tokens: number;
  cache_write_1h_tokens: number;
  output_tokens: number;
  reasoning_tokens: number;
  cost_usd: number;
  unpriced: number;
  estimated: number;
  first_at: number;
  last_at: number;
}

type Params = Record<string, string | number>;

/** Conditions on the columns events and every rollup level share (same names). */
function dimWhere(filter: EventFilter): { clauses: string[]; params: Params } {
  const clauses: string[] = [];
  const params: Params = {};
  const add = (clause: string, name: string, value: string | undefined): void => {
    if (value === undefined) return;
    clauses.push(clause);
    params[name] = value;
  };
  add('team_id = @team', 'team', filter.teamId);
  add('user_id = @user', 'user', filter.userId);
  add('project_id = @project', 'project', filter.projectId);
  // Either name matches, so `--model gpt-4o` finds events served as the dated snapshot too.
  add('(model_served = @model OR model_requested = @model)', 'model', filter.model);
  add('source = @source', 'source', filter.source);
  add('session_id = @session', 'session', filter.sessionId);
  return { clauses, params };
}

const whereOf = (clauses: readonly string[]): string => (clauses.length === 0 ? '' : `WHERE ${clauses.join(' AND ')}`);

export class SqliteAggregator {
  private readonly statements = new Map<string, Database.Statement>();

  constructor(
    private readonly db: Database.Database,
    private readonly rollups: boolean,
  ) {}

  private all(sql: string, params: Params): PartRow[] {
    let stmt = this.statements.get(sql);
    if (stmt === undefined) {
      stmt = this.db.prepare(sql);
      this.statements.set(sql, stmt);
    }
    return stmt.all(params) as PartRow[];
  }

  aggregate(groupBy: GroupBy, filter: EventFilter, timeZone: string): UsageAggregate[] {
    const timeGroup = groupBy === 'day' || groupBy === 'month';
    if (timeGroup) localDateFormatter(timeZone); // an unknown zone fails before any query
    const dims = dimWhere(filter);
    const rawKey = timeGroup ? `CAST(started_at / ${SLOT_MS} AS INTEGER)` : GROUP_COLUMNS[groupBy];
    const raw = (since: number | undefined, until: number | undefined): PartRow[] => {
      const clauses = [...dims.clauses];
      const params: Params = { ...dims.params };
      if (since !== undefined) {
        clauses.push('started_at >= @since');
        params['since'] = since;
      }
      if (until !== undefined) {
        clauses.push('started_at < @until');
        params['until'] = until;
      }
      return this.all(`SELECT ${rawKey} AS k, ${MODEL_EXPR} AS model, ${RAW_SUMS} FROM events ${whereOf(clauses)} GROUP BY 1, 2`, params);
    };

    const plan = this.rollups ? planRollup(groupBy, filter) : null;
    // Rows keyed by slot (raw, time groups), by hour (rollup, time groups), or by group value.
    const slotRows: PartRow[] = [];
    const hourRows: PartRow[] = [];
    const groupRows: PartRow[] = [];
    const rawInto = timeGroup ? slotRows : groupRows;
    if (plan === null) {
      rawInto.push(...raw(filter.since, filter.until));
    } else {
      for (const r of plan.raw) rawInto.push(...raw(r.since, r.until));
      const clauses = [...dims.clauses];
      const params: Params = { ...dims.params };
      if (plan.hourFrom !== undefined) {
        clauses.push('hour_start >= @hourFrom');
        params['hourFrom'] = plan.hourFrom;
      }
      if (plan.hourTo !== undefined) {
        clauses.push('hour_start < @hourTo');
        params['hourTo'] = plan.hourTo;
      }
      const key = timeGroup ? 'hour_start' : GROUP_COLUMNS[groupBy];
      const rows = this.all(`SELECT ${key} AS k, ${MODEL_EXPR} AS model, ${ROLLUP_SUMS} FROM ${plan.level.table} ${whereOf(clauses)} GROUP BY 1, 2`, params);
      (timeGroup ? hourRows : groupRows).push(...rows);
    }

    if (!timeGroup) {
      return fold(groupRows.map((r) => [r.k === null ? NONE_KEY : String(r.k), r] as const)).sort(
        (a, b) => b.costUsd - a.costUsd || b.requests - a.requests || compareKeys(a.key, b.key),
      );
    }

    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (const t of [...slotRows.map((r) => Number(r.k) * SLOT_MS), ...hourRows.map((r) => Number(r.k))]) {
      if (t < min) min = t;
      if (t > max) max = t;
    }
    if (min > max) return [];
    const days = DayBuckets.cover(timeZone, min, max + HOUR_MS);
    const label = (t: number): string => (groupBy === 'day' ? days.dateOf(t) : days.dateOf(t).slice(0, 7));
    const keyed: (readonly [string, PartRow])[] = slotRows.map((r) => [label(Number(r.k) * SLOT_MS), r] as const);
    const split: number[] = [];
    for (const r of hourRows) {
      const hour = Number(r.k);
      const key = label(hour);
      if (key === label(hour + HOUR_MS - 1)) keyed.push([key, r]);
      else split.push(hour);
    }
    if (split.length > 0) {
      const hours = [...new Set(split)];
      const rows = this.all(
        `SELECT CAST(e.started_at / ${SLOT_MS} AS INTEGER) AS k, COALESCE(e.model_served, e.model_requested) AS model, ${RAW_SUMS}
         FROM json_each(@hours) h JOIN events e ON e.started_at >= h.value AND e.started_at < h.value + ${HOUR_MS}
         ${whereOf(dims.clauses)} GROUP BY 1, 2`,
        { ...dims.params, hours: JSON.stringify(hours) },
      );
      for (const r of rows) keyed.push([label(Number(r.k) * SLOT_MS), r]);
    }
    return fold(keyed).sort((a, b) => compareKeys(a.key, b.key));
  }
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Sums (key, model) rows into one aggregate per key. */
function fold(rows: readonly (readonly [string, PartRow])[]): UsageAggregate[] {
  const out = new Map<string, UsageAggregate & { modelSet: Set<string> }>();
  for (const [key, r] of rows) {
    let a = out.get(key);
    if (a === undefined) {
      a = {
        key,
        requests: 0,
        inputTokens: 0,
        cacheReadTokens: 0,
        cacheWrite5mTokens: 0,
        cacheWrite1hTokens: 0,
        outputTokens: 0,
        reasoningTokens: 0,
        costUsd: 0,
        unpricedRequests: 0,
        estimatedRequests: 0,
        firstAt: r.first_at,
        lastAt: r.last_at,
        models: [],
        modelSet: new Set(),
      };
      out.set(key, a);
    }
    a.requests += r.requests;
    a.inputTokens += r.input_tokens;
    a.cacheReadTokens += r.cache_read_tokens;
    a.cacheWrite5mTokens += r.cache_write_5m_tokens;
    a.cacheWrite1hTokens += r.cache_write_1h_tokens;
    a.outputTokens += r.output_tokens;
    a.reasoningTokens += r.reasoning_tokens;
    a.costUsd += r.cost_usd;
    a.unpricedRequests += r.unpriced;
    a.estimatedRequests += r.estimated;
    a.firstAt = Math.min(a.firstAt, r.first_at);
    a.lastAt = Math.max(a.lastAt, r.last_at);
    if (r.model !== null) a.modelSet.add(r.model);
  }
  return [...out.values()].map(({ modelSet, ...a }) => ({ ...a, models: [...modelSet].sort() }));
}
