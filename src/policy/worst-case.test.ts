import { describe, expect, it } from 'vitest';
import { createPricer } from '../usage/pricing.js';
import { cheapInputBound, declaredMaxOutput, exactInputBound, modelOutputLimit, WorstCasePricer } from './worst-case.js';

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
