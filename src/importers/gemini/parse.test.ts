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
});
