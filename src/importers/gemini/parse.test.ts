import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { SqliteStore } from '../../store/sqlite/sqlite-store.js';
import { FIXTURES, importInto, tempDir } from '../testing.js';
import { convertGeminiTokens } from './parse.js';

const { dir, cleanup } = tempDir('gemini');
afterAll(cleanup);

describe('Gemini CLI chats', () => {
  it('input includes cached; tool-use prompt tokens are input; thoughts are output (reasoning)', () => {
    expect(convertGeminiTokens({ input: 12000, output: 300, cached: 8000, thoughts: 120, tool: 40, total: 12460 })).toMatchObject({
      input: { total: 12040, noCache: 4040, cacheRead: 8000 },
      output: { total: 420, text: 300, reasoning: 120 },
    });
    expect(convertGeminiTokens({ foo: 1 })).toBeNull();
  });

  it('imports a chat file, re-reads it whole when it grows, and never double counts', async () => {
    const store = new SqliteStore(join(dir, 'g.db'));
    const s = await importInto(store, 'gemini', [join(FIXTURES.gemini, 'tmp')]);
    expect(s).toMatchObject({ files: 1, eventsAdded: 2, skipped: { no_usage: 3 } });
    const events = await store.listEvents({});
    expect(events.map((e) => [e.modelServed, e.inputTokens, e.cacheReadTokens, e.outputTokens, e.reasoningTokens])).toEqual([
      ['gemini-2.5-pro', 12040, 8000, 420, 120],
      ['gemini-2.5-flash', 13000, 12000, 50, 0],
    ]);
    expect(events.every((e) => e.costUsd !== null && e.costUsd > 0 && e.sessionId === '7d1f0c2e-aaaa-4bbb-8ccc-000000000003')).toBe(true);
    const again = await importInto(store, 'gemini', [join(FIXTURES.gemini, 'tmp')], { full: true });
    expect(again).toMatchObject({ eventsAdded: 0, duplicates: 2 });
    await store.close();
  });

  it('reads a chat file that starts with a byte-order mark', async () => {
    const { cpSync, readFileSync, writeFileSync } = await import('node:fs');
    const root = join(dir, 'bom');
    cpSync(join(FIXTURES.gemini, 'tmp'), root, { recursive: true });
    const chat = join(root, '5f2a9c', 'chats', 'session-2026-04-09T12-00-7d1f0c2e.json');
    writeFileSync(chat, `\uFEFF${readFileSync(chat, 'utf8')}`);
    const store = new SqliteStore(join(dir, 'bom.db'));
    const s = await importInto(store, 'gemini', [root]);
    expect(s).toMatchObject({ eventsAdded: 2, problems: [] });
    await store.close();
  });

  it('places each chat in its project, from where Gemini CLI recorded it, as Claude Code and Codex logs are', async () => {
    const gemini = join(dir, 'places', '.gemini');
    const hash = (root: string) => createHash('sha256').update(root).digest('hex');
    const message = (id: string, input: number) => ({ id, timestamp: '2026-11-13T00:01:10.000Z', type: 'gemini', content: 'ok', model: 'gemini-2.5-flash', tokens: { input, output: 10, cached: 0, thoughts: 0, tool: 0, total: input + 10 } });
    const chat = (folder: string, file: string, header: Record<string, unknown>, input: number) => {
      const path = join(gemini, 'tmp', folder, 'chats', file);
      mkdirSync(join(path, '..'), { recursive: true });
      if (file.endsWith('.json')) writeFileSync(path, JSON.stringify({ ...header, messages: [message(`m${input}`, input)] }));
      else writeFileSync(path, `${JSON.stringify(header)}\n${JSON.stringify(message(`m${input}`, input))}\n`);
    };
    const header = (sessionId: string, root: string, extra: Record<string, unknown> = {}) => ({ sessionId, projectHash: hash(root), startTime: '2026-11-13T00:00:00.000Z', lastUpdated: '2026-11-13T00:00:00.000Z', ...extra });
    // The registry of current Gemini CLI: project roots by short id.
    mkdirSync(gemini, { recursive: true });
    writeFileSync(join(gemini, 'projects.json'), JSON.stringify({ projects: { '/w/acme-app': 'acme-app', '/w/Beta_Svc': 'beta-svc', '/w/legacy': 'legacy' } }, null, 2));
    // A short-id folder with its .project_root marker.
    chat('acme-app', 'session-2026-11-13T00-00-aaaa0001.jsonl', header('aaaa0001', '/w/acme-app'), 1000);
    writeFileSync(join(gemini, 'tmp', 'acme-app', '.project_root'), '/w/acme-app');
    // A short-id folder the registry names (no marker).
    chat('beta-svc', 'session-2026-11-13T00-00-bbbb0002.jsonl', header('bbbb0002', '/w/Beta_Svc'), 2000);
    // A folder named by the root's hash (before the registry), a legacy .json chat.
    chat(hash('/w/legacy'), 'session-2026-11-13T00-00-cccc0003.json', header('cccc0003', '/w/legacy'), 3000);
    // A folder nothing names: the chat's own header, then a subagent's workspace directories.
    chat('orphan', 'session-2026-11-13T00-00-dddd0004.jsonl', header('dddd0004', '/w/orphan-root'), 4000);
    chat('orphan', join('dddd0004', 'eeee0005.jsonl'), header('eeee0005', '/w/orphan-root', { kind: 'subagent', directories: ['/w/shared-lib', '/w/orphan-root'] }), 5000);
    const store = new SqliteStore(join(dir, 'places.db'));
    expect(await importInto(store, 'gemini', [join(gemini, 'tmp')])).toMatchObject({ eventsAdded: 5 });
    const events = await store.listEvents({});
    const projectOf = (input: number) => events.find((e) => e.inputTokens === input)?.projectId;
    expect([1000, 2000, 3000, 4000, 5000].map(projectOf)).toEqual(['acme-app', 'Beta_Svc', 'legacy', null, 'orphan-root']);
    // The root is the events' working directory: git remote and folder name, as for the other agents' logs.
    expect(events.find((e) => e.inputTokens === 1000)?.repo).toBe('/w/acme-app');
    await store.close();
  });
});
