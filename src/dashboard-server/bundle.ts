import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GoodhartError } from '../errors.js';

/**
 * The dashboard's browser files: `index.html`, `app.js` (src/dashboard bundled with esbuild, Chart.js inside)
 * and `app.css`. A built package serves dist/dashboard (made by `npm run build`); running from the sources
 * (tsx, tests) bundles src/dashboard in memory at start, so there is no stale copy to forget.
 */
export interface Asset {
  body: Buffer;
  type: string;
}

const SOURCE_DIR = ['src', 'dashboard'];
const FILES = { 'index.html': 'text/html; charset=utf-8', 'app.css': 'text/css; charset=utf-8' } as const;

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  throw new GoodhartError('internal', 500, 'Cannot find the goodhart package folder to serve the dashboard from.');
}

/** esbuild options shared by the build step and the in-memory bundle. */
export function esbuildOptions(root: string) {
  return {
    entryPoints: [join(root, ...SOURCE_DIR, 'main.ts')],
    bundle: true,
    format: 'esm' as const,
    platform: 'browser' as const,
    target: ['es2022'],
    minify: true,
    sourcemap: false,
    legalComments: 'none' as const,
    logLevel: 'silent' as const,
  };
}

export async function loadAssets(): Promise<Map<string, Asset>> {
  const root = packageRoot();
  const fromSource = import.meta.url.endsWith('.ts');
  const assets = new Map<string, Asset>();
  const dir = fromSource ? join(root, ...SOURCE_DIR) : join(root, 'dist', 'dashboard');
  for (const [name, type] of Object.entries(FILES)) {
    const path = join(dir, name);
    if (!existsSync(path)) {
      throw new GoodhartError('config_invalid', 500, `The dashboard file ${path} is missing. Run \`npm run build\` (it bundles the dashboard).`);
    }
    assets.set(name, { body: readFileSync(path), type });
  }
  if (fromSource) {
    // Dev and tests only: esbuild is a devDependency.
    const esbuild = await import('esbuild');
    const out = await esbuild.build({ ...esbuildOptions(root), write: false, outfile: 'app.js' });
    const js = out.outputFiles[0];
    if (js === undefined) throw new GoodhartError('internal', 500, 'esbuild produced no dashboard bundle.');
    assets.set('app.js', { body: Buffer.from(js.contents), type: 'text/javascript; charset=utf-8' });
  } else {
    const path = join(dir, 'app.js');
    if (!existsSync(path)) throw new GoodhartError('config_invalid', 500, `The dashboard bundle ${path} is missing. Run \`npm run build\`.`);
    assets.set('app.js', { body: readFileSync(path), type: 'text/javascript; charset=utf-8' });
  }
  return assets;
}
