import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.js';
import { openStore } from '../../store/open.js';
import { startLiveDetection } from './runner.js';

/**
 * The live-detection thread runs with a heap cap (detect.live.maxHeapMb). A thread that outgrows it is not the end
 * of detection: it restarts with twice the cap, takes the lease back at once and says what to set. Real V8 limits:
 * a 16 MB heap cannot even load the detectors, so the thread runs out on its way up.
 */
const dir = mkdtempSync(join(tmpdir(), 'goodhart-live-runner-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('live detection thread heap cap', () => {
  it('restarts a thread that ran out of heap with twice the cap, which then holds the lease', async () => {
    const db = join(dir, 'g.db');
    const store = await openStore(db);
    const logs: string[] = [];
    const config = configSchema.parse({ detect: { live: { maxHeapMb: 16, intervalSeconds: 3600 } } });
    const runner = await startLiveDetection({ config, db, store, log: (m) => logs.push(m) });
    try {
      expect(runner?.mode).toBe('worker');
      const stats = await runner!.tickNow();
      expect(stats.leader).toBe(true);
      expect(stats.warmups).toBe(1);
      const restarts = logs.filter((m) => m.includes('outgrew its'));
      expect(restarts.length).toBeGreaterThanOrEqual(1);
      expect(restarts[0]).toContain('outgrew its 16 MB heap; restarting it with 32 MB (set detect.live.maxHeapMb to at least that)');
      expect(logs.filter((m) => m.includes('live detection stopped'))).toEqual([]);
    } finally {
      await runner?.close();
      await store.close();
    }
  });
});
