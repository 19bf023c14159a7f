/**
 * `npm run build:cli`: bundles `goodhart import` (src/cli/commands/import.ts and what it loads, with the import
 * worker thread) into dist/cli/import-bundle, after tsc has built dist. Part of `npm run build`.
 *
 * Why: an incremental re-import does tens of milliseconds of work, and loading sixty small ES modules one by one
 * (resolve, read, compile, link each) took as long. The bundle is a few files; modules the command loads on demand
 * (the price catalogue, the YAML config, the usage-API importers) stay separate chunks, loaded as before. Packages
 * stay in node_modules (better-sqlite3 is native; commander must be the instance main.js uses).
 *
 * dist/cli/main.js uses the bundle when it is at least as new as main.js itself, so a later tsc-only build is never
 * shadowed by a stale bundle.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

export async function bundleImportCommand(root: string, dist: string): Promise<string> {
  const outdir = join(dist, 'cli', 'import-bundle');
  // Chunk names carry content hashes: clear out the previous build's.
  rmSync(outdir, { recursive: true, force: true });
  await build({
    entryPoints: [join(root, 'src', 'cli', 'commands', 'import.ts'), join(root, 'src', 'importers', 'file-worker.ts')],
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    // The worker pool starts `./file-worker.js` next to its own module: every output file sits in one folder.
    entryNames: '[name]',
    chunkNames: '[name]-[hash]',
    sourcemap: true,
    logLevel: 'warning',
  });
  return outdir;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const root = join(import.meta.dirname, '..');
  const out = await bundleImportCommand(root, join(root, 'dist'));
  process.stdout.write(`goodhart import bundled into ${out}\n`);
}
