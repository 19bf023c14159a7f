import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * ccusage, the reference the importers are compared with, lives in `.tools/` rather than in package.json: its npm
 * package lists a native binary per platform, and a registry that lacks some of them makes `npm ci` refuse the
 * whole lock file. `npm run tools` installs it (CI does, in .ci/run).
 */
export const CCUSAGE_VERSION = '20.0.24';
const ROOT = new URL('..', import.meta.url).pathname;

export function ccusageBinary(): string | null {
  const bin = join(ROOT, '.tools/node_modules', `@ccusage/ccusage-${process.platform}-${process.arch}`, 'bin', process.platform === 'win32' ? 'ccusage.exe' : 'ccusage');
  return existsSync(bin) ? bin : null;
}
