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

/** An event's contribution to each sum, in SUMS order. */
function sumsOf(e: UsageEvent): number[] {
  const values: Record<SumName, number> = {
    requests: 1,
    input_tokens: e.inputTokens,
    cache_read_tokens: e.cacheReadTokens,
    cache_write_5m_tokens: e.cacheWrite5mTokens,
    cache_write_1h_tokens: e.cacheWrite1hTokens,
    output_tokens: e.outputTokens,
    reasoning_tokens: e.reasoningTokens,
    cost_usd: e.costUsd ?? 0,
    unpriced: e.costUsd === null ? 1 : 0,
    estimated: e.usageEstimated ? 1 : 0,
  };
  return SUMS.map(([name]) => values[name]);
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

const TARGETS: readonly [RollupLevel, Grain][] = ROLLUP_LEVELS.flatMap((l) => (Object.keys(GRAINS) as Grain[]).map((g) => [l, g] as [RollupLevel, Grain]));

export class RollupBatch {
  private readonly rows: Map<string, Row>[] = TARGETS.map(() => new Map());
  private readonly upserts: Database.Statement[];

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

  /** Adds one inserted event to its rollup row at every level and grain. */
  add(e: UsageEvent): void {
    const sums = sumsOf(e);
    const at = e.startedAt;
    TARGETS.forEach(([level, grain], t) => {
      const ms = GRAINS[grain];
      const period = at - (((at % ms) + ms) % ms);
      const dims = level.dims.map((d) => DIM_OF[d](e) ?? '');
      const key = `${period}\u0000${dims.join('\u0000')}`;
      const row = this.rows[t]!.get(key);
      if (row === undefined) {
        this.rows[t]!.set(key, { values: [period, ...dims, ...sums, at, at] });
        return;
      }
      const v = row.values;
      const base = 1 + dims.length;
      for (let i = 0; i < sums.length; i++) v[base + i] = (v[base + i] as number) + sums[i]!;
      const first = base + sums.length;
      if (at < (v[first] as number)) v[first] = at;
      if (at > (v[first + 1] as number)) v[first + 1] = at;
    });
  }

  /** Forgets what was added (a transaction that failed before its flush). */
  clear(): void {
    for (const rows of this.rows) rows.clear();
  }

  /** Writes the summed rows (inside the caller's transaction) and starts over. */
  flush(): void {
    this.rows.forEach((rows, t) => {
      const stmt = this.upserts[t]!;
      for (const row of rows.values()) stmt.run(row.values);
      rows.clear();
    });
  }
}
