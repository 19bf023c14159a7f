import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runRoutingSavings } from '../cli/commands/routing.js';
import { configSchema } from '../config/schema.js';
import type { RouteDecision } from './decisions.js';
import { savingsFromGroups, summariseSavings } from './savings.js';
import { SqliteDecisionStore } from './sqlite-decisions.js';

let n = 0;
function decision(over: Partial<RouteDecision>): RouteDecision {
  n++;
  return {
    id: `d${String(n).padStart(3, '0')}`,
    at: Date.parse('2026-11-02T10:00:00Z') + n,
    mode: 'on',
    applied: true,
    keyId: 'k1',
    userId: 'alice',
    teamId: 'platform',
    projectId: null,
    provider: 'openai',
    endpoint: 'chat.completions',
    taskClass: 'chat',
    score: 0.1,
    modelRequested: 'gpt-5',
    modelRouted: 'gpt-5-nano',
    requestedCostUsd: 0.01,
    routedCostUsd: 0.0004,
    missAt: null,
    ...over,
  };
}

const DECISIONS = [
  decision({}),
  decision({ missAt: Date.parse('2026-11-02T10:03:00Z') }),
  decision({ mode: 'shadow', applied: false, modelRouted: 'gpt-5-mini', requestedCostUsd: 0.02, routedCostUsd: 0.004 }),
  decision({ teamId: 'search', userId: 'bob', mode: 'shadow', applied: false, requestedCostUsd: 0.1, routedCostUsd: 0.004 }),
  decision({ teamId: 'search', userId: 'bob', requestedCostUsd: null, routedCostUsd: null }),
];

describe('routing savings', () => {
  it('adds realised (on) and potential (shadow) savings per team and model pair', () => {
    const r = summariseSavings(DECISIONS);
    expect(r.rows.map((x) => [x.teamId, x.modelRouted, x.realised.requests, x.realised.savedUsd, x.potential.requests, x.potential.savedUsd, x.misses])).toEqual([
      ['platform', 'gpt-5-nano', 2, 0.0192, 0, 0, 1],
      ['platform', 'gpt-5-mini', 0, 0, 1, 0.016, 0],
      ['search', 'gpt-5-nano', 1, 0, 1, 0.096, 0],
    ]);
    expect(r.rows[2]!.realised.unpriced).toBe(1);
    expect(r.total).toMatchObject({
      realised: { requests: 3, savedUsd: 0.0192, requestedUsd: 0.02, routedUsd: 0.0008, unpriced: 1 },
      potential: { requests: 2, savedUsd: 0.112 },
      misses: 1,
    });
    expect(r.teams.map((t) => [t.teamId, t.realised.savedUsd, t.potential.savedUsd])).toEqual([
      ['platform', 0.0192, 0.016],
      ['search', 0, 0.096],
    ]);
  });

  it('`goodhart routing savings` reads the decisions the gateway stored in SQLite', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'goodhart-route-'));
    try {
      const db = join(dir, 'goodhart.db');
      const store = new SqliteDecisionStore(db);
      await store.insertDecisions(DECISIONS);
      await store.insertDecisions(DECISIONS.slice(0, 1)); // a replay is ignored
      await store.markMiss('d001', 1);
      expect((await store.listDecisions({ teamId: 'search' })).map((d) => d.id)).toEqual(['d004', 'd005']);
      // The GROUP BY in SQLite sums to what the in-memory summary of the same rows gives.
      const stored = await store.listDecisions({});
      expect(savingsFromGroups(await store.savingsGroups({}))).toEqual(summariseSavings(stored));
      expect(savingsFromGroups(await store.savingsGroups({ teamId: 'platform', since: DECISIONS[1]!.at }))).toEqual(
        summariseSavings(stored.filter((d) => d.teamId === 'platform' && d.at >= DECISIONS[1]!.at)),
      );
      await store.close();

      const json = JSON.parse(await runRoutingSavings({ db, json: true, team: 'platform' })) as ReturnType<typeof summariseSavings>;
      expect(json.total).toMatchObject({ realised: { requests: 2, savedUsd: 0.0192 }, potential: { requests: 1, savedUsd: 0.016 }, misses: 2 });
      const text = await runRoutingSavings({ db });
      expect(text).toContain('gpt-5 → gpt-5-nano');
      expect(text.split('\n').find((l) => l.includes('Total'))).toMatch(/Total.*3.*0\.0192.*2.*0\.1120.*2/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('routing config', () => {
  it('is off by default, with the default ladders and calibrated thresholds', () => {
    const { routing } = configSchema.parse({});
    expect(routing.mode).toBe('off');
    expect(routing.ladders.openai).toEqual(['gpt-5', 'gpt-5-mini', 'gpt-5-nano']);
    expect(routing.thresholds[0]!).toBeGreaterThan(routing.thresholds[1]!);
  });

  it('names the problem in a bad section', () => {
    const bad = configSchema.safeParse({ routing: { mode: 'maybe', thresholds: [0.1, 0.3], ladders: { a: ['x', 'y'], b: ['y', 'z'] } } });
    expect(bad.success).toBe(false);
    const messages = bad.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n');
    expect(messages).toMatch(/routing\.mode/);
    expect(messages).toMatch(/thresholds must not increase/);
    const dup = configSchema.safeParse({ routing: { ladders: { a: ['x', 'y'], b: ['y', 'z'] } } });
    expect(dup.error!.issues[0]).toMatchObject({ path: ['routing', 'ladders', 'b'], message: '"y" is already on the a ladder: a model may be on one ladder only' });
  });
});
