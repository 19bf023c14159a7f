import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../importers/testing.js';
import { SqliteStore } from '../../store/sqlite/sqlite-store.js';
import { importFilesCommand, noLogsHint } from './import.js';

const { dir, cleanup } = tempDir('cli-import');
afterAll(cleanup);

describe('goodhart import with no log files', () => {
  it('says where it looked and where the agent keeps its logs', async () => {
    const saved = process.env['CODEX_HOME'];
    process.env['CODEX_HOME'] = '/srv/nowhere';
    try {
      expect(await noLogsHint('codex', [])).toBe(
        '  No codex log files were found under /srv/nowhere/sessions, /srv/nowhere/archived_sessions. Codex keeps them in sessions/ and archived_sessions/ under $CODEX_HOME, else ~/.codex: name the folder that holds them, or set the variable.',
      );
    } finally {
      if (saved === undefined) delete process.env['CODEX_HOME'];
      else process.env['CODEX_HOME'] = saved;
    }
    expect(await noLogsHint('gemini', ['/data/g'])).toMatch(/^ {2}No gemini log files were found under \/data\/g\. Gemini CLI keeps them in tmp\/\*\/chats\/ under \$GEMINI_DATA_DIR/);
  });
});

describe('goodhart import --os-user', () => {
  // An auditor imports alice's logs: her repository has no email of its own, the auditor's ~/.gitconfig has one.
  const home = join(dir, 'auditor');
  const repo = join(dir, 'alice', 'src', 'webapp');
  const logs = join(dir, 'alice', '.claude');
  mkdirSync(home, { recursive: true });
  writeFileSync(join(home, '.gitconfig'), '[user]\n\temail = auditor@acme.com\n');
  execFileSync('git', ['init', '-q', repo], { env: { PATH: process.env['PATH'], HOME: home } });
  mkdirSync(join(logs, 'projects', 'webapp'), { recursive: true });
  writeFileSync(
    join(logs, 'projects', 'webapp', '0a1b2c3d-1111-4aaa-8bbb-000000000001.jsonl'),
    `${JSON.stringify({
      type: 'assistant',
      cwd: repo,
      sessionId: '0a1b2c3d-1111-4aaa-8bbb-000000000001',
      uuid: 'u1',
      timestamp: '2026-11-20T10:00:00.000Z',
      requestId: 'req_1',
      message: { model: 'claude-sonnet-4-6', id: 'msg_1', content: [], usage: { input_tokens: 3, output_tokens: 5 } },
    })}\n`,
  );
  let n = 0;
  const importAs = async (osUser: string): Promise<(string | null)[]> => {
    const db = join(dir, `db-${++n}.db`);
    const saved = process.env['HOME'];
    process.env['HOME'] = home;
    try {
      await importFilesCommand('claude-code', [logs], { osUser, db, json: true, fingerprints: false });
    } finally {
      if (saved === undefined) delete process.env['HOME'];
      else process.env['HOME'] = saved;
    }
    const store = new SqliteStore(db);
    try {
      return (await store.listEvents({})).map((e) => e.userId);
    } finally {
      await store.close();
    }
  };

  it("attributes another user's logs to them, not to the importer's own git email", async () => {
    expect(await importAs('alice')).toEqual(['alice']);
  });

  it('still applies the importer\'s git email to their own logs', async () => {
    expect(await importAs(userInfo().username)).toEqual(['auditor@acme.com']);
  });
});
