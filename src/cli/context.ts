import { configFromEnv, loadConfigFile, type ConfigUse } from '../config/load.js';
import type { ConfigCheck } from '../config/problems.js';
import { configPath } from './config-path.js';
import type { GoodhartConfig } from '../config/schema.js';
import { defaultDbPath } from '../store/open.js';

export interface ConfigOptions {
  config?: string;
  db?: string;
}

// In its own module so that commands which may not need the config (`import` without a file) can find out
// without loading the YAML parser and the schema.
export { configPath };

/**
 * Loads the config once, at start; with no file, providers come from the SDKs' standard environment variables.
 * `use`: 'read' (the default) for commands that call no provider, alert receiver or Redis: an unset `${VAR}` in the
 * fields only the gateway reads (its API keys, admin keys, webhook URLs) does not stop them; `serve` needs them all.
 * `checks`: more of a file's checks, reported with its other problems (file, path, line).
 */
export function resolveConfig(
  opts: ConfigOptions,
  env = process.env,
  use: ConfigUse = 'read',
  checks: readonly ConfigCheck[] = [],
): { config: GoodhartConfig; file: string | undefined } {
  const file = configPath(opts, env);
  return { config: file ? loadConfigFile(file, env, use, checks) : configFromEnv(env), file };
}

/** --db, else the config's `db`, else $GOODHART_DB, else ./.goodhart/goodhart.db. */
export function resolveDb(opts: ConfigOptions, config?: GoodhartConfig): string {
  return opts.db ?? config?.db ?? defaultDbPath();
}
