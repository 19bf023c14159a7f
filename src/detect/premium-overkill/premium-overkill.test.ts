import { describe, expect, it } from 'vitest';
import { createPricer } from '../../usage/pricing.js';
import { eventUsage } from '../util.js';
import { MIN, T0, prompt, run } from '../testing.js';

const SIMPLE = [
  'what is the capital of Peru',
  'translate "the invoice could not be saved" to German',
  'uppercase this: ledger queue',
  'list three synonyms for careful',
];
const COMPLEX =
  'Design the migration of the billing ledger to the new event store so it can run without downtime. Explain the trade-offs between dual writes and change data capture, why the current retry logic races with the reconciliation job, and propose two alternatives with their failure modes.\n```ts\nconst entry = await ledger.get(id);\nif (!entry) throw new Error("missing");\n```';

const pricer = createPricer();

/** `n` prompts 20 minutes apart, priced from the catalogue. */
function day(n: number, text: (i: number) => string, model: string, output = 80, offset = 0) {
  return Array.from({ length: n }, (_, i) => {
    const x = prompt(text(i), { startedAt: T0 + offset + i * 20 * MIN, modelServed: model, modelRequested: model, inputTokens: 300, outputTokens: output });
    x.event.costUsd = pricer.price(eventUsage(x.event), model, 'anthropic').costUsd;
    return x;
  });
}

describe('premium-overkill', () => {
  it('flags a day of simple prompts on a premium model, with the cheaper model’s price as the counterfactual', () => {
    const inputs = day(12, (i) => SIMPLE[i % SIMPLE.length]!, 'claude-opus-4-1');
    const findings = run('premium-overkill', inputs);
    expect(findings).toHaveLength(1);
    const f = findings[0]!;
    expect(f.evidence.counts['simplePrompts']).toBe(12);
    // Opus 4.1 ($15/$75 per M) vs Haiku 4.5 ($1/$5): 300 in + 80 out each.
    const opus = (300 * 15 + 80 * 75) / 1e6;
    const haiku = (300 * 1 + 80 * 5) / 1e6;
    expect(f.wastedUsd).toBeCloseTo(Math.round(12 * (opus - haiku) * 100) / 100, 2);
    expect(f.suggestion).toContain('claude-haiku-4-5');
  });

  it('does not flag premium models used for complex work, nor simple prompts on a small model', () => {
    expect(run('premium-overkill', day(12, () => COMPLEX, 'claude-opus-4-1', 1_800))).toEqual([]);
    expect(run('premium-overkill', day(12, (i) => SIMPLE[i % SIMPLE.length]!, 'claude-haiku-4-5'))).toEqual([]);
  });

  it('does not flag a few quick questions among real work on the premium default', () => {
    const mixed = [...day(5, (i) => SIMPLE[i % SIMPLE.length]!, 'claude-opus-4-1'), ...day(15, () => COMPLEX, 'claude-opus-4-1', 1_800, 7 * MIN)];
    expect(run('premium-overkill', mixed)).toEqual([]);
  });
});
