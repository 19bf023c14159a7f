import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { GoodhartError } from '../errors.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './types.js';

/** Where the database lives when neither --db nor a config says: `$GOODHART_DB`, else `./.goodhart/goodhart.db`. */
export function defaultDbPath(): string {
  const fromEnv = process.env['GOODHART_DB'];
  return fromEnv !== undefined && fromEnv.trim() !== '' ? fromEnv : './.goodhart/goodhart.db';
}

/**
 * Opens the store a location names: a `postgres://` URL, or a SQLite file path (parent folders are created;
 * `:memory:` gives a private in-memory database). With `mustExist`, a missing SQLite file is an error instead
 * of a new empty database: read-only commands use it so a mistyped --db is reported, not silently empty. With
 * `readOnly` (commands that only read), a SQLite file this user may not write is opened read-only, not refused.
 * On Postgres the same: `mustExist` refuses a database without Goodhart's tables, and `readOnly` creates and
 * migrates nothing (a role that may only SELECT can read), refusing a schema older than this goodhart's.
 */
export async function openStore(location: string, opts: { mustExist?: boolean; readOnly?: boolean } = {}): Promise<Store> {
  // Errors from PostgresStore.open name the URL with its password redacted. Loaded on demand: a SQLite report
  // (`goodhart report daily`) should not pay for loading the Postgres driver.
  if (/^postgres(ql)?:\/\//i.test(location)) {
    return (await import('./postgres/postgres-store.js')).PostgresStore.open(location, {
      ...(opts.mustExist === true ? { mustExist: true } : {}),
      ...(opts.readOnly === true ? { readOnly: true } : {}),
    });
  }
  if (location.trim() === '') {
    throw new GoodhartError('config_invalid', 500, 'The database location is empty. Pass --db PATH or set GOODHART_DB.');
  }
  if (location !== ':memory:') {
    const path = resolve(location);
    if (opts.mustExist === true && !existsSync(path)) {
      throw new GoodhartError(
        'config_invalid',
        500,
        `No Goodhart database at ${path}. Run \`goodhart serve\` (or an import) first, or point --db / GOODHART_DB at the right file.`,
      );
    }
    try {
      mkdirSync(dirname(path), { recursive: true });
    } catch (cause) {
      throw new GoodhartError('config_invalid', 500, `Cannot create the folder for the database ${path}: ${String(cause)}. Pass another --db PATH or GOODHART_DB.`, { cause });
    }
    return new SqliteStore(path, { readOnly: opts.readOnly });
  }
  return new SqliteStore(location);
}

/** Where a store lives, so another thread can open the same one (the gateway's writer thread); null: in memory. */
export type StoreSpec = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string; searchPath?: string | undefined };

export function storeSpec(store: Store): StoreSpec | null {
  if (store instanceof SqliteStore) return store.path === ':memory:' ? null : { kind: 'sqlite', path: store.path };
  const location = (store as { location?: { url: string; searchPath: string | undefined } }).location;
  return store.kind === 'postgres' && location ? { kind: 'postgres', url: location.url, searchPath: location.searchPath } : null;
}

/** Opens the store a StoreSpec names (already migrated by whoever made the spec). */
export async function reopenStore(spec: StoreSpec, opts: { maxConnections?: number } = {}): Promise<Store> {
  if (spec.kind === 'sqlite') return new SqliteStore(spec.path);
  const { PostgresStore } = await import('./postgres/postgres-store.js');
  return PostgresStore.open(spec.url, {
    ...(opts.maxConnections === undefined ? {} : { max: opts.maxConnections }),
    ...(spec.searchPath === undefined ? {} : { searchPath: spec.searchPath }),
  });
}
