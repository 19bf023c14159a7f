import type Database from 'better-sqlite3';
import type { UsageEvent } from '../../usage/event.js';
import { GRAINS, ROLLUP_LEVELS, SUMS, tableOf, type Grain, type RollupDim, type RollupLevel } from './rollups.js';

/**
 * The rollups of a batch of inserted events, summed in memory and written as one upsert per rollup row: what the
 * insert trigger (rollups.ts) does per event, for a bulk import that deferred it (`rollup_deferred`, migration 6).
 * The arithmetic is the trigger's: '' for a missing dimension, the UTC period floor, requests 1, COALESCE(cost, 0),
 * unpriced when the cost is null, first/last as MIN/MAX. rollups.test.ts checks the tables come out the same.
 */

type SumName = (typeof SUMS)[number][0];

/** The sums in the order sumsOf writes them: checked against SUMS when this module loads. */
const SUM_ORDER: readonly SumName[] = [
  'requests', 'input_tokens', 'cache_read_tokens', 'cache_write_5m_tokens', 'cache_write_1h_tokens', 'output_tokens',
  'reasoning_tokens', 'cost_usd', 'unpriced', 'estimated',
];
if (SUM_ORDER.join() !== SUMS.map(([n]) => n).join()) throw new Error('rollup-batch.ts: sumsOf does not follow SUMS');

/** An event's contribution to each sum, in SUMS order (an array literal: an import adds thousands of events at once). */
function sumsOf(e: UsageEvent): number[] {
  return [
    1,
    e.inputTokens,
    e.cacheReadTokens,
    e.cacheWrite5mTokens,
    e.cacheWrite1hTokens,
    e.outputTokens,
    e.reasoningTokens,
    e.costUsd ?? 0,
    e.costUsd === null ? 1 : 0,
    e.usageEstimated ? 1 : 0,
  ];
}

const DIM_OF: Record<RollupDim, (e: UsageEvent) => string | null> = {
  user_id: (e) => e.userId,
  team_id: (e) => e.teamId,
  project_id: (e) => e.projectId,
  source: (e) => e.source,
  model_requested: (e) => e.modelRequested,
  model_served: (e) => e.modelServed,
};

interface Row {
  /** period_start, dims…, sums…, first_at, last_at: the upsert's parameters. */
  values: (string | number)[];
}

const GRAIN_NAMES = Object.keys(GRAINS) as Grain[];
/** Every (level, grain), level by level: target `t` is level `t / grains`, grain `t % grains`. */
const TARGETS: readonly [RollupLevel, Grain][] = ROLLUP_LEVELS.flatMap((l) => GRAIN_NAMES.map((g) => [l, g] as [RollupLevel, Grain]));
const GRAIN_MS: readonly number[] = GRAIN_NAMES.map((g) => GRAINS[g]);
const LEVEL_DIMS: readonly ((e: UsageEvent) => string | null)[][] = ROLLUP_LEVELS.map((l) => l.dims.map((d) => DIM_OF[d]));

/** Adds an event's sums and time to a row that has `dims` dimensions. */
function accumulate(row: Row, dims: number, sums: readonly number[], at: number): void {
  const v = row.values;
  const base = 1 + dims;
  for (let i = 0; i < sums.length; i++) v[base + i] = (v[base + i] as number) + sums[i]!;
  const first = base + sums.length;
  if (at < (v[first] as number)) v[first] = at;
  if (at > (v[first + 1] as number)) v[first + 1] = at;
}

export class RollupBatch {
  private readonly rows: Map<string, Row>[] = TARGETS.map(() => new Map());
  private readonly upserts: Database.Statement[];
  /**
   * The last event's dimensions per level and rollup row per target: consecutive events (one session's requests)
   * mostly fall in the same rows, which then take no key building and no lookup.
   */
  private lastDims: (string[] | undefined)[] = LEVEL_DIMS.map(() => undefined);
  private lastDimKey: string[] = LEVEL_DIMS.map(() => '');
  private lastRow: (Row | undefined)[] = TARGETS.map(() => undefined);
  private lastPeriod: number[] = TARGETS.map(() => Number.NaN);

  constructor(db: Database.Database) {
    this.upserts = TARGETS.map(([level, grain]) => {
      const cols = ['period_start', ...level.dims, ...SUMS.map(([n]) => n), 'first_at', 'last_at'];
      return db.prepare(`INSERT INTO ${tableOf(level, grain)} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})
        ON CONFLICT (period_start, ${level.dims.join(', ')}) DO UPDATE SET
          ${SUMS.map(([n]) => `${n} = ${n} + excluded.${n}`).join(', ')},
          first_at = MIN(first_at, excluded.first_at), last_at = MAX(last_at, excluded.last_at)`);
    });
  }

  get size(): number {
    return this.rows.reduce((n, m) => n + m.size, 0);
  }

  /**
   * Adds one inserted event to its rollup row at every level and grain. Plain loops, and each level's dimensions
   * read once for both grains: a re-import runs this a few thousand times in code not yet optimised.
   */
  add(e: UsageEvent): void {
    const sums = sumsOf(e);
    const at = e.startedAt;
    let t = 0;
    for (let level = 0; level < LEVEL_DIMS.length; level++) {
      const fns = LEVEL_DIMS[level]!;
      let dims = this.lastDims[level];
      if (dims !== undefined) {
        for (let i = 0; i < fns.length; i++) {
          if ((fns[i]!(e) ?? '') !== dims[i]) {
            dims = undefined;
            break;
          }
        }
      }
      const sameDims = dims !== undefined;
      if (dims === undefined) {
        dims = new Array<string>(fns.length);
        let dimKey = '';
        for (let i = 0; i < fns.length; i++) {
          const value = fns[i]!(e) ?? '';
          dims[i] = value;
          dimKey += `\u0000${value}`;
        }
        this.lastDims[level] = dims;
        this.lastDimKey[level] = dimKey;
      }
      for (const ms of GRAIN_MS) {
        const target = t++;
        const period = at - (((at % ms) + ms) % ms);
        const last = this.lastRow[target];
        if (sameDims && last !== undefined && this.lastPeriod[target] === period) {
          accumulate(last, dims.length, sums, at);
          continue;
        }
        const rows = this.rows[target]!;
        const key = `${period}${this.lastDimKey[level]!}`;
        let row = rows.get(key);
        if (row === undefined) {
          row = { values: [period, ...dims, ...sums, at, at] };
          rows.set(key, row);
        } else accumulate(row, dims.length, sums, at);
        this.lastRow[target] = row;
        this.lastPeriod[target] = period;
      }
    }
  }

  /** Forgets what was added (a transaction that failed before its flush). */
  clear(): void {
    for (const rows of this.rows) rows.clear();
    this.forgetLast();
  }

  private forgetLast(): void {
    this.lastDims.fill(undefined);
    this.lastRow.fill(undefined);
    this.lastPeriod.fill(Number.NaN);
  }

  /** Writes the summed rows (inside the caller's transaction) and starts over. */
  flush(): void {
    this.rows.forEach((rows, t) => {
      const stmt = this.upserts[t]!;
      for (const row of rows.values()) stmt.run(row.values);
      rows.clear();
    });
    this.forgetLast();
  }
}
