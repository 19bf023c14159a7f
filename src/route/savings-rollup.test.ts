import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { createRng as rng } from '../sim/random.js';
import type { RouteDecision } from './decisions.js';
import { groupDecisions, savingsFromGroups } from './savings.js';
import { SqliteDecisionStore } from './sqlite-decisions.js';

/**
 * The SQLite decision store sums savings from an hourly rollup plus the partial hours at the ends of a range: the
 * answer must equal summing the same decisions one by one, for any range, team, retried batch and miss.
 */
const dir = mkdtempSync(join(tmpdir(), 'goodhart-savings-rollup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T0 = Date.parse('2026-11-02T00:00:00Z');
const HOUR = 3_600_000;

function decisions(n: number, rand: () => number): RouteDecision[] {
  const teams = ['core', 'data', null] as const;
  return Array.from({ length: n }, (_, i) => {
    const priced = rand() > 0.1;
    const requested = Math.round(rand() * 20_000) / 1e6;
    const applied = rand() > 0.5;
    return {
      id: `d${i}`, at: T0 + Math.floor(rand() * 48 * HOUR), mode: applied ? 'on' : 'shadow', applied, keyId: 'k', userId: `u${i % 7}`,
      teamId: teams[i % 3]!, projectId: null, provider: 'openai', endpoint: 'chat.completions', taskClass: 'chat', score: 0.1,
      modelRequested: i % 4 === 0 ? 'o3' : 'gpt-5', modelRouted: 'gpt-5-nano', requestedCostUsd: priced ? requested : null,
      routedCostUsd: priced ? Math.round(requested * 1e6 / 16) / 1e6 : null, missAt: applied && rand() < 0.05 ? T0 : null,
    } satisfies RouteDecision;
  });
}

const inRange = (f: { since?: number; until?: number; teamId?: string }) => (d: RouteDecision) =>
  (f.since === undefined || d.at >= f.since) && (f.until === undefined || d.at < f.until) && (f.teamId === undefined || d.teamId === f.teamId);

describe('SQLite savings rollup', () => {
  it('equals summing the decisions one by one, for any range and team', async () => {
    const rand = rng(11);
    const all = decisions(3_000, rand);
    const store = new SqliteDecisionStore(join(dir, 'a.db'));
    // In three batches, the second sent twice (a retried flush): stored and counted once.
    await store.insertDecisions(all.slice(0, 1_000));
    await store.insertDecisions(all.slice(1_000, 2_000));
    await store.insertDecisions(all.slice(500, 2_000));
    await store.insertDecisions(all.slice(2_000));
    // Misses marked after the fact, one of them twice.
    const missed = all.filter((d) => d.applied && d.missAt === null).slice(0, 40);
    for (const d of missed) await store.markMiss(d.id, d.at + 60_000);
    await store.markMiss(missed[0]!.id, missed[0]!.at + 120_000);
    const truth = all.map((d) => (missed.some((m) => m.id === d.id) ? { ...d, missAt: d.at + 60_000 } : d));

    const ranges: { since?: number; until?: number; teamId?: string }[] = [{}, { teamId: 'data' }, { since: T0 + 5 * HOUR }, { until: T0 + 30 * HOUR + 1 }];
    for (let i = 0; i < 40; i++) {
      const a = T0 - HOUR + Math.floor(rand() * 50 * HOUR);
      const b = a + Math.floor(rand() * (i < 10 ? HOUR : 20 * HOUR));
      ranges.push({ since: a, until: b, ...(i % 3 === 0 ? { teamId: 'core' } : {}) });
    }
    ranges.push({ since: T0 + 2 * HOUR, until: T0 + 7 * HOUR }); // whole hours only
    for (const f of ranges) {
      const got = savingsFromGroups(await store.savingsGroups(f));
      expect(got, JSON.stringify(f)).toEqual(savingsFromGroups(groupDecisions(truth.filter(inRange(f)))));
    }
    const total = savingsFromGroups(await store.savingsGroups({})).total;
    expect(total.realised.requests + total.potential.requests).toBe(3_000);
    expect(total.misses).toBe(truth.filter((d) => d.missAt !== null).length);
    await store.close();
  });

  it('is filled from the decisions already there when a file from before it is opened', async () => {
    const path = join(dir, 'b.db');
    const all = decisions(500, rng(5));
    const first = new SqliteDecisionStore(path);
    await first.insertDecisions(all);
    await first.close();
    const raw = new Database(path);
    // As a file from before the rollup: no table, no triggers. (A file with only some of them is rebuilt alike.)
    raw.exec('DROP TRIGGER route_savings_insert; DROP TRIGGER route_savings_update; DROP TRIGGER route_savings_delete; DROP TABLE route_savings_hourly');
    raw.close();
    const reopened = new SqliteDecisionStore(path);
    const f = { since: T0 + 3 * HOUR + 17, until: T0 + 40 * HOUR - 5 };
    expect(savingsFromGroups(await reopened.savingsGroups(f))).toEqual(savingsFromGroups(groupDecisions(all.filter(inRange(f)))));
    expect(savingsFromGroups(await reopened.savingsGroups({})).total.potential.requests).toBe(all.filter((d) => !d.applied).length);
    await reopened.close();
  });

  it('stays exact for writers that know nothing of it: raw inserts, updates and deletes of decisions', async () => {
    const path = join(dir, 'c.db');
    const all = decisions(300, rng(9));
    const store = new SqliteDecisionStore(path);
    await store.insertDecisions(all.slice(0, 200));
    // Another writer (an older goodhart, a script) on the same file: plain SQL on the decisions table.
    const raw = new Database(path);
    const insert = raw.prepare(`INSERT INTO route_decisions VALUES (@id, @at, @mode, @applied, @keyId, @userId, @teamId, @projectId,
      @provider, @endpoint, @taskClass, @score, @modelRequested, @modelRouted, @requestedCostUsd, @routedCostUsd, @missAt)`);
    for (const d of all.slice(200)) insert.run({ ...d, applied: d.applied ? 1 : 0 });
    raw.prepare("UPDATE route_decisions SET team_id = 'moved', miss_at = 1 WHERE id IN ('d3', 'd4', 'd250')").run();
    raw.prepare("DELETE FROM route_decisions WHERE id IN ('d5', 'd260')").run();
    raw.close();
    const truth = all
      .filter((d) => d.id !== 'd5' && d.id !== 'd260')
      .map((d) => (['d3', 'd4', 'd250'].includes(d.id) ? { ...d, teamId: 'moved', missAt: 1 } : d));
    for (const f of [{}, { teamId: 'moved' }, { since: T0 + 7 * HOUR + 1, until: T0 + 31 * HOUR - 1 }]) {
      expect(savingsFromGroups(await store.savingsGroups(f)), JSON.stringify(f)).toEqual(savingsFromGroups(groupDecisions(truth.filter(inRange(f)))));
    }
    await store.close();
  });
});
