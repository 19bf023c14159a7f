import { describe, expect, it } from 'vitest';
import type { DetectInput } from '../types.js';
import { DAY, HOUR, MIN, T0, event, prompt, step } from '../testing.js';
import { run } from '../testing.js';

const TOPICS = ['ledger', 'invoice', 'tenant', 'billing', 'session', 'token', 'cache', 'queue', 'worker', 'parser', 'router', 'schema'];

/** Five working days of distinct prompts between 09:00 and 17:00 UTC: the person's usual hours. */
function workdays(): DetectInput[] {
  const out: DetectInput[] = [];
  for (let d = 0; d < 5; d++) {
    for (let i = 0; i < 10; i++) {
      const a = TOPICS[(d * 10 + i) % TOPICS.length]!;
      const b = TOPICS[(d * 7 + i * 3 + 1) % TOPICS.length]!;
      out.push(prompt(`refactor the ${a} module and add tests for the ${b} edge cases number ${d}-${i}`, { startedAt: T0 - 7 * DAY + d * DAY + i * 45 * MIN, sessionId: `w${d}-${i}` }));
    }
  }
  return out;
}

/** A night starting 01:00 UTC: `n` requests `every` ms apart, times jittered by `jitter` (fraction). */
function night(n: number, every: number, make: (at: number, i: number) => DetectInput, jitter = 0.01): DetectInput[] {
  const out: DetectInput[] = [];
  let t = T0 - 8 * HOUR;
  for (let i = 0; i < n; i++) {
    out.push(make(Math.round(t), i));
    t += every * (1 + jitter * Math.sin(i * 12.9898) * 1.7);
  }
  return out;
}

const LOOP = 'check the nightly export job and summarize any new errors in the worker log';

describe('idle-loop', () => {
  it('flags the same prompt every two minutes through the night, outside the person’s hours', () => {
    const loop = night(120, 2 * MIN, (at) => prompt(LOOP, { startedAt: at, costUsd: 0.01 }));
    const findings = run('idle-loop', [...workdays(), ...loop]);
    expect(findings).toHaveLength(1);
    const f = findings[0]!;
    expect(f.evidence.counts['requests']).toBe(120);
    expect(f.evidence.ratios['offHoursShare']).toBe(1);
    expect(f.wastedUsd).toBeCloseTo(1.19, 2);
  });

  it('does not flag on-call work at night: new prompts at irregular times', () => {
    const gaps = [3, 11, 2, 25, 7, 4, 16, 9, 1, 13, 6, 21, 5, 8, 2, 14, 10, 3, 19, 6, 4, 12];
    let t = T0 - 8 * HOUR;
    const onCall = gaps.map((g, i) => prompt(`the ${TOPICS[i % TOPICS.length]} alert fired again, check ${TOPICS[(i + 5) % TOPICS.length]} metrics for incident ${i}`, { startedAt: (t += g * MIN) }));
    expect(run('idle-loop', [...workdays(), ...onCall])).toEqual([]);
  });

  it('does not flag a declared job (tagged scheduled), however regular', () => {
    const job = night(120, 2 * MIN, (at) => prompt(LOOP, { startedAt: at, costUsd: 0.01, tags: ['scheduled'] }));
    expect(run('idle-loop', [...workdays(), ...job])).toEqual([]);
  });

  it('does not flag a long autonomous agent run overnight: its steps are irregular', () => {
    const pauses = [4, 31, 7, 2, 58, 12, 3, 19, 6, 44, 9, 2, 27, 5, 71, 8, 3, 15, 36, 4];
    let t = T0 - 8 * HOUR;
    const agent = Array.from({ length: 120 }, (_, i) => step(`Edit {"file":"f${i}.ts"}`, `ok ${i}`, { startedAt: (t += pauses[i % pauses.length]! * 1000 + 2_000), sessionId: 'overnight', costUsd: 0.02 }));
    expect(run('idle-loop', [...workdays(), ...agent])).toEqual([]);
  });

  it('does not flag per-minute OTel metric intervals (no fingerprint): the cadence is the exporter’s, not a timer’s', () => {
    // Claude Code's metrics exporter: one event a minute summing the session's usage, during a working morning.
    const metrics: DetectInput[] = Array.from({ length: 90 }, (_, i) => ({
      event: event({ startedAt: T0 + HOUR + i * MIN, source: 'otel', sessionId: 's1', keyId: null, tags: ['claude-code', 'otel-metric'], costUsd: 0.06 }),
      fp: null,
    }));
    expect(run('idle-loop', metrics)).toEqual([]);
    expect(run('idle-loop', [...workdays(), ...metrics])).toEqual([]);
  });
});
