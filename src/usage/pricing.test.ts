import { calcPrice, findProvider } from '@pydantic/genai-prices';
import { describe, expect, it, vi } from 'vitest';
import { convertAnthropicUsage } from './convert-anthropic-usage.js';
import { convertOpenAIChatUsage, convertOpenAIEmbeddingsUsage } from './convert-openai-chat-usage.js';
import { convertOpenAIResponsesUsage } from './convert-openai-responses-usage.js';
import { createPricer, modelPriceOverrideSchema } from './pricing.js';
import type { NormalisedUsage } from './types.js';

// Pass-through wrappers, only to count how often the catalogue is searched.
vi.mock('@pydantic/genai-prices', async (importOriginal) => {
  const mod = await importOriginal<typeof import('@pydantic/genai-prices')>();
  return { ...mod, calcPrice: vi.fn(mod.calcPrice), findProvider: vi.fn(mod.findProvider) };
});

/** Published prices, USD per million tokens, written out by hand (provider pricing pages). */
const M = 1e6;

function usage(p: Partial<NormalisedUsage['input']> & { output?: number; reasoning?: number }): NormalisedUsage {
  const cacheRead = p.cacheRead ?? 0;
  const w5 = p.cacheWrite5m ?? 0;
  const w1 = p.cacheWrite1h ?? 0;
  const noCache = p.noCache ?? 0;
  const out = p.output ?? 0;
  const reasoning = p.reasoning ?? 0;
  return {
    input: { total: noCache + cacheRead + w5 + w1, noCache, cacheRead, cacheWrite5m: w5, cacheWrite1h: w1 },
    output: { total: out, text: out - reasoning, reasoning },
    raw: null,
  };
}

describe('catalogue prices against published prices', () => {
  const pricer = createPricer();

  it('Anthropic disjoint buckets → converter → price: each bucket at its own rate, writes billed once', () => {
    // claude-sonnet-4-5: $3 input, $3.75 5m write, $6 1h write, $0.30 cache read, $15 output.
    const u = convertAnthropicUsage({
      input_tokens: 1000,
      cache_creation_input_tokens: 3000,
      cache_read_input_tokens: 50_000,
      cache_creation: { ephemeral_5m_input_tokens: 1000, ephemeral_1h_input_tokens: 2000 },
      output_tokens: 500,
    });
    expect(u).not.toBeNull();
    if (!u) return;
    expect(u.input.total).toBe(54_000);
    const r = pricer.price(u, 'claude-sonnet-4-5-20250929', 'anthropic');
    const expected = (1000 * 3 + 1000 * 3.75 + 2000 * 6 + 50_000 * 0.3 + 500 * 15) / M;
    expect(expected).toBeCloseTo(0.04125, 10);
    expect(r.source).toBe('catalogue');
    expect(r.costUsd).toBeCloseTo(expected, 10);
    expect(r.breakdown?.input).toBeCloseTo(0.003, 10);
    expect(r.breakdown?.cacheWrite).toBeCloseTo(0.00375 + 0.012, 10);
    expect(r.breakdown?.cacheRead).toBeCloseTo(0.015, 10);
    expect(r.breakdown?.output).toBeCloseTo(0.0075, 10);
  });

  it('claude-opus-4-1: $15 / $18.75 5m / $30 1h / $1.50 read / $75', () => {
    const u = convertAnthropicUsage({
      input_tokens: 2000,
      cache_creation_input_tokens: 5000,
      cache_read_input_tokens: 10_000,
      cache_creation: { ephemeral_5m_input_tokens: 4000, ephemeral_1h_input_tokens: 1000 },
      output_tokens: 3000,
    });
    if (!u) throw new Error('no usage');
    const r = pricer.price(u, 'claude-opus-4-1', 'anthropic');
    expect(r.costUsd).toBeCloseTo((2000 * 15 + 4000 * 18.75 + 1000 * 30 + 10_000 * 1.5 + 3000 * 75) / M, 10);
    expect(r.costUsd).toBeCloseTo(0.375, 10);
  });

  it('Sonnet long context: above 200k total input the whole request is at $6 / $22.50', () => {
    const r = pricer.price(usage({ noCache: 250_000, output: 1000 }), 'claude-sonnet-4-5', 'anthropic');
    expect(r.costUsd).toBeCloseTo((250_000 * 6 + 1000 * 22.5) / M, 10);
    expect(r.costUsd).toBeCloseTo(1.5225, 10);
  });

  it('Sonnet long context: exactly 200k is still the base price, 200,001 is not', () => {
    expect(pricer.price(usage({ noCache: 200_000, output: 1000 }), 'claude-sonnet-4-5', 'anthropic').costUsd).toBeCloseTo(
      (200_000 * 3 + 1000 * 15) / M,
      10,
    );
    expect(pricer.price(usage({ noCache: 200_001, output: 1000 }), 'claude-sonnet-4-5', 'anthropic').costUsd).toBeCloseTo(
      (200_001 * 6 + 1000 * 22.5) / M,
      10,
    );
  });

  it('Sonnet long context counts cache reads and writes towards 200k, and cache rates double with it', () => {
    // 10k uncached + 190k read + 1k 5m write = 201k > 200k: input $6, read $0.60, 5m write $7.50, output $22.50.
    const r = pricer.price(usage({ noCache: 10_000, cacheRead: 190_000, cacheWrite5m: 1000, output: 2000 }), 'claude-sonnet-4-5', 'anthropic');
    expect(r.costUsd).toBeCloseTo((10_000 * 6 + 190_000 * 0.6 + 1000 * 7.5 + 2000 * 22.5) / M, 10);
    expect(r.costUsd).toBeCloseTo(0.2265, 10);
    expect(r.breakdown?.cacheRead).toBeCloseTo(0.114, 10);
  });

  it('Sonnet 4 (20250514) long context at Anthropic\'s published rates, which the bundled catalogue lacks', () => {
    // 10 uncached + 208k 5-minute writes + 2k 1-hour writes > 200k: $6 input, $7.50 and $12 writes, $22.50 output.
    const long = usage({ noCache: 10, cacheWrite5m: 208_000, cacheWrite1h: 2000, output: 1000 });
    for (const at of [undefined, new Date('2025-09-01T00:00:00Z')]) {
      const r = pricer.price(long, 'claude-sonnet-4-20250514', 'anthropic', at);
      expect(r.costUsd).toBeCloseTo((10 * 6 + 208_000 * 7.5 + 2000 * 12 + 1000 * 22.5) / M, 10);
    }
    // Below 200k, the base prices.
    expect(pricer.price(usage({ noCache: 100_000, cacheRead: 50_000, output: 1000 }), 'claude-sonnet-4-0', 'anthropic').costUsd).toBeCloseTo(
      (100_000 * 3 + 50_000 * 0.3 + 1000 * 15) / M,
      10,
    );
  });

  it('gpt-4o-mini: $0.15 / $0.075 cached / $0.60, via the chat converter', () => {
    const u = convertOpenAIChatUsage({ prompt_tokens: 10_000, completion_tokens: 2000, prompt_tokens_details: { cached_tokens: 4000 } });
    if (!u) throw new Error('no usage');
    const r = pricer.price(u, 'gpt-4o-mini', 'openai');
    expect(r.costUsd).toBeCloseTo((6000 * 0.15 + 4000 * 0.075 + 2000 * 0.6) / M, 10);
    expect(r.costUsd).toBeCloseTo(0.0024, 10);
    expect(r.breakdown).toEqual({
      input: expect.closeTo(0.0009, 10),
      cacheRead: expect.closeTo(0.0003, 10),
      cacheWrite: 0,
      output: expect.closeTo(0.0012, 10),
    });
  });

  it('gpt-5: $1.25 / $0.125 cached / $10, reasoning at the output rate, via the Responses converter', () => {
    const u = convertOpenAIResponsesUsage({
      input_tokens: 100_000,
      input_tokens_details: { cached_tokens: 80_000 },
      output_tokens: 5000,
      output_tokens_details: { reasoning_tokens: 3000 },
    });
    if (!u) throw new Error('no usage');
    const r = pricer.price(u, 'gpt-5', 'openai');
    expect(r.costUsd).toBeCloseTo((20_000 * 1.25 + 80_000 * 0.125 + 5000 * 10) / M, 10);
    expect(r.costUsd).toBeCloseTo(0.085, 10);
  });

  it('text-embedding-3-small: $0.02', () => {
    const u = convertOpenAIEmbeddingsUsage({ prompt_tokens: 123_456, total_tokens: 123_456 });
    if (!u) throw new Error('no usage');
    const r = pricer.price(u, 'text-embedding-3-small', 'openai');
    expect(r.costUsd).toBeCloseTo((123_456 * 0.02) / M, 10);
    expect(r.costUsd).toBeCloseTo(0.00246912, 10);
  });

  it('an OpenAI-compatible provider unknown to the catalogue: looked up by model name, also without "org/"', () => {
    const u = usage({ noCache: 1_000_000, output: 1_000_000 });
    expect(pricer.price(u, 'gpt-4o-mini', 'my-vllm').costUsd).toBeCloseTo(0.15 + 0.6, 10);
    expect(pricer.price(u, 'openai/gpt-4o-mini', 'my-vllm').costUsd).toBeCloseTo(0.15 + 0.6, 10);
  });

  it('unknown model: no cost, source none', () => {
    expect(pricer.price(usage({ noCache: 100, output: 100 }), 'my-finetune-xyz', 'ollama')).toEqual({ costUsd: null, source: 'none' });
  });

  it('a provider the catalogue knows does not borrow another provider’s model', () => {
    expect(pricer.price(usage({ noCache: 100, output: 100 }), 'gpt-4o-mini', 'anthropic')).toEqual({ costUsd: null, source: 'none' });
  });

  it('zero usage costs zero', () => {
    expect(pricer.price(usage({}), 'gpt-4o-mini', 'openai').costUsd).toBe(0);
  });

  it('inconsistent usage (cache read larger than the total) is priced, not thrown', () => {
    const u: NormalisedUsage = {
      input: { total: 10, noCache: 0, cacheRead: 100, cacheWrite5m: 0, cacheWrite1h: 0 },
      output: { total: -5, text: 0, reasoning: 0 },
      raw: null,
    };
    expect(pricer.price(u, 'gpt-4o-mini', 'openai').costUsd).toBeCloseTo((100 * 0.075) / M, 10);
  });
});

describe('overrides', () => {
  it('a self-hosted model: cache rates default to input, 1h to 5m', () => {
    const pricer = createPricer({ 'llama-3.1-8b': { input: 0.1, output: 0.2 } });
    const r = pricer.price(usage({ noCache: 1_000_000, cacheRead: 500_000, cacheWrite5m: 200_000, cacheWrite1h: 100_000, output: 1_000_000 }), 'llama-3.1-8b', 'vllm');
    expect(r.source).toBe('override');
    expect(r.costUsd).toBeCloseTo(0.1 + 0.05 + 0.02 + 0.01 + 0.2, 10);
    expect(r.breakdown).toEqual({
      input: expect.closeTo(0.1, 10),
      cacheRead: expect.closeTo(0.05, 10),
      cacheWrite: expect.closeTo(0.03, 10),
      output: expect.closeTo(0.2, 10),
    });
  });

  it('explicit cache rates', () => {
    const pricer = createPricer({ m: { input: 2, output: 8, cacheRead: 0.2, cacheWrite5m: 2.5, cacheWrite1h: 4 } });
    const r = pricer.price(usage({ noCache: 1000, cacheRead: 10_000, cacheWrite5m: 2000, cacheWrite1h: 3000, output: 500 }), 'm', 'x');
    expect(r.costUsd).toBeCloseTo((1000 * 2 + 10_000 * 0.2 + 2000 * 2.5 + 3000 * 4 + 500 * 8) / M, 10);
  });

  it('beats the catalogue; "provider/model" beats "model"', () => {
    const pricer = createPricer({ 'gpt-4o-mini': { input: 1, output: 2 }, 'azure/gpt-4o-mini': { input: 3, output: 4 } });
    const u = usage({ noCache: 1_000_000, output: 1_000_000 });
    expect(pricer.price(u, 'gpt-4o-mini', 'openai')).toMatchObject({ costUsd: 3, source: 'override' });
    expect(pricer.price(u, 'gpt-4o-mini', 'azure')).toMatchObject({ costUsd: 7, source: 'override' });
  });

  it('a model named like an Object.prototype key is not an override', () => {
    expect(createPricer({}).price(usage({ noCache: 5 }), 'constructor', 'vllm')).toEqual({ costUsd: null, source: 'none' });
  });

  it('rejects an invalid override, naming the model', () => {
    expect(() => createPricer({ bad: { input: -1, output: 1 } })).toThrow(/"bad"/);
    expect(modelPriceOverrideSchema.safeParse({ input: 1 }).success).toBe(false);
    expect(modelPriceOverrideSchema.safeParse({ input: 1, output: 2, cacheRead: 0.1 }).success).toBe(true);
    expect(modelPriceOverrideSchema.safeParse({ input: 1, output: 2, extra: 1 }).success).toBe(false);
  });
});

describe('memoised lookup', () => {
  it('searches the catalogue once per (provider, model), then prices against the matched model only', () => {
    const calc = vi.mocked(calcPrice);
    const find = vi.mocked(findProvider);
    calc.mockClear();
    find.mockClear();
    const pricer = createPricer();
    const u = usage({ noCache: 1000, cacheRead: 1000, output: 1000 });
    /** calcPrice calls that searched the catalogue (no pre-matched provider given). */
    const searches = (): number => calc.mock.calls.filter(([, , opts]) => opts?.provider === undefined).length;

    const before = { searches: searches(), finds: find.mock.calls.length };
    const first = pricer.price(u, 'claude-sonnet-4-5', 'anthropic').costUsd;
    const after1 = { searches: searches(), finds: find.mock.calls.length };
    expect(after1.searches).toBeGreaterThan(before.searches);

    for (let i = 0; i < 5; i++) expect(pricer.price(u, 'claude-sonnet-4-5', 'anthropic').costUsd).toBe(first);
    pricer.price(usage({ noCache: 3 }), 'no-such-model', 'ollama');
    const after2 = { searches: searches(), finds: find.mock.calls.length };
    for (let i = 0; i < 5; i++) pricer.price(usage({ noCache: 3 }), 'no-such-model', 'ollama');
    expect({ searches: searches(), finds: find.mock.calls.length }).toEqual(after2);
    expect(after2.finds - after1.finds).toBe(1); // only the new pair's provider check

    // The first price ran against the pre-matched provider holding just the one model; the next five reused its
    // current per-token rates without calling the catalogue (same dollars, asserted above).
    const priced = calc.mock.calls.filter(([, model, opts]) => model === 'claude-sonnet-4-5' && opts?.provider);
    expect(priced).toHaveLength(1);
    for (const [, , opts] of priced) expect(opts?.provider?.models.map((m) => m.id)).toEqual(['claude-sonnet-4-5']);
    expect(first).toBeCloseTo((1000 * 3 + 1000 * 0.3 + 1000 * 15) / M, 10);
  });
});

describe('nextChange', () => {
  const DAY = 86_400_000;
  const u = usage({ noCache: 1000, cacheRead: 2000, cacheWrite5m: 300, output: 700 });

  it('is the start of the next dated catalogue price, and the price holds until then', () => {
    const pricer = createPricer();
    let checked = 0;
    for (const providerId of ['anthropic', 'openai', 'google']) {
      for (const m of findProvider({ providerId })?.models ?? []) {
        if (!Array.isArray(m.prices)) continue;
        const starts = m.prices.flatMap((p) => (p.constraint?.type === 'start_date' ? [new Date(p.constraint.start_date).getTime()] : []));
        if (starts.length !== m.prices.length - 1) continue; // also time-of-day prices: the next test
        for (const start of starts) {
          const at = new Date(start - 3 * DAY);
          expect(pricer.nextChange(m.id, providerId, at)).toBe(start);
          const before = pricer.price(u, m.id, providerId, at).costUsd;
          for (const t of [start - 2 * DAY, start - 1]) expect(pricer.price(u, m.id, providerId, new Date(t)).costUsd).toBe(before);
          expect(pricer.nextChange(m.id, providerId, new Date(start))).toBeGreaterThan(start);
          checked += 1;
        }
      }
    }
    // The catalogue holds dated prices (Anthropic's Sonnet and Opus 4.6 among them): the loop tested something.
    expect(checked).toBeGreaterThan(2);
  });

  it('is the instant asked about when the price depends on the time of day', () => {
    const at = new Date('2026-06-01T12:00:00Z');
    expect(createPricer().nextChange('deepseek-chat', 'deepseek', at)).toBe(at.getTime());
  });

  it('never comes for an override or a model without a price', () => {
    const pricer = createPricer({ 'my-model': { input: 1, output: 2 } });
    expect(pricer.nextChange('my-model', 'vllm', new Date())).toBe(Number.POSITIVE_INFINITY);
    expect(pricer.nextChange('no-such-model', 'ollama', new Date())).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('what is billed beyond text tokens', () => {
  it('built-in tool calls at the catalogue price per call, on the first (catalogue) and later (fast path) calls', () => {
    const pricer = createPricer();
    // gpt-5: $1.25 / $10 per million, web search $10 and file search $2.50 per thousand calls.
    const plain = usage({ noCache: 10_000, output: 500 });
    const searched: NormalisedUsage = { ...plain, toolCalls: { web_search: 2, file_search: 1 } };
    const tokens = (10_000 * 1.25 + 500 * 10) / M;
    for (let i = 0; i < 3; i++) {
      expect(pricer.price(plain, 'gpt-5', 'openai').costUsd).toBeCloseTo(tokens, 12);
      expect(pricer.price(searched, 'gpt-5', 'openai').costUsd).toBeCloseTo(tokens + 0.02 + 0.0025, 12);
    }
    // claude-sonnet-4-5 from Anthropic's usage: $3 / $15 per million, $10 per thousand searches.
    const u = convertAnthropicUsage({ input_tokens: 9000, output_tokens: 321, server_tool_use: { web_search_requests: 3 } })!;
    expect(pricer.price(u, 'claude-sonnet-4-5', 'anthropic').costUsd).toBeCloseTo((9000 * 3 + 321 * 15) / M + 0.03, 12);
    // A model without a search price: the calls cost nothing more.
    expect(pricer.price({ ...plain, toolCalls: { web_search: 2 } }, 'gpt-4.1-nano', 'openai').costUsd).toBe(pricer.price(plain, 'gpt-4.1-nano', 'openai').costUsd);
  });

  it('audio tokens at the model’s audio rates, the text at the text rates', () => {
    // gpt-audio: text $2.50 / $10, audio $32 / $64 per million.
    const u = convertOpenAIChatUsage({
      prompt_tokens: 2000,
      completion_tokens: 400,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 500 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 200 },
    })!;
    const want = (1500 * 2.5 + 500 * 32 + 200 * 10 + 200 * 64) / M;
    expect(createPricer().price(u, 'gpt-audio', 'openai').costUsd).toBeCloseTo(want, 12);
    expect(want).toBeCloseTo(0.03455, 12);
    // A model without audio rates prices them as text; an override too.
    expect(createPricer().price(u, 'gpt-4o', 'openai').costUsd).toBeCloseTo((2000 * 2.5 + 400 * 10) / M, 12);
    expect(createPricer({ local: { input: 1, output: 2 } }).price(u, 'local', 'vllm').costUsd).toBeCloseTo((2000 + 800) / M, 12);
  });

  it('the billing mode multiplies the token price (breakdown too), never the tool calls', () => {
    const pricer = createPricer();
    const u = usage({ noCache: 10_000, output: 500 });
    const tokens = (10_000 * 1.25 + 500 * 10) / M;
    expect(pricer.price({ ...u, billing: { serviceTier: 'flex' } }, 'gpt-5', 'openai').costUsd).toBeCloseTo(tokens / 2, 12);
    expect(pricer.price({ ...u, billing: { serviceTier: 'priority' } }, 'gpt-5-2025-08-07', 'openai').costUsd).toBeCloseTo(tokens * 2, 12);
    expect(pricer.price({ ...u, billing: { serviceTier: 'flex' }, toolCalls: { web_search: 1 } }, 'gpt-5', 'openai').costUsd).toBeCloseTo(tokens / 2 + 0.01, 12);
    // claude-opus-4-6 fast mode: 6× $5 / $25 (the catalogue's price from 2026-03-13: flat above 200k).
    const fast = pricer.price({ ...usage({ noCache: 50, output: 321 }), billing: { speed: 'fast' } }, 'claude-opus-4-6', 'anthropic');
    expect(fast.costUsd).toBeCloseTo(((50 * 5 + 321 * 25) / M) * 6, 12);
    expect(fast.breakdown?.output).toBeCloseTo(((321 * 25) / M) * 6, 12);
    // A config price: the same rule for the provider it is served by.
    expect(createPricer({ 'team-gpt': { input: 1, output: 2 } }).price({ ...u, billing: { serviceTier: 'flex' } }, 'team-gpt', 'openai').costUsd).toBeCloseTo((10_000 + 1000) / M / 2, 12);
  });
});
