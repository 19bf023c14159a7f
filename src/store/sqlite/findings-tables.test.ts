import { describe } from 'vitest';
import { runFindingsStoreContract } from '../findings-store-contract.js';
import { SqliteStore } from './sqlite-store.js';

describe('SqliteFindingsTables', () => {
  runFindingsStoreContract(async () => {
    const store = new SqliteStore(':memory:');
    return { store, findings: store.findings, close: () => store.close() };
  });
});
