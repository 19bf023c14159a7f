import { GoodhartError } from '../errors.js';
import type { GoodhartConfig } from './schema.js';

/** One thing wrong with a config: where (the path in the file) and what to do about it. */
export interface ConfigProblem {
  path: readonly PropertyKey[];
  message: string;
}

/**
 * A check of a parsed config that needs more than the config (the gateway's router and prices, say): `serve` hands
 * it to the loader, so its problems name the file and line as the loader's own do.
 */
export type ConfigCheck = (config: GoodhartConfig) => ConfigProblem[];

export function formatPath(path: readonly PropertyKey[]): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s ? `.${String(p)}` : String(p);
  return s || '(root)';
}

/** At most ten problems, each on its line: `file: invalid configuration:` then `  path (line N): message`. */
export function configInvalid(problems: readonly ConfigProblem[], file?: string, lineOf?: (path: readonly PropertyKey[]) => number | undefined): GoodhartError {
  const lines = problems.slice(0, 10).map((p) => {
    const line = lineOf?.(p.path);
    return `  ${formatPath(p.path)}${line ? ` (line ${line})` : ''}: ${p.message}`;
  });
  const more = problems.length > 10 ? `\n  …and ${problems.length - 10} more` : '';
  return new GoodhartError('config_invalid', 500, `${file === undefined ? '' : `${file}: `}invalid configuration:\n${lines.join('\n')}${more}`);
}
