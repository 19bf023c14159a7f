import { describe, expect, it } from 'vitest';
import { analyseOutcomes } from './analyse.js';
import { countOutcomes } from './counted.js';
import { pearson, trend } from './metrics.js';
import { makeOutcome, makeSlice, testConfig } from './testing.js';

const H = 3_600_000;
const D = 24 * H;
const W = 7 * D;
/** A Monday. */
const since = Date.parse('2026-03-02T00:00:00Z');
const until = since + 4 * W;

const config = testConfig({ users: [{ id: 'ann', team: 'core' }, { id: 'zed', team: 'core' }, { id: 'kim', team: 'data' }] });

describe('which outcomes count', () => {
  it('uses Claude Code\'s OTel commit counts only for weeks git reported nothing for that person', () => {
    const otelA = makeOutcome({ source: 'otel', count: 3, at: since + D });
    const gitA = makeOutcome({ source: 'git', at: since + 2 * D, sha: 'a'.repeat(40) });
    const otelB = makeOutcome({ source: 'otel', count: 2, at: since + W + D });
    const opened = makeOutcome({ source: 'otel', kind: 'pull_request', at: since + D });
    const lines = makeOutcome({ source: 'otel', kind: 'lines_of_code', count: 400, at: since + D });
    const r = countOutcomes([otelA, gitA, otelB, opened, lines], { revertWindowMs: 14 * D });
    expect(r.counted.map((o) => [o.id, o.count])).toEqual([[gitA.id, 1], [otelB.id, 2]]);
    expect(r.telemetryReplaced).toBe(3);
  });

  it("uses Claude Code analytics' commit counts only for weeks git and webhooks reported nothing for that person", () => {
    // import-git saw alice's 2 commits; analytics says 2 commits by Claude Code that day: the same 2.
    const git = [makeOutcome({ source: 'git', at: since + D, sha: 'b'.repeat(40) }), makeOutcome({ source: 'github', at: since + D + 3_600_000, sha: 'c'.repeat(40) })];
    const analytics = makeOutcome({ source: 'anthropic-claude-code', count: 2, at: since + D });
    const laterWeek = makeOutcome({ source: 'anthropic-claude-code', count: 5, at: since + W + D });
    const r = countOutcomes([...git, analytics, laterWeek], { revertWindowMs: 14 * D });
    expect(r.counted.map((o) => [o.id, o.count])).toEqual([[git[0]!.id, 1], [git[1]!.id, 1], [laterWeek.id, 5]]);
    expect(r.telemetryReplaced).toBe(2);
  });

  it("leaves bots' outcomes out of everyone's counts, unless outcomes.countBots", () => {
    const bumps = [
      makeOutcome({ kind: 'pull_request_merged', prNumber: 7, userId: 'dependabot[bot]@github.com', teamId: null, source: 'github', attrs: { authorLogin: 'dependabot[bot]', authorHost: 'github.com' } }),
      makeOutcome({ kind: 'commit', sha: 'd'.repeat(40), userId: '49699333+dependabot[bot]@users.noreply.github.com', teamId: null, source: 'github', attrs: { authorEmail: '49699333+dependabot[bot]@users.noreply.github.com' } }),
      makeOutcome({ kind: 'pull_request_merged', prNumber: 8, teamId: null, source: 'gitlab', attrs: { authorLogin: 'project_42_bot_3f2a9c', authorHost: 'gitlab.com' } }),
      makeOutcome({ kind: 'commit', sha: 'e'.repeat(40), teamId: null, source: 'git', attrs: { authorEmail: 'release-bot@acme.com' } }),
    ];
    const ann = makeOutcome({ kind: 'commit', sha: 'f'.repeat(40), attrs: { authorEmail: 'ann@acme.com' } });
    const rows = (outcomes: Record<string, unknown>) => {
      const cfg = testConfig({ users: [{ id: 'ann', team: 'core' }], outcomes: { people: [{ user: 'ann', emails: ['ann@acme.com'] }], ...outcomes } });
      const r = analyseOutcomes({ slices: [], outcomes: [...bumps, ann], since, until, config: cfg, now: 0 });
      return [r.counted.length, r.rows('org')[0]?.outcomes.total];
    };
    expect(rows({ bots: ['Release-Bot@acme.com'] })).toEqual([1, 1]);
    expect(rows({})).toEqual([2, 2]);
    expect(rows({ countBots: true })).toEqual([5, 5]);
  });

  it('re-attributes from the recorded author with the current people mapping', () => {
    const o = makeOutcome({ userId: 'old@acme.com', teamId: null, attrs: { authorEmail: 'ann@acme.com' } });
    const cfg = testConfig({ users: [{ id: 'ann', team: 'core' }], outcomes: { people: [{ user: 'ann', emails: ['ann@acme.com'] }] } });
    const r = analyseOutcomes({ slices: [], outcomes: [o], since: o.at - 1, until: o.at + 1, config: cfg, now: 0 });
    expect(r.counted[0]).toMatchObject({ userId: 'ann', teamId: 'core' });
  });
});

describe('efficiency metrics', () => {
  // Ann: $40 a week on repo app; 3 commits and 1 merged PR a week. Zed: $100 a week, one commit in four weeks.
  const slices = [0, 1, 2, 3].flatMap((w) => [
    makeSlice({ userId: 'ann', teamId: 'core', repo: 'github.com/acme/app', start: since + w * W + D, costUsd: 40, tokens: 400_000 }),
    makeSlice({ userId: 'zed', teamId: 'core', repo: 'github.com/acme/app', start: since + w * W + D, costUsd: 100, tokens: 2_000_000 }),
  ]);
  const outcomes = [0, 1, 2, 3].flatMap((w) => [
    ...[1, 2, 3].map((i) => makeOutcome({ id: `a${w}${i}`, userId: 'ann', at: since + w * W + D + i * H, sha: `${w}${i}`.padEnd(40, '0') })),
    makeOutcome({ id: `p${w}`, userId: 'ann', kind: 'pull_request_merged', prNumber: w + 1, at: since + w * W + 2 * D, tickets: [`PROJ-${w}`] }),
  ]);
  outcomes.push(makeOutcome({ id: 'z1', userId: 'zed', at: since + 3 * W + 2 * D }));
  const a = analyseOutcomes({ slices, outcomes, since, until, config, now: until });

  it('computes cost per outcome, per commit, per merged PR, per ticket and tokens per outcome', () => {
    const ann = a.rows('user').find((r) => r.subject.id === 'ann')!;
    expect(ann).toMatchObject({
      spendUsd: 160, outcomes: { commits: 12, mergedPrs: 4, tickets: 4, deployments: 0, custom: 0, total: 16 },
      costPerOutcome: 10, costPerCommit: 160 / 12, costPerMergedPr: 40, costPerTicket: 40, tokensPerOutcome: 100_000, linkedShare: 1,
    });
    expect(ann.linkedBy['person-project-window']).toBeCloseTo(160);
    const zed = a.rows('user').find((r) => r.subject.id === 'zed')!;
    expect(zed).toMatchObject({ spendUsd: 400, costPerOutcome: 400, linkedUsd: 100, linkedShare: 0.25 });
  });

  it('aggregates per team, with weekly points, the spend/outcome correlation and the trend', () => {
    const [core] = a.rows('team');
    expect(core).toMatchObject({ subject: { kind: 'team', id: 'core' }, spendUsd: 560, costPerOutcome: 560 / 17 });
    expect(core!.weekly.map((w) => [w.week, w.spendUsd, w.outcomes])).toEqual([
      ['2026-03-02', 140, 4], ['2026-03-09', 140, 4], ['2026-03-16', 140, 4], ['2026-03-23', 140, 5],
    ]);
    // Spend is flat while outcomes move: no correlation to speak of (undefined: spend never varies).
    expect(core!.spendOutcomeCorrelation).toBeNull();
    // The last two weeks bought 9 outcomes for what the first two bought 8 with: 11% cheaper per outcome.
    expect(core!.trend.change).toBeCloseTo(8 / 9 - 1);
    expect(core!.trend.direction).toBe('improving');
  });

  it('asks about weeks of large spend with nothing linked, as a question that claims no waste', () => {
    expect(a.questions.map((q) => [q.userId, new Date(q.start).toISOString().slice(0, 10)])).toEqual([
      ['zed', '2026-03-02'], ['zed', '2026-03-09'], ['zed', '2026-03-16'],
    ]);
    const q = a.questions[0]!;
    expect(q).toMatchObject({ rule: 'spend-without-outcome', wastedUsd: 0, subject: { kind: 'user', id: 'zed' } });
    expect(q.summary).toBe('$100.00 of AI spend in the week of 2026-03-02 (on github.com/acme/app), 20 requests, is not linked to any commit, pull request, ticket or deployment.');
    expect(q.suggestion).toMatch(/^What was it for\? Research, learning and experiments are good reasons/);
  });

  it('asks nothing when the organisation records no outcomes at all', () => {
    expect(analyseOutcomes({ slices, outcomes: [], since, until, config, now: until }).questions).toEqual([]);
  });
});

describe('statistics', () => {
  it('pearson', () => {
    expect(pearson([1, 2, 3, 4], [2, 4, 6, 8])).toBeCloseTo(1);
    expect(pearson([1, 2, 3, 4], [8, 6, 4, 2])).toBeCloseTo(-1);
    expect(pearson([1, 2], [1, 2])).toBeNull();
  });

  it('trend compares the later half with the earlier', () => {
    const w = (spendUsd: number, outcomes: number) => ({ week: '', spendUsd, outcomes, costPerOutcome: null });
    expect(trend([w(100, 10), w(100, 10), w(100, 20), w(100, 20)])).toEqual({ change: -0.5, direction: 'improving' });
    expect(trend([w(100, 10), w(100, 5)])).toEqual({ change: 1, direction: 'worsening' });
    expect(trend([w(100, 0), w(100, 5)]).direction).toBe('unknown');
  });
});
