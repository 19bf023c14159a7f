/**
 * The three routing decision stores (memory, SQLite, Postgres on the machine's real server, in a schema of its own)
 * through one contract: decisions in once by id, misses, savings summed in the store equal to the same rows summed
 * in memory, the guard's history, and trips that survive closing the store.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MemoryDecisionStore, type RouteDecision, type RouteDecisionStore } from './decisions.js';
import type { GuardTrip } from './guard.js';
import { PostgresDecisionStore } from './postgres-decisions.js';
import { savingsFromGroups, summariseSavings } from './savings.js';
import { SqliteDecisionStore } from './sqlite-decisions.js';
import { configSchema } from '../config/schema.js';
import { createGateway } from '../gateway/server.js';
import { newKey } from '../keys/keys.js';
import { startSimProvider } from '../sim/index.js';
import { PostgresStore } from '../store/postgres/postgres-store.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import type { Store } from '../store/types.js';

const PG_URL = process.env['GOODHART_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = `gh_route_${randomBytes(4).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'goodhart-route-stores-'));
let admin: postgres.Sql;

beforeAll(async () => {
  admin = postgres(PG_URL, { max: 1, connect_timeout: 5, onnotice: () => {} });
  await admin`SELECT 1`.catch((cause: unknown) => {
    throw new Error(`PostgreSQL is not reachable at ${PG_URL} (${String(cause)}): start it as .ci/run does, or set GOODHART_TEST_PG_URL.`);
  });
  await admin`CREATE SCHEMA ${admin(SCHEMA)}`;
});
afterAll(async () => {
  await admin`DROP SCHEMA IF EXISTS ${admin(SCHEMA)} CASCADE`;
  await admin.end({ timeout: 5 });
  rmSync(dir, { recursive: true, force: true });
});

const T0 = Date.parse('2026-11-02T10:00:00Z');
const decision = (id: string, over: Partial<RouteDecision>): RouteDecision => ({
  id, at: T0, mode: 'on', applied: true, keyId: 'k1', userId: 'alice', teamId: 'platform', projectId: null, provider: 'openai',
  endpoint: 'chat.completions', taskClass: 'chat', score: 0.125, modelRequested: 'gpt-5', modelRouted: 'gpt-5-nano',
  requestedCostUsd: 0.01, routedCostUsd: 0.0004, missAt: null, ...over,
});
const DECISIONS = [
  decision('d1', {}),
  decision('d2', { at: T0 + 1_000, taskClass: 'question' }),
  decision('d3', { at: T0 + 2_000, mode: 'shadow', applied: false, modelRouted: 'gpt-5-mini', requestedCostUsd: 0.02, routedCostUsd: 0.004 }),
  decision('d4', { at: T0 + 3_000, teamId: null, userId: 'bob', requestedCostUsd: null, routedCostUsd: null, projectId: 'checkout' }),
  decision('d5', { at: T0 + 4_000, teamId: 'search', userId: 'carol', endpoint: 'messages', provider: 'anthropic', modelRequested: 'claude-opus-4-1', modelRouted: 'claude-haiku-4-5', requestedCostUsd: 0.3, routedCostUsd: 0.02 }),
];
const trip = (over: Partial<GuardTrip>): GuardTrip => ({ teamId: 'platform', taskClass: 'chat', misses: 3, routed: 20, trippedAt: T0, until: T0 + 3_600_000, ...over });

const STORES: [string, () => Promise<RouteDecisionStore>, boolean][] = [
  ['memory', async () => new MemoryDecisionStore(), false],
  ['SQLite', async () => new SqliteDecisionStore(join(dir, 'goodhart.db')), true],
  ['Postgres', () => PostgresDecisionStore.open(PG_URL, { searchPath: SCHEMA }), true],
];

describe.each(STORES)('%s decision store', (_name, open, durable) => {
  it('keeps decisions once by id, their misses, and sums savings as the in-memory summary does', async () => {
    const store = await open();
    try {
      await store.insertDecisions(DECISIONS);
      await store.insertDecisions([{ ...DECISIONS[0]!, requestedCostUsd: 99 }]); // a replay changes nothing
      await store.markMiss('d1', T0 + 60_000);
      const all = await store.listDecisions({});
      expect(all.map((d) => d.id)).toEqual(['d1', 'd2', 'd3', 'd4', 'd5']);
      expect(all[0]).toEqual({ ...DECISIONS[0], missAt: T0 + 60_000 });
      expect(all[3]).toEqual(DECISIONS[3]);
      expect((await store.listDecisions({ since: T0 + 1_000, until: T0 + 4_000, teamId: 'platform' })).map((d) => d.id)).toEqual(['d2', 'd3']);

      const report = savingsFromGroups(await store.savingsGroups({}));
      expect(report).toEqual(summariseSavings(all));
      expect(report.total).toMatchObject({ realised: { requests: 4, unpriced: 1, savedUsd: 0.2992 }, potential: { requests: 1, savedUsd: 0.016 }, misses: 1 });
      expect(savingsFromGroups(await store.savingsGroups({ teamId: 'search' })).total.realised.savedUsd).toBe(0.28);

      // The guard's history: routed (applied) decisions only, in time order, with their misses.
      expect(await store.guardHistory(T0 + 500)).toEqual([
        { teamId: 'platform', taskClass: 'question', at: T0 + 1_000, missAt: null },
        { teamId: null, taskClass: 'chat', at: T0 + 3_000, missAt: null },
        { teamId: 'search', taskClass: 'chat', at: T0 + 4_000, missAt: null },
      ]);
    } finally {
      await store.close();
    }
  });

  it('keeps the quality guard’s trips: the later end wins, expired ones are not active', async () => {
    const store = await open();
    await store.saveTrip(trip({}));
    await store.saveTrip(trip({ until: T0 + 60_000, misses: 9 })); // an earlier end does not shorten it
    await store.saveTrip(trip({ teamId: null, taskClass: 'math', until: T0 + 7_200_000 }));
    await store.saveTrip(trip({ teamId: 'search', until: T0 + 1_000 }));
    const expected = [trip({ teamId: null, taskClass: 'math', until: T0 + 7_200_000 }), trip({})];
    expect(await store.activeTrips(T0 + 2_000)).toEqual(expected);
    await store.saveTrip(trip({ until: T0 + 10_800_000, misses: 5, trippedAt: T0 + 100 }));
    expect((await store.activeTrips(T0 + 2_000)).find((t) => t.teamId === 'platform')).toEqual(trip({ until: T0 + 10_800_000, misses: 5, trippedAt: T0 + 100 }));
    await store.close();
    if (!durable) return;
    const again = await open(); // a restart
    try {
      expect((await again.activeTrips(T0 + 4_000_000)).map((t) => [t.teamId, t.taskClass, t.until])).toEqual([
        [null, 'math', T0 + 7_200_000],
        ['platform', 'chat', T0 + 10_800_000],
      ]);
    } finally {
      await again.close();
    }
  });
});

/** A gateway with routing on over the simulated provider, and a key for alice of team platform. */
async function routedGateway(store: Store, simUrl: string) {
  const config = configSchema.parse({
    providers: { openai: { type: 'openai', baseUrl: `${simUrl}/v1`, apiKey: 'sk-sim-openai' } },
    routing: { mode: 'on' },
  });
  const gateway = await createGateway({ config, store });
  const url = await gateway.listen(0, '127.0.0.1');
  const made = newKey({ userId: 'alice', teamId: 'platform', projectId: null });
  await store.createKey(made.record);
  await gateway.keys.refresh();
  return { gateway, url, made };
}

describe('a gateway on the Postgres store', () => {
  it('writes its routing decisions beside the events, where the next start (and other replicas) read them', async () => {
    const schema = `${SCHEMA}_gw`;
    await admin`CREATE SCHEMA ${admin(schema)}`;
    const sim = await startSimProvider();
    const store = await PostgresStore.open(PG_URL, { searchPath: schema, max: 2 });
    try {
      const { gateway, url, made } = await routedGateway(store, sim.url);
      const res = await fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${made.key}` },
        body: JSON.stringify({ model: 'gpt-5', messages: [{ role: 'user', content: 'What is the capital of France?' }] }),
      });
      expect(res.headers.get('x-goodhart-routed-from')).toBe('gpt-5');
      const text = await res.text();
      const served = (JSON.parse(text) as { model: string }).model;
      expect(served).toMatch(/^gpt-5-(mini|nano)/);
      await gateway.close(); // writes pending decisions
      const rows = await admin<{ user_id: string; team_id: string; applied: boolean; model_requested: string; model_routed: string }[]>`
        SELECT user_id, team_id, applied, model_requested, model_routed FROM ${admin(schema)}.route_decisions`;
      expect(rows).toEqual([{ user_id: 'alice', team_id: 'platform', applied: true, model_requested: 'gpt-5', model_routed: expect.stringMatching(/^gpt-5-(mini|nano)$/) }]);
      expect(served.startsWith(rows[0]!.model_routed)).toBe(true);
    } finally {
      await store.close();
      await sim.close();
      await admin`DROP SCHEMA IF EXISTS ${admin(schema)} CASCADE`;
    }
  });
});

describe('a gateway on a SQLite file', () => {
  it('writes its routing decisions and misses from the writer thread, never from the request thread', async () => {
    const sim = await startSimProvider();
    const db = join(dir, 'gateway.db');
    const store = new SqliteStore(db);
    const onRequestThread = vi.spyOn(SqliteDecisionStore.prototype, 'insertDecisions');
    const missOnRequestThread = vi.spyOn(SqliteDecisionStore.prototype, 'markMiss');
    try {
      const { gateway, url, made } = await routedGateway(store, sim.url);
      const ask = async (content: string, pin: boolean) => {
        const res = await fetch(`${url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${made.key}`, ...(pin ? { 'x-goodhart-route': 'off' } : {}) },
          body: JSON.stringify({ model: 'gpt-5', messages: [{ role: 'user', content }] }),
        });
        return { from: res.headers.get('x-goodhart-routed-from'), model: ((await res.json()) as { model: string }).model };
      };
      const q = 'In which year did the Berlin Wall fall, and what was the name of the country it divided?';
      expect((await ask(q, false)).from).toBe('gpt-5');
      // The same person re-asking on the premium model within minutes: a miss for the routed decision.
      expect((await ask(`${q} Please be precise.`, true)).model).toMatch(/^gpt-5(-\d|$)/);
      await new Promise((resolve) => setTimeout(resolve, 200)); // the guard matches the re-ask after the response
      await gateway.close(); // writes pending decisions, then closes the writer thread
      const raw = new Database(db, { readonly: true });
      const rows = raw.prepare('SELECT user_id, team_id, applied, model_requested, miss_at IS NOT NULL AS missed FROM route_decisions').all();
      const rolled = raw.prepare('SELECT team_key, requests, misses FROM route_savings_hourly').all();
      raw.close();
      expect(rows).toEqual([{ user_id: 'alice', team_id: 'platform', applied: 1, model_requested: 'gpt-5', missed: 1 }]);
      expect(rolled).toEqual([{ team_key: 'platform', requests: 1, misses: 1 }]);
      expect(onRequestThread).not.toHaveBeenCalled();
      expect(missOnRequestThread).not.toHaveBeenCalled();
    } finally {
      onRequestThread.mockRestore();
      missOnRequestThread.mockRestore();
      await store.close();
      await sim.close();
    }
  });
});
