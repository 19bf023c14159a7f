import { describe, expect, it } from 'vitest';
import { RateLimiter, type RateLine } from './rate-limit.js';

const line = (rpm?: number, tpm?: number): RateLine => ({ counter: 'r|user:alice', rule: { id: 'r', rpm, tpm }, scope: 'user:alice' });

describe('sliding-window rate limits', () => {
  it('allows rpm requests per minute, weighting the previous minute by its overlap', () => {
    const r = new RateLimiter();
    const l = [line(10)];
    const t0 = 60_000 * 1000;
    for (let i = 0; i < 10; i++) expect(r.admit(l, 0, t0 + i)).toBeNull();
    const refusal = r.admit(l, 0, t0 + 10);
    expect(refusal).toMatchObject({ what: 'rpm', used: 10, limit: 10 });
    expect(refusal!.retryAfterS).toBe(60);
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
