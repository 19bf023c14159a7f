import type Database from 'better-sqlite3';
import { NONE_KEY, type EventFilter, type GroupBy, type SplitBy, type UsageAggregate } from '../types.js';
import { DayBuckets } from './day-buckets.js';
import { SLOT_MS, localDateFormatter } from './local-date.js';
import { planRollup, type RollupPart } from './rollup-plan.js';
import { DAY_MS, HOUR_MS } from './rollups.js';

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
/** The same in rollup rows, where a missing value is '' (see rollups.ts). */
const ROLLUP_MODEL_EXPR = "COALESCE(NULLIF(model_served, ''), NULLIF(model_requested, ''))";

const GROUP_COLUMNS = {
  session: 'session_id',
  team: 'team_id',
  user: 'user_id',
  project: 'project_id',
  model: MODEL_EXPR,
} as const satisfies Record<Exclude<GroupBy, 'day' | 'month'>, string>;

const ROLLUP_GROUP_COLUMNS = {
  team: "NULLIF(team_id, '')",
  user: "NULLIF(user_id, '')",
  project: "NULLIF(project_id, '')",
  model: ROLLUP_MODEL_EXPR,
} as const satisfies Record<Exclude<GroupBy, 'day' | 'month' | 'session'>, string>;

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
  /** The second key (`by`), null without one. */
  b: string | null;
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
  // null: the events without one, NULL in events and '' in rollup rows (rollups.ts).
  const addDim = (column: string, name: string, value: string | null | undefined): void => {
    if (value === null) clauses.push(`(${column} IS NULL OR ${column} = '')`);
    else add(`${column} = @${name}`, name, value);
  };
  addDim('team_id', 'team', filter.teamId);
  addDim('user_id', 'user', filter.userId);
  addDim('project_id', 'project', filter.projectId);
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

  aggregate(groupBy: GroupBy, filter: EventFilter, timeZone: string, by?: SplitBy): UsageAggregate[] {
    const timeGroup = groupBy === 'day' || groupBy === 'month';
    if (timeGroup && timeZone !== 'UTC') localDateFormatter(timeZone); // an unknown zone fails before any query
    const dims = dimWhere(filter);
    const rawKey = timeGroup ? `CAST(started_at / ${SLOT_MS} AS INTEGER)` : GROUP_COLUMNS[groupBy];
    // The second key, in events and in rollup rows; a constant NULL without one (one more GROUP BY term, free).
    const rawBy = by === undefined ? 'NULL' : GROUP_COLUMNS[by];
    const rollupBy = by === undefined ? 'NULL' : ROLLUP_GROUP_COLUMNS[by];
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
      return this.all(`SELECT ${rawKey} AS k, ${rawBy} AS b, ${MODEL_EXPR} AS model, ${RAW_SUMS} FROM events ${whereOf(clauses)} GROUP BY 1, 2, 3`, params);
    };

    const utcDays = timeGroup && (timeZone === 'UTC' || localDateFormatter(timeZone).resolvedOptions().timeZone === 'UTC');
    const plan = this.rollups ? planRollup(groupBy, filter, { utcDays, by }) : null;
    if (!timeGroup) {
      const rows: PartRow[] = [];
      if (plan === null) rows.push(...raw(filter.since, filter.until));
      else {
        for (const r of plan.raw) rows.push(...raw(r.since, r.until));
        const key = ROLLUP_GROUP_COLUMNS[groupBy as keyof typeof ROLLUP_GROUP_COLUMNS];
        for (const part of plan.parts) rows.push(...this.rollup(part, key, rollupBy, dims, {}));
      }
      return fold(rows.map((r) => [r.k === null ? NONE_KEY : String(r.k), r] as const), by !== undefined).sort(
        (a, b) => b.costUsd - a.costUsd || b.requests - a.requests || compareKeys(a.key, b.key) || compareKeys(a.by ?? '', b.by ?? ''),
      );
    }

    // Day and month groups: the local days the range covers, as Intl calls once per day, not per row.
    // Two subqueries: SQLite answers a lone MIN or MAX from the index end, but scans the table for both at once.
    const bounds = this.db.prepare('SELECT (SELECT MIN(started_at) FROM events) AS lo, (SELECT MAX(started_at) FROM events) AS hi').get() as {
      lo: number | null;
      hi: number | null;
    };
    if (bounds.lo === null || bounds.hi === null) return [];
    const lo = Math.max(bounds.lo, filter.since ?? bounds.lo);
    const hi = Math.min(bounds.hi, (filter.until ?? bounds.hi + 1) - 1);
    if (lo > hi) return [];
    const days = DayBuckets.cover(timeZone, lo - HOUR_MS, hi + HOUR_MS);
    const label = (i: number): string => (groupBy === 'day' ? days.labels[i]! : days.labels[i]!.slice(0, 7));
    const keyed: (readonly [string, PartRow])[] = [];
    const slots = (rows: PartRow[]): void => {
      for (const r of rows) keyed.push([label(days.indexOf(Number(r.k) * SLOT_MS)), r]);
    };
    if (plan === null) {
      slots(raw(filter.since, filter.until));
      return fold(keyed, by !== undefined).sort(byDate);
    }
    for (const r of plan.raw) slots(raw(r.since, r.until));
    const segments = daySegments(days.starts);
    // An hour a local midnight cuts (zones at +5:30, +5:45, a 30-minute DST shift) is read from events by slot.
    const splitAll = days.starts.filter((t) => t % HOUR_MS !== 0).map((t) => Math.floor(t / HOUR_MS) * HOUR_MS);
    for (const part of plan.parts) {
      if (part.grain === 'day') {
        // UTC days (planned in UTC only) are whole local days.
        for (const r of this.rollup(part, 'period_start', rollupBy, dims, {})) keyed.push([label(days.indexOf(Number(r.k))), r]);
        continue;
      }
      const split = splitAll.filter((h) => (part.from === undefined || h >= part.from) && (part.to === undefined || h < part.to));
      const params: Params = { split: JSON.stringify(split) };
      const key = segments
        .map((g, i) => {
          params[`s${i}`] = g.start;
          params[`n${i}`] = g.index;
          params[`l${i}`] = g.length;
          const value = `@n${i} + CAST((period_start - @s${i}) / @l${i} AS INTEGER)`;
          return i === segments.length - 1 ? `ELSE ${value}` : `WHEN period_start < @s${i + 1} THEN ${value}`;
        })
        .join(' ');
      const expr = segments.length === 1 ? key.replace(/^ELSE /, '') : `CASE ${key} END`;
      for (const r of this.rollup(part, expr, rollupBy, dims, params, 'period_start NOT IN (SELECT value FROM json_each(@split))')) {
        keyed.push([label(Number(r.k)), r]);
      }
      if (split.length > 0) {
        slots(
          this.all(
            `SELECT CAST(e.started_at / ${SLOT_MS} AS INTEGER) AS k, ${by === undefined ? 'NULL' : `e.${GROUP_COLUMNS[by]}`} AS b,
             COALESCE(e.model_served, e.model_requested) AS model, ${RAW_SUMS}
             FROM json_each(@hours) h JOIN events e ON e.started_at >= h.value AND e.started_at < h.value + ${HOUR_MS}
             ${whereOf(dims.clauses)} GROUP BY 1, 2, 3`,
            { ...dims.params, hours: JSON.stringify(split) },
          ),
        );
      }
    }
    return fold(keyed, by !== undefined).sort(byDate);
  }

  /** (key, by, model) sums of one rollup part. */
  private rollup(part: RollupPart, key: string, by: string, dims: { clauses: string[]; params: Params }, extra: Params, condition?: string): PartRow[] {
    const clauses = [...dims.clauses];
    const params: Params = { ...dims.params, ...extra };
    if (part.from !== undefined) {
      clauses.push('period_start >= @from');
      params['from'] = part.from;
    }
    if (part.to !== undefined) {
      clauses.push('period_start < @to');
      params['to'] = part.to;
    }
    if (condition !== undefined) clauses.push(condition);
    return this.all(`SELECT ${key} AS k, ${by} AS b, ${ROLLUP_MODEL_EXPR} AS model, ${ROLLUP_SUMS} FROM ${part.table} ${whereOf(clauses)} GROUP BY 1, 2, 3`, params);
  }
}

/**
 * Runs of local days of equal length (24 hours, or a DST day of 23 or 25), each as its first day's start, index
 * and the length: a day's index is then arithmetic on an hour's start, computed in SQL, so a 92-day report reads
 * 92 rows per model instead of 2,208.
 */
export function daySegments(starts: readonly number[]): { start: number; index: number; length: number }[] {
  const out: { start: number; index: number; length: number }[] = [];
  for (let i = 0; i < starts.length; i++) {
    const length = (starts[i + 1] ?? starts[i]! + DAY_MS) - starts[i]!;
    const last = out.at(-1);
    if (last !== undefined && last.length === length && starts[i]! === last.start + (i - last.index) * length) continue;
    out.push({ start: starts[i]!, index: i, length });
  }
  return out;
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const byDate = (a: UsageAggregate, b: UsageAggregate): number => compareKeys(a.key, b.key) || compareKeys(a.by ?? '', b.by ?? '');

/** Sums (key, by, model) rows into one aggregate per key, or per (key, by) pair when `split`. */
function fold(rows: readonly (readonly [string, PartRow])[], split: boolean): UsageAggregate[] {
  const out = new Map<string, Map<string | null, UsageAggregate & { modelSet: Set<string> }>>();
  for (const [key, r] of rows) {
    let pairs = out.get(key);
    if (pairs === undefined) {
      pairs = new Map();
      out.set(key, pairs);
    }
    const second = split ? (r.b ?? NONE_KEY) : null;
    let a = pairs.get(second);
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
        ...(second === null ? {} : { by: second }),
      };
      pairs.set(second, a);
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
  return [...out.values()].flatMap((pairs) => [...pairs.values()].map(({ modelSet, ...a }) => ({ ...a, models: [...modelSet].sort() })));
}
