import { storeSpec } from '../store/open.js';
import type { Store } from '../store/types.js';
import type { RouteDecisionStore } from './decisions.js';
import { readDecisionStore, SqliteDecisionStore } from './sqlite-decisions.js';

/**
 * The decision store beside an event store: the same SQLite file, or the same Postgres database (tables of their
 * own, route_migrations). Null where nothing durable exists (an in-memory SQLite). `readOnly`: for reports, see
 * readDecisionStore and PostgresDecisionStore.read.
 */
export async function openDecisionStore(store: Store, opts: { readOnly?: boolean } = {}): Promise<RouteDecisionStore | null> {
  const spec = storeSpec(store);
  if (spec === null) return null;
  if (spec.kind === 'sqlite') return opts.readOnly === true ? readDecisionStore(spec.path) : new SqliteDecisionStore(spec.path);
  // Loaded on demand, as the Postgres store itself is: a SQLite gateway never loads the driver.
  const { PostgresDecisionStore } = await import('./postgres-decisions.js');
  const where = { searchPath: spec.searchPath };
  return opts.readOnly === true ? PostgresDecisionStore.read(spec.url, where) : PostgresDecisionStore.open(spec.url, where);
}
