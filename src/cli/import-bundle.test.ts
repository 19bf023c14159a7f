import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { bundleImportCommand } from '../../scripts/build-cli.js';
import { FIXTURES, tempDir } from '../importers/testing.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import * as modules from './commands/import.js';

const ROOT = new URL('../../', import.meta.url).pathname;
// Inside the repository, so the bundle finds the packages it leaves out (commander, better-sqlite3…).
const dist = join(ROOT, 'node_modules', '.cache', `goodhart-import-bundle-${process.pid}`);
const { dir, cleanup } = tempDir('import-bundle');
afterAll(() => {
  cleanup();
  rmSync(dist, { recursive: true, force: true });
});

async function run(registerImport: typeof modules.registerImport, db: string): Promise<Record<string, unknown>> {
  const program = new Command().exitOverride();
  registerImport(program);
  let out = '';
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  try {
    await program.parseAsync(['node', 'goodhart', 'import', 'claude-code', FIXTURES.claude, '--db', db, '--json', '--os-user', 'dev'], { from: 'node' });
  } finally {
    write.mockRestore();
  }
  const { durationMs: _, ...summary } = JSON.parse(out) as Record<string, unknown>;
  return summary;
}

/** The packages a bundle file loads before it runs: its static imports and theirs (dynamic `import()` left out). */
function staticPackages(out: string, entry: string): Set<string> {
  const packages = new Set<string>();
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const m of readFileSync(join(out, file), 'utf8').matchAll(/^(?:import|export)\b[^;'"]*?(?:from\s*)?"([^"]+)";?$/gm)) {
      const spec = m[1]!;
      if (spec.startsWith('./')) visit(spec.slice(2));
      else packages.add(spec);
    }
  };
  visit(entry);
  return packages;
}

describe('goodhart import, bundled (scripts/build-cli.ts)', () => {
  let built: Promise<string> | undefined;
  const bundle = (): Promise<string> => (built ??= bundleImportCommand(ROOT, dist));

  it('imports the fixture corpus exactly as the modules tsc builds do', async () => {
    const out = await bundle();
    const bundled = (await import(pathToFileURL(join(out, 'import.js')).href)) as typeof modules;
    const a = join(dir, 'modules.db');
    const b = join(dir, 'bundle.db');
    const fromModules = await run(modules.registerImport, a);
    expect(fromModules).toMatchObject({ eventsAdded: 10, filesRead: 3 });
    expect(await run(bundled.registerImport, b)).toEqual(fromModules);
    const events = async (path: string) => {
      const store = new SqliteStore(path);
      try {
        return (await store.listEvents({})).map((e) => [e.id, e.costUsd, e.outputTokens, e.userId, e.projectId]);
      } finally {
        await store.close();
      }
    };
    expect(await events(b)).toEqual(await events(a));
  });

  it('loads no zod in the worker threads (a fifth of a second each): they price with overrides the config validated', async () => {
    const out = await bundle();
    const worker = staticPackages(out, 'file-worker.js');
    expect(worker).toContain('@pydantic/genai-prices');
    expect(worker).not.toContain('zod');
    expect(staticPackages(out, 'import.js')).not.toContain('zod');
  });
});
