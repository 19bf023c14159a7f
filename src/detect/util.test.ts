import { describe, expect, it } from 'vitest';
import { IdSample, sampleIds } from './util.js';

describe('IdSample', () => {
  it('keeps a short run whole', () => {
    const s = new IdSample();
    for (let i = 0; i < 150; i++) s.add(`r${i}`);
    expect(s.ids()).toEqual(Array.from({ length: 150 }, (_, i) => `r${i}`));
  });

  it('keeps a long run evenly spaced in bounded memory, first and last included', () => {
    const s = new IdSample();
    const n = 1_000_000;
    for (let i = 0; i < n; i++) s.add(`r${i}`);
    const ids = s.ids();
    expect(ids.length).toBeLessThanOrEqual(201);
    expect(ids[0]).toBe('r0');
    expect(ids.at(-1)).toBe(`r${n - 1}`);
    const gaps = new Set(ids.slice(0, -1).map((id, i, a) => (i === 0 ? 0 : Number(id.slice(1)) - Number(a[i - 1]!.slice(1)))).slice(1));
    expect(gaps.size).toBe(1); // one step between all kept ids
    // What a finding shows: twenty spread over the whole run.
    const shown = sampleIds(ids).map((id) => Number(id.slice(1)));
    expect(shown).toHaveLength(20);
    expect(Math.max(...shown.slice(1).map((v, i) => v - shown[i]!))).toBeLessThan(n / 10);
  });
});
