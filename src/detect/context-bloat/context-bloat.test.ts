import { describe, expect, it } from 'vitest';
import { HOUR, MIN, T0, prompt, run } from '../testing.js';

/** A 40-block (≈40k-token) document: the same chained block hashes every time it is pasted. */
const DOC = Array.from({ length: 40 }, (_, i) => 1_000_000 + i);
const OTHER = (k: number): number[] => Array.from({ length: 40 }, (_, i) => 5_000_000 + k * 100 + i);

function asks(n: number, opts: { cacheRead?: number; blocks?: (i: number) => number[]; everyMs?: number } = {}) {
  return Array.from({ length: n }, (_, i) =>
    prompt(`question ${i} about the spec: what does part ${i} say about limits and retention`, {
      startedAt: T0 + i * (opts.everyMs ?? 8 * MIN),
      inputTokens: 40_000,
      cacheReadTokens: opts.cacheRead ?? 0,
      outputTokens: 150,
      costUsd: 0.12,
    }, { blocks: opts.blocks?.(i) ?? DOC }),
  );
}

describe('context-bloat', () => {
  it('flags a large document re-sent uncached, with the cache discount as the waste', () => {
    const findings = run('context-bloat', asks(6));
    expect(findings).toHaveLength(1);
    const f = findings[0]!;
    // 5 re-sends (the first send is not a repeat) of 40,000 tokens: Sonnet input $3/M vs cache read $0.30/M.
    expect(f.evidence.counts['requests']).toBe(5);
    expect(f.wastedUsd).toBeCloseTo(5 * 40_000 * (3 - 0.3) / 1e6, 2);
  });

  it('does not flag the same document re-sent from the prompt cache (what coding agents do)', () => {
    expect(run('context-bloat', asks(12, { cacheRead: 39_000 }))).toEqual([]);
  });

  it('does not flag two or three re-sends, different documents, or re-sends hours apart', () => {
    expect(run('context-bloat', asks(3))).toEqual([]);
    expect(run('context-bloat', asks(8, { blocks: OTHER }))).toEqual([]);
    expect(run('context-bloat', asks(8, { everyMs: 2 * HOUR }))).toEqual([]);
  });
});
