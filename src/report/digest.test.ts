import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { makeTestEvent } from '../store/store-contract.js';
import { configSchema } from '../config/schema.js';
import { collectDigest, digestMarkdown, digestWeek } from './digest.js';

const dir = mkdtempSync(join(tmpdir(), 'goodhart-digest-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the weekly digest', () => {
  it('counts input tokens once: the stored input already holds the cache reads', async () => {
    const store = new SqliteStore(join(dir, 'd.db'));
    // 1,000 input tokens of which 400 were read from the cache, and 200 output.
    await store.insertEvents([makeTestEvent({ userId: 'ada', startedAt: Date.UTC(2026, 10, 17, 10), inputTokens: 1000, cacheReadTokens: 400, outputTokens: 200, costUsd: 0.01 })]);
    const week = digestWeek('2026-11-17', Date.UTC(2026, 10, 20), 'UTC');
    const d = await collectDigest({ store, timeZone: 'UTC', analysis: configSchema.parse({}), budgets: () => [], findings: null, outcomes: null, decisions: null, close: async () => {} }, 'ada', week);
    expect(digestMarkdown(d)).toContain('1 request, $0.01. 1,000 input tokens (400 from the cache), 200 output.');
    await store.close();
  });
});
