import { describe, expect, it } from 'vitest';
import type { DetectInput, OutcomeInput } from '../types.js';
import { DAY, HOUR, prompt, run, step } from '../testing.js';
import { poissonUpperTail } from './index.js';

/** September 2026: baseline from Monday the 7th; the month closes after Wednesday the 30th. */
const SEP7 = Date.UTC(2026, 8, 7);
const WINDOW = [28, 29, 30].map((d) => Date.UTC(2026, 8, d));

/** One day's usage: `prompts` typed prompts and `steps` agent steps of `tokens` input tokens each, $0.01 per 1k tokens. */
function day(at: number, prompts: number, steps: number, tokens = 20_000): DetectInput[] {
  const out: DetectInput[] = [];
  for (let i = 0; i < prompts; i++) {
    out.push(prompt(`task ${at / DAY}-${i}: update the ${['ledger', 'queue', 'router'][i % 3]} handler and its tests`, { startedAt: at + 9 * HOUR + i * 20 * 60_000, sessionId: `s${at}-${i}`, inputTokens: tokens, costUsd: tokens / 100_000 }));
  }
  for (let i = 0; i < steps; i++) {
    out.push(step(`Edit {"n":${i}}`, `ok ${at}-${i}`, { startedAt: at + 9 * HOUR + i * 90_000 + 30_000, sessionId: `s${at}-0`, inputTokens: tokens, costUsd: tokens / 100_000 }));
  }
  return out;
}

function baseline(): DetectInput[] {
  const out: DetectInput[] = [];
  for (let d = 0; d < 21; d++) if (d % 7 < 5) out.push(...day(SEP7 + d * DAY, 8, 40));
  return out;
}

const commits = (at: number, n: number): OutcomeInput => ({ userId: 'alice', at: at + 17 * HOUR, kind: 'commit', count: n });

describe('period-end-surge', () => {
  it('flags usage pumped in the last days of the month with no more prompts', () => {
    const surge = WINDOW.flatMap((d) => day(d, 8, 240, 60_000));
    const findings = run('period-end-surge', [...baseline(), ...surge]);
    expect(findings).toHaveLength(1);
    const f = findings[0]!;
    expect(f.evidence.ratios['dailyTokenRatio']).toBeGreaterThan(10);
    expect(f.summary).toBe(
      'In the last 3 days of the month ending 2026-09-30, usage ran at 15.4× your usual day in tokens ($446 in all), at 15.4× your usual tokens per prompt, more than what you asked for accounts for.',
    );
    expect(f.wastedUsd).toBeGreaterThan(100);
    expect(f.teamId).toBe('team-a');
  });

  it("keeps the person's team when an outcome of theirs comes before their first request", () => {
    const surge = WINDOW.flatMap((d) => day(d, 8, 240, 60_000));
    const findings = run('period-end-surge', [...baseline(), ...surge], {}, [commits(SEP7 - 3 * DAY, 1)]);
    expect(findings.map((f) => [f.userId, f.teamId])).toEqual([['alice', 'team-a']]);
  });

  it('does not flag a crunch: three times the usage with three times the prompts', () => {
    const crunch = WINDOW.flatMap((d) => day(d, 24, 120));
    expect(run('period-end-surge', [...baseline(), ...crunch])).toEqual([]);
  });

  it('does not flag long autonomous runs that ship: outcomes rose with usage', () => {
    const base = baseline();
    const baseOutcomes = Array.from({ length: 21 }, (_, d) => d).filter((d) => d % 7 < 5).map((d) => commits(SEP7 + d * DAY, 3));
    const surge = WINDOW.flatMap((d) => day(d, 8, 240, 60_000));
    const shipped = WINDOW.map((d) => commits(d, 40));
    expect(run('period-end-surge', [...base, ...surge], {}, [...baseOutcomes, ...shipped])).toEqual([]);
    // The same surge without the extra outcomes is flagged.
    expect(run('period-end-surge', [...base, ...surge], {}, [...baseOutcomes, ...WINDOW.map((d) => commits(d, 3))])).toHaveLength(1);
  });

  it('does not say shipped work did not rise when it rose by too little to tell', () => {
    const baseOutcomes = Array.from({ length: 21 }, (_, d) => d).filter((d) => d % 7 < 5).map((d) => commits(SEP7 + d * DAY, 1));
    const surge = WINDOW.flatMap((d) => day(d, 8, 240, 60_000));
    // Twice the usual commits (6 where 3 were usual): P(X ≥ 6 | 3) = 0.08, not a significant rise.
    const [f] = run('period-end-surge', [...baseline(), ...surge], {}, [...baseOutcomes, ...WINDOW.map((d) => commits(d, 2))]);
    expect(f?.evidence.ratios['outcomeRateRatio']).toBeCloseTo(2, 10);
    expect(f?.summary).toMatch(/ Shipped work: 6 outcomes \(commits, merged pull requests, tickets, deployments\) where about 3\.0 were usual: not significantly more\.$/);
    expect(f?.summary).not.toMatch(/did not rise/);
    // Fewer than usual: said as it is.
    const [g] = run('period-end-surge', [...baseline(), ...surge], {}, [...baseOutcomes, commits(WINDOW[0]!, 1)]);
    expect(g?.summary).toMatch(/ Shipped work: 1 outcome \(commits, merged pull requests, tickets, deployments\) where about 3\.0 were usual\.$/);
  });

  it('does not flag one big day (a spend anomaly, not a pattern)', () => {
    const one = [...day(WINDOW[0]!, 8, 40), ...day(WINDOW[1]!, 8, 400, 60_000), ...day(WINDOW[2]!, 8, 40)];
    expect(run('period-end-surge', [...baseline(), ...one])).toEqual([]);
  });

  it('tests shipped work with a Poisson upper tail', () => {
    expect(poissonUpperTail(0, 3)).toBe(1);
    expect(poissonUpperTail(1, 2)).toBeCloseTo(1 - Math.exp(-2), 12);
    expect(poissonUpperTail(12, 4)).toBeLessThan(0.01);
    expect(poissonUpperTail(5, 4)).toBeGreaterThan(0.3);
  });
});
