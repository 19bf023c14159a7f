import { defaultDbPath } from '../store/open.js';
import { configPath } from './config-path.js';

/**
 * The database a read command (`report`, `events`, `routing savings`) opens: --db, else the `db` of the config file
 * that applies (see configPath), as `serve` and `import` would, else $GOODHART_DB, else ./.goodhart/goodhart.db. The
 * config (the YAML parser and the schema, through context.ts) is loaded only when a file applies.
 */
export async function readDb(opts: { config?: string | undefined; db?: string | undefined }, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (opts.db !== undefined) return opts.db;
  const file = configPath(opts, env);
  if (file === undefined) return defaultDbPath();
  const { resolveConfig, resolveDb } = await import('./context.js');
  return resolveDb(opts, resolveConfig(opts, env).config);
}

/**
 * The time zone a read command's days are in: --tz, else the `timeZone` of the config file that applies (the zone
 * budgets, the audit and the dashboard use), else UTC.
 */
export async function readTimeZone(opts: { config?: string | undefined; tz?: string | undefined }, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (opts.tz !== undefined) return opts.tz;
  const file = configPath(opts, env);
  if (file === undefined) return 'UTC';
  const { resolveConfig } = await import('./context.js');
  return resolveConfig(opts, env).config.timeZone;
}
