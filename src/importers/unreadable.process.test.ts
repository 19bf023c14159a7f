import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { ImportSummary } from './summary.js';

/**
 * Logs this user may not read: a file and a folder of another user's (chmod 000, which root ignores, so as root the
 * CLI runs as nobody with setpriv, as read-only-db.process.test.ts does). Both are reported with their path; the
 * folder was skipped without a word, so its sessions went missing from the totals unnoticed.
 */
const MAIN = new URL('../cli/main.ts', import.meta.url).pathname;
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const root = process.getuid?.() === 0;
const hasSetpriv = !root || spawnSync('setpriv', ['--version']).status === 0;

const dir = mkdtempSync(join(tmpdir(), 'goodhart-unreadable-'));
chmodSync(dir, 0o777);
const project = join(dir, 'claude', 'projects', 'p');
const secret = join(project, 'secretdir');
afterAll(() => {
  chmodSync(secret, 0o755);
  chmodSync(join(project, 'unreadable.jsonl'), 0o644);
  rmSync(dir, { recursive: true, force: true });
});

const assistant = (id: string): string =>
  `${JSON.stringify({ type: 'assistant', sessionId: 's', cwd: '/w', timestamp: '2026-11-20T09:00:00.000Z', requestId: `req_${id}`, message: { model: 'claude-sonnet-4-5', id: `msg_${id}`, content: [], usage: { input_tokens: 10, output_tokens: 5 } } })}\n`;

describe.skipIf(!hasSetpriv)('goodhart import of logs this user may not read', () => {
  it('reports an unreadable folder as it reports an unreadable file, and imports the rest', () => {
    mkdirSync(secret, { recursive: true });
    writeFileSync(join(project, 'ok.jsonl'), assistant('1'));
    writeFileSync(join(project, 'unreadable.jsonl'), assistant('2'));
    writeFileSync(join(secret, 'x.jsonl'), assistant('3'));
    for (const p of [join(dir, 'claude'), join(dir, 'claude', 'projects'), project]) chmodSync(p, 0o755);
    chmodSync(join(project, 'ok.jsonl'), 0o644);
    chmodSync(join(project, 'unreadable.jsonl'), 0o000);
    chmodSync(secret, 0o000);

    const cmd = [process.execPath, '--import', TSX, MAIN, 'import', 'claude-code', join(dir, 'claude'), '--db', join(dir, 'db.sqlite'), '--json', '--no-fingerprints'];
    const [bin, ...args] = root ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', ...cmd] : cmd;
    const { GOODHART_CONFIG: _config, GOODHART_DB: _db, ...env } = process.env;
    const r = spawnSync(bin!, args, { cwd: dir, encoding: 'utf8', env: { ...env, TZ: 'UTC' } });
    expect(r.stderr).toBe('');
    const summary = JSON.parse(r.stdout) as ImportSummary;
    expect(summary.eventsAdded).toBe(1);
    expect(summary.problems.map((p) => [p.file, p.line, p.reason]).sort()).toEqual([
      [join(project, 'secretdir'), 0, 'unreadable: EACCES'],
      [join(project, 'unreadable.jsonl'), 0, 'unreadable: EACCES'],
    ]);
  });
});
