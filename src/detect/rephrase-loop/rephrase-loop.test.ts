import { describe, expect, it } from 'vitest';
import { HANDBOOK_QUESTIONS, MIN, T0, pasted, pastedDocument, prompt, run, step } from '../testing.js';

const BASE = 'fix the failing ledger sync test in src/billing/ledger.ts so the retry does not loop forever on an empty batch';
const TRIES = [
  BASE,
  'please fix the failing ledger sync test in src/billing/ledger.ts, the retry still loops forever on an empty batch',
  'no, fix the ledger sync test in src/billing/ledger.ts: the retry loops forever when the batch is empty',
  'again: the ledger sync test in src/billing/ledger.ts fails because the retry loops forever on an empty batch, fix it',
  'fix the ledger sync retry in src/billing/ledger.ts so an empty batch does not loop forever and the test passes',
];

/** Each try: the prompt, then two agent steps; the next try comes 1–3 minutes after the last step. */
function tries(texts: readonly string[], opts: { gapsMs?: number[]; failed?: boolean; session?: (i: number) => string } = {}) {
  const out = [];
  let t = T0;
  for (const [i, text] of texts.entries()) {
    const sessionId = opts.session?.(i) ?? 's1';
    out.push(prompt(text, { startedAt: t, endedAt: t + 5_000, sessionId, costUsd: 0.1, ...(opts.failed ? { status: 529, errorClass: 'upstream_5xx', costUsd: 0 } : {}) }));
    if (!opts.failed) {
      out.push(step('Read {"file":"ledger.ts"}', `ok ${i}`, { startedAt: t + 10_000, endedAt: t + 14_000, sessionId, costUsd: 0.05 }));
      out.push(step('Edit {"file":"ledger.ts"}', `edited ${i}`, { startedAt: t + 20_000, endedAt: t + 25_000, sessionId, costUsd: 0.05 }));
    }
    t += 25_000 + (opts.gapsMs?.[i] ?? (60 + 40 * (i % 3)) * 1_000);
  }
  return out;
}

describe('rephrase-loop', () => {
  it('flags five rewordings of one request within minutes, charging the superseded turns', () => {
    const findings = run('rephrase-loop', tries(TRIES));
    expect(findings).toHaveLength(1);
    const f = findings[0]!;
    expect(f.subject).toEqual({ kind: 'user', id: 'alice' });
    expect(f.evidence.counts['prompts']).toBe(5);
    // Three superseded turns (not the first, not the last), each $0.10 prompt + 2 × $0.05 steps.
    expect(f.wastedUsd).toBeCloseTo(0.6, 5);
    expect(f.evidence.requestIds).toHaveLength(5);
    expect(JSON.stringify(f)).not.toContain('ledger');
  });

  it('does not flag retries after the provider failed (the honest thing to do)', () => {
    const failed = tries(Array(4).fill(BASE), { failed: true });
    expect(run('rephrase-loop', failed)).toEqual([]);
  });

  it('does not flag different follow-ups on the same code, nor two or three tries', () => {
    const followUps = [
      BASE,
      'now add a test for the empty batch case and run the whole billing suite',
      'commit that with a message about the ledger retry, then open a pull request',
      'why is the invoice export slower after this change? profile it',
    ];
    expect(run('rephrase-loop', tries(followUps))).toEqual([]);
    expect(run('rephrase-loop', tries(TRIES.slice(0, 3)))).toEqual([]);
  });

  it('does not flag different questions about one pasted document (the paste repeats, the question does not)', () => {
    const doc = pastedDocument(7, 180_000);
    const questions = HANDBOOK_QUESTIONS;
    // Every 50-95 s, as a person reads each answer; 45k tokens each on Sonnet, uncached.
    let t = T0;
    const asks = questions.map((q, i) => {
      const at = t;
      t += 50_000 + ((i * 15_013) % 45_000);
      return pasted(`${doc}\n\n${q}`, { startedAt: at, endedAt: at + 9_000, inputTokens: 45_000, outputTokens: 300, costUsd: 0.1395 });
    });
    expect(run('rephrase-loop', asks)).toEqual([]);
    // What they do waste is the re-sent document, and that is reported.
    expect(run('context-bloat', asks).map((f) => f.evidence.counts['requests'])).toEqual([5]);
  });

  it('does not flag the same prompt launched in parallel sessions (that is fan-out)', () => {
    const parallel = TRIES.slice(0, 5).map((text, i) => prompt(text, { startedAt: T0 + i * 5_000, endedAt: T0 + 60_000, sessionId: `p${i}`, costUsd: 0.1 }));
    expect(run('rephrase-loop', parallel)).toEqual([]);
  });

  it('does not flag a prompt repeated by a timer (that is an idle loop)', () => {
    const timer = Array.from({ length: 6 }, (_, i) => prompt(BASE, { startedAt: T0 + i * 2 * MIN, endedAt: T0 + i * 2 * MIN + 3_000, costUsd: 0.1 }));
    expect(run('rephrase-loop', timer)).toEqual([]);
  });
});
