import { describe, expect, it } from 'vitest';
import type { Finding } from '../../detect/types.js';
import { SqliteStore } from './sqlite-store.js';

const finding = (over: Partial<Finding>): Finding => ({
  id: 'f1',
  rule: 'rephrase-loop',
  subject: { kind: 'user', id: 'alice' },
  userId: 'alice',
  teamId: 'team-a',
  sessionId: null,
  start: 1_000,
  end: 2_000,
  evidence: { counts: { prompts: 5 }, ratios: { meanSimilarity: 0.7 }, requestIds: ['e1', 'e2'] },
  wastedUsd: 1.25,
  wasteMethod: 'method',
  confidence: 0.8,
  summary: 'summary',
  suggestion: 'suggestion',
  detectedAt: 3_000,
  ...over,
});

describe('SqliteFindingsTables', () => {
  it('upserts by id, filters by user, team, rule and time, newest first', async () => {
    const store = new SqliteStore(':memory:');
    const f = store.findings;
    await f.upsertFindings([
      finding({}),
      finding({ id: 'f2', rule: 'fan-out', userId: 'bob', teamId: 'team-b', subject: { kind: 'user', id: 'bob' }, start: 5_000, end: 6_000 }),
      finding({ id: 'f3', rule: 'spend-anomaly', userId: null, teamId: 'team-a', subject: { kind: 'team', id: 'team-a' }, start: 9_000, end: 9_500 }),
    ]);
    await f.upsertFindings([finding({ wastedUsd: 2.5 })]);
    const all = await f.listFindings({});
    expect(all.map((x) => x.id)).toEqual(['f3', 'f2', 'f1']);
    expect(all[2]!.wastedUsd).toBe(2.5);
    expect(all[2]!.evidence).toEqual({ counts: { prompts: 5 }, ratios: { meanSimilarity: 0.7 }, requestIds: ['e1', 'e2'] });
    expect((await f.listFindings({ userId: 'bob' })).map((x) => x.id)).toEqual(['f2']);
    expect((await f.listFindings({ teamId: 'team-a' })).map((x) => x.id)).toEqual(['f3', 'f1']);
    expect((await f.listFindings({ rule: 'fan-out' })).map((x) => x.id)).toEqual(['f2']);
    expect((await f.listFindings({ since: 5_500, until: 9_100 })).map((x) => x.id)).toEqual(['f3', 'f2']);
    expect((await f.listFindings({ limit: 1 })).map((x) => x.id)).toEqual(['f3']);
    expect(await f.deleteFindings({ since: 0, until: 6_000, rules: ['rephrase-loop'] })).toBe(1);
    expect((await f.listFindings({})).map((x) => x.id)).toEqual(['f3', 'f2']);
    await store.close();
  });
});
