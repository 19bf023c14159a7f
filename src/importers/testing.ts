/** Test helpers for importer tests: a temp SQLite store and an import with fixed, offline attribution. */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GoodhartConfig } from '../config/schema.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { createPricer } from '../usage/pricing.js';
import { createLocalAttributor } from './attribution.js';
import { FILE_IMPORTERS } from './registry.js';
import { runFileImport, type FileImportOptions } from './run-file-import.js';
import type { FileSource } from './types.js';

export const FIXTURES = {
  claude: new URL('./claude-code/fixtures/claude', import.meta.url).pathname,
  codex: new URL('./codex/fixtures/codex', import.meta.url).pathname,
  gemini: new URL('./gemini/fixtures/gemini', import.meta.url).pathname,
};

export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `goodhart-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A copy of a fixture tree in `dir`, so a test can append to or rewrite its files. */
export function copyFixture(from: string, dir: string): string {
  const to = join(dir, 'logs');
  cpSync(from, to, { recursive: true });
  return to;
}

const EMPTY: Pick<GoodhartConfig, 'identities' | 'users' | 'projects'> = { identities: [], users: [], projects: [] };

export function importInto(
  store: SqliteStore,
  source: FileSource,
  roots: string[],
  extra: Partial<FileImportOptions> & { config?: Pick<GoodhartConfig, 'identities' | 'users' | 'projects'> } = {},
) {
  const { config = EMPTY, ...rest } = extra;
  return runFileImport({
    importer: FILE_IMPORTERS[source],
    roots,
    store,
    pricer: createPricer(),
    attribute: createLocalAttributor(config, { osUser: 'dev' }, () => ({ remoteUrl: null, email: null })),
    now: () => 1_700_000_000_000,
    ...rest,
  });
}
