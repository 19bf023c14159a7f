import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { runGovernanceStoreContract } from '../governance-store-contract.js';
import { openStore } from '../open.js';
import { SqliteGovernanceStore } from './governance-store.js';

const dir = mkdtempSync(join(tmpdir(), 'goodhart-gov-'));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('SqliteGovernanceStore', () => {
  runGovernanceStoreContract(async () => {
    const path = join(dir, `gov-${++n}.db`);
    const store = await openStore(path);
    const gov = new SqliteGovernanceStore(path);
    const db = new Database(path);
    return {
      gov,
      store,
      raw: async (sql) => db.exec(sql),
      async close() {
        db.close();
        await gov.close();
        await store.close();
      },
    };
  });
});

const MODULE = fileURLToPath(new URL('./governance-store.ts', import.meta.url));

/**
 * Runs `body` in a node process of its own, with the store class (`Store`), `paths` and `startAt` in scope; prints
 * what `body` printed, or FAIL and the error.
 */
function inProcess(paths: readonly string[], startAt: number, body: string): Promise<string> {
  const script = `import { SqliteGovernanceStore as Store } from ${JSON.stringify(MODULE)};
    const paths = ${JSON.stringify(paths)};
    const startAt = ${startAt};
    try { ${body} } catch (e) { console.log('FAIL ' + e.message); }`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', () => resolve(out.trim()));
  });
}

const schemaVersion = (path: string): number => {
  const db = new Database(path);
  try {
    return (db.prepare("SELECT value FROM governance_meta WHERE key = 'schema_version'").get() as { value: number }).value;
  } finally {
    db.close();
  }
};

/** The file as goodhart before the alert outbox leaves it: gov_alerts of three columns, schema_version 1. */
function asBeforeTheOutbox(path: string): void {
  const db = new Database(path);
  const indexes = db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'gov_alerts' AND sql IS NOT NULL").all() as { name: string }[];
  for (const { name } of indexes) db.exec(`DROP INDEX ${name}`);
  const columns = db.prepare("SELECT name FROM pragma_table_info('gov_alerts')").all() as { name: string }[];
  for (const { name } of columns) if (!['dedup_key', 'at', 'payload'].includes(name)) db.exec(`ALTER TABLE gov_alerts DROP COLUMN ${name}`);
  db.exec("UPDATE governance_meta SET value = 1 WHERE key = 'schema_version'");
  db.close();
}

describe('SqliteGovernanceStore schema', () => {
  it('opens a file again after goodhart before the alert outbox opened it (which writes schema_version 1 back)', async () => {
    const path = join(dir, 'rollback.db');
    const first = new SqliteGovernanceStore(path);
    const current = schemaVersion(path);
    await first.claimAlert({ dedupKey: 'a', at: 1000, payload: {}, pending: [{ sink: 'hook', body: '{}' }], leaseUntil: 0, holder: 'p1', keepUntil: null });
    await first.close();
    // What the older goodhart's constructor does on every open: a rollback, or an older replica restarting.
    const db = new Database(path);
    db.exec("UPDATE governance_meta SET value = 1 WHERE key = 'schema_version'");
    db.close();
    const again = new SqliteGovernanceStore(path);
    expect(schemaVersion(path)).toBe(current);
    expect(await again.takePendingAlerts(2000, 0, 9000, 10, 'p2')).toEqual([{ dedupKey: 'a', pending: [{ sink: 'hook', body: '{}' }] }]);
    await again.close();
  });

  it('refuses governance tables from a newer goodhart, also read-only, and leaves their version as it is', async () => {
    const path = join(dir, 'newer.db');
    await new SqliteGovernanceStore(path).close();
    const current = schemaVersion(path);
    const db = new Database(path);
    db.exec(`UPDATE governance_meta SET value = ${current + 1} WHERE key = 'schema_version'`);
    db.close();
    expect(() => new SqliteGovernanceStore(path)).toThrow(`The governance tables in ${path} are version ${current + 1}, newer than this goodhart supports (${current}). Upgrade goodhart`);
    expect(() => new SqliteGovernanceStore(path, { readOnly: true })).toThrow(/newer than this goodhart supports/);
    expect(schemaVersion(path)).toBe(current + 1);
  });

  it('keeps alerts recorded before they had a keeping time 400 days, and for good for a budget without periods', async () => {
    const path = join(dir, 'kept.db');
    await new SqliteGovernanceStore(path).close();
    asBeforeTheOutbox(path);
    const db = new Database(path);
    const insert = db.prepare('INSERT INTO gov_alerts (dedup_key, at, payload) VALUES (?, 1000, ?)');
    insert.run('b|org|0|10|80', JSON.stringify({ period: 'none', threshold: 80 }));
    insert.run('b|org|5|10|80', JSON.stringify({ period: 'day', threshold: 80 }));
    insert.run('finding|f1', JSON.stringify({ type: 'goodhart.finding' }));
    db.close();
    const gov = new SqliteGovernanceStore(path);
    const day = 86_400_000;
    expect(await gov.expireAlerts(1000 + 400 * day, 0)).toEqual({ expired: 0, pruned: 0 });
    expect(await gov.expireAlerts(1001 + 400 * day, 0)).toEqual({ expired: 0, pruned: 2 });
    expect(await gov.claimAlert({ dedupKey: 'b|org|0|10|80', at: 2000, payload: {}, pending: [], leaseUntil: 0, holder: 'p1', keepUntil: null })).toBe(false);
    await gov.close();
  });

  it('lets processes that open a file from before the alert outbox at the same moment all open it', async () => {
    // Twenty files, opened by three processes at once each, one file every 100 ms: one round catches a race rarely.
    const paths = Array.from({ length: 20 }, (_, i) => join(dir, `together-${i}.db`));
    for (const path of paths) await new SqliteGovernanceStore(path).close();
    const current = schemaVersion(paths[0]!);
    for (const path of paths) asBeforeTheOutbox(path);
    const startAt = Date.now() + 2500; // every process is running by then
    const body = `const out = [];
      for (let i = 0; i < paths.length; i++) {
        while (Date.now() < startAt + i * 100) {}
        try { new Store(paths[i]).close(); out.push('ok'); } catch (e) { out.push(e.message); }
      }
      console.log(out.join('\\n'));`;
    const outs = await Promise.all([1, 2, 3].map(() => inProcess(paths, startAt, body)));
    expect(outs.flatMap((o) => o.split('\n')).filter((line) => line !== 'ok')).toEqual([]);
    expect(paths.map(schemaVersion)).toEqual(paths.map(() => current));
  }, 30_000);

  it('hands each due alert to one of several processes taking from one file at once', async () => {
    // Within one process the store's calls never interleave (better-sqlite3 is synchronous), so two connections in
    // one test cannot catch a take that reads and then writes in two statements; processes can.
    const path = join(dir, 'takers.db');
    const gov = new SqliteGovernanceStore(path);
    const keys = Array.from({ length: 300 }, (_, i) => `b|team:t${i}|0|10|80`);
    for (const key of keys) await gov.claimAlert({ dedupKey: key, at: 1000, payload: {}, pending: [{ sink: 'hook', body: '{}' }], leaseUntil: 0, holder: 'p0', keepUntil: null });
    await gov.close();
    const startAt = Date.now() + 2500;
    const body = `const gov = new Store(paths[0]);
      const holder = String(process.pid);
      while (Date.now() < startAt) {}
      const taken = [];
      for (;;) {
        const batch = await gov.takePendingAlerts(2000, 0, 1e15, 1, holder);
        if (batch.length === 0) break;
        taken.push(...batch.map((a) => a.dedupKey));
      }
      await gov.close();
      console.log(JSON.stringify(taken));`;
    const outs = await Promise.all([1, 2, 3].map(() => inProcess([path], startAt, body)));
    const taken = outs.flatMap((o) => JSON.parse(o) as string[]);
    expect(taken.sort()).toEqual([...keys].sort());
  }, 30_000);
});
