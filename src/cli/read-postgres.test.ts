/**
 * Read commands on Postgres read the database as it is: they create, migrate and partition nothing, refuse a database
 * without Goodhart's tables or with an older schema, and run as a role that may only SELECT. Against the machine's
 * real PostgreSQL (GOODHART_TEST_PG_URL), in schemas and a role of their own, all dropped at the end.
 */
import { Command } from 'commander';
import { describe, expect, it, vi } from 'vitest';
import { newKey } from '../keys/keys.js';
import { PostgresDecisionStore } from '../route/postgres-decisions.js';
import { makeTestEvent } from '../store/store-contract.js';
import { PostgresStore } from '../store/postgres/postgres-store.js';
import { runAuditReport } from './commands/audit-report.js';
import { runFindings } from './commands/detect.js';
import { runEvents } from './commands/events.js';
import { registerKeys } from './commands/keys.js';
import { runReport } from './commands/report.js';
import { runRoutingSavings } from './commands/routing.js';
import { TEST_PG_URL, testSchemas } from '../testing/pg-schemas.js';

const pg = testSchemas('gh_test_ro', {
  beforeEnd: async (admin) => {
    const [role] = await admin`SELECT 1 FROM pg_roles WHERE rolname = ${READER}`;
    if (role !== undefined) {
      await admin.unsafe(`DROP OWNED BY ${READER}`);
      await admin.unsafe(`DROP ROLE ${READER}`);
    }
  },
});
const READER = `${pg.run}_reader`;
const PG_URL = TEST_PG_URL;
const freshSchema = pg.fresh;

/** The URL a person would pass as --db: this database, this schema, optionally as another role. */
function urlFor(schema: string, user?: string): string {
  const u = new URL(PG_URL);
  if (user !== undefined) {
    u.username = user;
    u.password = '';
  }
  u.searchParams.set('search_path', schema);
  return u.toString();
}

const tablesIn = async (schema: string): Promise<string[]> =>
  (await pg.admin()<{ t: string }[]>`SELECT table_name AS t FROM information_schema.tables WHERE table_schema = ${schema} ORDER BY 1`).map((r) => r.t);

async function keysList(db: string): Promise<string> {
  const program = new Command().exitOverride();
  registerKeys(program);
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  try {
    await program.parseAsync(['node', 'goodhart', 'keys', 'list', '--json', '--db', db]);
  } finally {
    spy.mockRestore();
  }
  return out;
}

describe('read commands on Postgres', () => {
  it("refuse a database without Goodhart's tables, and leave it as it was", async () => {
    const schema = await freshSchema();
    await pg.admin().unsafe(`CREATE TABLE ${schema}.app_users (id int PRIMARY KEY)`);
    const db = urlFor(schema);
    for (const run of [() => runEvents({ db, limit: 1 }), () => runReport({ kind: 'daily', db }), () => keysList(db), () => runFindings({ db }), () => runAuditReport({ db, period: '2026-01' })]) {
      await expect(run()).rejects.toThrow(/^No Goodhart store in the Postgres database at .* has no schema_migrations table\)\. .*goodhart serve --db URL/);
    }
    expect(await tablesIn(schema)).toEqual(['app_users']);
  });

  it('refuse a schema older than this goodhart reads, without upgrading it', async () => {
    const schema = await freshSchema();
    await (await PostgresStore.open(PG_URL, { searchPath: schema })).close();
    await pg.admin().unsafe(`DELETE FROM ${schema}.schema_migrations WHERE version > 1`);
    await expect(runReport({ kind: 'daily', db: urlFor(schema) })).rejects.toThrow(/has schema version 1, older than this goodhart reads \(\d+\), and this command only reads/);
    const [row] = await pg.admin().unsafe(`SELECT max(version)::int AS v FROM ${schema}.schema_migrations`);
    expect(row?.['v']).toBe(1);
  });

  it('work for a role that may only SELECT: report, events, keys list, findings, routing savings, audit', async () => {
    const schema = await freshSchema();
    const store = await PostgresStore.open(PG_URL, { searchPath: schema });
    await store.insertEvents([
      makeTestEvent({ id: 'r1', startedAt: Date.parse('2026-01-05T10:00:00Z'), userId: 'alice', teamId: 'core', costUsd: 0.5 }),
      makeTestEvent({ id: 'r2', startedAt: Date.parse('2026-01-06T10:00:00Z'), userId: 'bob', teamId: 'core', costUsd: 0.25 }),
    ]);
    const key = newKey({ userId: 'alice', teamId: 'core', projectId: null, name: null });
    await store.createKey(key.record);
    await store.close();
    await (await PostgresDecisionStore.open(PG_URL, { searchPath: schema })).close();
    const before = await tablesIn(schema);

    await pg.admin().unsafe(`CREATE ROLE ${READER} LOGIN`);
    await pg.admin().unsafe(`GRANT USAGE ON SCHEMA ${schema} TO ${READER}`);
    await pg.admin().unsafe(`GRANT SELECT ON ALL TABLES IN SCHEMA ${schema} TO ${READER}`);
    const db = urlFor(schema, READER);

    const report = JSON.parse(await runReport({ kind: 'daily', json: true, db })) as { totals: { requests: number; costUsd: number } };
    expect(report.totals).toMatchObject({ requests: 2, costUsd: 0.75 });
    expect((JSON.parse(await runEvents({ db, json: true })) as { id: string }[]).map((e) => e.id)).toEqual(['r1', 'r2']);
    expect((JSON.parse(await keysList(db)) as { id: string }[]).map((k) => k.id)).toEqual([key.record.id]);
    expect(JSON.parse(await runFindings({ db, json: true }))).toEqual([]);
    expect(JSON.parse(await runRoutingSavings({ db, json: true }))).toMatchObject({ report: 'routing-savings' });
    expect(await runAuditReport({ db, period: '2026-01', now: Date.parse('2026-02-01T00:00:00Z') })).toMatch(/\$0\.75/);
    expect(await tablesIn(schema)).toEqual(before);
  });
});
