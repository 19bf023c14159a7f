import { calcPrice, findProvider } from '@pydantic/genai-prices';
import { describe, expect, it } from 'vitest';
import { createPricer } from './pricing.js';
import type { NormalisedUsage } from './types.js';

/** Deterministic pseudo-random usages, including ones past the 200k long-context tier. */
function* usages(): Generator<NormalisedUsage> {
  let x = 12345;
  const rnd = (max: number) => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x % max;
  };
  for (let i = 0; i < 25; i++) {
    const big = i % 5 === 0;
    const noCache = rnd(big ? 300_000 : 20_000);
    const cacheRead = rnd(i % 2 ? 50_000 : 1);
    const cacheWrite5m = rnd(i % 3 ? 10_000 : 1);
    const cacheWrite1h = rnd(i % 4 ? 5_000 : 1);
    const reasoning = rnd(3_000);
    const output = reasoning + rnd(5_000);
    yield {
      input: { total: noCache + cacheRead + cacheWrite5m + cacheWrite1h, noCache, cacheRead, cacheWrite5m, cacheWrite1h },
      output: { total: output, text: output - reasoning, reasoning },
      raw: null,
    };
  }
}

describe('pricing fast path', () => {
  it('gives exactly what the catalogue gives (with its one correction), for every OpenAI and Anthropic model, on repeated calls', () => {
    let checked = 0;
    for (const providerId of ['openai', 'anthropic']) {
      const provider = findProvider({ providerId })!;
      const pricer = createPricer();
      for (const model of provider.models) {
        const name = model.id;
        for (const u of usages()) {
          const expected = calcPrice(
            {
              input_tokens: u.input.total,
              cache_read_tokens: u.input.cacheRead,
              cache_write_tokens: u.input.cacheWrite5m + u.input.cacheWrite1h,
              cache_write_5m_tokens: u.input.cacheWrite5m,
              cache_write_1h_tokens: u.input.cacheWrite1h,
              output_tokens: u.output.total,
              output_reasoning_tokens: u.output.reasoning,
            },
            // The one correction of the catalogue (pricing.ts, SAME_TIERS_AS): Sonnet 4 has Sonnet 4.5's long-context tiers.
            name === 'claude-sonnet-4-0' ? 'claude-sonnet-4-5' : name,
            { providerId },
          );
          const got = pricer.price(u, name, providerId).costUsd;
          if (expected === null) continue;
          expect(got, `${providerId}/${name}`).toBeCloseTo(expected.total_price, 9);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(500);
  });
});
