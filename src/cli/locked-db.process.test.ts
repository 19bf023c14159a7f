import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';

/**
 * A SQLite file another connection holds the write lock on (`BEGIN EXCLUSIVE` in a sqlite3 shell, say): a command
 * that writes waits the busy timeout (5 s), then says which file is locked and what to do, without a stack trace.
 */
const MAIN = new URL('./main.ts', import.meta.url).pathname;
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const dir = mkdtempSync(join(tmpdir(), 'goodhart-locked-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Asynchronous, so this process (which holds the lock) goes on while the command waits. */
function goodhart(args: string[]): Promise<{ status: number | null; stderr: string }> {
  const { GOODHART_CONFIG: _config, GOODHART_DB: _db, ...env } = process.env;
  const child = spawn(process.execPath, ['--import', TSX, MAIN, ...args], { cwd: dir, env });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stderr })));
}

describe('a locked SQLite database', () => {
  it('keys create names the file and the lock, exit 1, no stack', async () => {
    const db = join(dir, 'locked.db');
    await new SqliteStore(db).close();
    const holder = new Database(db);
    holder.exec('BEGIN EXCLUSIVE');
    try {
      const r = await goodhart(['keys', 'create', '--user', 'alice', '--db', db]);
      expect(r.stderr).toBe(
        `goodhart: The SQLite database ${db} is locked: another process holds its write lock (an open transaction: a sqlite3 shell or a script inside BEGIN, a backup, a long import) and did not release it within 5 seconds. Try again when it is done; \`fuser ${db}\` or \`lsof ${db}\` shows which process has it open.\n`,
      );
      expect(r.status).toBe(1);
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
  }, 30_000);
});
