import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng as rng } from '../sim/random.js';
import { decisionToRow } from './decision-rows.js';
import type { RouteDecision, RouteDecisionStore } from './decisions.js';
import { PostgresDecisionStore } from './postgres-decisions.js';
import { groupDecisions, savingsFromGroups } from './savings.js';
import { SqliteDecisionStore } from './sqlite-decisions.js';

/**
 * The SQLite and Postgres decision stores sum savings from an hourly rollup plus the partial hours at the ends of a
 * range: the answer must equal summing the same decisions one by one, for any range, team, retried batch and miss,
 * also after other writers changed the decisions with plain SQL, and for a database from before the rollup.
 */
const dir = mkdtempSync(join(tmpdir(), 'goodhart-savings-rollup-'));
const PG_URL = process.env['GOODHART_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = `gh_savings_${randomBytes(4).toString('hex')}`;
let admin: postgres.Sql;

beforeAll(async () => {
  admin = postgres(PG_URL, { max: 1, connect_timeout: 5, onnotice: () => {} });
  await admin`SELECT 1`.catch((cause: unknown) => {
    throw new Error(`PostgreSQL is not reachable at ${PG_URL} (${String(cause)}): start it as .ci/run does, or set GOODHART_TEST_PG_URL.`);
  });
});
afterAll(async () => {
  await admin`SELECT nspname FROM pg_namespace WHERE nspname LIKE ${`${SCHEMA}%`}`.then((rows) =>
    Promise.all(rows.map((r) => admin`DROP SCHEMA ${admin(r['nspname'] as string)} CASCADE`)),
  );
  await admin.end({ timeout: 5 });
  rmSync(dir, { recursive: true, force: true });
});

/** A store of one kind in a database of its own (`name`), and plain SQL on that database as another writer. */
interface Kind {
  open(name: string): Promise<RouteDecisionStore>;
  /** Runs SQL on the database. */
  exec(name: string, sql: string): Promise<void>;
  /** Inserts a decision with plain SQL. */
  insertRaw(name: string, d: RouteDecision): Promise<void>;
  /** Makes the database one from before the rollup: no table, no triggers. */
  unroll(name: string): Promise<void>;
}

const sqlite: Kind = {
  open: async (name) => new SqliteDecisionStore(join(dir, `${name}.db`)),
  exec: async (name, sql) => {
    const raw = new Database(join(dir, `${name}.db`));
    raw.prepare(sql).run();
    raw.close();
  },
  insertRaw: (name, d) => {
    const raw = new Database(join(dir, `${name}.db`));
    raw.prepare(`INSERT INTO route_decisions VALUES (${Array(17).fill('?').join(', ')})`).run(...rawValues(d));
    raw.close();
    return Promise.resolve();
  },
  unroll: async (name) => {
    const raw = new Database(join(dir, `${name}.db`));
    raw.exec('DROP TRIGGER route_savings_insert; DROP TRIGGER route_savings_update; DROP TRIGGER route_savings_delete; DROP TABLE route_savings_hourly');
    raw.close();
  },
};

/** A decision's columns in table order (the stores' own row mapping; applied as SQLite's 0/1). */
const rawValues = (d: RouteDecision): unknown[] => Object.values(decisionToRow(d));

async function inSchema(name: string, run: (tx: postgres.TransactionSql) => Promise<unknown>): Promise<void> {
  await admin.begin(async (tx) => {
    await tx.unsafe(`SET LOCAL search_path = ${SCHEMA}_${name}`);
    await run(tx);
  });
}

const pg: Kind = {
  open: async (name) => {
    await admin`CREATE SCHEMA IF NOT EXISTS ${admin(`${SCHEMA}_${name}`)}`;
    return PostgresDecisionStore.open(PG_URL, { searchPath: `${SCHEMA}_${name}` });
  },
  exec: (name, sql) => inSchema(name, (tx) => tx.unsafe(sql)),
  insertRaw: (name, d) =>
    inSchema(name, (tx) => {
      const values = rawValues(d);
      values[3] = d.applied;
      return tx.unsafe(`INSERT INTO route_decisions VALUES (${values.map((_, i) => `$${i + 1}`).join(', ')})`, values as never[]);
    }),
  // As a database at routing migration 1: migration 2 (the rollup) applies again on the next open.
  unroll: (name) =>
    inSchema(name, (tx) => tx.unsafe('DROP TABLE route_savings_hourly; DROP FUNCTION route_savings_apply() CASCADE; DELETE FROM route_migrations WHERE version >= 2')),
};

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

describe.each([['SQLite', sqlite], ['Postgres', pg]] as const)('%s savings rollup', (_name, kind) => {
  it('equals summing the decisions one by one, for any range and team', async () => {
    const rand = rng(11);
    const all = decisions(3_000, rand);
    const store = await kind.open('a');
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
    // No team is named '': nothing, though the rollup keys teamless decisions so.
    ranges.push({ teamId: '' }, { since: T0 + HOUR / 2, until: T0 + 20 * HOUR + 5, teamId: '' });
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
    const all = decisions(500, rng(5));
    const first = await kind.open('b');
    await first.insertDecisions(all);
    await first.close();
    await kind.unroll('b');
    const reopened = await kind.open('b');
    const f = { since: T0 + 3 * HOUR + 17, until: T0 + 40 * HOUR - 5 };
    expect(savingsFromGroups(await reopened.savingsGroups(f))).toEqual(savingsFromGroups(groupDecisions(all.filter(inRange(f)))));
    expect(savingsFromGroups(await reopened.savingsGroups({})).total.potential.requests).toBe(all.filter((d) => !d.applied).length);
    await reopened.close();
  });

  it('stays exact for writers that know nothing of it: raw inserts, updates and deletes of decisions', async () => {
    const all = decisions(300, rng(9));
    const store = await kind.open('c');
    await store.insertDecisions(all.slice(0, 200));
    // Another writer (an older goodhart, a script) on the same database: plain SQL on the decisions table.
    for (const d of all.slice(200)) await kind.insertRaw('c', d);
    await kind.exec('c', "UPDATE route_decisions SET team_id = 'moved', miss_at = 1 WHERE id IN ('d3', 'd4', 'd250')");
    await kind.exec('c', "DELETE FROM route_decisions WHERE id IN ('d5', 'd260')");
    const truth = all
      .filter((d) => d.id !== 'd5' && d.id !== 'd260')
      .map((d) => (['d3', 'd4', 'd250'].includes(d.id) ? { ...d, teamId: 'moved', missAt: 1 } : d));
    for (const f of [{}, { teamId: 'moved' }, { since: T0 + 7 * HOUR + 1, until: T0 + 31 * HOUR - 1 }]) {
      expect(savingsFromGroups(await store.savingsGroups(f)), JSON.stringify(f)).toEqual(savingsFromGroups(groupDecisions(truth.filter(inRange(f)))));
    }
    await store.close();
  });
});
