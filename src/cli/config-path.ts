import { existsSync } from 'node:fs';

/** Which config file applies: --config, else $GOODHART_CONFIG, else ./goodhart.yaml when present. */
export function configPath(opts: { config?: string | undefined }, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (opts.config) return opts.config;
  if (env['GOODHART_CONFIG']) return env['GOODHART_CONFIG'];
  return existsSync('goodhart.yaml') ? 'goodhart.yaml' : undefined;
}
