/**
 * Hourly rollups of the SQLite store: sums per UTC hour and per combination of the dimensions reports filter or
 * group on, like Postgres's `usage_hourly`, at three levels so that each report reads the smallest table that
 * can answer it (an org-wide daily report needs no per-person rows: 10 million events are a few thousand rows
 * there). Triggers on `events` keep every level up to date in the statement that writes the event, so an
 * insert, an importer's replacement of a stored event (audit-tables.ts) or a delete can never leave a rollup
 * behind, whichever code path wrote it.
 *
 * FROZEN: migration 5 creates these tables and triggers from ROLLUP_LEVELS. Changing a level means a new
 * migration that rebuilds it; the planner (rollup-plan.ts) reads the same list.
 */

export const HOUR_MS = 3_600_000;

export const ROLLUP_LEVELS = [
  { table: 'usage_hourly_model', dims: ['model_requested', 'model_served'] },
  { table: 'usage_hourly_team', dims: ['team_id', 'source', 'model_requested', 'model_served'] },
  { table: 'usage_hourly', dims: ['user_id', 'team_id', 'project_id', 'source', 'model_requested', 'model_served'] },
] as const satisfies readonly { table: string; dims: readonly RollupDim[] }[];

export type RollupDim = 'user_id' | 'team_id' | 'project_id' | 'source' | 'model_requested' | 'model_served';
export type RollupLevel = (typeof ROLLUP_LEVELS)[number];

/** Dimensions with an index `(dim, hour_start)` on each level that has them: the filters dashboards use. */
const INDEXED_DIMS: readonly RollupDim[] = ['user_id', 'team_id', 'project_id'];

const SUMS = [
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

/** The UTC hour an event's start falls in (floor, also for times before 1970). */
const hourOf = (row: string): string => `(${row}.started_at - ((${row}.started_at % ${HOUR_MS}) + ${HOUR_MS}) % ${HOUR_MS})`;

/** The level's key of a row: json_array keeps null apart from '' and from the string 'null'. */
const dimsOf = (level: RollupLevel, row: string): string => `json_array(${level.dims.map((d) => `${row}.${d}`).join(', ')})`;

/** The value of one sum for an event row (`row.` prefixed onto each column). */
const sumValue = (expr: string, row: string): string => (expr === '1' ? '1' : expr.replace(/\b(input_tokens|cache_read_tokens|cache_write_5m_tokens|cache_write_1h_tokens|output_tokens|reasoning_tokens|cost_usd|usage_estimated)\b/g, `${row}.$1`));

function createTable(level: RollupLevel): string {
  const dims = level.dims.map((d) => `  ${d} TEXT,`).join('\n');
  const sums = SUMS.map(([name]) => `  ${name} ${name === 'cost_usd' ? 'REAL' : 'INTEGER'} NOT NULL,`).join('\n');
  const indexes = INDEXED_DIMS.filter((d) => (level.dims as readonly string[]).includes(d))
    .map((d) => `CREATE INDEX idx_${level.table}_${d} ON ${level.table} (${d}, hour_start);`)
    .join('\n');
  return `CREATE TABLE ${level.table} (
  hour_start INTEGER NOT NULL,
  dims TEXT NOT NULL,
${dims}
${sums}
  first_at INTEGER NOT NULL,
  last_at INTEGER NOT NULL,
  PRIMARY KEY (hour_start, dims)
) WITHOUT ROWID;
${indexes}`;
}

const columns = (level: RollupLevel): string =>
  ['hour_start', 'dims', ...level.dims, ...SUMS.map(([n]) => n), 'first_at', 'last_at'].join(', ');

/** Adds one event row (NEW) to its rollup row. */
function addRow(level: RollupLevel, row: string): string {
  const values = [hourOf(row), dimsOf(level, row), ...level.dims.map((d) => `${row}.${d}`), ...SUMS.map(([, e]) => sumValue(e, row)), `${row}.started_at`, `${row}.started_at`];
  return `INSERT INTO ${level.table} (${columns(level)}) VALUES (${values.join(', ')})
    ON CONFLICT (hour_start, dims) DO UPDATE SET
      ${SUMS.map(([n]) => `${n} = ${n} + excluded.${n}`).join(', ')},
      first_at = MIN(first_at, excluded.first_at), last_at = MAX(last_at, excluded.last_at);`;
}

const keyMatch = (level: RollupLevel, row: string): string => `hour_start = ${hourOf(row)} AND dims = ${dimsOf(level, row)}`;

/**
 * Takes one event row (OLD) away: subtracts its sums, drops the rollup row when no request is left, and
 * re-derives first/last from events when the event was the row's first or last (a minimum cannot be un-applied).
 */
function removeRow(level: RollupLevel, row: string): string {
  return `UPDATE ${level.table} SET ${SUMS.map(([n, e]) => `${n} = ${n} - ${sumValue(e, row)}`).join(', ')}
    WHERE ${keyMatch(level, row)};`;
}

function pruneRow(level: RollupLevel, row: string): string {
  const same = level.dims.map((d) => `e.${d} IS ${row}.${d}`).join(' AND ');
  const range = `e.started_at >= ${hourOf(row)} AND e.started_at < ${hourOf(row)} + ${HOUR_MS}`;
  return `DELETE FROM ${level.table} WHERE ${keyMatch(level, row)} AND requests <= 0;
  UPDATE ${level.table} SET
      first_at = (SELECT MIN(e.started_at) FROM events e WHERE ${range} AND ${same}),
      last_at = (SELECT MAX(e.started_at) FROM events e WHERE ${range} AND ${same})
    WHERE ${keyMatch(level, row)} AND (first_at = ${row}.started_at OR last_at = ${row}.started_at);`;
}

function backfill(level: RollupLevel): string {
  const sums = SUMS.map(([n, e]) => (n === 'requests' ? 'COUNT(*)' : `SUM(${sumValue(e, 'events')})`));
  return `INSERT INTO ${level.table} (${columns(level)})
  SELECT ${hourOf('events')}, ${dimsOf(level, 'events')}, ${level.dims.map((d) => `events.${d}`).join(', ')},
    ${sums.join(', ')}, MIN(events.started_at), MAX(events.started_at)
  FROM events GROUP BY 1, 2;`;
}

/** Columns whose change moves an event's sums or its rollup row. */
const WATCHED = [
  'started_at', 'user_id', 'team_id', 'project_id', 'source', 'model_requested', 'model_served', 'input_tokens',
  'cache_read_tokens', 'cache_write_5m_tokens', 'cache_write_1h_tokens', 'output_tokens', 'reasoning_tokens',
  'cost_usd', 'usage_estimated',
];

/** Migration 5: the rollup tables, filled from the events already stored, and the triggers that maintain them. */
export function rollupMigrationSql(): string {
  const levels = ROLLUP_LEVELS;
  return [
    ...levels.map(createTable),
    ...levels.map(backfill),
    `CREATE TRIGGER events_rollup_insert AFTER INSERT ON events BEGIN
  ${levels.map((l) => addRow(l, 'NEW')).join('\n  ')}
END;`,
    `CREATE TRIGGER events_rollup_delete AFTER DELETE ON events BEGIN
  ${levels.map((l) => `${removeRow(l, 'OLD')}\n  ${pruneRow(l, 'OLD')}`).join('\n  ')}
END;`,
    `CREATE TRIGGER events_rollup_update AFTER UPDATE OF ${WATCHED.join(', ')} ON events BEGIN
  ${levels.map((l) => `${removeRow(l, 'OLD')}\n  ${addRow(l, 'NEW')}\n  ${pruneRow(l, 'OLD')}`).join('\n  ')}
END;`,
  ].join('\n');
}
