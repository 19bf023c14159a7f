/**
 * Rollups of the SQLite store: sums per UTC hour and per UTC day, for each combination of the dimensions reports
 * filter or group on, like Postgres's `usage_hourly`, at three levels so that each report reads the smallest table
 * that can answer it (an org-wide report needs no per-person rows: 10 million events are a few thousand rows
 * there). Triggers on `events` keep every table up to date in the statement that writes the event, so an insert,
 * an importer's replacement of a stored event (audit-tables.ts) or a delete can never leave a rollup behind,
 * whichever code path wrote it. The two bulk writers (the gateway's event batches, imports) defer the insert trigger
 * inside their own transaction and sum their batch per rollup row instead (rollup-batch.ts, migration 6): the trigger
 * costs six upserts per event, which made an insert about four times dearer.
 *
 * Dimension columns hold '' for a missing value (SQLite primary keys cannot hold NULL, and ids are never empty):
 * the upsert then matches on the plain columns, which is several times cheaper per event than a computed key.
 * Readers turn '' back into NULL.
 *
 * FROZEN: migration 5 creates these tables and triggers from ROLLUP_LEVELS and GRAINS (migration 6 makes the
 * insert trigger deferrable). Changing either means a new migration that rebuilds them; the planner
 * (rollup-plan.ts) and RollupBatch (rollup-batch.ts) read the same lists.
 */

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

export const ROLLUP_LEVELS = [
  { name: 'model', dims: ['model_requested', 'model_served'] },
  { name: 'team', dims: ['team_id', 'source', 'model_requested', 'model_served'] },
  { name: 'user', dims: ['user_id', 'team_id', 'project_id', 'source', 'model_requested', 'model_served'] },
] as const satisfies readonly { name: string; dims: readonly RollupDim[] }[];

/** Hourly rows answer any time zone; daily rows (UTC days) answer the whole days of a range. */
export const GRAINS = { hour: HOUR_MS, day: DAY_MS } as const;
export type Grain = keyof typeof GRAINS;

export type RollupDim = 'user_id' | 'team_id' | 'project_id' | 'source' | 'model_requested' | 'model_served';
export type RollupLevel = (typeof ROLLUP_LEVELS)[number];

/** `usage_hourly_model`, `usage_daily_team`, `usage_hourly` (the per-person level keeps Postgres's name)… */
export function tableOf(level: RollupLevel, grain: Grain): string {
  const base = grain === 'hour' ? 'usage_hourly' : 'usage_daily';
  return level.name === 'user' ? base : `${base}_${level.name}`;
}

export const ROLLUP_TABLES: readonly string[] = ROLLUP_LEVELS.flatMap((l) => (Object.keys(GRAINS) as Grain[]).map((g) => tableOf(l, g)));

/** Dimensions with an index `(dim, period_start)` on each table that has them: the filters dashboards use. */
const INDEXED_DIMS: readonly RollupDim[] = ['user_id', 'team_id', 'project_id'];

/** The sums each rollup row keeps, with the SQL that gives an event's contribution (rollup-batch.ts mirrors it). */
export const SUMS = [
  ['requests', '1'],
  ['input_tokens', 'input_tokens'],
  ['cache_read_tokens', 'cache_read_tokens'],
  ['cache_write_5m_tokens', 'cache_write_5m_tokens'],
  ['cache_write_1h_tokens', 'cache_write_1h_tokens'],
  ['output_tokens', 'output_tokens'],
  ['reasoning_tokens', 'reasoning_tokens'],
  ['cost_usd', 'COALESCE(cost_usd, 0)'],
  ['unpriced', '(cost_usd IS NULL)'],
  ['estimated', 'usage_estimated'],
] as const;

/** The UTC period an event's start falls in (floor, also for times before 1970). */
const periodOf = (row: string, ms: number): string => `(${row}.started_at - ((${row}.started_at % ${ms}) + ${ms}) % ${ms})`;

/** The value of one sum for an event row (`row.` prefixed onto each column). */
const sumValue = (expr: string, row: string): string =>
  expr === '1' ? '1' : expr.replace(/\b(input_tokens|cache_read_tokens|cache_write_5m_tokens|cache_write_1h_tokens|output_tokens|reasoning_tokens|cost_usd|usage_estimated)\b/g, `${row}.$1`);

const dimValue = (row: string, d: RollupDim): string => `IFNULL(${row}.${d}, '')`;

function createTable(level: RollupLevel, grain: Grain): string {
  const table = tableOf(level, grain);
  const indexes = INDEXED_DIMS.filter((d) => (level.dims as readonly string[]).includes(d))
    .map((d) => `CREATE INDEX idx_${table}_${d} ON ${table} (${d}, period_start);`)
    .join('\n');
  return `CREATE TABLE ${table} (
  period_start INTEGER NOT NULL,
${level.dims.map((d) => `  ${d} TEXT NOT NULL,`).join('\n')}
${SUMS.map(([name]) => `  ${name} ${name === 'cost_usd' ? 'REAL' : 'INTEGER'} NOT NULL,`).join('\n')}
  first_at INTEGER NOT NULL,
  last_at INTEGER NOT NULL,
  PRIMARY KEY (period_start, ${level.dims.join(', ')})
) WITHOUT ROWID;
${indexes}`;
}

const columns = (level: RollupLevel): string => ['period_start', ...level.dims, ...SUMS.map(([n]) => n), 'first_at', 'last_at'].join(', ');

/** Adds one event row (NEW) to its rollup row. */
function addRow(level: RollupLevel, grain: Grain, row: string): string {
  const values = [periodOf(row, GRAINS[grain]), ...level.dims.map((d) => dimValue(row, d)), ...SUMS.map(([, e]) => sumValue(e, row)), `${row}.started_at`, `${row}.started_at`];
  return `INSERT INTO ${tableOf(level, grain)} (${columns(level)}) VALUES (${values.join(', ')})
    ON CONFLICT (period_start, ${level.dims.join(', ')}) DO UPDATE SET
      ${SUMS.map(([n]) => `${n} = ${n} + excluded.${n}`).join(', ')},
      first_at = MIN(first_at, excluded.first_at), last_at = MAX(last_at, excluded.last_at);`;
}

const keyMatch = (level: RollupLevel, grain: Grain, row: string): string =>
  [`period_start = ${periodOf(row, GRAINS[grain])}`, ...level.dims.map((d) => `${d} = ${dimValue(row, d)}`)].join(' AND ');

/**
 * Takes one event row (OLD) away: subtracts its sums, drops the rollup row when no request is left, and
 * re-derives first/last from events when the event was the row's first or last (a minimum cannot be un-applied).
 */
function removeRow(level: RollupLevel, grain: Grain, row: string): string {
  return `UPDATE ${tableOf(level, grain)} SET ${SUMS.map(([n, e]) => `${n} = ${n} - ${sumValue(e, row)}`).join(', ')}
    WHERE ${keyMatch(level, grain, row)};`;
}

function pruneRow(level: RollupLevel, grain: Grain, row: string): string {
  const table = tableOf(level, grain);
  const same = level.dims.map((d) => `e.${d} IS ${row}.${d}`).join(' AND ');
  const start = periodOf(row, GRAINS[grain]);
  const range = `e.started_at >= ${start} AND e.started_at < ${start} + ${GRAINS[grain]}`;
  return `DELETE FROM ${table} WHERE ${keyMatch(level, grain, row)} AND requests <= 0;
  UPDATE ${table} SET
      first_at = (SELECT MIN(e.started_at) FROM events e WHERE ${range} AND ${same}),
      last_at = (SELECT MAX(e.started_at) FROM events e WHERE ${range} AND ${same})
    WHERE ${keyMatch(level, grain, row)} AND (first_at = ${row}.started_at OR last_at = ${row}.started_at);`;
}

function backfill(level: RollupLevel, grain: Grain): string {
  const sums = SUMS.map(([n, e]) => (n === 'requests' ? 'COUNT(*)' : `SUM(${sumValue(e, 'events')})`));
  const dims = level.dims.map((d) => dimValue('events', d));
  return `INSERT INTO ${tableOf(level, grain)} (${columns(level)})
  SELECT ${periodOf('events', GRAINS[grain])}, ${dims.join(', ')}, ${sums.join(', ')}, MIN(events.started_at), MAX(events.started_at)
  FROM events GROUP BY ${[1, ...level.dims.map((_, i) => i + 2)].join(', ')};`;
}

/** Columns whose change moves an event's sums or its rollup row. */
const WATCHED = [
  'started_at', 'user_id', 'team_id', 'project_id', 'source', 'model_requested', 'model_served', 'input_tokens',
  'cache_read_tokens', 'cache_write_5m_tokens', 'cache_write_1h_tokens', 'output_tokens', 'reasoning_tokens',
  'cost_usd', 'usage_estimated',
];

const EVERY: readonly [RollupLevel, Grain][] = ROLLUP_LEVELS.flatMap((l) => (Object.keys(GRAINS) as Grain[]).map((g) => [l, g] as [RollupLevel, Grain]));

/**
 * Migration 6: the insert trigger again, skipped while `rollup_deferred` holds a row. An importer inserts that row
 * at the start of its write transaction and deletes it before committing, so no other connection ever sees it
 * (WAL readers see committed data only; writers wait for the lock), and adds the rollups of the events it inserted
 * itself, summed per rollup row (rollup-batch.ts): six upserts per rollup row instead of six per event.
 */
export function deferrableInsertTriggerSql(): string {
  return `CREATE TABLE rollup_deferred (one INTEGER PRIMARY KEY CHECK (one = 1));
DROP TRIGGER events_rollup_insert;
CREATE TRIGGER events_rollup_insert AFTER INSERT ON events WHEN NOT EXISTS (SELECT 1 FROM rollup_deferred) BEGIN
  ${EVERY.map(([l, g]) => addRow(l, g, 'NEW')).join('\n  ')}
END;`;
}

/** Migration 5: the rollup tables, filled from the events already stored, and the triggers that maintain them. */
export function rollupMigrationSql(): string {
  return [
    ...EVERY.map(([l, g]) => createTable(l, g)),
    ...EVERY.map(([l, g]) => backfill(l, g)),
    `CREATE TRIGGER events_rollup_insert AFTER INSERT ON events BEGIN
  ${EVERY.map(([l, g]) => addRow(l, g, 'NEW')).join('\n  ')}
END;`,
    `CREATE TRIGGER events_rollup_delete AFTER DELETE ON events BEGIN
  ${EVERY.map(([l, g]) => `${removeRow(l, g, 'OLD')}\n  ${pruneRow(l, g, 'OLD')}`).join('\n  ')}
END;`,
    `CREATE TRIGGER events_rollup_update AFTER UPDATE OF ${WATCHED.join(', ')} ON events BEGIN
  ${EVERY.map(([l, g]) => `${removeRow(l, g, 'OLD')}\n  ${addRow(l, g, 'NEW')}\n  ${pruneRow(l, g, 'OLD')}`).join('\n  ')}
END;`,
  ].join('\n');
}

