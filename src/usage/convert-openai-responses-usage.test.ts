import { describe, expect, it } from 'vitest';
import { convertOpenAIResponsesUsage } from './convert-openai-responses-usage.js';

describe('convertOpenAIResponsesUsage', () => {
  it('cached inside input, reasoning inside output', () => {
    const raw = {
      input_tokens: 36000,
      input_tokens_details: { cached_tokens: 32768 },
      output_tokens: 1500,
      output_tokens_details: { reasoning_tokens: 1024 },
      total_tokens: 37500,
    };
    expect(convertOpenAIResponsesUsage(raw)).toEqual({
      input: { total: 36000, noCache: 3232, cacheRead: 32768, cacheWrite5m: 0, cacheWrite1h: 0 },
      output: { total: 1500, text: 476, reasoning: 1024 },
      raw,
    });
  });

  it('missing and null details', () => {
    const u = convertOpenAIResponsesUsage({ input_tokens: 12, output_tokens: 3, input_tokens_details: null });
    expect(u?.input).toEqual({ total: 12, noCache: 12, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 0 });
    expect(u?.output).toEqual({ total: 3, text: 3, reasoning: 0 });
  });

  it('null when nothing is reported', () => {
    expect(convertOpenAIResponsesUsage(null)).toBeNull();
    expect(convertOpenAIResponsesUsage({ total_tokens: 5 })).toBeNull();
    expect(convertOpenAIResponsesUsage({ input_tokens: null, output_tokens: null })).toBeNull();
  });
});
