import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../detect/types.js';
import { runDetect, runFindings } from './detect.js';
import { runSimulate } from './simulate.js';

const dir = mkdtempSync(join(tmpdir(), 'goodhart-detect-'));
const db = join(dir, 'sim.db');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('goodhart simulate → detect → findings', () => {
  it('fills a database, detects over its history and lists findings with filters', async () => {
    const out = await runSimulate({ db, people: '30', days: '30', seed: '4' });
    expect(out).toMatch(/Simulated 30 people × 30 days \(seed 4/);
    const labels = JSON.parse(readFileSync(join(dir, 'labels-seed4.json'), 'utf8')) as { labels: Array<{ rule: string }> };
    expect(labels.labels.length).toBeGreaterThan(5);
    expect(readFileSync(join(dir, 'outcomes-seed4.jsonl'), 'utf8').split('\n').length).toBeGreaterThan(100);

    const summary = await runDetect({ db, since: '2026-09-07', until: '2026-10-06', tz: 'UTC' });
    expect(summary).toMatch(/Read [\d,]+ events \([\d,]+ with fingerprints\)/);
    expect(summary).toContain('Stored; see `goodhart findings`.');

    const all = JSON.parse(await runFindings({ db, json: true, tz: 'UTC' })) as Finding[];
    expect(all.length).toBeGreaterThan(3);
    for (const f of all) {
      expect(f.suggestion.length).toBeGreaterThan(20);
      expect(f.evidence.requestIds.length).toBeGreaterThan(0);
    }
    const rule = all[0]!.rule;
    const byRule = JSON.parse(await runFindings({ db, json: true, rule })) as Finding[];
    expect(byRule.every((f) => f.rule === rule)).toBe(true);
    const user = all.find((f) => f.userId !== null)!.userId!;
    const byUser = JSON.parse(await runFindings({ db, json: true, user })) as Finding[];
    expect(byUser.length).toBeGreaterThan(0);
    expect(byUser.every((f) => f.userId === user)).toBe(true);
    expect(await runFindings({ db, tz: 'UTC', limit: '2' })).toMatch(/\n(1 finding|[02] findings), estimated avoidable spend/);

    // Re-running over the same range replaces, never duplicates.
    await runDetect({ db, since: '2026-09-07', until: '2026-10-06', tz: 'UTC' });
    expect((JSON.parse(await runFindings({ db, json: true })) as Finding[]).length).toBe(all.length);
  }, 120_000);

  it('rejects unknown rules and a missing database with messages that say how to fix them', async () => {
    await expect(runFindings({ db, rule: 'tokens' })).rejects.toThrow(/unknown rule "tokens". Use one of: rephrase-loop/);
    await expect(runDetect({ db: join(dir, 'none.db') })).rejects.toThrow(/No Goodhart database/);
    await expect(runSimulate({ people: '3' })).rejects.toThrow(/exactly one of --db PATH .* or --out DIR/);
  });
});
