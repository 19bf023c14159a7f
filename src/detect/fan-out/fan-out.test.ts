import { describe, expect, it } from 'vitest';
import type { DetectInput } from '../types.js';
import { MIN, T0, prompt, step } from '../testing.js';
import { run } from '../testing.js';

/** A session starting at `start`: a prompt and `steps` agent steps 15 s apart, each with `output` tokens. */
function session(id: string, start: number, steps: number, output: number): DetectInput[] {
  const out: DetectInput[] = [prompt('implement the tenant export in src/export.ts with pagination and tests', { startedAt: start, sessionId: id, outputTokens: output, costUsd: 0.05 })];
  for (let i = 1; i <= steps; i++) out.push(step(`Edit {"n":${i}}`, `ok ${id} ${i}`, { startedAt: start + i * 15_000, endedAt: start + i * 15_000 + 5_000, sessionId: id, outputTokens: output, costUsd: 0.05 }));
  return out;
}

describe('fan-out', () => {
  it('flags eight sessions launched on one task within minutes, each producing little', () => {
    const inputs = Array.from({ length: 8 }, (_, i) => session(`s${i}`, T0 + i * 20_000, 4, 150)).flat();
    const findings = run('fan-out', inputs);
    expect(findings).toHaveLength(1);
    const f = findings[0]!;
    expect(f.evidence.counts['sessions']).toBe(8);
    // All sessions but the most productive one: 7 × 5 requests × $0.05.
    expect(f.wastedUsd).toBeCloseTo(1.75, 5);
  });

  it('does not flag four productive agents in parallel', () => {
    const inputs = Array.from({ length: 4 }, (_, i) => session(`s${i}`, T0 + i * 60_000, 30, 400)).flat();
    expect(run('fan-out', inputs)).toEqual([]);
  });

  it('does not flag many parallel sessions that each produce real output', () => {
    const inputs = Array.from({ length: 8 }, (_, i) => session(`s${i}`, T0 + i * 60_000, 12, 600)).flat();
    expect(run('fan-out', inputs)).toEqual([]);
  });

  it('does not flag sessions opened one after another (each closed before the next)', () => {
    const inputs = Array.from({ length: 8 }, (_, i) => session(`s${i}`, T0 + i * 2 * MIN, 3, 150)).flat();
    expect(run('fan-out', inputs)).toEqual([]);
  });
});
