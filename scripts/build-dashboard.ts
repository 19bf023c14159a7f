/**
 * `npm run build:dashboard`: bundles src/dashboard (browser code, Chart.js inside) into dist/dashboard with
 * index.html and app.css beside it. Part of `npm run build`.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { esbuildOptions } from '../src/dashboard-server/bundle.js';

const root = join(import.meta.dirname, '..');
const out = join(root, 'dist', 'dashboard');
mkdirSync(out, { recursive: true });
await build({ ...esbuildOptions(root), outfile: join(out, 'app.js') });
for (const f of ['index.html', 'app.css']) copyFileSync(join(root, 'src', 'dashboard', f), join(out, f));
process.stdout.write(`dashboard bundled into ${out}\n`);
