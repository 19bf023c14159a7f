import postgres from 'postgres';
import { GoodhartError } from '../../errors.js';
import { failOpen, redactUrl } from './postgres-store.js';

/** int8 as JS numbers: every int8 Goodhart stores (epoch ms, counts) is far below 2^53. */
export const TYPES = { int8: { to: 20, from: [20], serialize: (x: number) => String(x), parse: (x: string) => Number(x) } };

export interface SideTablesOptions {
  /** Names the tables in messages and the migration lock: `governance`, `routing`… */
  name: string;
  /** Their migrations, applied in order; `${name}_migrations` records how many ran. Never edit a released one. */
  migrations: readonly string[];
  /** Pool size: these tables see few writes. */
  max: number;
  searchPath?: string | undefined;
  /** What the database user must be allowed to do, for the error message. */
  needs?: string;
}

/**
 * A small pool of its own for a feature's tables beside the events (governance, routing decisions), with the
 * feature's migrations applied under a transaction-scoped advisory lock per schema, so replicas that start together
 * take turns and never apply one twice.
 */
/** A pool that reads int8 as numbers. */
export type SideSql = postgres.Sql<{ int8: number }>;

function sidePool(url: string, opts: SideTablesOptions): SideSql {
  return postgres(url, {
    max: opts.max,
    connect_timeout: 10,
    types: TYPES,
    onnotice: () => {},
    ...(opts.searchPath === undefined ? {} : { connection: { search_path: opts.searchPath } }),
  });
}

/**
 * The same tables for a command that only reads: nothing is created or migrated (a role that may only SELECT reads
 * them). Null when they do not exist (no gateway with that feature wrote to this database): nothing to read.
 */
export async function readSideTables(url: string, opts: SideTablesOptions): Promise<SideSql | null> {
  const sql = sidePool(url, opts);
  const table = `${opts.name}_migrations`;
  try {
    const [found] = await sql`SELECT to_regclass(${table}) IS NOT NULL AS present`;
    if (found?.['present'] !== true) {
      await sql.end({ timeout: 1 });
      return null;
    }
    const [row] = await sql.unsafe(`SELECT COALESCE(max(version), 0)::int4 AS version FROM ${table}`);
    const current = Number(row?.['version'] ?? 0);
    if (current !== opts.migrations.length) {
      throw new GoodhartError(
        'config_invalid',
        500,
        current > opts.migrations.length
          ? `The ${opts.name} tables at ${redactUrl(url)} are version ${current}, newer than this goodhart supports (${opts.migrations.length}). Upgrade goodhart.`
          : `The ${opts.name} tables at ${redactUrl(url)} are version ${current}, older than this goodhart reads (${opts.migrations.length}), and this command only reads. Upgrade them by starting this version of \`goodhart serve\` on the database once (as a user who may create tables), then run this command again.`,
      );
    }
    return sql;
  } catch (cause) {
    return failOpen(sql, cause, (c) => `Cannot read the ${opts.name} tables at ${redactUrl(url)}: ${String(c)}. Check that the user may read them (GRANT USAGE on the schema and SELECT on its tables).`);
  }
}

export async function openSideTables(url: string, opts: SideTablesOptions): Promise<SideSql> {
  const sql = sidePool(url, opts);
  const table = `${opts.name}_migrations`;
  try {
    await sql.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(hashtext(${`goodhart:${opts.name}-migrate:`} || current_schema()))`;
      await tx.unsafe(`CREATE TABLE IF NOT EXISTS ${table} (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
      const [row] = await tx.unsafe(`SELECT COALESCE(max(version), 0)::int4 AS version FROM ${table}`);
      const current = Number(row?.['version'] ?? 0);
      if (current > opts.migrations.length) {
        throw new GoodhartError('config_invalid', 500, `The ${opts.name} tables at ${redactUrl(url)} are version ${current}, newer than this goodhart supports (${opts.migrations.length}). Upgrade goodhart.`);
      }
      for (let i = current; i < opts.migrations.length; i++) {
        await tx.unsafe(opts.migrations[i]!);
        await tx.unsafe(`INSERT INTO ${table} (version) VALUES ($1)`, [i + 1]);
      }
    });
  } catch (cause) {
    return failOpen(sql, cause, (c) => `Cannot set up the ${opts.name} tables at ${redactUrl(url)}: ${String(c)}. Check that the user may ${opts.needs ?? 'create tables'}.`);
  }
  return sql;
}
