import { rmSync } from 'node:fs';
import { SqliteStore } from './src/store/sqlite/sqlite-store.ts';
import { createPricer } from './src/usage/pricing.ts';
import { createLocalAttributor } from './src/importers/attribution.ts';
import { FILE_IMPORTERS } from './src/importers/registry.ts';
import { runFileImport, DEFAULT_MAX_WHOLE_FILE } from './src/importers/run-file-import.ts';
const cfg = { identities: [], users: [], projects: [] };
for (const workers of process.argv.slice(2).map(Number)) {
  for (const f of ['', '-wal', '-shm']) rmSync('/tmp/imptest/w.db' + f, { force: true });
  const store = new SqliteStore('/tmp/imptest/w.db');
  const t = performance.now(); const c0 = process.cpuUsage();
  const s = await runFileImport({ importer: FILE_IMPORTERS['claude-code'], roots: ['/tmp/benchimp/claude'], store, pricer: createPricer(), attribute: createLocalAttributor(cfg, { osUser: 'x' }, () => ({ remoteUrl: null, email: null })),
    workers: workers === 0 ? undefined : { count: workers, recipe: { source: 'claude-code', config: cfg, priceOverrides: {}, identity: { osUser: 'x', account: null }, globalGitConfig: null, maxWholeFileBytes: DEFAULT_MAX_WHOLE_FILE, dbPath: '/tmp/imptest/w.db' } } });
  const c = process.cpuUsage(c0);
  console.log('workers', workers, Math.round(performance.now() - t), 'ms wall', Math.round(c.user / 1000), 'user', Math.round(c.system / 1000), 'sys', s.eventsAdded);
  await store.close();
}
