/**
 * The Postgres governance tables against the machine's real PostgreSQL, each case in a schema of its own (dropped
 * at the end), through the same contract as SQLite's; plus what only Postgres has to show.
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGovernanceStoreContract } from '../governance-store-contract.js';
import { PostgresGovernanceStore } from './governance-store.js';
import { PostgresStore } from './postgres-store.js';
import { OverlayChanged } from '../../policy/store.js';

const PG_URL = process.env['GOODHART_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const RUN = `gh_gov_${randomBytes(4).toString('hex')}`;
const schemas: string[] = [];
let admin: postgres.Sql;

beforeAll(async () => {
  admin = postgres(PG_URL, { max: 2, connect_timeout: 5, onnotice: () => {} });
  await admin`SELECT 1`.catch((cause: unknown) => {
    throw new Error(`PostgreSQL is not reachable at ${PG_URL} (${String(cause)}): start it as .ci/run does, or set GOODHART_TEST_PG_URL.`);
  });
});
afterAll(async () => {
  for (const s of schemas) await admin`DROP SCHEMA IF EXISTS ${admin(s)} CASCADE`;
  await admin.end({ timeout: 5 });
});

async function freshSchema(): Promise<string> {
  const schema = `${RUN}_${schemas.length + 1}`;
  schemas.push(schema);
  await admin`CREATE SCHEMA ${admin(schema)}`;
  return schema;
}

describe('PostgresGovernanceStore', () => {
  runGovernanceStoreContract(async () => {
    const schema = await freshSchema();
    const store = await PostgresStore.open(PG_URL, { searchPath: schema, max: 2 });
    const gov = await PostgresGovernanceStore.open(PG_URL, { searchPath: schema });
    return {
      gov,
      store,
      raw: (sql) => admin.unsafe(`SET search_path TO ${schema}; ${sql}`),
      async close() {
        await gov.close();
        await store.close();
      },
    };
  });

  it('migrates once when replicas start together, and refuses TRUNCATE of the audit log', async () => {
    const schema = await freshSchema();
    const stores = await Promise.all([1, 2, 3].map(() => PostgresGovernanceStore.open(PG_URL, { searchPath: schema })));
    const rows = await admin`SELECT version FROM ${admin(schema)}.governance_migrations`;
    expect(rows.map((r) => r['version'])).toEqual([1, 2, 3, 4]);
    await stores[0]!.commit({ audit: { at: 1, actor: 'a', actorRole: 'admin', action: 'x', targetKind: 'k', targetId: 'i', before: null, after: null } });
    await expect(admin.unsafe(`TRUNCATE ${schema}.gov_audit`)).rejects.toThrow(/append-only/);
    expect(await stores[2]!.listAudit({})).toHaveLength(1);
    await Promise.all(stores.map((s) => s.close()));
  });

  it('keeps alerts recorded before they had a keeping time 400 days, and for good for a budget without periods', async () => {
    const schema = await freshSchema();
    await (await PostgresGovernanceStore.open(PG_URL, { searchPath: schema })).close();
    // As before migration 4: no keep_until, and rows in gov_alerts.
    await admin.unsafe(`ALTER TABLE ${schema}.gov_alerts DROP COLUMN keep_until; DELETE FROM ${schema}.governance_migrations WHERE version = 4`);
    for (const [key, payload] of [
      ['b|org|0|10|80', { period: 'none', threshold: 80 }],
      ['b|org|5|10|80', { period: 'day', threshold: 80 }],
      ['finding|f1', { type: 'goodhart.finding' }],
    ] as const) {
      await admin`INSERT INTO ${admin(schema)}.gov_alerts (dedup_key, at, payload) VALUES (${key}, 1000, ${JSON.stringify(payload)})`;
    }
    const gov = await PostgresGovernanceStore.open(PG_URL, { searchPath: schema });
    const day = 86_400_000;
    expect(await gov.expireAlerts(1000 + 400 * day, 0)).toEqual({ expired: 0, pruned: 0 });
    expect(await gov.expireAlerts(1001 + 400 * day, 0)).toEqual({ expired: 0, pruned: 2 });
    expect(await gov.claimAlert({ dedupKey: 'b|org|0|10|80', at: 2000, payload: {}, pending: [], leaseUntil: 0, holder: 'p1', keepUntil: null })).toBe(false);
    await gov.close();
  });

  it('hands each due alert to one taker when replicas take at once, each on connections of its own', async () => {
    const schema = await freshSchema();
    const stores = await Promise.all([1, 2, 3].map(() => PostgresGovernanceStore.open(PG_URL, { searchPath: schema })));
    const keys = Array.from({ length: 150 }, (_, i) => `b|team:t${i}|0|10|80`);
    for (const key of keys) await stores[0]!.claimAlert({ dedupKey: key, at: 1000, payload: {}, pending: [{ sink: 'hook', body: '{}' }], leaseUntil: 0, holder: 'p0', keepUntil: null });
    // Three takers per replica (its pool's three connections), two alerts a take, until none is left.
    const takers = stores.flatMap((gov, r) =>
      [1, 2, 3].map(async (t) => {
        const taken: string[] = [];
        for (;;) {
          const batch = await gov.takePendingAlerts(2000, 0, 1e15, 2, `replica-${r}-${t}`);
          if (batch.length === 0) return taken;
          taken.push(...batch.map((a) => a.dedupKey));
        }
      }),
    );
    const taken = (await Promise.all(takers)).flat();
    expect(taken.sort()).toEqual([...keys].sort());
    await Promise.all(stores.map((s) => s.close()));
  });

  it('refuses an overlay change made from no record when another replica inserts one meanwhile (no row to lock)', async () => {
    const schema = await freshSchema();
    const gov = await PostgresGovernanceStore.open(PG_URL, { searchPath: schema });
    let inserted!: () => void;
    let release!: () => void;
    const insertedP = new Promise<void>((r) => (inserted = r));
    const other = admin.begin(async (tx) => {
      await tx.unsafe(`INSERT INTO ${schema}.gov_overlay (kind, id, data, updated_at, updated_by) VALUES ('budget', 'b1', '{"amount":1}', 1, 'other')`);
      inserted();
      await new Promise<void>((r) => (release = r));
    });
    await insertedP;
    // Sees no row (the other insert is not committed), then waits on the key in its own insert.
    const mine = gov.commit({
      overlay: { kind: 'budget', id: 'b1', data: { amount: 2 }, updatedAt: 2, updatedBy: 'me' },
      overlayIf: null,
      audit: { at: 2, actor: 'me', actorRole: 'admin', action: 'budget.set', targetKind: 'budget', targetId: 'b1', before: null, after: { amount: 2 } },
    });
    const refused = expect(mine).rejects.toBeInstanceOf(OverlayChanged);
    await new Promise((r) => setTimeout(r, 300));
    release();
    await other;
    await refused;
    expect(await gov.loadOverlay()).toMatchObject([{ data: { amount: 1 }, updatedBy: 'other' }]);
    expect(await gov.listAudit({})).toEqual([]);
    await gov.close();
  });
});
