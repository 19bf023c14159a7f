/**
 * The OTLP processor against both stores that keep telemetry: a SQLite file and PostgreSQL (the machine's server, a
 * schema of its own per test, as the Postgres store tests do; GOODHART_TEST_PG_URL points elsewhere). What is
 * decided in the store's transaction (counters, and what a request adds to an interval stored before) is checked
 * on both.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newKey } from '../../keys/keys.js';
import { PostgresStore } from '../../store/postgres/postgres-store.js';
import { SqliteStore } from '../../store/sqlite/sqlite-store.js';
import type { AuditStore, KeyRecord } from '../../store/types.js';
import { createPricer } from '../../usage/pricing.js';
import { createOtlpProcessor } from './process.js';
import { claudeCodeMetrics, claudeCodeSession, kv } from './testing.js';

const PG_URL = process.env['GOODHART_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const RUN = `gh_otlp_${randomBytes(4).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'goodhart-otlp-'));
const schemas: string[] = [];
let admin: postgres.Sql;

beforeAll(async () => {
  admin = postgres(PG_URL, { max: 2, connect_timeout: 5, onnotice: () => {} });
  await admin`SELECT 1`;
});

afterAll(async () => {
  for (const schema of schemas) await admin`DROP SCHEMA IF EXISTS ${admin(schema)} CASCADE`;
  await admin.end({ timeout: 5 });
  rmSync(dir, { recursive: true, force: true });
});

/** A store of each kind, and a way to make its next event inserts of one session fail (a full disk, a lost connection). */
interface Subject {
  store: AuditStore;
  failInserts(session: string): Promise<void>;
  healInserts(): Promise<void>;
}

const SUBJECTS: [string, () => Promise<Subject>][] = [
  [
    'sqlite',
    async () => {
      const path = join(dir, `${randomBytes(4).toString('hex')}.db`);
      const store = new SqliteStore(path);
      const other = (): Database.Database => new Database(path);
      return {
        store,
        failInserts: async (session) => {
          const db = other();
          db.exec(`CREATE TRIGGER fail_insert BEFORE INSERT ON events WHEN NEW.session_id = '${session}' BEGIN SELECT RAISE(ABORT, 'injected store failure'); END`);
          db.close();
        },
        healInserts: async () => {
          const db = other();
          db.exec('DROP TRIGGER fail_insert');
          db.close();
        },
      };
    },
  ],
  [
    'postgres',
    async () => {
      const schema = `${RUN}_${schemas.length + 1}`;
      schemas.push(schema);
      await admin`CREATE SCHEMA ${admin(schema)}`;
      const store = await PostgresStore.open(PG_URL, { searchPath: schema });
      return {
        store,
        failInserts: async (session) => {
          await admin.unsafe(`
            CREATE FUNCTION ${schema}.fail_insert() RETURNS trigger LANGUAGE plpgsql AS $$
              BEGIN RAISE EXCEPTION 'injected store failure'; END $$;
            CREATE TRIGGER fail_insert BEFORE INSERT ON ${schema}.events FOR EACH ROW
              WHEN (NEW.session_id = '${session}') EXECUTE FUNCTION ${schema}.fail_insert();`);
        },
        healInserts: async () => {
          await admin.unsafe(`DROP TRIGGER fail_insert ON ${schema}.events; DROP FUNCTION ${schema}.fail_insert();`);
        },
      };
    },
  ],
];

async function processorFor(store: AuditStore) {
  const made = newKey({ userId: 'alice', teamId: 'core', projectId: null });
  await store.createKey(made.record);
  const key: KeyRecord = made.record;
  const processOne = createOtlpProcessor({ store, pricer: createPricer(), rules: { identities: [], users: [], trustedPosters: [] }, write: async (events) => void (await store.insertEvents(events)) });
  return (signal: 'metrics' | 'traces' | 'logs', body: unknown) => processOne({ signal, body: Buffer.from(JSON.stringify(body)), encoding: undefined, protobuf: false, key });
}

const T0 = Date.parse('2026-11-17T10:00:00Z');
const HAIKU = 'claude-haiku-4-5-20251001';

describe.each(SUBJECTS)('OTLP telemetry stored in %s', (_kind, make) => {
  let s: Subject;
  afterAll(async () => s?.store.close());

  it('moves no counter for a CUMULATIVE export that failed to store: a retry stores it, and so does the next export if the exporter gave up', async () => {
    s = await make();
    const send = await processorFor(s.store);
    for (const retried of [false, true]) {
      const name = `sess-cumulative-${retried ? 'retried' : 'dropped'}`;
      const session = claudeCodeSession(name, 'alice@example.com');
      const cumulative = (endMin: number, input: number, output: number, cost: number, commits: number) =>
        claudeCodeMetrics({ session, model: HAIKU, tokens: { input, output }, cost, commits, startMs: T0, endMs: T0 + endMin * 60_000, temporality: 2 });
      await send('metrics', cumulative(1, 100, 10, 0.001, 1));
      await s.failInserts(name);
      // The exporter tries the second export three times (the OTLP spec lets it drop the data then).
      for (let i = 0; i < 3; i++) await expect(send('metrics', cumulative(2, 300, 30, 0.003, 2))).rejects.toThrow(/injected store failure/);
      await s.healInserts();
      if (retried) {
        await send('metrics', cumulative(2, 300, 30, 0.003, 2));
        await send('metrics', cumulative(2, 300, 30, 0.003, 2));
      }
      // The next export's running totals carry what the dropped one would have added.
      await send('metrics', cumulative(3, 400, 40, 0.004, 3));
      const events = await s.store.listEvents({ sessionId: name });
      const sum = (f: (e: (typeof events)[number]) => number) => events.reduce((a, e) => a + f(e), 0);
      expect([events.length, sum((e) => e.inputTokens), sum((e) => e.outputTokens), Math.round(sum((e) => e.costUsd ?? 0) * 1e6) / 1e6], name).toEqual([retried ? 3 : 2, 400, 40, 0.004]);
      const commits = (await s.store.listOutcomes({ kind: 'commit' })).filter((o) => o.sessionId === name);
      expect(commits.reduce((a, o) => a + o.count, 0), name).toBe(3);
    }
  });
});

// Keeps `kv` in use for the tests below that build attributes by hand.
void kv;
