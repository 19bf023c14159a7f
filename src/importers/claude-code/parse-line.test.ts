import { describe, expect, it } from 'vitest';
import type { ParsedUsage } from '../types.js';
import { parseClaudeLine, parseWithoutContent } from './parse-line.js';

const line = (over: Record<string, unknown> = {}, message: Record<string, unknown> = {}, usage: Record<string, unknown> = {}): string =>
  JSON.stringify({
    isSidechain: false,
    cwd: '/home/dev/app',
    sessionId: 'sess-1',
    gitBranch: 'main',
    type: 'assistant',
    uuid: 'uuid-1',
    timestamp: '2026-04-09T01:03:35.960Z',
    requestId: 'req_1',
    message: {
      model: 'claude-sonnet-4-6',
      id: 'msg_1',
      content: [{ type: 'text', text: 'hi' }],
      usage: { input_tokens: 1, cache_creation_input_tokens: 781, cache_read_input_tokens: 42507, cache_creation: { ephemeral_5m_input_tokens: 500, ephemeral_1h_input_tokens: 281 }, output_tokens: 12, ...usage },
      ...message,
    },
    ...over,
  });

const parsed = (text: string): ParsedUsage => {
  const r = parseClaudeLine(text, 'f@0');
  if (r === null || typeof r === 'string') throw new Error(`expected usage, got ${String(r)}`);
  return r;
};

describe('parseClaudeLine', () => {
  it('reads usage with the 5m/1h cache split, session, cwd and branch', () => {
    const r = parsed(line());
    expect(r.key).toBe('m\u0000msg_1\u0000req_1');
    expect(r.at).toBe(Date.parse('2026-04-09T01:03:35.960Z'));
    expect(r.usage.input).toEqual({ total: 1 + 781 + 42507, noCache: 1, cacheRead: 42507, cacheWrite5m: 500, cacheWrite1h: 281 });
    expect(r.usage.output).toEqual({ total: 12, text: 12, reasoning: 0 });
    expect(r).toMatchObject({ model: 'claude-sonnet-4-6', sessionId: 'sess-1', cwd: '/home/dev/app', branch: 'main', tags: [], reportedCostUsd: null });
    expect(r.usage.billing).toBeUndefined();
  });

  it('tags sidechain lines and bills fast mode (in the usage, or beside it in older versions) as the usage says', () => {
    expect(parsed(line({ isSidechain: true })).tags).toEqual(['sidechain']);
    const fast = parsed(line({}, {}, { speed: 'fast' }));
    expect(fast.usage.billing).toEqual({ speed: 'fast' });
    expect(fast.tags).toEqual(['fast']);
    expect(parsed(line({ speed: 'fast' })).usage.billing).toEqual({ speed: 'fast' });
  });

  it('reads the web searches Claude Code ran (billed per search)', () => {
    expect(parsed(line({}, {}, { server_tool_use: { web_search_requests: 2, web_fetch_requests: 1 } })).usage.toolCalls).toEqual({ web_search: 2 });
  });

  it('keys lines missing message.id or requestId by their own uuid (never deduplicated)', () => {
    expect(parsed(line({ requestId: undefined })).key).toBe('l\u0000uuid-1');
    expect(parsed(line({ uuid: undefined }, { id: undefined })).key).toBe('l\u0000f@0');
  });

  it('uses the costUSD old versions wrote', () => {
    expect(parsed(line({ costUSD: 0.0123 })).reportedCostUsd).toBe(0.0123);
  });

  it('skips synthetic and API-error messages even when they carry counts, and lines without usage', () => {
    expect(parseClaudeLine(line({}, { model: '<synthetic>' }), '')).toBe('synthetic');
    expect(parseClaudeLine(line({ isApiErrorMessage: true }), '')).toBe('api_error');
    expect(parseClaudeLine(line({}, { usage: undefined }), '')).toBe('no_usage');
    expect(parseClaudeLine('{"type":"user","message":{"role":"user","content":"x"},"toolUseResult":{"usage":{"input_tokens":5}}}', '')).toBe('no_usage');
    expect(parseClaudeLine(line({}, { usage: { foo: 1 } }), '')).toBe('no_usage');
  });

  it('counts malformed lines under a reason instead of throwing', () => {
    expect(parseClaudeLine('{"message":{"usage":', '')).toBe('invalid_json');
    expect(parseClaudeLine('\u0000\u00ff garbage', '')).toBe('invalid_json');
    expect(parseClaudeLine('[1,2]', '')).toBe('bad_shape');
    expect(parseClaudeLine(line({ timestamp: 'yesterday' }), '')).toBe('bad_shape');
  });

  it('parses the same with message.content cut out, and falls back when the cut would be wrong', () => {
    const tricky = line({}, { content: [{ type: 'tool_use', input: { a: [1], stop_reason: 'x', usage: { output_tokens: 999 } } }], stop_reason: 'end_turn' });
    const r = parsed(tricky);
    expect(r.usage.output.total).toBe(12);
    // The first `],"stop_reason"` is inside the tool input: the cut would be wrong, so the whole line was parsed.
    expect(parseWithoutContent(tricky)).toMatchObject({ message: { content: [{ input: { stop_reason: 'x' } }], stop_reason: 'end_turn' } });
    const real = '{"message":{"id":"m","content":[{"type":"text","text":"a ] b \\"quoted\\""}],"stop_reason":null,"usage":{"output_tokens":3}},"uuid":"u"}';
    expect(parseWithoutContent(real)).toEqual({ message: { id: 'm', content: [], stop_reason: null, usage: { output_tokens: 3 } }, uuid: 'u' });
    // No stop_reason after the content: parsed whole.
    expect(parseWithoutContent('{"message":{"content":[{"t":1}],"usage":{}}}')).toEqual({ message: { content: [{ t: 1 }], usage: {} } });
  });

  it('keeps a bounded copy of a hostile usage object', () => {
    const deep = `${'['.repeat(100_000)}1${']'.repeat(100_000)}`;
    const r = parsed(line({}, {}, { junk: 'DEEP', note: 'x'.repeat(10_000) }).replace('"DEEP"', deep));
    const raw = JSON.stringify(r.usage.raw);
    expect(raw.length).toBeLessThan(1000);
    expect(r.usage.input.noCache).toBe(1);
  });
});
