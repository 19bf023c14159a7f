import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe } from 'vitest';
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
