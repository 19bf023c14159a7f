import type { Sql } from 'postgres';

/** One monthly partition of `events`: rows with `from <= started_at < to` (epoch ms, UTC calendar month). */
export interface MonthPartition {
  name: string;
  from: number;
  to: number;
}

/**
 * The partition holding `epochMs`, or undefined outside years 1970–9999: such events (clock bugs) go to the
 * default partition rather than creating partitions nobody will query.
 */
export function monthPartition(epochMs: number): MonthPartition | undefined {
  const d = new Date(epochMs);
  const year = d.getUTCFullYear();
  if (!Number.isFinite(year) || year < 1970 || year > 9999) return undefined;
  const month = d.getUTCMonth();
  return {
    name: `events_p${year}${String(month + 1).padStart(2, '0')}`,
    from: Date.UTC(year, month, 1),
    to: Date.UTC(year, month + 1, 1),
  };
}

/** The distinct partitions a batch touches, oldest first. */
export function partitionsFor(startedAts: Iterable<number>): MonthPartition[] {
  const byName = new Map<string, MonthPartition>();
  for (const t of startedAts) {
    const p = monthPartition(t);
    if (p !== undefined) byName.set(p.name, p);
  }
  return [...byName.values()].sort((a, b) => a.from - b.from);
}

/**
 * Creates the partition if it does not exist yet. Safe when several replicas do it at once: a transaction-scoped
 * advisory lock (one per schema) serialises creators, and each re-checks under the lock.
 *
 * The partition is created standalone and then attached, because ATTACH PARTITION only takes a SHARE UPDATE
 * EXCLUSIVE lock on `events` (CREATE TABLE … PARTITION OF takes ACCESS EXCLUSIVE and would stall every reader
 * and writer behind it). Rows of that month that reached the default partition are moved over first, or the
 * attach would fail on them.
 */
export async function ensurePartition<T extends Record<string, unknown>>(sql: Sql<T>, p: MonthPartition): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(hashtext('goodhart:partitions:' || current_schema()))`;
    const [row] = await tx`SELECT to_regclass(${p.name}) IS NOT NULL AS present`;
    if (row?.['present'] === true) return;
    const table = tx(p.name);
    await tx`CREATE TABLE ${table} (LIKE events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`;
    await tx`
      WITH moved AS (
        DELETE FROM events_default WHERE started_at >= ${p.from} AND started_at < ${p.to} RETURNING *
      )
      INSERT INTO ${table} SELECT * FROM moved`;
    await tx.unsafe(`ALTER TABLE events ATTACH PARTITION ${quoteIdent(p.name)} FOR VALUES FROM (${p.from}) TO (${p.to})`);
  });
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
