import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../store/open.js';
import { runDemo } from './demo.js';

describe('goodhart serve --demo', () => {
  it('runs offline: simulated provider, demo organisation, keys, and traffic that lands in the store', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'goodhart-demo-'));
    const lines: string[] = [];
    const db = join(dir, 'demo.db');
    const demo = await runDemo({ port: 0, db, log: (l) => lines.push(l), initialRequests: 15, intervalMs: 0 });
    try {
      expect(Object.keys(demo.keys)).toHaveLength(5);
      const banner = lines.join('\n');
      expect(banner).toContain(demo.url);
      expect(banner).toContain(demo.keys.ada);
      for (let i = 0; i < 100 && !lines.some((l) => l.startsWith('demo: sent 15')); i++) await new Promise((r) => setTimeout(r, 100));
    } finally {
      await demo.stop();
    }
    const store = await openStore(db);
    const events = await store.listEvents({});
    const byTeam = await store.aggregate('team', {});
    await store.close();
    rmSync(dir, { recursive: true, force: true });
    expect(events).toHaveLength(15);
    expect(events.every((e) => e.status === 200 && e.costUsd! > 0)).toBe(true);
    expect(new Set(events.map((e) => e.endpoint))).toEqual(new Set(['chat.completions', 'messages', 'responses', 'embeddings']));
    expect(byTeam.map((r) => r.key).sort()).toEqual(['payments', 'platform', 'research']);
  }, 30_000);
});
