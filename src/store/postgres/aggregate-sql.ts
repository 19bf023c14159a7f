import type { EventFilter, GroupBy, SplitBy } from '../types.js';

/**
 * Builds the SQL of `PostgresStore.aggregate`: pure, so the choice between rollup and raw events is testable
 * without a database.
 *
 * With rollups, the hours lying wholly inside [since, until) are read from `usage_hourly` and only the partial
 * hours at either end from `events`. For day/month groups the local date of each rollup hour is computed with
 * AT TIME ZONE; an hour that does not fall on a single local date (zones at +5:30 or +5:45, where every day
 * starts mid-hour in UTC) is read from `events` instead, so the result equals the raw one in every zone.
 * Session groups and session filters need raw events (the rollup has no session column).
 */

export const HOUR_MS = 3_600_000;

/** The model an event is reported under: what the provider served, else what the client asked for. */
const MODEL_EXPR = 'COALESCE(model_served, model_requested)';

const GROUP_COLUMNS = {
  session: 'session_id',
  team: 'team_id',
  user: 'user_id',
  project: 'project_id',
  model: MODEL_EXPR,
} as const satisfies Record<Exclude<GroupBy, 'day' | 'month'>, string>;

const DATE_FORMATS = { day: 'YYYY-MM-DD', month: 'YYYY-MM' } as const satisfies Record<'day' | 'month', string>;

/** Sums per (group key, model) straight from events. */
const RAW_SUMS = `
  count(*) AS requests,
  sum(input_tokens) AS input_tokens,
  sum(cache_read_tokens) AS cache_read_tokens,
  sum(cache_write_5m_tokens) AS cache_write_5m_tokens,
  sum(cache_write_1h_tokens) AS cache_write_1h_tokens,
  sum(output_tokens) AS output_tokens,
  sum(reasoning_tokens) AS reasoning_tokens,
  sum(cost_usd) AS cost_usd,
  count(*) FILTER (WHERE cost_usd IS NULL) AS unpriced,
  count(*) FILTER (WHERE usage_estimated) AS estimated,
  min(started_at) AS first_at,
  max(started_at) AS last_at`;

/** The same sums from rollup rows. */
const ROLLUP_SUMS = `
  sum(requests) AS requests,
  sum(input_tokens) AS input_tokens,
  sum(cache_read_tokens) AS cache_read_tokens,
  sum(cache_write_5m_tokens) AS cache_write_5m_tokens,
  sum(cache_write_1h_tokens) AS cache_write_1h_tokens,
  sum(output_tokens) AS output_tokens,
  sum(reasoning_tokens) AS reasoning_tokens,
  sum(cost_usd) AS cost_usd,
  sum(unpriced) AS unpriced,
  sum(estimated) AS estimated,
  min(first_at) AS first_at,
  max(last_at) AS last_at`;

export interface SqlQuery {
  text: string;
  params: (string | number)[];
}

export interface AggregatePlan extends SqlQuery {
  /** Whether part of the answer comes from `usage_hourly` (for tests and the benchmark). */
  usesRollup: boolean;
}

/** Rounds down/up to a UTC hour boundary (correct for negative times too). */
const floorHour = (t: number): number => Math.floor(t / HOUR_MS) * HOUR_MS;
const ceilHour = (t: number): number => Math.ceil(t / HOUR_MS) * HOUR_MS;

/**
 * @param timeZone a zone name PostgreSQL knows; callers pass the Intl-canonical name so that Postgres and SQLite
 *   read the same zone (`IST` is Asia/Kolkata to Intl but Israel to Postgres).
 */
export function aggregateSql(
  groupBy: GroupBy,
  filter: EventFilter,
  opts: { timeZone: string; rollups: boolean; by?: SplitBy },
): AggregatePlan {
  const params: (string | number)[] = [];
  const param = (value: string | number): string => {
    params.push(value);
    return `$${params.length}`;
  };

  // Conditions on columns that events and usage_hourly share (same names in both tables).
  const dims: string[] = [];
  // null: the events without one (NULL in usage_hourly too).
  const dim = (column: string, value: string | null | undefined): void => {
    if (value !== undefined) dims.push(value === null ? `${column} IS NULL` : `${column} = ${param(value)}`);
  };
  dim('team_id', filter.teamId);
  dim('user_id', filter.userId);
  dim('project_id', filter.projectId);
  if (filter.model !== undefined) {
    const m = param(filter.model);
    // Either name matches, so `--model gpt-4o` finds events served as the dated snapshot too.
    dims.push(`(model_served = ${m} OR model_requested = ${m})`);
  }
  if (filter.source !== undefined) dims.push(`source = ${param(filter.source)}`);
  const rawOnly: string[] = [];
  if (filter.sessionId !== undefined) rawOnly.push(`session_id = ${param(filter.sessionId)}`);

  const timeGroup = groupBy === 'day' || groupBy === 'month';
  const tz = timeGroup ? param(opts.timeZone) : '';
  const localKey = (epochMsExpr: string): string =>
    `to_char(to_timestamp(${epochMsExpr} / 1000.0) AT TIME ZONE ${tz}, '${DATE_FORMATS[groupBy as 'day' | 'month']}')`;
  const rawKey = timeGroup ? localKey('started_at') : GROUP_COLUMNS[groupBy as keyof typeof GROUP_COLUMNS];
  // The second key (same column in events and usage_hourly); a constant NULL without one.
  const by = opts.by === undefined ? 'NULL::text' : GROUP_COLUMNS[opts.by];

  /** A part reading events in [from, to) (either bound optional). */
  const rawPart = (from: number | undefined, to: number | undefined): string => {
    const where = [...dims, ...rawOnly];
    if (from !== undefined) where.push(`started_at >= ${param(from)}`);
    if (to !== undefined) where.push(`started_at < ${param(to)}`);
    return `SELECT ${rawKey} AS k, ${by} AS b, ${MODEL_EXPR} AS model, ${RAW_SUMS}
      FROM events ${where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`} GROUP BY 1, 2, 3`;
  };

  const since = filter.since;
  const until = filter.until;
  const hourFrom = since === undefined ? undefined : ceilHour(since);
  const hourTo = until === undefined ? undefined : floorHour(until);
  const noWholeHour = hourFrom !== undefined && hourTo !== undefined && hourFrom >= hourTo;
  const useRollup = opts.rollups && groupBy !== 'session' && rawOnly.length === 0 && !noWholeHour;

  if (!useRollup) return { text: outer('', [rawPart(since, until)]), params, usesRollup: false };

  const parts: string[] = [];
  if (since !== undefined && hourFrom !== undefined && since < hourFrom) parts.push(rawPart(since, hourFrom));
  if (until !== undefined && hourTo !== undefined && hourTo < until) parts.push(rawPart(hourTo, until));

  const hourWhere = [...dims];
  if (hourFrom !== undefined) hourWhere.push(`hour_start >= ${param(hourFrom)}`);
  if (hourTo !== undefined) hourWhere.push(`hour_start < ${param(hourTo)}`);
  const hourFilter = hourWhere.length === 0 ? '' : `WHERE ${hourWhere.join(' AND ')}`;

  if (!timeGroup) {
    parts.push(`SELECT ${rawKey} AS k, ${by} AS b, ${MODEL_EXPR} AS model, ${ROLLUP_SUMS} FROM usage_hourly ${hourFilter} GROUP BY 1, 2, 3`);
    return { text: outer('', parts), params, usesRollup: true };
  }

  // Sums per (hour, model) first, so the local-date arithmetic below runs once per distinct hour, not per row.
  // l0/l1: local wall time of an hour's first and last millisecond. The hour lies on one local date (month)
  // when both format the same and no offset change happens inside it (l1 - l0 is then exactly 59:59.999).
  const fmt = `'${DATE_FORMATS[groupBy]}'`;
  const cte = `WITH h AS MATERIALIZED (
      SELECT hour_start, ${by} AS b, ${MODEL_EXPR} AS model, ${ROLLUP_SUMS}
      FROM usage_hourly ${hourFilter} GROUP BY 1, 2, 3
    ), hk AS MATERIALIZED (
      SELECT hour_start, to_char(l0, ${fmt}) AS k0,
        to_char(l0, ${fmt}) = to_char(l1, ${fmt}) AND l1 - l0 = interval '3599.999 seconds' AS whole
      FROM (
        SELECT hour_start,
          to_timestamp(hour_start / 1000.0) AT TIME ZONE ${tz} AS l0,
          to_timestamp((hour_start + ${HOUR_MS - 1}) / 1000.0) AT TIME ZONE ${tz} AS l1
        FROM (SELECT DISTINCT hour_start FROM h) d
      ) x
    )`;
  parts.push(`SELECT hk.k0 AS k, h.b, h.model, h.requests, h.input_tokens, h.cache_read_tokens, h.cache_write_5m_tokens,
      h.cache_write_1h_tokens, h.output_tokens, h.reasoning_tokens, h.cost_usd, h.unpriced, h.estimated,
      h.first_at, h.last_at
    FROM h JOIN hk USING (hour_start) WHERE hk.whole`);
  // Split hours are read with one index range scan of events each: the aggregate inside LATERAL keeps the
  // planner from flattening it into a join, where (unable to estimate how few hours split) it may scan all events.
  parts.push(`SELECT e.* FROM (SELECT hour_start FROM hk WHERE NOT whole) split,
      LATERAL (
        SELECT ${rawKey} AS k, ${by} AS b, ${MODEL_EXPR} AS model, ${RAW_SUMS}
        FROM events
        WHERE started_at >= split.hour_start AND started_at < split.hour_start + ${HOUR_MS}
          ${dims.map((d) => `AND ${d}`).join(' ')}
        GROUP BY 1, 2, 3
      ) e`);
  return { text: outer(cte, parts), params, usesRollup: true };
}

/** Folds the parts' (key, by, model) rows into one row per key, or per (key, by) pair. */
function outer(cte: string, parts: string[]): string {
  return `${cte}
    SELECT k AS group_key, b AS by_key,
      sum(requests)::int8 AS requests,
      sum(input_tokens)::int8 AS input_tokens,
      sum(cache_read_tokens)::int8 AS cache_read_tokens,
      sum(cache_write_5m_tokens)::int8 AS cache_write_5m_tokens,
      sum(cache_write_1h_tokens)::int8 AS cache_write_1h_tokens,
      sum(output_tokens)::int8 AS output_tokens,
      sum(reasoning_tokens)::int8 AS reasoning_tokens,
      COALESCE(sum(cost_usd), 0)::float8 AS cost_usd,
      sum(unpriced)::int8 AS unpriced,
      sum(estimated)::int8 AS estimated,
      min(first_at)::int8 AS first_at,
      max(last_at)::int8 AS last_at,
      array_agg(DISTINCT model) FILTER (WHERE model IS NOT NULL) AS models
    FROM (${parts.map((p) => `(${p})`).join('\n UNION ALL \n')}) parts
    GROUP BY k, b`;
}
