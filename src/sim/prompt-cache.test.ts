import { describe, expect, it } from 'vitest';
import { AnthropicPromptCache, OpenAIPrefixCache } from './prompt-cache.js';

function tokens(start: number, n: number): Uint32Array {
  return Uint32Array.from({ length: n }, (_, i) => start + i);
}

describe('OpenAIPrefixCache', () => {
  it('reports the shared prefix rounded down to 128, from 1024 tokens', () => {
    const cache = new OpenAIPrefixCache();
    const shared = tokens(1, 1500);
    expect(cache.use('gpt-4o', [shared, tokens(90_000, 100)], 1600)).toBe(0);
    expect(cache.use('gpt-4o', [shared, tokens(90_000, 100)], 1600)).toBe(1536);
    // same 1500-token prefix, different tail: 1500 -> 1408
    expect(cache.use('gpt-4o', [shared, tokens(70_000, 300)], 1800)).toBe(1408);
    // another model has its own cache
    expect(cache.use('gpt-4.1', [shared, tokens(90_000, 100)], 1600)).toBe(0);
  });

  it('never caches below 1024 shared tokens', () => {
    const cache = new OpenAIPrefixCache();
    cache.use('gpt-4o', [tokens(1, 1000), tokens(5000, 500)], 1500);
    expect(cache.use('gpt-4o', [tokens(1, 1000), tokens(9000, 500)], 1500)).toBe(0);
  });
});

describe('AnthropicPromptCache', () => {
  const parts = [tokens(1, 1200), tokens(5000, 300), tokens(9000, 50)];

  it('writes on first sight, reads later, buckets disjoint and TTL-bound', () => {
    const cache = new AnthropicPromptCache();
    const t0 = 1_000_000;
    expect(cache.use('m', parts, [{ part: 1, ttl: '5m' }], t0)).toEqual({ read: 0, write5m: 1500, write1h: 0 });
    expect(cache.use('m', parts, [{ part: 1, ttl: '5m' }], t0 + 60_000)).toEqual({ read: 1500, write5m: 0, write1h: 0 });
    // the read refreshed the TTL: 4 min after the read is still within 5 min
    expect(cache.use('m', parts, [{ part: 1, ttl: '5m' }], t0 + 60_000 + 290_000).read).toBe(1500);
    // more than 5 minutes idle: written again
    expect(cache.use('m', parts, [{ part: 1, ttl: '5m' }], t0 + 60_000 + 290_000 + 301_000)).toEqual({ read: 0, write5m: 1500, write1h: 0 });
  });

  it('splits writes between 1h and 5m breakpoints and ignores prefixes under 1024 tokens', () => {
    const cache = new AnthropicPromptCache();
    const small = [tokens(1, 500), tokens(2000, 900), tokens(9000, 10)];
    expect(cache.use('m', small, [{ part: 0, ttl: '1h' }, { part: 1, ttl: '5m' }], 0)).toEqual({ read: 0, write5m: 1400, write1h: 0 });
    const cache2 = new AnthropicPromptCache();
    expect(cache2.use('m', parts, [{ part: 0, ttl: '1h' }, { part: 1, ttl: '5m' }], 0)).toEqual({ read: 0, write5m: 300, write1h: 1200 });
    // after 10 minutes the 5m segment expired, the 1h prefix is still read
    expect(cache2.use('m', parts, [{ part: 0, ttl: '1h' }, { part: 1, ttl: '5m' }], 600_000)).toEqual({ read: 1200, write5m: 300, write1h: 0 });
  });

  it('finds an earlier breakpoint by looking back over block boundaries', () => {
    const cache = new AnthropicPromptCache();
    cache.use('m', parts, [{ part: 1, ttl: '5m' }], 0);
    const longer = [...parts, tokens(20_000, 400)];
    expect(cache.use('m', longer, [{ part: 3, ttl: '5m' }], 1000)).toEqual({ read: 1500, write5m: 450, write1h: 0 });
  });
});
