/**
 * The Postgres findings tables against the machine's real PostgreSQL, each case in a schema of its own (dropped at
 * the end), through the same contract as SQLite's; plus what only Postgres has to show: a transaction that commits
 * late is never skipped by the live feed.
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFindingsStoreContract } from '../findings-store-contract.js';
import { makeTestEvent } from '../store-contract.js';
import { PostgresStore } from './postgres-store.js';

const PG_URL = process.env['GOODHART_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const RUN = `gh_find_${randomBytes(4).toString('hex')}`;
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

describe('PostgresFindingsTables', () => {
  runFindingsStoreContract(async () => {
    const store = await PostgresStore.open(PG_URL, { searchPath: await freshSchema(), max: 3 });
    return { store, findings: store.findings, close: () => store.close() };
  });

  it('never skips an event whose transaction commits after later ones', async () => {
    const schema = await freshSchema();
    const store = await PostgresStore.open(PG_URL, { searchPath: schema, max: 3 });
    const f = store.findings;
    // Now: this month's partition exists (creating one would wait for the open transaction below).
    const t = Date.now();
    const start = await f.feedMark();
    // A writer that has begun (and holds a transaction id) but not committed yet: another replica's slow batch.
    const slow = postgres(PG_URL, { max: 1, onnotice: () => {}, connection: { search_path: schema } });
    let commit!: () => void;
    const committed = new Promise<void>((r) => (commit = r));
    let began!: () => void;
    const hasBegun = new Promise<void>((r) => (began = r));
    const tx = slow.begin(async (sql) => {
      await sql`INSERT INTO event_ids (id, started_at) VALUES ('slow', ${t})`;
      await sql`INSERT INTO events (id, source, started_at, ended_at, provider, endpoint, status)
        VALUES ('slow', 'gateway', ${t}, ${t + 1000}, 'openai', 'chat.completions', 200)`;
      began();
      await committed;
    });
    await hasBegun;
    await store.insertEvents([makeTestEvent({ id: 'fast', startedAt: t + 10 })]);
    // 'fast' is committed, but a transaction older than it is still open: the mark stays below both.
    expect((await f.readFeed(start, await f.feedMark(), 10)).events).toEqual([]);
    commit();
    await tx;
    // The mark passes both once no older transaction is open anywhere on the server (other tests may hold one
    // for a moment: transaction ids are server-wide).
    let page = await f.readFeed(start, await f.feedMark(), 10);
    for (let i = 0; i < 100 && page.events.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 50));
      page = await f.readFeed(start, await f.feedMark(), 10);
    }
    expect(page.events.map((e) => e.id)).toEqual(['slow', 'fast']);
    expect((await f.readFeed(page.next, await f.feedMark(), 10)).events).toEqual([]);
    await slow.end({ timeout: 1 });
    await store.close();
  });
});
