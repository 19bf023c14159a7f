import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../store/sqlite/sqlite-store.js';
import { FIXTURES, importInto, tempDir } from '../testing.js';
import type { ParsedUsage } from '../types.js';
import { FALLBACK_MODEL, createCodexParser } from './parse-line.js';

const { dir, cleanup } = tempDir('codex');
afterAll(cleanup);

const tc = (ts: string, total: number[] | null, last: number[] | null): string => {
  const u = (c: number[]) => ({ input_tokens: c[0], cached_input_tokens: c[1], output_tokens: c[2], reasoning_output_tokens: c[3], total_tokens: c[0]! + c[2]! });
  const info: Record<string, unknown> = {};
  if (total) info['total_token_usage'] = u(total);
  if (last) info['last_token_usage'] = u(last);
  return JSON.stringify({ timestamp: ts, type: 'event_msg', payload: { type: 'token_count', info } });
};

describe('Codex rollout parser', () => {
  it('uses last_token_usage, else the increase of the cumulative total; repeated totals are duplicates', () => {
    const p = createCodexParser('/x/rollout-2026-04-09T10-00-00-0199a7c2-5b1e-7d30-9a4f-1c2d3e4f5a6b.jsonl', null);
    expect(p.parse('{"type":"turn_context","payload":{"model":"gpt-5-codex"}}', 'a')).toBeNull();
    const first = p.parse(tc('2026-04-09T10:00:05Z', [1000, 250, 125, 75], [1000, 250, 125, 75]), 'b') as ParsedUsage;
    expect(first.usage.input).toMatchObject({ total: 1000, noCache: 750, cacheRead: 250 });
    expect(first.usage.output).toEqual({ total: 125, text: 50, reasoning: 75 });
    expect(first.model).toBe('gpt-5-codex');
    expect(p.parse(tc('2026-04-09T10:00:06Z', [1000, 250, 125, 75], [1000, 250, 125, 75]), 'c')).toBe('duplicate');
    expect(p.parse('{"type":"event_msg","payload":{"type":"token_count","info":null}}', 'd')).toBe('no_usage');
    // Not parsed, but not an object either: counted as invalid, not as a line without usage.
    expect(p.parse('{"type":"response_item","payload":{"type":"message"}}\r', 'd')).toBe('no_usage');
    expect(p.parse('\u0000\u0007PK\u0003\u0004 garbage', 'd')).toBe('invalid_json');
    expect(p.parse('{"type":"response_item","payload":{"type":"mess', 'd')).toBe('invalid_json');
    // No last_token_usage: the difference of the cumulative totals.
    const third = p.parse(tc('2026-04-09T10:01:05Z', [3000, 1250, 325, 175], null), 'e') as ParsedUsage;
    expect(third.usage.input).toMatchObject({ total: 2000, cacheRead: 1000 });
    expect(third.usage.output).toMatchObject({ total: 200, reasoning: 100 });
    expect(third.key).toBe('t\u00000199a7c2-5b1e-7d30-9a4f-1c2d3e4f5a6b\u00003000\u00001250\u0000325\u0000175\u00003325');
    expect(third.usage.raw).toEqual({ input_tokens: 2000, cached_input_tokens: 1000, output_tokens: 200, reasoning_output_tokens: 100, total_tokens: 2200 });
  });

  it('falls back to gpt-5 without a turn_context, tagged as a guess', () => {
    const p = createCodexParser('/x/r.jsonl', null);
    const r = p.parse(tc('2026-04-09T10:00:05Z', [10, 0, 5, 0], [10, 0, 5, 0]), 'a') as ParsedUsage;
    expect(r.model).toBe(FALLBACK_MODEL);
    expect(r.tags).toEqual(['model-guessed']);
  });

  it('an import split across two runs (appended file) gives the same events as one run', async () => {
    const file = 'sessions/2026/04/09/rollout-2026-04-09T10-00-00-0199a7c2-5b1e-7d30-9a4f-1c2d3e4f5a6b.jsonl';
    const text = readFileSync(join(FIXTURES.codex, file), 'utf8');
    const lines = text.split('\n');
    const path = join(dir, 'split', 'rollout-2026-04-09T10-00-00-0199a7c2-5b1e-7d30-9a4f-1c2d3e4f5a6b.jsonl');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, 'split'), { recursive: true });
    // Up to the line with info null: the model and the last total must survive into the second run.
    writeFileSync(path, `${lines.slice(0, 5).join('\n')}\n`);
    const split = new SqliteStore(join(dir, 'split.db'));
    await importInto(split, 'codex', [join(dir, 'split')]);
    writeFileSync(path, text);
    const second = await importInto(split, 'codex', [join(dir, 'split')]);
    expect(second).toMatchObject({ filesRestarted: 0, eventsAdded: 4 });
    const whole = new SqliteStore(join(dir, 'whole.db'));
    const s = await importInto(whole, 'codex', [join(dir, 'split')]);
    expect(s).toMatchObject({ eventsAdded: 5, duplicates: 1, skipped: { no_usage: 2, invalid_json: 1 } });
    const strip = (e: { id: string; modelServed: string | null; inputTokens: number; outputTokens: number; costUsd: number | null }) => [e.id, e.modelServed, e.inputTokens, e.outputTokens, e.costUsd];
    expect((await split.listEvents({})).map(strip)).toEqual((await whole.listEvents({})).map(strip));
    const [first] = await whole.listEvents({});
    expect(first).toMatchObject({ repo: 'github.com/acme/repo', projectId: 'repo', branch: 'main', sessionId: '0199a7c2-5b1e-7d30-9a4f-1c2d3e4f5a6b' });
    await split.close();
    await whole.close();
  });
});
