import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { GoodhartError } from '../../errors.js';
import { defaultDbPath, openStore } from '../open.js';
import { makeTestEvent, runStoreContract } from '../store-contract.js';
import { MIGRATIONS } from './migrations.js';
import { SqliteStore } from './sqlite-store.js';

const dir = mkdtempSync(join(tmpdir(), 'goodhart-sqlite-'));
let n = 0;
const tempPath = (): string => join(dir, `store-${++n}.db`);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

runStoreContract('sqlite', async () => new SqliteStore(tempPath()));

describe('SqliteStore', () => {
  it('opens in WAL mode with NORMAL sync and a busy timeout, at the latest schema version', async () => {
    const path = tempPath();
    const store = new SqliteStore(path);
    await store.close();
    const db = new Database(path, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    db.close();
    // synchronous and busy_timeout are per connection: check on a live store's own connection.
    const live = new SqliteStore(path) as unknown as { db: Database.Database; close(): Promise<void> };
    expect(live.db.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
    expect(live.db.pragma('busy_timeout', { simple: true })).toBe(5000);
    await live.close();
  });

  it('lets a second instance on the same file read what the first wrote, while the first stays open', async () => {
    const path = tempPath();
    const writer = new SqliteStore(path);
    const reader = new SqliteStore(path);
    await writer.insertEvents([makeTestEvent({ costUsd: 0.5 }), makeTestEvent({ costUsd: 0.25 })]);
    expect(await reader.listEvents({})).toHaveLength(2);
    const [day] = await reader.aggregate('day', {});
    expect(day?.costUsd).toBe(0.75);
    // And the other way round, including the key version the gateway polls.
    const before = await writer.keysVersion();
    await reader.createKey({
      id: 'k', hash: 'h', prefix: 'gh_k', userId: 'u', teamId: null, projectId: null, name: null, createdAt: 1, revokedAt: null,
    });
    expect(await writer.keysVersion()).toBe(before + 1);
    expect(await writer.findKeyByHash('h')).toMatchObject({ id: 'k' });
    await writer.close();
    await reader.close();
  });

  it('keeps the data across reopen and does not re-run migrations', async () => {
    const path = tempPath();
    const first = new SqliteStore(path);
    await first.insertEvents([makeTestEvent()]);
    await first.close();
    const second = new SqliteStore(path);
    expect(await second.listEvents({})).toHaveLength(1);
    await second.close();
  });

  it('refuses a database from a newer goodhart', async () => {
    const path = tempPath();
    const db = new Database(path);
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    db.close();
    expect(() => new SqliteStore(path)).toThrow(/newer than this goodhart/);
  });

  it('rejects a prefix that matches more than one key', async () => {
    const store = new SqliteStore(tempPath());
    const base = { userId: 'u', teamId: null, projectId: null, name: null, createdAt: 1, revokedAt: null };
    await store.createKey({ ...base, id: 'k1', hash: 'h1', prefix: 'gh_same' });
    await store.createKey({ ...base, id: 'k2', hash: 'h2', prefix: 'gh_same' });
    await expect(store.revokeKey('gh_same', 5)).rejects.toThrow(/matches 2 keys/);
    expect((await store.revokeKey('k2', 5))?.revokedAt).toBe(5);
    await store.close();
  });
});

describe('openStore', () => {
  it('creates parent folders for a SQLite path', async () => {
    const store = await openStore(join(dir, 'nested', 'deeper', 'g.db'));
    expect(store.kind).toBe('sqlite');
    expect(await store.insertEvents([makeTestEvent()])).toBe(1);
    await store.close();
  });

  it('routes postgres:// URLs to Postgres and keeps the password out of its errors', async () => {
    // Nothing listens on port 1: the connection is refused at once.
    const err = await openStore('postgresql://me:s3cret@127.0.0.1:1/goodhart').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GoodhartError);
    expect((err as GoodhartError).code).toBe('config_invalid');
    expect((err as GoodhartError).message).toMatch(/Cannot open the Postgres database at postgresql:\/\/me:\*\*\*@127\.0\.0\.1:1/);
    expect((err as GoodhartError).message).not.toContain('s3cret');
  });

  it('defaults to $GOODHART_DB, else ./.goodhart/goodhart.db', () => {
    const saved = process.env['GOODHART_DB'];
    try {
      delete process.env['GOODHART_DB'];
      expect(defaultDbPath()).toBe('./.goodhart/goodhart.db');
      process.env['GOODHART_DB'] = '/data/g.db';
      expect(defaultDbPath()).toBe('/data/g.db');
    } finally {
      if (saved === undefined) delete process.env['GOODHART_DB'];
      else process.env['GOODHART_DB'] = saved;
    }
  });
});
