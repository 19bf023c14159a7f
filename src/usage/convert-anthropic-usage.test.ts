import { describe, expect, it } from 'vitest';
import { convertAnthropicUsage, createAnthropicStreamUsage, splitCacheWrite } from './convert-anthropic-usage.js';

describe('convertAnthropicUsage', () => {
  it('adds the disjoint buckets into an inclusive total, split 5m/1h', () => {
    const raw = {
      input_tokens: 1,
      cache_creation_input_tokens: 781,
      cache_read_input_tokens: 42507,
      cache_creation: { ephemeral_5m_input_tokens: 781, ephemeral_1h_input_tokens: 0 },
      output_tokens: 1,
      service_tier: 'standard',
    };
    expect(convertAnthropicUsage(raw)).toEqual({
      input: { total: 43289, noCache: 1, cacheRead: 42507, cacheWrite5m: 781, cacheWrite1h: 0 },
      output: { total: 1, text: 1, reasoning: 0 },
      raw,
    });
  });

  it('1-hour writes', () => {
    const u = convertAnthropicUsage({
      input_tokens: 50,
      cache_creation_input_tokens: 3000,
      cache_read_input_tokens: 0,
      cache_creation: { ephemeral_5m_input_tokens: 1000, ephemeral_1h_input_tokens: 2000 },
      output_tokens: 400,
    });
    expect(u?.input).toEqual({ total: 3050, noCache: 50, cacheRead: 0, cacheWrite5m: 1000, cacheWrite1h: 2000 });
    expect(u?.output).toEqual({ total: 400, text: 400, reasoning: 0 });
  });

  it('without the breakdown every write is a 5-minute write', () => {
    const u = convertAnthropicUsage({ input_tokens: 10, cache_creation_input_tokens: 2048, output_tokens: 5 });
    expect(u?.input).toEqual({ total: 2058, noCache: 10, cacheRead: 0, cacheWrite5m: 2048, cacheWrite1h: 0 });
  });

  it('null cache fields and a null breakdown', () => {
    const u = convertAnthropicUsage({
      input_tokens: 25,
      cache_creation_input_tokens: null,
      cache_read_input_tokens: null,
      cache_creation: null,
      output_tokens: 12,
    });
    expect(u?.input).toEqual({ total: 25, noCache: 25, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 0 });
  });

  it('web searches, fast mode and the service tier: tool calls and billing mode beside the tokens', () => {
    const u = convertAnthropicUsage({ input_tokens: 9000, output_tokens: 321, server_tool_use: { web_search_requests: 3, web_fetch_requests: 2 }, service_tier: 'standard', speed: 'fast' });
    expect(u?.toolCalls).toEqual({ web_search: 3 });
    expect(u?.billing).toEqual({ speed: 'fast' });
    const plain = convertAnthropicUsage({ input_tokens: 1, output_tokens: 1, server_tool_use: { web_search_requests: 0 }, service_tier: 'standard', speed: 'standard' });
    expect(plain).not.toHaveProperty('toolCalls');
    expect(plain).not.toHaveProperty('billing');
    expect(convertAnthropicUsage({ input_tokens: 1, output_tokens: 1, service_tier: 'batch' })?.billing).toEqual({ serviceTier: 'batch' });
  });

  it('null when nothing is reported', () => {
    expect(convertAnthropicUsage(null)).toBeNull();
    expect(convertAnthropicUsage({})).toBeNull();
    expect(convertAnthropicUsage({ service_tier: 'standard' })).toBeNull();
  });
});

describe('splitCacheWrite', () => {
  it('total larger than the breakdown: the rest is 5-minute', () => {
    expect(splitCacheWrite(1000, { ephemeral_1h_input_tokens: 300 })).toEqual({ cacheWrite5m: 700, cacheWrite1h: 300 });
  });
  it('breakdown without a total is trusted', () => {
    expect(splitCacheWrite(undefined, { ephemeral_5m_input_tokens: 40, ephemeral_1h_input_tokens: 60 })).toEqual({
      cacheWrite5m: 40,
      cacheWrite1h: 60,
    });
  });
  it('no total, no breakdown: nothing', () => {
    expect(splitCacheWrite(undefined, undefined)).toEqual({ cacheWrite5m: 0, cacheWrite1h: 0 });
  });
});

describe('createAnthropicStreamUsage', () => {
  const start = {
    input_tokens: 472,
    cache_creation_input_tokens: 1200,
    cache_read_input_tokens: 9000,
    cache_creation: { ephemeral_5m_input_tokens: 200, ephemeral_1h_input_tokens: 1000 },
    output_tokens: 1,
    service_tier: 'standard',
  };

  it('message_delta that omits the input fields: input from message_start, output from the delta', () => {
    const s = createAnthropicStreamUsage();
    s.onMessageStart(start);
    s.onMessageDelta({ output_tokens: 503 });
    const u = s.result();
    expect(u?.input).toEqual({ total: 10672, noCache: 472, cacheRead: 9000, cacheWrite5m: 200, cacheWrite1h: 1000 });
    expect(u?.output).toEqual({ total: 503, text: 503, reasoning: 0 });
  });

  it('web searches counted in message_delta (cumulative), fast mode from message_start', () => {
    const s = createAnthropicStreamUsage();
    s.onMessageStart({ ...start, speed: 'fast' });
    s.onMessageDelta({ output_tokens: 40, server_tool_use: { web_search_requests: 1 } });
    s.onMessageDelta({ output_tokens: 503, server_tool_use: { web_search_requests: 3 } });
    expect(s.result()).toMatchObject({ toolCalls: { web_search: 3 }, billing: { speed: 'fast' }, output: { total: 503 } });
  });

  it('message_delta that repeats the input fields (and nulls some): overwritten, never summed', () => {
    const s = createAnthropicStreamUsage();
    s.onMessageStart(start);
    s.onMessageDelta({
      input_tokens: 472,
      cache_creation_input_tokens: 1200,
      cache_read_input_tokens: null,
      cache_creation: { ephemeral_5m_input_tokens: null, ephemeral_1h_input_tokens: 1000 },
      output_tokens: 503,
      server_tool_use: null,
    });
    const u = s.result();
    expect(u?.input).toEqual({ total: 10672, noCache: 472, cacheRead: 9000, cacheWrite5m: 200, cacheWrite1h: 1000 });
    expect(u?.output.total).toBe(503);
  });

  it('cumulative output_tokens over several deltas: the last one wins', () => {
    const s = createAnthropicStreamUsage();
    s.onMessageStart(start);
    s.onMessageDelta({ output_tokens: 100 });
    s.onMessageDelta({ output_tokens: 250 });
    s.onMessageDelta({ output_tokens: 503 });
    expect(s.result()?.output.total).toBe(503);
    expect(s.result()?.input.total).toBe(10672);
  });

  it('raw is the merged usage and converts to the same numbers again', () => {
    const s = createAnthropicStreamUsage();
    s.onMessageStart(start);
    s.onMessageDelta({ output_tokens: 503 });
    const u = s.result();
    expect(u?.raw).toEqual({ ...start, output_tokens: 503 });
    expect(convertAnthropicUsage(u?.raw)).toEqual(u);
  });

  it('interrupted before message_delta: the placeholder output from message_start', () => {
    const s = createAnthropicStreamUsage();
    s.onMessageStart(start);
    expect(s.result()?.output.total).toBe(1);
    expect(s.result()?.input.total).toBe(10672);
  });

  it('null before any usage; garbage is ignored', () => {
    const s = createAnthropicStreamUsage();
    expect(s.result()).toBeNull();
    s.onMessageStart(null);
    s.onMessageDelta('nope');
    expect(s.result()).toBeNull();
  });

  it('does not mutate the event objects', () => {
    const first = { input_tokens: 5, output_tokens: 1, cache_creation: { ephemeral_5m_input_tokens: 0 } };
    const s = createAnthropicStreamUsage();
    s.onMessageStart(first);
    s.onMessageDelta({ output_tokens: 9, cache_creation: { ephemeral_1h_input_tokens: 4 } });
    expect(first).toEqual({ input_tokens: 5, output_tokens: 1, cache_creation: { ephemeral_5m_input_tokens: 0 } });
    expect(s.result()?.input).toEqual({ total: 9, noCache: 5, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 4 });
  });
});
