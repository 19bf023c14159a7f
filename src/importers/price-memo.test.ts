import { describe, expect, it } from 'vitest';
import { createPricer } from '../usage/pricing.js';
import type { NormalisedUsage } from '../usage/types.js';
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
