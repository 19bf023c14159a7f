import { createHash } from 'node:crypto';
import type postgres from 'postgres';
import type { OutcomeEvent, OutcomeFilter, OutcomeKind, OutcomeSource } from '../../outcomes/event.js';
import { counterStep, OUTCOME_OVERRIDE, seriesOf, shippedWork, type SeriesRow as SqliteSeriesRow, type ShippedWorkRow } from '../sqlite/audit-tables.js';
import { outcomeValues } from '../rows.js';
import { windowSpanTotals, type CounterPoint, type CounterStep, type ImportFileState, type OtelInterval, type PreviousInterval, type SpanTotals, type SpanWindow } from '../types.js';

/**
 * The Postgres side of audit mode: importer file states, OTLP counter series and outcome events (migration 2),
 * with the same behaviour as SQLite's (sqlite/audit-tables.ts, whose pure `counterDelta` rule is shared).
 * Event writes of an import batch stay in PostgresStore, next to the rollup they must keep in step.
 */

/** Any postgres.js client or transaction of the store (its int8 parser is the only custom type). */
type Db = postgres.Sql<{ int8: number }> | postgres.TransactionSql<{ int8: number }>;

interface ImportFileRow {
  source: string;
  path: string;
  offset: number;
  size: number;
  inode: number;
  mtime_ms: number;
  head_hash: string;
  head_bytes: number;
  context: string | null;
  updated_at: number;
}

interface OutcomeRow extends ShippedWorkRow {
  id: string;
  kind: string;
  user_id: string | null;
  team_id: string | null;
  repo: string | null;
  session_id: string | null;
  at: number;
  count: number;
  source: string;
  attrs: Record<string, string>;
}

interface SeriesRow extends SqliteSeriesRow {
  series_key: string;
}

export async function putImportStates(db: Db, states: readonly ImportFileState[]): Promise<void> {
  for (const s of states) {
    await db`
      INSERT INTO import_files (source, path, "offset", size, inode, mtime_ms, head_hash, head_bytes, context, updated_at)
      VALUES (${s.source}, ${s.path}, ${s.offset}, ${s.size}, ${s.inode}, ${s.mtimeMs}, ${s.headHash}, ${s.headBytes},
        ${s.context}, ${s.updatedAt})
      ON CONFLICT (source, path) DO UPDATE SET "offset" = EXCLUDED."offset", size = EXCLUDED.size,
        inode = EXCLUDED.inode, mtime_ms = EXCLUDED.mtime_ms, head_hash = EXCLUDED.head_hash,
        head_bytes = EXCLUDED.head_bytes, context = EXCLUDED.context, updated_at = EXCLUDED.updated_at`;
  }
}

export async function getImportState(db: Db, source: string, path: string): Promise<ImportFileState | undefined> {
  const [row] = await db<ImportFileRow[]>`SELECT * FROM import_files WHERE source = ${source} AND path = ${path}`;
  return row === undefined ? undefined : stateFromRow(row);
}

export async function listImportStates(db: Db, source: string): Promise<ImportFileState[]> {
  const rows = await db<ImportFileRow[]>`SELECT * FROM import_files WHERE source = ${source} ORDER BY path`;
  return rows.map(stateFromRow);
}

/** Series keys past this many bytes are stored as their hash: a btree index entry holds at most 2,704. */
const MAX_SERIES_KEY_BYTES = 2_000;

/**
 * In one transaction: lock the batch's series (advisory locks in key order, so replicas receiving overlapping
 * batches take turns instead of deadlocking, even for series not stored yet), read them, apply the points in
 * order, write back the series that moved.
 */
export async function advanceCounters(sql: postgres.Sql<{ int8: number }>, given: readonly CounterPoint[]): Promise<number[]> {
  if (given.length === 0) return [];
  return sql.begin(async (tx) => {
    await lockCounters(tx, given);
    return (await advanceIn(tx, given)).map((s) => s.increase);
  });
}

/** Series keys as stored: one with U+0000 (which Postgres refuses) or too long for an index entry is kept as its hash. */
function storedSeries(p: CounterPoint): CounterPoint {
  return p.seriesKey.includes('\u0000') || Buffer.byteLength(p.seriesKey) > MAX_SERIES_KEY_BYTES ? { ...p, seriesKey: `sha256:${createHash('sha256').update(p.seriesKey).digest('hex')}` } : p;
}

/** The advisory lock names of the points' series (per key, which covers all its start times), for `lockNames`. */
export function counterLocks(points: readonly CounterPoint[]): string[] {
  return points.map((p) => `goodhart:counter:${storedSeries(p).seriesKey}`);
}

/** Takes transaction-scoped advisory locks on `names`, in one sorted order so that two transactions never deadlock. */
export async function lockNames(tx: postgres.TransactionSql<{ int8: number }>, names: readonly string[]): Promise<void> {
  if (names.length === 0) return;
  const sorted = [...new Set(names)].sort();
  await tx`
    SELECT count(pg_advisory_xact_lock(hashtext(k)))
    FROM (SELECT k FROM unnest(${sorted}::text[]) AS k ORDER BY k) AS ordered`;
}

async function lockCounters(tx: postgres.TransactionSql<{ int8: number }>, points: readonly CounterPoint[]): Promise<void> {
  await lockNames(tx, counterLocks(points));
}

/**
 * Reads the points' series, applies the points in order and writes back the series that moved (in a transaction
 * holding their locks): each point's step, zero for one that moves nothing.
 */
export async function advanceIn(tx: postgres.TransactionSql<{ int8: number }>, given: readonly CounterPoint[]): Promise<CounterStep[]> {
  if (given.length === 0) return [];
  const points = given.map(storedSeries);
  // A series is its key and its start time (seriesOf).
  const wanted = [...new Map(points.map((p) => [seriesOf(p), p])).values()];
  const rows = await tx<SeriesRow[]>`
    SELECT series_key, start_time_ns, time_ns, value, last_delta FROM counter_series
    WHERE (series_key, start_time_ns) IN (
      SELECT * FROM unnest(${wanted.map((p) => p.seriesKey)}::text[], ${wanted.map((p) => p.startTimeNs)}::text[]))`;
  const series = new Map(rows.map((r) => [seriesOf({ seriesKey: r.series_key, startTimeNs: r.start_time_ns }), r]));
  const moved = new Map<string, SeriesRow>();
  const steps = points.map((p): CounterStep => {
    const step = counterStep(series.get(seriesOf(p)), p, !moved.has(seriesOf(p)));
    if (step === null) return { increase: 0, sinceNs: null };
    const row = { series_key: p.seriesKey, start_time_ns: p.startTimeNs, time_ns: p.timeNs, value: p.value, last_delta: step.increase };
    series.set(seriesOf(p), row);
    moved.set(seriesOf(p), row);
    return step;
  });
  if (moved.size > 0) {
    const rows = [...moved.values()];
    await tx`
      INSERT INTO counter_series (series_key, start_time_ns, time_ns, value, last_delta)
      SELECT * FROM unnest(${rows.map((r) => r.series_key)}::text[], ${rows.map((r) => r.start_time_ns)}::text[],
        ${rows.map((r) => r.time_ns)}::text[], ${rows.map((r) => r.value)}::float8[], ${rows.map((r) => r.last_delta)}::float8[])
      ON CONFLICT (series_key, start_time_ns) DO UPDATE SET time_ns = EXCLUDED.time_ns, value = EXCLUDED.value,
        last_delta = EXCLUDED.last_delta`;
  }
  return steps;
}

const INTERVAL_SELECT = 'SELECT id, resource, model, endpoint, from_ms AS "fromMs", to_ms AS "toMs", state FROM otel_intervals';

/** The intervals with these ids, and those of the windows' resources, models and endpoints that overlap them. */
export async function getOtelIntervals(tx: Db, ids: readonly string[], covering: readonly SpanWindow[]): Promise<OtelInterval[]> {
  const out: OtelInterval[] = ids.length === 0 ? [] : await tx.unsafe<OtelInterval[]>(`${INTERVAL_SELECT} WHERE id = ANY($1::text[])`, [ids as string[]]);
  for (const w of covering) {
    out.push(
      ...(await tx.unsafe<OtelInterval[]>(`${INTERVAL_SELECT} WHERE resource = $1 AND model = $2 AND endpoint = $3 AND to_ms >= $4 AND from_ms <= $5`, [w.resource, w.model, w.endpoint, w.fromMs, w.toMs], { prepare: true })),
    );
  }
  return out;
}

/** The latest end of the stored intervals of each resource, model and endpoint before a time (OtelRead.previousEnds). */
export async function previousIntervalEnds(tx: Db, previous: readonly PreviousInterval[]): Promise<(number | null)[]> {
  const out: (number | null)[] = [];
  for (const w of previous) {
    const [row] = await tx.unsafe<{ toMs: string | number | null }[]>(
      'SELECT max(to_ms) AS "toMs" FROM otel_intervals WHERE resource = $1 AND model = $2 AND endpoint = $3 AND to_ms < $4',
      [w.resource, w.model, w.endpoint, w.beforeMs],
      { prepare: true },
    );
    out.push(row?.toMs == null ? null : Number(row.toMs));
  }
  return out;
}

export async function putOtelIntervals(tx: Db, intervals: readonly OtelInterval[]): Promise<void> {
  if (intervals.length === 0) return;
  await tx`
    INSERT INTO otel_intervals (id, resource, model, endpoint, from_ms, to_ms, state)
    SELECT * FROM unnest(${intervals.map((i) => i.id)}::text[], ${intervals.map((i) => i.resource)}::text[], ${intervals.map((i) => i.model)}::text[],
      ${intervals.map((i) => i.endpoint)}::text[], ${intervals.map((i) => i.fromMs)}::int8[], ${intervals.map((i) => i.toMs)}::int8[],
      ${intervals.map((i) => i.state)}::text[])
    ON CONFLICT (id) DO UPDATE SET resource = EXCLUDED.resource, model = EXCLUDED.model, endpoint = EXCLUDED.endpoint,
      from_ms = EXCLUDED.from_ms, to_ms = EXCLUDED.to_ms, state = EXCLUDED.state`;
}

/** Days before its end a span may have started: bounds the partitions read (an LLM call lasts minutes at most). */
const SPAN_START_MARGIN_MS = 86_400_000;

/** The totals of the span events of each window (by the partial index on OpenTelemetry events' model and end). */
export async function spanTotals(tx: Db, windows: readonly SpanWindow[]): Promise<SpanTotals[]> {
  const out: SpanTotals[] = [];
  for (const w of windows) {
    // Spans without a resource tag (windowSpanTotals) are read too.
    const [row] = await tx.unsafe<Record<'mineIn' | 'mineOut' | 'mineN' | 'allIn' | 'allOut' | 'allN' | 'tagged', number | string>[]>(
      `SELECT COALESCE(sum(input_tokens) FILTER (WHERE tags ? $5), 0)::int8 AS "mineIn",
         COALESCE(sum(output_tokens) FILTER (WHERE tags ? $5), 0)::int8 AS "mineOut", count(*) FILTER (WHERE tags ? $5)::int8 AS "mineN",
         COALESCE(sum(input_tokens), 0)::int8 AS "allIn", COALESCE(sum(output_tokens), 0)::int8 AS "allOut", count(*)::int8 AS "allN",
         count(*) FILTER (WHERE EXISTS (SELECT 1 FROM jsonb_array_elements_text(tags) AS t WHERE t LIKE 'otel.resource=%'))::int8 AS tagged
       FROM events WHERE source = 'otel' AND model_served = $1 AND ended_at >= $2 AND ended_at <= $3 AND endpoint = $4 AND tags ? 'otel-span'
         AND started_at >= $6 AND started_at <= $3`,
      [w.model, w.fromMs, w.toMs, w.endpoint, `otel.resource=${w.resource}`, w.fromMs - SPAN_START_MARGIN_MS],
      { prepare: true },
    );
    const n = (k: keyof NonNullable<typeof row>): number => Number(row?.[k] ?? 0);
    out.push(windowSpanTotals({ mine: { inputTokens: n('mineIn'), outputTokens: n('mineOut'), requests: n('mineN') }, all: { inputTokens: n('allIn'), outputTokens: n('allOut'), requests: n('allN') }, tagged: n('tagged') }));
  }
  return out;
}

export async function insertOutcomes(db: Db, outcomes: readonly OutcomeEvent[]): Promise<number> {
  if (outcomes.length === 0) return 0;
  // One array per column, from the values both stores write (rows.ts: U+0000 dropped, which Postgres refuses).
  const rows = outcomes.map(outcomeValues);
  const col = (i: number): (string | number | null)[] => rows.map((r) => r[i]!);
  const [row] = await db<{ inserted: number }[]>`
    WITH ins AS (
      INSERT INTO outcomes (id, kind, user_id, team_id, repo, session_id, at, count, source, attrs,
        project_id, branch, sha, pr_number, tickets, lines_added, lines_removed, files_changed, ai_coauthored, ai_tools,
        reverts_sha)
      SELECT id, kind, user_id, team_id, repo, session_id, at, count, source, attrs::jsonb,
        project_id, branch, sha, pr_number, tickets::jsonb, lines_added, lines_removed, files_changed,
        ai_coauthored <> 0, ai_tools::jsonb, reverts_sha
      FROM unnest(${col(0)}::text[], ${col(1)}::text[], ${col(2)}::text[], ${col(3)}::text[], ${col(4)}::text[],
        ${col(5)}::text[], ${col(6)}::int8[], ${col(7)}::float8[], ${col(8)}::text[], ${col(9)}::text[], ${col(10)}::text[],
        ${col(11)}::text[], ${col(12)}::text[], ${col(13)}::int8[], ${col(14)}::text[], ${col(15)}::int8[], ${col(16)}::int8[],
        ${col(17)}::int8[], ${col(18)}::int2[], ${col(19)}::text[], ${col(20)}::text[])
        AS b(id, kind, user_id, team_id, repo, session_id, at, count, source, attrs, project_id, branch, sha, pr_number,
          tickets, lines_added, lines_removed, files_changed, ai_coauthored, ai_tools, reverts_sha)
      ORDER BY id
      ON CONFLICT (id) DO UPDATE SET ${db.unsafe(OUTCOME_OVERRIDE)}
      RETURNING 1
    )
    SELECT count(*)::int4 AS inserted FROM ins`;
  return row?.inserted ?? 0;
}

export async function listOutcomes(db: Db, filter: OutcomeFilter & { limit?: number }): Promise<OutcomeEvent[]> {
  const clauses: string[] = [];
  const params: (string | number)[] = [];
  const add = (column: string, op: string, value: string | number | undefined): void => {
    if (value === undefined) return;
    params.push(value);
    clauses.push(`${column} ${op} $${params.length}`);
  };
  add('at', '>=', filter.since);
  add('at', '<', filter.until);
  add('kind', '=', filter.kind);
  add('user_id', '=', filter.userId);
  add('team_id', '=', filter.teamId);
  add('repo', '=', filter.repo);
  add('source', '=', filter.source);
  let text = `SELECT * FROM outcomes ${clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : ''} ORDER BY at, id`;
  if (filter.limit !== undefined && Number.isInteger(filter.limit) && filter.limit >= 0) text += ` LIMIT ${filter.limit}`;
  const rows = await db.unsafe<OutcomeRow[]>(text, params, { prepare: true });
  return rows.map(outcomeFromRow);
}

function stateFromRow(r: ImportFileRow): ImportFileState {
  return {
    source: r.source,
    path: r.path,
    offset: r.offset,
    size: r.size,
    inode: r.inode,
    mtimeMs: r.mtime_ms,
    headHash: r.head_hash,
    headBytes: r.head_bytes,
    context: r.context,
    updatedAt: r.updated_at,
  };
}

// Rows are trusted: only insertOutcomes writes them.
function outcomeFromRow(r: OutcomeRow): OutcomeEvent {
  return {
    id: r.id,
    kind: r.kind as OutcomeKind,
    userId: r.user_id,
    teamId: r.team_id,
    repo: r.repo,
    sessionId: r.session_id,
    at: r.at,
    count: r.count,
    source: r.source as OutcomeSource,
    attrs: r.attrs,
    ...shippedWork(r),
  };
}

