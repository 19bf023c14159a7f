import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURES, tempDir } from '../../importers/testing.js';
import { SqliteStore } from '../../store/sqlite/sqlite-store.js';
import { importApiCommand, importFilesCommand, noLogsHint } from './import.js';

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

describe('goodhart import anthropic-claude-code --config', () => {
  it('maps a person named only in outcomes.people: their analytics spend and commits are theirs, not their email’s', async () => {
    const yaml = join(dir, 'people.yaml');
    writeFileSync(yaml, 'teams: [{ id: platform }]\nusers: [{ id: alice, team: platform }]\noutcomes:\n  people: [{ user: alice, emails: [alice@acme.com] }]\n');
    const file = join(dir, 'analytics-2026-12-04.json');
    writeFileSync(file, JSON.stringify({
      data: [{
        date: '2026-12-04T00:00:00Z', actor: { type: 'user_actor', email_address: 'alice@acme.com' }, terminal_type: 'vscode',
        core_metrics: { num_sessions: 2, commits_by_claude_code: 2 },
        model_breakdown: [{ model: 'claude-sonnet-4-5-20250929', tokens: { input: 1000, output: 2000, cache_read: 0, cache_creation: 0 }, estimated_cost: { currency: 'USD', amount: 350 } }],
      }],
      has_more: false, next_page: null,
    }));
    const db = join(dir, 'analytics.db');
    await importApiCommand('anthropic-claude-code', { config: yaml, db, file: [file], since: '2026-12-04', until: '2026-12-04' });
    const store = new SqliteStore(db);
    try {
      expect((await store.listEvents({})).map((e) => [e.userId, e.teamId])).toEqual([['alice', 'platform']]);
      expect((await store.listOutcomes({ kind: 'commit' })).map((o) => [o.userId, o.teamId, o.count])).toEqual([['alice', 'platform', 2]]);
    } finally {
      await store.close();
    }
  });
});

describe('goodhart import given another source', () => {
  it("says a folder of another agent's logs is that agent's, and which command reads it", async () => {
    const db = join(dir, 'wrong-logs.db');
    const codex = await importFilesCommand('codex', [FIXTURES.claude], { db, json: true, fingerprints: false });
    expect(codex).toMatchObject({ eventsAdded: 0, wrongInput: [{ path: FIXTURES.claude, looksLike: 'claude-code' }] });
    expect(codex.wrongInput![0]!.hint).toBe(`${FIXTURES.claude} holds Claude Code logs, not Codex's: import them with \`goodhart import claude-code ${FIXTURES.claude}\`.`);
    // Gemini takes no file of them at all (no chats/ folder): said the same way, instead of "no log files found".
    expect(await importFilesCommand('gemini', [FIXTURES.claude], { db, json: true, fingerprints: false })).toMatchObject({ files: 0, wrongInput: [{ looksLike: 'claude-code' }] });
    expect(await importFilesCommand('claude-code', [FIXTURES.codex], { db, json: true, fingerprints: false })).toMatchObject({ wrongInput: [{ looksLike: 'codex' }] });
    expect(await importFilesCommand('codex', [join(FIXTURES.gemini, 'tmp')], { db, json: true, fingerprints: false })).toMatchObject({ wrongInput: [{ looksLike: 'gemini' }] });
    // Its own logs: nothing to say, also when they hold no usage yet.
    const fresh = join(dir, 'fresh-codex', 'sessions');
    mkdirSync(fresh, { recursive: true });
    writeFileSync(join(fresh, 'rollout-2026-11-20T09-00-00-0199c000-0000-7000-8000-0000000000aa.jsonl'), `${JSON.stringify({ timestamp: '2026-11-20T09:00:00Z', type: 'session_meta', payload: { id: '0199c000-0000-7000-8000-0000000000aa', cwd: '/w' } })}\n`);
    expect((await importFilesCommand('codex', [fresh], { db, json: true, fingerprints: false })).wrongInput).toBeUndefined();
    expect((await importFilesCommand('codex', [FIXTURES.codex], { db: join(dir, 'right-logs.db'), json: true, fingerprints: false })).wrongInput).toBeUndefined();
  });

  it("says a saved page is another usage API's, or an API error, instead of counting a row not in the documented shape", async () => {
    const db = join(dir, 'wrong-pages.db');
    const anthropicPage = join(dir, 'anthropic-page.json');
    writeFileSync(anthropicPage, JSON.stringify({ data: [{ starting_at: '2026-11-20T00:00:00Z', ending_at: '2026-11-21T00:00:00Z', results: [{ model: 'claude-sonnet-4-5-20250929', uncached_input_tokens: 10, cache_read_input_tokens: 0, output_tokens: 5 }] }], has_more: false, next_page: null }));
    const openaiError = join(dir, 'openai-error.json');
    writeFileSync(openaiError, JSON.stringify({ error: { message: 'Incorrect API key provided: sk-ad****. You can find your API key at https://platform.openai.com/account/api-keys.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } }));
    const anthropicError = join(dir, 'anthropic-error.json');
    writeFileSync(anthropicError, JSON.stringify({ type: 'error', error: { type: 'permission_error', message: 'This endpoint requires an admin API key.' } }));
    const opts = { db, since: '2026-11-01', until: '2026-11-30' };
    const a = await importApiCommand('openai-usage', { ...opts, file: [anthropicPage] });
    expect(a).toMatchObject({ eventsAdded: 0, wrongInput: [{ path: anthropicPage, looksLike: 'anthropic-usage' }] });
    expect(a.wrongInput![0]!.hint).toBe(`${anthropicPage} is a page of Anthropic's usage or cost report, not OpenAI's usage or cost report: import it with \`goodhart import anthropic-usage --file ${anthropicPage}\`.`);
    const e = await importApiCommand('openai-usage', { ...opts, file: [openaiError] });
    expect(e.wrongInput).toEqual([expect.objectContaining({ path: openaiError, looksLike: 'api-error' })]);
    expect(e.wrongInput![0]!.hint).toMatch(/is an API error response, not a usage page \(invalid_request_error: Incorrect API key provided/);
    expect(e.problems.map((p) => p.reason)).toEqual([e.wrongInput![0]!.hint]);
    const b = await importApiCommand('anthropic-usage', { ...opts, file: [anthropicError, anthropicPage] });
    expect(b).toMatchObject({ eventsAdded: 1, wrongInput: [{ path: anthropicError, looksLike: 'api-error' }] });
  });
});
