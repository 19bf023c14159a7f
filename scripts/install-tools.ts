import { execFileSync } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { ccusageBinary, CCUSAGE_VERSION } from './ccusage.js';

// Installs the reference tools the comparison tests and benchmarks run (see scripts/ccusage.ts for why not in package.json).
execFileSync('npm', ['install', '--prefix', '.tools', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', `ccusage@${CCUSAGE_VERSION}`], {
  stdio: 'inherit',
  cwd: new URL('..', import.meta.url).pathname,
});
// The package's own postinstall (which marks the binary executable) is not run: npm here runs no unapproved scripts.
const bin = ccusageBinary();
if (bin) chmodSync(bin, 0o755);
