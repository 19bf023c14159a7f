import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteDecisionStore } from '../route/sqlite-decisions.js';
import { makeTestEvent } from '../store/store-contract.js';
import { SqliteGovernanceStore } from '../store/sqlite/governance-store.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';

/**
 * A database this user may not write: made read-only with chmod, which root ignores, so as root the CLI runs as
 * nobody (setpriv). SQLite opens such a file read-only without saying so; before, every command then failed with a
 * stack trace ("attempt to write a readonly database") at its first write: a pragma, a migration, a CREATE TABLE.
 */
const MAIN = new URL('./main.ts', import.meta.url).pathname;
// By path: the commands run in the test's folder (no goodhart.yaml there), where `--import tsx` would not resolve.
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const root = process.getuid?.() === 0;
const hasSetpriv = !root || spawnSync('setpriv', ['--version']).status === 0;

function goodhart(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const cmd = [process.execPath, '--import', TSX, MAIN, ...args];
  const [bin, ...rest] = root ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', ...cmd] : cmd;
  const { GOODHART_CONFIG: _config, GOODHART_DB: _db, ...env } = process.env;
  const r = spawnSync(bin!, rest, { cwd: dir, encoding: 'utf8', env: { ...env, TZ: 'UTC' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

let dir: string;
/** A folder this user may write, holding read-only files: SQLite can create the -shm file WAL needs to read. */
let open: string;
/** A read-only folder: nothing can be created beside the files. */
let closed: string;

async function makeDb(path: string, served: boolean): Promise<void> {
  const store = new SqliteStore(path);
  await store.insertEvents([
    makeTestEvent({ id: 'e1', startedAt: Date.parse('2025-03-10T09:00:00Z'), userId: 'alice', teamId: 'core', costUsd: 1.25 }),
    makeTestEvent({ id: 'e2', startedAt: Date.parse('2025-03-11T09:00:00Z'), userId: 'bob', teamId: 'core', costUsd: 0.5 }),
  ]);
  await store.close();
  // What a gateway adds beside the events; an imports-only file has none of it.
  if (served) {
    await new SqliteGovernanceStore(path).close();
    await new SqliteDecisionStore(path).close();
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'goodhart-ro-'));
  chmodSync(dir, 0o755);
  open = join(dir, 'open');
  closed = join(dir, 'closed');
  mkdirSync(open);
  mkdirSync(closed);
  for (const path of [join(open, 'plain.db'), join(open, 'served.db'), join(open, 'old.db'), join(closed, 'plain.db')]) {
    await makeDb(path, path.endsWith('served.db'));
    if (path.endsWith('old.db')) {
      // A file from an older goodhart: reading it needs a migration first.
      const old = new Database(path);
      old.pragma('user_version = 1');
      old.close();
    }
    chmodSync(path, 0o444);
  }
  chmodSync(open, 0o777);
  chmodSync(closed, 0o555);
});
afterAll(() => {
  chmodSync(closed, 0o755);
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!hasSetpriv)('a SQLite database this user may not write', () => {
  it.each(['plain.db', 'served.db'])('report, events, audit and routing savings read it (%s)', (file) => {
    const db = join(open, file);
    const report = goodhart(['report', 'daily', '--json', '--db', db]);
    expect(report.stderr).toBe('');
    expect(JSON.parse(report.stdout).rows.map((r: { costUsd: number }) => r.costUsd)).toEqual([1.25, 0.5]);
    const events = goodhart(['events', '--json', '--db', db]);
    expect(events.status).toBe(0);
    expect(JSON.parse(events.stdout)).toHaveLength(2);
    const audit = goodhart(['audit', '--period', '2025-03', '--db', db]);
    expect(audit.stderr).toBe('');
    expect(audit.stdout).toContain('$1.75');
    const savings = goodhart(['routing', 'savings', '--db', db]);
    expect(savings.stderr).toBe('');
    expect(savings.status).toBe(0);
  });

  it('serve refuses it up front: what to do, no stack trace, exit 78', () => {
    const r = goodhart(['serve', '--port', '0', '--db', join(open, 'plain.db')]);
    expect(r.status).toBe(78);
    expect(r.stderr).toContain(`The SQLite database at ${join(open, 'plain.db')} is read-only for this user, and this command writes to it.`);
    expect(r.stderr).not.toContain('    at ');
  });

  it('in a read-only folder, where SQLite cannot read a WAL database, a report says so and what to do (exit 78)', () => {
    const r = goodhart(['report', 'daily', '--db', join(closed, 'plain.db')]);
    expect(r.status).toBe(78);
    expect(r.stderr).toContain(`Cannot read the SQLite database at ${join(closed, 'plain.db')}: it is read-only for this user, and SQLite needs to create plain.db-shm`);
    expect(r.stderr).not.toContain('    at ');
  });

  it('one that needs a migration first: says to run goodhart on it once as its owner (exit 78)', () => {
    const r = goodhart(['events', '--db', join(open, 'old.db')]);
    expect(r.status).toBe(78);
    expect(r.stderr).toContain(`The database at ${join(open, 'old.db')} needs its tables upgraded by this version of goodhart, but the file is read-only for this user.`);
  });
});
