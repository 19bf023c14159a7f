import { describe, expect, it } from 'vitest';
import type { DetectInput } from '../types.js';
import { T0, prompt, run, step } from '../testing.js';

/** A session: one prompt, then steps given as [call, result] 10–25 s apart, $0.02 each. */
function session(steps: Array<[string, string]>, id = 's1', start = T0): DetectInput[] {
  const out: DetectInput[] = [prompt('make the payment service tests pass without changing the public API', { startedAt: start, sessionId: id, costUsd: 0.02 })];
  let t = start;
  steps.forEach(([c, r], i) => out.push(step(c, r, { startedAt: (t += 10_000 + (i % 3) * 7_500), sessionId: id, costUsd: 0.02 })));
  return out;
}

const READ: [string, string] = ['Read {"file":"src/pay.ts"}', 'export function pay() {…}'];
const TEST_FAIL: [string, string] = ['Bash {"cmd":"npm test"}', 'FAIL pay.test.ts: expected 200, got 500'];

describe('agent-circle', () => {
  it('flags the same call with the same result five times with no one stepping in', () => {
    const findings = run('agent-circle', session([READ, ['Edit {"file":"a"}', 'ok'], TEST_FAIL, TEST_FAIL, TEST_FAIL, TEST_FAIL, TEST_FAIL]));
    expect(findings).toHaveLength(1);
    const f = findings[0]!;
    expect(f.subject).toEqual({ kind: 'session', id: 's1' });
    expect(f.evidence.counts['maxIdenticalSteps']).toBe(5);
    // From the second occurrence to the last: four steps of $0.02.
    expect(f.wastedUsd).toBeCloseTo(0.08, 5);
  });

  it('flags two steps taking turns: A B A B A B', () => {
    const edit: [string, string] = ['Edit {"file":"src/pay.ts","old":"a","new":"b"}', 'ok'];
    expect(run('agent-circle', session([READ, edit, TEST_FAIL, edit, TEST_FAIL, edit, TEST_FAIL]))).toHaveLength(1);
  });

  it('does not flag edit-and-test progress: the same call with different results', () => {
    const steps: Array<[string, string]> = [];
    for (let i = 0; i < 6; i++) steps.push([`Edit {"file":"src/pay.ts","hunk":${i}}`, 'ok'], ['Bash {"cmd":"npm test"}', `FAIL: ${6 - i} tests failing`]);
    expect(run('agent-circle', session(steps))).toEqual([]);
  });

  it('does not flag a retry or two after a flaky tool, nor repeats a person asked for', () => {
    expect(run('agent-circle', session([READ, TEST_FAIL, TEST_FAIL, TEST_FAIL, ['Edit {"file":"a"}', 'ok']]))).toEqual([]);
    const asked = [...session([TEST_FAIL, TEST_FAIL]), ...session([TEST_FAIL, TEST_FAIL], 's1', T0 + 120_000), ...session([TEST_FAIL, TEST_FAIL], 's1', T0 + 240_000)];
    expect(run('agent-circle', asked)).toEqual([]);
  });
});
