import { describe, expect, it } from 'vitest';
import { RateLimiter, retryAfterSeconds, type RateLine } from './rate-limit.js';

const line = (rpm?: number, tpm?: number): RateLine => ({ counter: 'r|user:alice', rule: { id: 'r', rpm, tpm }, scope: 'user:alice' });

describe('sliding-window rate limits', () => {
  it('allows rpm requests per minute, weighting the previous minute by its overlap', () => {
    const r = new RateLimiter();
    const l = [line(10)];
    const t0 = 60_000 * 1000;
    for (let i = 0; i < 10; i++) expect(r.admit(l, 0, t0 + i)).toBeNull();
    const refusal = r.admit(l, 0, t0 + 10);
    expect(refusal).toMatchObject({ what: 'rpm', used: 10, limit: 10 });
    // Not at the next minute (the previous one then still counts whole) but 6 s into it, when 10 × 0.9 + 1 fits.
    expect(refusal!.retryAfterS).toBe(66);
    const probe = new RateLimiter();
    for (let i = 0; i < 10; i++) probe.admit(l, 0, t0 + i);
    expect(probe.admit(l, 0, t0 + 10 + 65_000)?.what).toBe('rpm');
    expect(probe.admit(l, 0, t0 + 10 + 66_000)).toBeNull();
    // 30 s into the next minute half of the previous minute still counts: 5 of 10 used.
    for (let i = 0; i < 5; i++) expect(r.admit(l, 0, t0 + 90_000)).toBeNull();
    expect(r.admit(l, 0, t0 + 90_000)?.what).toBe('rpm');
    // Two minutes later, nothing counts.
    expect(r.admit(l, 0, t0 + 180_000)).toBeNull();
  });

  it('reserves tokens up front and settles to the real count', () => {
    const r = new RateLimiter();
    const l = [line(undefined, 1000)];
    const t = 5 * 60_000;
    expect(r.admit(l, 600, t)).toBeNull();
    expect(r.admit(l, 600, t)?.what).toBe('tpm'); // 600 in flight + 600 > 1000
    r.settle(l, 600, 100, t);
    expect(r.admit(l, 600, t)).toBeNull(); // 100 used + 600
    expect(r.admit(l, 2000, t)).toMatchObject({ what: 'tpm', tooLarge: true });
    expect(r.usage('r|user:alice', t).tokens).toBe(700);
  });

  it('counts nothing when one of several lines refuses', () => {
    const r = new RateLimiter();
    const a: RateLine = { counter: 'a|key:k', rule: { id: 'a', rpm: 100 }, scope: 'key:k' };
    const b: RateLine = { counter: 'b|team:t', rule: { id: 'b', rpm: 1 }, scope: 'team:t' };
    expect(r.admit([a, b], 0, 0)).toBeNull();
    expect(r.admit([a, b], 0, 1)?.line.counter).toBe('b|team:t');
    expect(r.usage('a|key:k', 1).requests).toBe(1);
  });
});

describe('retry-after of a sliding window', () => {
  it('is when the request first fits, for requests and for tokens', () => {
    const minute = 60_000 * 500;
    // 30 s into a minute, 20 of 20 used by the previous minute's 40 × 0.5: room for one when 40 × w ≤ 19, at 31.5 s.
    expect(retryAfterSeconds(40, 0, 1, 20, minute + 30_000)).toBe(2);
    // Tokens: 900 this minute, 500 asked under 1000: the next minute, once 900 × w ≤ 500 (26.7 s into it).
    expect(retryAfterSeconds(0, 900, 500, 1000, minute + 10_000)).toBe(50 + 27);
    expect(retryAfterSeconds(0, 0, 1, 10, minute)).toBe(1);
  });
});

describe('a request two limits refuse', () => {
  it('is told to wait until both clear, not only the first', () => {
    const r = new RateLimiter();
    const l = [line(5, 1000)];
    const t0 = 60_000 * 700;
    for (let i = 0; i < 5; i++) {
      expect(r.admit(l, 200, t0)).toBeNull();
      r.settle(l, 200, 200, t0);
    }
    // 6 s into the next minute: requests clear at 6 s (5 × 0.8 + 1 = 5), tokens at 30 s (1000 × 0.5 + 500 = 1000).
    const refusal = r.admit(l, 500, t0 + 66_000);
    expect(refusal).toMatchObject({ what: 'rpm', retryAfterS: 24 });
    expect(r.admit(l, 500, t0 + 66_000 + 23_000)?.what).toBe('tpm');
    expect(r.admit(l, 500, t0 + 66_000 + 24_000)).toBeNull();
  });
});
