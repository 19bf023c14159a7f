/**
 * Dashboard sessions through one contract on every kind of records (this process's memory; the SQLite file through
 * the dashboard's reader thread; Postgres on the machine's real server, in a schema of its own): sign-in, idle and
 * absolute expiry, sign-out, the cap, and how rarely a request writes. On SQLite, a new reader thread stands in for a
 * restarted gateway; on Postgres, two tables on one schema stand in for two replicas behind a load balancer.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgSchema } from '../testing/replicas.js';
import { PostgresSessionRecords } from './postgres-sessions.js';
import { ReaderThread } from './reader.js';
import { MemorySessionRecords, SessionTable, TOUCH_EVERY_MS, type Session, type SessionLimits, type SessionRecords } from './sessions.js';

const PG_URL = process.env['GOODHART_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const dir = mkdtempSync(join(tmpdir(), 'goodhart-sessions-'));
let pg: Awaited<ReturnType<typeof pgSchema>>;
const opened: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  pg = await pgSchema(PG_URL, 'sessions');
});
afterAll(async () => {
  await Promise.all(opened.map((r) => r.close()));
  await pg?.drop();
  rmSync(dir, { recursive: true, force: true });
});

const HOUR = 3_600_000;
const T0 = Date.parse('2026-12-01T09:00:00Z');
const LIMITS: SessionLimits = { idleMs: 8 * HOUR, maxMs: 24 * HOUR, maxSessions: 3, maxPerActor: 3 };
const ALICE: Omit<Session, 'createdAt' | 'seenAt'> = { keyHash: 'kh-alice', actorId: 'user:alice', userId: 'alice', keyTeamId: 'platform', adminRole: null };

/** Records that count their writes (add, touch, remove), so a test can see how often a request writes. */
function counting(inner: SessionRecords): SessionRecords & { writes: number } {
  const c = {
    writes: 0,
    add: (...a: Parameters<SessionRecords['add']>) => (c.writes++, inner.add(...a)),
    find: (id: string) => inner.find(id),
    touch: (id: string, at: number) => (c.writes++, inner.touch(id, at)),
    remove: (id: string) => (c.writes++, inner.remove(id)),
    close: () => inner.close(),
  };
  return c;
}

const kinds: [string, () => Promise<SessionRecords>][] = [
  ['memory', async () => new MemorySessionRecords()],
  [
    'sqlite',
    async () => {
      const reader = new ReaderThread(join(dir, `${randomBytes(4).toString('hex')}.db`));
      opened.push(reader);
      return reader.sessions();
    },
  ],
  [
    'postgres',
    async () => {
      const r = await PostgresSessionRecords.open(pg.url);
      opened.push(r);
      return r;
    },
  ],
];

describe.each(kinds)('dashboard sessions (%s)', (kind, open) => {
  it('keep a signed-in person for 8 idle hours, and never past 24 hours from sign-in', async () => {
    let now = T0;
    const records = await open();
    const table = new SessionTable(() => now, records, LIMITS);
    const token = await table.create(ALICE);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await table.get(token)).toMatchObject({ actorId: 'user:alice', userId: 'alice', keyTeamId: 'platform', createdAt: T0, seenAt: T0 });
    // A request every 7 hours keeps it alive; the 24th hour ends it whatever the activity.
    for (const h of [7, 14, 21]) {
      now = T0 + h * HOUR;
      expect((await table.get(token))?.seenAt, `hour ${h}`).toBe(now);
    }
    now = T0 + 24 * HOUR + 1;
    expect(await table.get(token)).toBeUndefined();
    // Expired means gone: the same token stays refused even if the clock went back.
    now = T0 + 22 * HOUR;
    expect(await table.get(token)).toBeUndefined();

    now = T0 + 30 * HOUR;
    const idle = await table.create(ALICE);
    now += 8 * HOUR;
    expect(await table.get(idle)).toBeDefined();
    now += 8 * HOUR + 1;
    expect(await table.get(idle)).toBeUndefined();
  });

  it('end at sign-out, and refuse tokens never issued', async () => {
    const table = new SessionTable(() => T0, await open(), LIMITS);
    const token = await table.create(ALICE);
    await table.delete(token);
    expect(await table.get(token)).toBeUndefined();
    expect(await table.get(randomBytes(32).toString('base64url'))).toBeUndefined();
    expect(await table.get('short')).toBeUndefined();
    expect(await table.get(undefined)).toBeUndefined();
  });

  it('write a request back at most once a minute', async () => {
    let now = T0;
    const records = counting(await open());
    const table = new SessionTable(() => now, records, LIMITS);
    const token = await table.create(ALICE);
    expect(records.writes).toBe(1);
    for (let i = 1; i <= 100; i++) {
      now = T0 + i * 1_000;
      await table.get(token);
    }
    // 100 seconds of a request a second: one write back, at the minute.
    expect(records.writes).toBe(2);
    now = T0 + TOUCH_EVERY_MS + 8 * HOUR - 1;
    expect(await table.get(token), 'idle counts from the write back').toBeDefined();
  });

  it('keep at most maxSessions, dropping the oldest', async () => {
    let now = T0 + 100 * HOUR;
    const table = new SessionTable(() => now, await open(), LIMITS);
    const tokens: string[] = [];
    for (let i = 0; i < 5; i++) {
      now += 1_000;
      tokens.push(await table.create({ ...ALICE, actorId: `user:p${i}` }));
    }
    const alive = await Promise.all(tokens.map(async (t) => (await table.get(t))?.actorId ?? null));
    expect(alive).toEqual([null, null, 'user:p2', 'user:p3', 'user:p4']);
  });

  it('drop a person signing in over and over to their own newest sessions, not anyone else’s', async () => {
    let now = T0 + 150 * HOUR;
    const table = new SessionTable(() => now, await open(), { ...LIMITS, maxSessions: 100, maxPerActor: 2 });
    const bob = await table.create({ ...ALICE, actorId: 'user:bob', userId: 'bob' });
    const alice: string[] = [];
    for (let i = 0; i < 5; i++) {
      now += 1_000;
      alice.push(await table.create(ALICE));
    }
    const alive = await Promise.all(alice.map(async (t) => (await table.get(t)) !== undefined));
    expect(alive).toEqual([false, false, false, true, true]);
    expect((await table.get(bob))?.actorId).toBe('user:bob');
  });

  if (kind === 'sqlite') {
    it('survive a restart of the gateway', async () => {
      const path = join(dir, 'restart.db');
      const before = new ReaderThread(path);
      const token = await new SessionTable(() => T0, before.sessions(), LIMITS).create(ALICE);
      await before.close();
      const after = new ReaderThread(path);
      opened.push(after);
      expect((await new SessionTable(() => T0 + HOUR, after.sessions(), LIMITS).get(token))?.actorId).toBe('user:alice');
    });
  }

  if (kind === 'postgres') {
    it('are shared by replicas: signed in on one, known on the other; signed out on the other, gone on both', async () => {
      const now = T0 + 200 * HOUR;
      const a = new SessionTable(() => now, await open(), LIMITS);
      const b = new SessionTable(() => now, await open(), LIMITS);
      const token = await a.create({ ...ALICE, adminRole: null });
      expect((await b.get(token))?.actorId).toBe('user:alice');
      await b.delete(token);
      expect(await a.get(token)).toBeUndefined();
      // Only the token's SHA-256 is stored, never the token.
      const rows = await pg.sql<{ id: string }[]>`SELECT id FROM ${pg.sql(pg.schema)}.dashboard_sessions`;
      expect(rows.some((r) => r.id.includes(token))).toBe(false);
    });

    it('answer 503 when the database cannot be reached', async () => {
      const records = await PostgresSessionRecords.open(pg.url);
      const table = new SessionTable(() => T0, records, LIMITS);
      const token = await table.create(ALICE);
      await records.close();
      await expect(table.get(token)).rejects.toMatchObject({ httpStatus: 503, retryable: true, message: /cannot reach its database/ });
    });
  }
});
