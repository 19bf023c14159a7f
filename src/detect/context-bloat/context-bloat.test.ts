import { describe, expect, it } from 'vitest';
import { startHarness } from '../../testing/harness.js';
import { findingsStoreOf } from '../store.js';
import { HANDBOOK_QUESTIONS, HOUR, MIN, T0, pasted, pastedDocument, prompt, run } from '../testing.js';
import type { DetectInput } from '../types.js';

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

/** 45k tokens (about 180,000 characters) pasted into the newest message of a new conversation, with a question. */
function pastes(opts: { cacheRead?: number; doc?: (i: number) => string; questionFirst?: boolean } = {}): DetectInput[] {
  let t = T0;
  return HANDBOOK_QUESTIONS.map((q, i) => {
    const doc = opts.doc?.(i) ?? pastedDocument(7, 180_000);
    const content = opts.questionFirst ? `${q}\n\n${doc}` : `${doc}\n\n${q}`;
    const at = t;
    t += 20_000 + ((i * 7_919) % 15_000); // every 20-35 s
    // Sonnet 4.5 without a cache: $3/M input, $15/M output.
    return pasted(content, { startedAt: at, endedAt: at + 9_000, inputTokens: 45_000, cacheReadTokens: opts.cacheRead ?? 0, outputTokens: 300, costUsd: (45_000 * 3 + 300 * 15) / 1e6 });
  });
}

describe('context-bloat of a document pasted into the newest message', () => {
  it('flags the same document pasted six times with different questions, the question after it or before it', () => {
    for (const questionFirst of [false, true]) {
      const findings = run('context-bloat', pastes({ questionFirst }));
      expect(findings).toHaveLength(1);
      const f = findings[0]!;
      expect(f.evidence.counts['requests']).toBe(5);
      // Five re-sends of the document at the cache discount ($2.70/M): all of its 45k tokens at most, and no less
      // than the 36 blocks past the anchor and before the question that are sure to repeat.
      expect(f.wastedUsd).toBeLessThanOrEqual((5 * 45_000 * 2.7) / 1e6 + 1e-9);
      expect(f.wastedUsd).toBeGreaterThan((5 * 36 * 1_024 * 2.7) / 1e6);
    }
  });

  it('does not flag the pasted document read from the prompt cache, six different documents, or three pastes', () => {
    expect(run('context-bloat', pastes({ cacheRead: 44_000 }))).toEqual([]);
    expect(run('context-bloat', pastes({ doc: (i) => pastedDocument(100 + i, 180_000) }))).toEqual([]);
    expect(run('context-bloat', pastes().slice(0, 3))).toEqual([]);
  });
});

describe('context-bloat through the gateway', () => {
  it('flags a document pasted six times with the official Anthropic SDK, and reports no rephrase loop', async () => {
    const h = await startHarness({ config: () => ({ detect: { fingerprints: { enabled: true, retentionDays: 30 } } }) });
    try {
      const doc = pastedDocument(9, 180_000);
      for (const q of HANDBOOK_QUESTIONS) await h.anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: `${doc}\n\n${q}` }] });
      const events = await h.events();
      await h.gateway.close(); // drains the tail thread that writes the fingerprints
      const fps = await findingsStoreOf(h.store)!.listFingerprints({ since: 0, until: Date.now() + 1 });
      expect(fps).toHaveLength(6);
      expect(events.every((e) => e.cacheReadTokens === 0 && e.inputTokens > 40_000)).toBe(true);
      // The requests went out within a second; spread them as the tester did (20-35 s, then 50-95 s apart).
      const spread = (gap: (i: number) => number) => {
        let t = T0;
        return events.map((e, i) => {
          const at = t;
          t += gap(i);
          const fp = fps.find((f) => f.eventId === e.id)!;
          return { event: { ...e, startedAt: at, endedAt: at + 9_000 }, fp: { ...fp, at } };
        });
      };
      const fast = spread((i) => 20_000 + ((i * 7_919) % 15_000));
      const [f, ...more] = run('context-bloat', fast);
      expect(more).toEqual([]);
      expect(f!.evidence.counts['requests']).toBe(5);
      // The cache discount on the re-sent document ($3 - $0.30 per million on Sonnet 4.5): at most all the input of
      // the five re-sends, at least the 36 blocks sure to repeat.
      const input = events.slice(1).reduce((a, e) => a + e.inputTokens, 0);
      expect(f!.wastedUsd).toBeLessThanOrEqual((input * 2.7) / 1e6 + 1e-9);
      expect(f!.wastedUsd).toBeGreaterThan((5 * 36 * 1_024 * 2.7) / 1e6);
      expect(run('rephrase-loop', spread((i) => 50_000 + ((i * 15_013) % 45_000)))).toEqual([]);
    } finally {
      await h.close();
    }
  }, 30_000);
});
