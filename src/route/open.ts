import type { Store } from '../store/types.js';
import type { RouteDecisionStore } from './decisions.js';
import { SqliteDecisionStore } from './sqlite-decisions.js';

/**
 * The decision store beside an event store: the same SQLite file, or the same Postgres database (tables of their
 * own, route_migrations). Null where nothing durable exists (an in-memory SQLite, another kind of store).
 */
export async function openDecisionStore(store: Store): Promise<RouteDecisionStore | null> {
  if (store.kind === 'sqlite') {
    const path = (store as { path?: unknown }).path;
    return typeof path === 'string' && path !== ':memory:' ? new SqliteDecisionStore(path) : null;
  }
  const location = (store as { location?: { url?: unknown; searchPath?: unknown } }).location;
  if (store.kind === 'postgres' && typeof location?.url === 'string') {
    // Loaded on demand, as the Postgres store itself is: a SQLite gateway never loads the driver.
    const { PostgresDecisionStore } = await import('./postgres-decisions.js');
    return PostgresDecisionStore.open(location.url, { searchPath: typeof location.searchPath === 'string' ? location.searchPath : undefined });
  }
  return null;
}
