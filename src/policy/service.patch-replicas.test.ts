import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../config/schema.js';
import { PostgresGovernanceStore } from '../store/postgres/governance-store.js';
import { SqliteGovernanceStore } from '../store/sqlite/governance-store.js';
import { TEST_PG_URL, testSchemas } from '../testing/pg-schemas.js';
import { createPricer } from '../usage/pricing.js';
import { Directory } from './directory.js';
import { GovernanceEngine } from './engine.js';
import { GovernanceService, type Actor } from './service.js';
import type { GovernanceStore } from './store.js';

/**
 * Replicas share the governance store: a PATCH merges into the entity as stored when it writes, not into the copy
 * its replica read earlier, so two PATCHes of different fields on different replicas both stay.
 */

const T0 = Date.parse('2026-12-01T10:00:00Z');
const ops: Actor = { id: 'admin-key:ops', userId: null, teamId: null, roleId: 'admin', permissions: new Set(['manage', 'budgets', 'approve', 'audit']) };
const config = configSchema.parse({ teams: [{ id: 'platform' }], budgets: [{ id: 'platform-monthly', scope: 'team:platform', amount: 100, period: 'month' }] });

async function replica(store: GovernanceStore): Promise<GovernanceService> {
  const engine = new GovernanceEngine({ spec: new Directory(config).spec(), pricer: createPricer(), now: () => T0, reservationTtlMs: 600_000 });
  return GovernanceService.open(config, store, engine, () => T0);
}

const budget = async (s: GovernanceService) => {
  await s.reload();
  return s.get(ops, 'budget', 'platform-monthly').data;
};

function patchCases(open: () => Promise<{ stores: [GovernanceStore, GovernanceStore]; close(): Promise<void> }>): void {
  it('keeps an edit made on another replica a moment before', async () => {
    const { stores, close } = await open();
    const [a, b] = [await replica(stores[0]), await replica(stores[1])];
    await a.patch(ops, 'budget', 'platform-monthly', { amount: 250 });
    // b has not reloaded: its copy still says 100.
    await b.patch(ops, 'budget', 'platform-monthly', { period: 'week' });
    expect(await budget(a)).toMatchObject({ amount: 250, period: 'week' });
    expect(await budget(b)).toMatchObject({ amount: 250, period: 'week' });
    await close();
  });

  it('keeps both of two PATCHes of different fields made at once on two replicas', async () => {
    const { stores, close } = await open();
    const [a, b] = [await replica(stores[0]), await replica(stores[1])];
    await Promise.all([a.patch(ops, 'budget', 'platform-monthly', { amount: 250 }), b.patch(ops, 'budget', 'platform-monthly', { period: 'week' })]);
    expect(await budget(a)).toMatchObject({ amount: 250, period: 'week' });
    const audit = await stores[0].listAudit({ targetId: 'platform-monthly' });
    // The later of the two merged into the earlier one's change: its audit entry holds both.
    expect(audit.map((e) => e.after)).toEqual([expect.objectContaining({ amount: 250, period: 'week' }), expect.anything()]);
    await close();
  });
}

describe('PATCH on two replicas, SQLite', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'goodhart-patch-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  patchCases(async () => {
    const file = join(dir, `gov-${++n}.db`);
    const stores: [GovernanceStore, GovernanceStore] = [new SqliteGovernanceStore(file), new SqliteGovernanceStore(file)];
    return { stores, close: async () => void (await Promise.all(stores.map((s) => s.close()))) };
  });
});

describe('PATCH on two replicas, Postgres', () => {
  const pg = testSchemas('gh_patch');
  patchCases(async () => {
    const searchPath = await pg.fresh();
    const stores: [GovernanceStore, GovernanceStore] = [await PostgresGovernanceStore.open(TEST_PG_URL, { searchPath }), await PostgresGovernanceStore.open(TEST_PG_URL, { searchPath })];
    return { stores, close: async () => void (await Promise.all(stores.map((s) => s.close()))) };
  });
});
