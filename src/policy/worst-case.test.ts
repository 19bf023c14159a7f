import { describe, expect, it } from 'vitest';
import { createPricer } from '../usage/pricing.js';
import type { KeyRecord } from '../store/types.js';
import type { Endpoint } from '../usage/event.js';
import { Quote } from './quote.js';
import { billingAsked, cheapInputBound, declaredMaxOutput, DEFAULT_TOOL_CALLS, exactInputBound, hearsAudio, modelOutputLimit, speaks, TOOL_RESULT_TOKENS, toolCallsAllowed, WorstCasePricer } from './worst-case.js';

describe('worst-case cost of a request', () => {
  it('reads the declared output cap of each API, times the choices asked for', () => {
    expect(declaredMaxOutput('chat.completions', { max_tokens: 100 })).toBe(100);
    expect(declaredMaxOutput('chat.completions', { max_completion_tokens: 50, max_tokens: 100 })).toBe(50);
    expect(declaredMaxOutput('chat.completions', { max_tokens: 100, n: 3 })).toBe(300);
    expect(declaredMaxOutput('chat.completions', {})).toBeNull();
    expect(declaredMaxOutput('responses', { max_output_tokens: 70 })).toBe(70);
    expect(declaredMaxOutput('messages', { max_tokens: 1024 })).toBe(1024);
    expect(declaredMaxOutput('embeddings', { max_tokens: 5 })).toBe(0);
  });

  it('falls back to the model’s published output limit, or the config’s', () => {
    expect(modelOutputLimit('gpt-4o-mini-2024-07-18', new Map())).toBe(16_384);
    expect(modelOutputLimit('openai/gpt-5', new Map())).toBe(128_000);
    expect(modelOutputLimit('claude-sonnet-4-5', new Map())).toBe(64_000);
    expect(modelOutputLimit('llama3.1:70b', new Map())).toBe(32_768);
    expect(modelOutputLimit('llama3.1:70b', new Map([['llama3.1:70b', 4096]]))).toBe(4096);
  });

  it('bounds input by bytes cheaply, and by the tokenizer exactly (Anthropic scaled up)', () => {
    const body = { model: 'x', messages: [{ role: 'user', content: 'The quick brown fox jumps over the lazy dog.' }] };
    const bytes = Buffer.byteLength(JSON.stringify(body));
    const exact = exactInputBound('chat.completions', 'openai', body);
    expect(exact).toBeLessThan(cheapInputBound(bytes));
    expect(exact).toBe(3 + 1 + 10 + 3 + 64); // framing + "user" + 10 tokens of text + priming + slack
    expect(exactInputBound('messages', 'anthropic', body)).toBe(Math.ceil((3 + 1 + 10 + 3) * 1.35) + 64);
    expect(exactInputBound('messages.count_tokens', 'anthropic', { messages: [] })).toBe(Math.ceil(3 * 1.35) + 64);
  });

  it('prices with per-model rates, the dearest input rate when cache writes are possible, tiers past their start', () => {
    const w = new WorstCasePricer(createPricer({ m: { input: 2, output: 8, cacheWrite1h: 4 } }));
    expect(w.cost('m', 'openai', 1000, 500, false)).toBeCloseTo((1000 * 2 + 500 * 8) / 1e6, 12);
    expect(w.cost('m', 'openai', 1000, 500, true)).toBeCloseTo((1000 * 4 + 500 * 8) / 1e6, 12);
    expect(w.cost('unknown-model', 'openai-compat', 1, 1, false)).toBeNull();
    // Claude Sonnet 4.5: above 200k input tokens the whole request is priced at the long-context rates.
    const cat = new WorstCasePricer(createPricer());
    const small = cat.cost('claude-sonnet-4-5', 'anthropic', 100_000, 0, false)!;
    const large = cat.cost('claude-sonnet-4-5', 'anthropic', 300_000, 0, false)!;
    expect(large / 300_000).toBeGreaterThan((small / 100_000) * 1.5);
  });
});

describe('the quote a budget reserves', () => {
  const pricer = new WorstCasePricer(createPricer({ flat: { input: 1, output: 1 } }));
  const quote = (endpoint: Endpoint, body: Record<string, unknown>) =>
    new Quote({ key: {} as KeyRecord, endpoint, model: 'flat', provider: 'openai', providerType: 'openai', tags: [], body, bodyBytes: Buffer.byteLength(JSON.stringify(body)), headers: {}, now: 0 }, pricer);

  it('counts images given by URL on the cheap bound too (a short URL is hundreds of tokens)', () => {
    const parts = Array.from({ length: 20 }, (_, i) => ({ type: 'image_url', image_url: { url: `https://x.test/${i}.png` } }));
    const body = { model: 'flat', max_tokens: 1, messages: [{ role: 'user', content: [{ type: 'text', text: 'what?' }, ...parts] }] };
    const q = quote('chat.completions', body);
    expect(q.input).toBeGreaterThanOrEqual(20 * 765);
    // Never below the exact count, which the engine takes close to a limit.
    expect(q.input).toBeGreaterThanOrEqual(exactInputBound('chat.completions', 'openai', body));
    const anthropic = { model: 'flat', max_tokens: 1, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'url', url: 'https://x.test/a.png' } }] }] };
    expect(quote('messages', anthropic).input).toBeGreaterThanOrEqual(1600);
  });

  it('reserves the output limit once per choice when n is asked for without a cap', () => {
    const body = { model: 'flat', n: 8, messages: [{ role: 'user', content: 'hi' }] };
    expect(quote('chat.completions', body).output('flat')).toBe(8 * 32_768);
    expect(quote('chat.completions', { ...body, max_tokens: 100 }).output('flat')).toBe(800);
  });
});

describe('built-in tool calls in the worst case', () => {
  it('reads the calls a request allows: max_tool_calls, max_uses, else the default per search tool', () => {
    const web = { type: 'web_search' };
    const file = { type: 'file_search', vector_store_ids: ['vs'] };
    expect(toolCallsAllowed('responses', { tools: [web, { type: 'function', name: 'f' }] })).toEqual([{ kinds: ['web_search'], calls: DEFAULT_TOOL_CALLS }]);
    expect(toolCallsAllowed('responses', { tools: [{ type: 'web_search_preview' }, file] })).toEqual([
      { kinds: ['web_search'], calls: DEFAULT_TOOL_CALLS },
      { kinds: ['file_search'], calls: DEFAULT_TOOL_CALLS },
    ]);
    expect(toolCallsAllowed('responses', { tools: [web, file], max_tool_calls: 3 })).toEqual([{ kinds: ['web_search', 'file_search'], calls: 3 }]);
    expect(toolCallsAllowed('responses', { tools: [web], tool_choice: 'none' })).toEqual([]);
    expect(toolCallsAllowed('messages', { tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 2 }, { name: 'client', input_schema: {} }] })).toEqual([{ kinds: ['web_search'], calls: 2 }]);
    expect(toolCallsAllowed('messages', { tools: [{ type: 'web_search_20250305', name: 'web_search' }] })).toEqual([{ kinds: ['web_search'], calls: DEFAULT_TOOL_CALLS }]);
    expect(toolCallsAllowed('messages', { tools: [{ type: 'web_search_20250305', name: 'web_search' }], tool_choice: { type: 'none' } })).toEqual([]);
    // Chat completions bill no built-in tool per call (function tools run on the client).
    expect(toolCallsAllowed('chat.completions', { tools: [web] })).toEqual([]);
  });

  it('prices each call at the catalogue’s price, the dearest kind for a shared limit, and reserves what they read', () => {
    const w = new WorstCasePricer(createPricer());
    const plain = w.cost('gpt-4.1', 'openai', 1000, 100, false)!;
    expect(w.cost('gpt-4.1', 'openai', 1000, 100, false, { tools: [{ kinds: ['web_search'], calls: 3 }] })! - plain).toBeCloseTo(3 * 0.01, 12);
    expect(w.cost('gpt-4.1', 'openai', 1000, 100, false, { tools: [{ kinds: ['file_search'], calls: 4 }] })! - plain).toBeCloseTo(4 * 0.0025, 12);
    expect(w.cost('gpt-4.1', 'openai', 1000, 100, false, { tools: [{ kinds: ['file_search', 'web_search'], calls: 2 }] })! - plain).toBeCloseTo(2 * 0.01, 12);
    // A config price has no price per call.
    expect(new WorstCasePricer(createPricer({ m: { input: 1, output: 1 } })).cost('m', 'openai', 1, 1, false, { tools: [{ kinds: ['web_search'], calls: 5 }] })).toBeCloseTo(2e-6, 15);
    const body = { model: 'gpt-4.1', max_output_tokens: 100, max_tool_calls: 2, tools: [{ type: 'web_search' }], input: 'find' };
    const q = new Quote({ key: {} as KeyRecord, endpoint: 'responses', model: 'gpt-4.1', provider: 'openai', providerType: 'openai', tags: [], body, bodyBytes: 200, headers: {}, now: 0 }, w);
    const input = q.input + 2 * TOOL_RESULT_TOKENS;
    expect(q.cost('gpt-4.1')).toEqual({ usd: expect.closeTo(input * 2e-6 + 100 * 8e-6 + 2 * 0.01, 12), tokens: input + 100 });
  });
});

describe('the service tier in the worst case', () => {
  it('reads the tier asked for, on either wire; the standard tier is none', () => {
    expect(billingAsked({ service_tier: 'priority' })).toEqual({ serviceTier: 'priority' });
    expect(billingAsked({ speed: 'fast' })).toEqual({ speed: 'fast' });
    expect(billingAsked({ service_tier: 'auto' })).toBeUndefined();
    expect(billingAsked({ service_tier: 'default', speed: 'standard' })).toBeUndefined();
    // A tier no price depends on is the standard price: made-up values are not cache keys of their own.
    expect(billingAsked({ service_tier: 'x123' })).toBeUndefined();
    expect(billingAsked({ service_tier: 'Priority', speed: 'warp' })).toEqual({ serviceTier: 'priority' });
    expect(billingAsked({ speed: 'FAST' })).toEqual({ speed: 'fast' });
    expect(billingAsked({})).toBeUndefined();
  });

  it('prices at the dearer of the tier’s price (billing-mode.ts) and the standard one, tool calls unchanged', () => {
    const w = new WorstCasePricer(createPricer());
    const std = w.cost('gpt-5', 'openai', 1000, 1000, false)!;
    expect(w.cost('gpt-5', 'openai', 1000, 1000, false, { billing: { serviceTier: 'priority' } })).toBeCloseTo(2 * std, 12);
    expect(w.cost('gpt-4.1', 'openai', 1000, 1000, false, { billing: { serviceTier: 'priority' } })).toBeCloseTo(1.75 * w.cost('gpt-4.1', 'openai', 1000, 1000, false)!, 12);
    // Flex is half price: the reservation stays at the standard one.
    expect(w.cost('gpt-5', 'openai', 1000, 1000, false, { billing: { serviceTier: 'flex' } })).toBeCloseTo(std, 12);
    const opus = w.cost('claude-opus-4-6', 'anthropic', 1000, 1000, true)!;
    expect(w.cost('claude-opus-4-6', 'anthropic', 1000, 1000, true, { billing: { speed: 'fast' } })).toBeCloseTo(6 * opus, 12);
    // Anthropic's own service_tier (Priority Tier) bills standard rates.
    expect(w.cost('claude-opus-4-6', 'anthropic', 1000, 1000, true, { billing: { serviceTier: 'priority' } })).toBeCloseTo(opus, 12);
    // Long context (Sonnet 4.5 past 200k input) goes through the full pricer, tier applied there too.
    const long = w.cost('claude-sonnet-4-5', 'anthropic', 300_000, 100, true)!;
    expect(w.cost('claude-sonnet-4-5', 'anthropic', 300_000, 100, true, { billing: { speed: 'fast' } })).toBeCloseTo(6 * long, 9);
    const search = { kinds: ['web_search' as const], calls: 1 };
    expect(w.cost('gpt-5', 'openai', 1000, 1000, false, { billing: { serviceTier: 'priority' }, tools: [search] })).toBeCloseTo(2 * std + 0.01, 12);
  });
});

describe('audio in the worst case', () => {
  it('prices output that may be spoken at the audio rate, where the model has a dearer one', () => {
    expect(speaks({ modalities: ['text', 'audio'] }, 'gpt-4o-mini')).toBe(true);
    expect(speaks({}, 'gpt-audio-2025-08-28')).toBe(true);
    expect(speaks({ modalities: ['text'] }, 'gpt-4.1')).toBe(false);
    const w = new WorstCasePricer(createPricer());
    expect(w.cost('gpt-audio', 'openai', 0, 1000, false)).toBeCloseTo(1000 * 10e-6, 12);
    expect(w.cost('gpt-audio', 'openai', 0, 1000, false, { audio: true })).toBeCloseTo(1000 * 64e-6, 12);
    expect(w.cost('gpt-audio', 'openai', 0, 1000, false, { audio: true, billing: { serviceTier: 'priority' } })).toBeCloseTo(2 * 1000 * 64e-6, 12);
    // A model without audio prices: its text rate.
    expect(w.cost('gpt-4.1', 'openai', 0, 1000, false, { audio: true })).toBeCloseTo(1000 * 8e-6, 12);
    const body = { model: 'gpt-audio', max_completion_tokens: 900, modalities: ['text', 'audio'], messages: [{ role: 'user', content: 'talk' }] };
    const q = new Quote({ key: {} as KeyRecord, endpoint: 'chat.completions', model: 'gpt-audio', provider: 'openai', providerType: 'openai', tags: [], body, bodyBytes: 100, headers: {}, now: 0 }, w);
    expect(q.cost('gpt-audio').usd).toBeCloseTo(q.input * 2.5e-6 + 900 * 64e-6, 12);
  });

  it('keeps the byte bound for a request carrying audio, which the tokenizer does not count', () => {
    const audio = { type: 'input_audio', input_audio: { data: 'UklGR'.repeat(20_000), format: 'wav' } };
    const body = { model: 'gpt-audio', max_completion_tokens: 10, messages: [{ role: 'user', content: [{ type: 'text', text: 'what is said?' }, audio] }] };
    expect(hearsAudio('chat.completions', body)).toBe(true);
    expect(hearsAudio('chat.completions', { messages: [{ role: 'user', content: 'hi' }] })).toBe(false);
    const w = new WorstCasePricer(createPricer());
    const bytes = Buffer.byteLength(JSON.stringify(body));
    const q = new Quote({ key: {} as KeyRecord, endpoint: 'chat.completions', model: 'gpt-audio', provider: 'openai', providerType: 'openai', tags: [], body, bodyBytes: bytes, headers: {}, now: 0 }, w);
    expect(q.countExactly()).toBe(false);
    expect(q.input).toBe(cheapInputBound(bytes));
  });
});
