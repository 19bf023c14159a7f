import { existsSync } from 'node:fs';
import { configFromEnv, loadConfigFile } from '../config/load.js';
import type { GoodhartConfig } from '../config/schema.js';
import { defaultDbPath } from '../store/open.js';

export interface ConfigOptions {
  config?: string;
  db?: string;
}

/** Which config file applies: --config, else $GOODHART_CONFIG, else ./goodhart.yaml when present. */
export function configPath(opts: ConfigOptions, env = process.env): string | undefined {
  if (opts.config) return opts.config;
  if (env.GOODHART_CONFIG) return env.GOODHART_CONFIG;
  return existsSync('goodhart.yaml') ? 'goodhart.yaml' : undefined;
}

/** Loads the config once, at start; with no file, providers come from the SDKs' standard environment variables. */
export function resolveConfig(opts: ConfigOptions, env = process.env): { config: GoodhartConfig; file: string | undefined } {
  const file = configPath(opts, env);
  return { config: file ? loadConfigFile(file, env) : configFromEnv(env), file };
}

/** --db, else the config's `db`, else $GOODHART_DB, else ./.goodhart/goodhart.db. */
export function resolveDb(opts: ConfigOptions, config?: GoodhartConfig): string {
  return opts.db ?? config?.db ?? defaultDbPath();
}
