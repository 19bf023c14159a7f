import { describe, expect, it } from 'vitest';
import { convertOpenAIChatUsage, convertOpenAIEmbeddingsUsage } from './convert-openai-chat-usage.js';

describe('convertOpenAIChatUsage', () => {
  it('OpenAI with details: cached inside prompt, reasoning inside completion', () => {
    const raw = {
      prompt_tokens: 2006,
      completion_tokens: 300,
      total_tokens: 2306,
      prompt_tokens_details: { cached_tokens: 1920, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 192, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    };
    expect(convertOpenAIChatUsage(raw)).toEqual({
      input: { total: 2006, noCache: 86, cacheRead: 1920, cacheWrite5m: 0, cacheWrite1h: 0 },
      output: { total: 300, text: 108, reasoning: 192 },
      raw,
    });
  });

  it('audio tokens (gpt-audio): parts of prompt and completion, the text the rest', () => {
    const raw = {
      prompt_tokens: 2000,
      completion_tokens: 400,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 500 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 200 },
    };
    expect(convertOpenAIChatUsage(raw)).toEqual({
      input: { total: 2000, noCache: 2000, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 0, audio: 500 },
      output: { total: 400, text: 200, reasoning: 0, audio: 200 },
      raw,
    });
    // A server that reports audio beside the text (totals smaller than their parts): added, never negative.
    expect(convertOpenAIChatUsage({ prompt_tokens: 10, completion_tokens: 5, prompt_tokens_details: { audio_tokens: 50 }, completion_tokens_details: { audio_tokens: 20 } })).toMatchObject({
      input: { total: 60, noCache: 60, audio: 50 },
      output: { total: 25, text: 5, audio: 20 },
    });
  });

  it('vLLM/Ollama style: no details at all', () => {
    const u = convertOpenAIChatUsage({ prompt_tokens: 17, completion_tokens: 42, total_tokens: 59 });
    expect(u?.input).toEqual({ total: 17, noCache: 17, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 0 });
    expect(u?.output).toEqual({ total: 42, text: 42, reasoning: 0 });
  });

  it('null details and null counts inside them', () => {
    const u = convertOpenAIChatUsage({
      prompt_tokens: 100,
      completion_tokens: 20,
      prompt_tokens_details: null,
      completion_tokens_details: { reasoning_tokens: null },
    });
    expect(u?.input).toEqual({ total: 100, noCache: 100, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 0 });
    expect(u?.output).toEqual({ total: 20, text: 20, reasoning: 0 });
  });

  it('DeepSeek: prompt_cache_hit_tokens / prompt_cache_miss_tokens', () => {
    const u = convertOpenAIChatUsage({
      prompt_tokens: 1500,
      completion_tokens: 80,
      prompt_cache_hit_tokens: 1280,
      prompt_cache_miss_tokens: 220,
    });
    expect(u?.input).toEqual({ total: 1500, noCache: 220, cacheRead: 1280, cacheWrite5m: 0, cacheWrite1h: 0 });
  });

  it('DeepSeek without prompt_tokens: total is hit + miss', () => {
    const u = convertOpenAIChatUsage({ completion_tokens: 5, prompt_cache_hit_tokens: 64, prompt_cache_miss_tokens: 36 });
    expect(u?.input).toEqual({ total: 100, noCache: 36, cacheRead: 64, cacheWrite5m: 0, cacheWrite1h: 0 });
  });

  it('proxy in front of Anthropic: inclusive prompt_tokens plus cache_creation_input_tokens and breakdown', () => {
    const u = convertOpenAIChatUsage({
      prompt_tokens: 5000,
      completion_tokens: 10,
      prompt_tokens_details: { cached_tokens: 3000 },
      cache_read_input_tokens: 3000,
      cache_creation_input_tokens: 1500,
      cache_creation: { ephemeral_5m_input_tokens: 500, ephemeral_1h_input_tokens: 1000 },
    });
    expect(u?.input).toEqual({ total: 5000, noCache: 500, cacheRead: 3000, cacheWrite5m: 500, cacheWrite1h: 1000 });
  });

  it('cache writes without TTL are 5-minute writes (OpenRouter cache_write_tokens)', () => {
    const u = convertOpenAIChatUsage({
      prompt_tokens: 1200,
      completion_tokens: 3,
      prompt_tokens_details: { cached_tokens: 0, cache_write_tokens: 1000 },
    });
    expect(u?.input).toEqual({ total: 1200, noCache: 200, cacheRead: 0, cacheWrite5m: 1000, cacheWrite1h: 0 });
  });

  it('a placeholder 0 in details does not hide a cache read reported elsewhere', () => {
    const u = convertOpenAIChatUsage({
      prompt_tokens: 900,
      completion_tokens: 1,
      prompt_tokens_details: { cached_tokens: 0 },
      cache_read_input_tokens: 800,
    });
    expect(u?.input.cacheRead).toBe(800);
    expect(u?.input.noCache).toBe(100);
  });

  it('a server reporting disjoint buckets (prompt smaller than its cache) is added up, not made negative', () => {
    const u = convertOpenAIChatUsage({ prompt_tokens: 10, completion_tokens: 2, cache_read_input_tokens: 4000, cache_creation_input_tokens: 600 });
    expect(u?.input).toEqual({ total: 4610, noCache: 10, cacheRead: 4000, cacheWrite5m: 600, cacheWrite1h: 0 });
  });

  it('reasoning larger than completion is added (server reporting it separately)', () => {
    const u = convertOpenAIChatUsage({ prompt_tokens: 1, completion_tokens: 5, completion_tokens_details: { reasoning_tokens: 50 } });
    expect(u?.output).toEqual({ total: 55, text: 5, reasoning: 50 });
  });

  it('odd values: strings, floats, negatives, NaN', () => {
    const u = convertOpenAIChatUsage({ prompt_tokens: '120', completion_tokens: 7.9, prompt_tokens_details: { cached_tokens: -5 }, completion_tokens_details: { reasoning_tokens: Number.NaN } });
    expect(u?.input).toEqual({ total: 120, noCache: 120, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 0 });
    expect(u?.output).toEqual({ total: 7, text: 7, reasoning: 0 });
  });

  it('only completion reported: input 0', () => {
    expect(convertOpenAIChatUsage({ completion_tokens: 9 })?.input.total).toBe(0);
    expect(convertOpenAIChatUsage({ completion_tokens: 9 })?.output.total).toBe(9);
  });

  it('null when nothing is reported', () => {
    expect(convertOpenAIChatUsage(null)).toBeNull();
    expect(convertOpenAIChatUsage(undefined)).toBeNull();
    expect(convertOpenAIChatUsage({})).toBeNull();
    expect(convertOpenAIChatUsage({ prompt_tokens: null, completion_tokens: null })).toBeNull();
    expect(convertOpenAIChatUsage({ total_tokens: 30 })).toBeNull();
    expect(convertOpenAIChatUsage([1, 2])).toBeNull();
    expect(convertOpenAIChatUsage('12')).toBeNull();
  });
});

describe('convertOpenAIEmbeddingsUsage', () => {
  it('prompt_tokens, no output', () => {
    const raw = { prompt_tokens: 8, total_tokens: 8 };
    expect(convertOpenAIEmbeddingsUsage(raw)).toEqual({
      input: { total: 8, noCache: 8, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 0 },
      output: { total: 0, text: 0, reasoning: 0 },
      raw,
    });
  });

  it('falls back to total_tokens (servers that send only that)', () => {
    expect(convertOpenAIEmbeddingsUsage({ total_tokens: 31 })?.input.total).toBe(31);
    expect(convertOpenAIEmbeddingsUsage({ prompt_tokens: null, total_tokens: 12 })?.input.total).toBe(12);
  });

  it('null when nothing is reported', () => {
    expect(convertOpenAIEmbeddingsUsage({})).toBeNull();
    expect(convertOpenAIEmbeddingsUsage(null)).toBeNull();
  });
});
