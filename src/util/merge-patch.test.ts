import { describe, expect, it } from 'vitest';
import { mergePatch } from './merge-patch.js';

describe('mergePatch (RFC 7396)', () => {
  it('replaces the fields given, removes those set to null, keeps the rest', () => {
    expect(mergePatch({ id: 'lena', team: 'platform', role: 'lead' }, { email: 'l@x.com', role: null })).toEqual({ id: 'lena', team: 'platform', email: 'l@x.com' });
  });

  it('merges objects, replaces arrays and values of another type whole', () => {
    const budget = { thresholds: [50, 80, 100], hybrid: { percentile: 90, lookback: 8 }, downgradeTo: 'gpt-4o-mini' };
    expect(mergePatch(budget, { thresholds: [90], hybrid: { percentile: 95 }, downgradeTo: { openai: 'gpt-4o-mini' } })).toEqual({
      thresholds: [90],
      hybrid: { percentile: 95, lookback: 8 },
      downgradeTo: { openai: 'gpt-4o-mini' },
    });
  });

  it('leaves the target alone', () => {
    const target = { hybrid: { percentile: 90 } };
    mergePatch(target, { hybrid: { percentile: 50 } });
    expect(target).toEqual({ hybrid: { percentile: 90 } });
  });

  it('keeps __proto__ a field of its own: never the prototype of the result, at any depth', () => {
    const out = mergePatch({ id: 'bob', hybrid: { lookback: 8 } }, JSON.parse('{"__proto__":{"role":"admin"},"hybrid":{"__proto__":{"percentile":95}}}')) as Record<string, Record<string, unknown>>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(out.hybrid)).toBe(Object.prototype);
    expect(out.role).toBeUndefined();
    expect(out.hybrid!.percentile).toBeUndefined();
    expect(Object.keys(out)).toEqual(['id', 'hybrid', '__proto__']);
    expect(Object.keys(out.hybrid!)).toEqual(['lookback', '__proto__']);
    expect(({} as Record<string, unknown>).role).toBeUndefined();
  });
});
