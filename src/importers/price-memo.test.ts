import { describe, expect, it } from 'vitest';
import { createPricer } from '../usage/pricing.js';
import type { NormalisedUsage } from '../usage/types.js';
import { parseBook, serialiseBook } from './price-book.js';
import { createPriceMemo } from './price-memo.js';

const usage = (noCache: number, cacheRead: number, w5: number, w1: number, out: number, reasoning: number): NormalisedUsage => ({
  input: { total: noCache + cacheRead + w5 + w1, noCache, cacheRead, cacheWrite5m: w5, cacheWrite1h: w1 },
  output: { total: out + reasoning, text: out, reasoning },
  raw: null,
});

describe('createPriceMemo', () => {
  const pricer = createPricer({ 'my-local-model': { input: 0.5, output: 1, cacheRead: 0.05 } });
  const memo = createPriceMemo(pricer);
  const cases: [string, string][] = [
    ['claude-sonnet-4-6', 'anthropic'],
    ['claude-sonnet-4-5-20250929', 'anthropic'],
    ['claude-opus-4-6', 'anthropic'],
    ['gpt-5-codex', 'openai'],
    ['gpt-5.2-codex', 'openai'],
    ['gemini-2.5-pro', 'google'],
    ['my-local-model', 'vllm'],
  ];
  // Deterministic pseudo-random usages, some above 200k input (Anthropic's and Gemini's long-context tiers).
  let seed = 7;
  const rnd = (max: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % max;
  };

  it('prices exactly as the pricer, below and above long-context tiers, on many days', () => {
    let compared = 0;
    for (const [model, provider] of cases) {
      for (let i = 0; i < 60; i++) {
        const big = i % 5 === 0;
        const u = usage(rnd(big ? 150_000 : 5_000), rnd(big ? 200_000 : 100_000), rnd(5_000), rnd(3_000), rnd(4_000), rnd(2_000));
        const at = Date.parse('2025-06-01T00:00:00Z') + rnd(500) * 86_400_000 + rnd(86_400_000);
        const want = pricer.price(u, model, provider, new Date(at)).costUsd;
        const got = memo.price(u, model, provider, at);
        expect(want).not.toBeNull();
        expect(got).toBeCloseTo(want!, 12);
        compared += 1;
      }
    }
    expect(compared).toBe(cases.length * 60);
  });

  it('returns null for a model without a price', () => {
    expect(memo.price(usage(10, 0, 0, 0, 10, 0), 'no-such-model-xyz', 'anthropic', Date.now())).toBeNull();
  });
});

describe('what the six learnt rates do not describe', () => {
  const pricer = createPricer();
  const at = Date.parse('2026-05-04T10:00:00Z');
  const base = usage(9000, 0, 0, 0, 321, 0);

  it('prices billing modes, audio and tool calls exactly as the pricer', () => {
    const memo = createPriceMemo(pricer);
    const cases: [NormalisedUsage, string, string][] = [
      [{ ...base, billing: { speed: 'fast' } }, 'claude-opus-4-6', 'anthropic'],
      [{ ...base, billing: { serviceTier: 'batch' } }, 'claude-sonnet-4-6', 'anthropic'],
      [{ ...base, billing: { serviceTier: 'flex' } }, 'gpt-5-2025-08-07', 'openai'],
      [{ ...base, billing: { serviceTier: 'priority' } }, 'gpt-5-codex', 'openai'],
      [{ ...base, toolCalls: { web_search: 3 } }, 'claude-sonnet-4-6', 'anthropic'],
      [{ ...base, input: { ...base.input, audio: 500 }, output: { total: 321, text: 121, reasoning: 0, audio: 200 } }, 'gpt-audio', 'openai'],
    ];
    for (const [u, model, provider] of cases) {
      const want = pricer.price(u, model, provider, new Date(at)).costUsd!;
      // The standard price differs: the case tests something.
      expect(want, model).not.toBeCloseTo(pricer.price(base, model, provider, new Date(at)).costUsd!, 9);
      for (let i = 0; i < 2; i++) expect(memo.price(u, model, provider, at), model).toBeCloseTo(want, 12);
    }
  });

  it('prices a day’s sum at per-request rates: tokens at the tier and mode, audio at its rate, searches per search', () => {
    const memo = createPriceMemo(pricer);
    // 3M input tokens: one request that large would be repriced at Sonnet 4.5's long-context tier; a sum never is.
    const sum: NormalisedUsage = { ...usage(3_000_000, 0, 0, 0, 100_000, 0), toolCalls: { web_search: 40 }, billing: { serviceTier: 'batch' } };
    expect(memo.priceAggregate(sum, 'claude-sonnet-4-5-20250929', 'anthropic', at)).toBeCloseTo(((3_000_000 * 3 + 100_000 * 15) / 1e6) * 0.5 + 0.4, 9);
    const audio: NormalisedUsage = { ...usage(1_000_000, 0, 0, 0, 100_000, 0), billing: { serviceTier: 'flex' } };
    audio.input.audio = 400_000;
    audio.output = { total: 100_000, text: 60_000, reasoning: 0, audio: 40_000 };
    // gpt-audio: text $2.50 / $10, audio $32 / $64 per million; flex at half.
    expect(memo.priceAggregate(audio, 'gpt-audio', 'openai', at)).toBeCloseTo(((600_000 * 2.5 + 400_000 * 32 + 60_000 * 10 + 40_000 * 64) / 1e6) * 0.5, 9);
  });
});

describe('the price book', () => {
  const DAY = 86_400_000;
  const u = usage(1200, 40_000, 900, 300, 800, 0);
  const long = usage(150_000, 90_000, 0, 0, 500, 0); // above Sonnet 4.5's 200k tier: priced by the pricer itself
  const TIERED = 'claude-sonnet-4-5-20250929';

  it('prices from a stored book without a pricer, the same as with one, on days the book covers', () => {
    const learner = createPriceMemo(createPricer());
    const day = Date.parse('2026-05-04T10:00:00Z');
    const want = learner.price(u, 'claude-sonnet-4-6', 'anthropic', day);
    learner.price(u, 'no-such-model-xyz', 'anthropic', day);
    learner.price(u, TIERED, 'anthropic', day);
    expect(learner.learnt).toBe(3);
    const book = parseBook(serialiseBook(learner.book()));
    expect(book).toEqual(learner.book());

    const reader = createPriceMemo(null, book);
    // No dated price after 2026-03-13 for this model: the book covers every later day.
    for (const at of [day, day + 30 * DAY, day + 400 * DAY + 3_600_000]) {
      expect(reader.priceIfKnown(u, 'claude-sonnet-4-6', 'anthropic', at)).toBeCloseTo(createPricer().price(u, 'claude-sonnet-4-6', 'anthropic', new Date(at)).costUsd!, 12);
    }
    expect(reader.priceIfKnown(u, 'claude-sonnet-4-6', 'anthropic', day)).toBe(want);
    expect(reader.priceIfKnown(u, 'no-such-model-xyz', 'anthropic', day + 9 * DAY)).toBeNull();
    // Not covered: a day before the one learnt, another model, a request past the linear tier.
    expect(reader.priceIfKnown(u, 'claude-sonnet-4-6', 'anthropic', day - DAY)).toBeUndefined();
    expect(reader.priceIfKnown(u, 'claude-opus-4-6', 'anthropic', day)).toBeUndefined();
    expect(reader.priceIfKnown(u, TIERED, 'anthropic', day)).toBeTypeOf('number');
    expect(reader.priceIfKnown(long, TIERED, 'anthropic', day)).toBeUndefined();
    expect(reader.learnt).toBe(0);
    expect(() => reader.price(u, 'claude-opus-4-6', 'anthropic', day)).toThrow(/no pricer/);

    reader.attach(createPricer());
    expect(reader.price(long, TIERED, 'anthropic', day)).toBe(createPricer().price(long, TIERED, 'anthropic', new Date(day)).costUsd);
    reader.price(u, 'claude-sonnet-4-6', 'anthropic', day - 5 * DAY);
    // The earlier day has the same price up to the same (no) change: the entry widens instead of a new one.
    expect(reader.book().filter((e) => e.model === 'claude-sonnet-4-6')).toMatchObject([{ from: Math.floor((day - 5 * DAY) / DAY) * DAY, until: null }]);
    expect(reader.learnt).toBe(1);
  });

  it('keeps a price only until the next dated price of the model', () => {
    // claude-sonnet-4-6 has a dated price from 2026-03-13 in the catalogue.
    const change = Date.parse('2026-03-13T00:00:00Z');
    const learner = createPriceMemo(createPricer());
    learner.price(u, 'claude-sonnet-4-6', 'anthropic', change - 10 * DAY);
    expect(learner.book()).toMatchObject([{ until: change }]);
    const reader = createPriceMemo(null, learner.book());
    expect(reader.priceIfKnown(u, 'claude-sonnet-4-6', 'anthropic', change - DAY + 5)).toBeTypeOf('number');
    expect(reader.priceIfKnown(u, 'claude-sonnet-4-6', 'anthropic', change + 5)).toBeUndefined();
  });

  it('never keeps time-of-day prices', () => {
    const memo = createPriceMemo(createPricer());
    memo.price(u, 'deepseek-chat', 'deepseek', Date.parse('2026-06-01T12:00:00Z'));
    expect(memo.book()).toEqual([]);
  });

  it('reads nothing from a book of another shape', () => {
    expect(parseBook('{"format":1,"entries":[{"provider":"anthropic","model":"m","from":0,"until":null,"price":{"noCache":"x"}}]}')).toEqual([]);
    expect(parseBook('not json')).toEqual([]);
    expect(parseBook(null)).toEqual([]);
  });
});
