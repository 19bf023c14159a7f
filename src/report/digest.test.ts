import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { makeTestEvent } from '../store/store-contract.js';
import { configSchema } from '../config/schema.js';
import { outcomesView } from '../outcomes/view.js';
import type { OutcomeEvent } from '../outcomes/event.js';
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

  it('says what the week produced as `goodhart outcomes report` counts it: merged pull requests, tickets, deployments, shipped lines', async () => {
    const store = new SqliteStore(join(dir, 'o.db'));
    const at = (day: number, hour = 12) => Date.UTC(2026, 10, day, hour);
    const o = (x: Partial<OutcomeEvent> & Pick<OutcomeEvent, 'id' | 'kind' | 'at' | 'source'>): OutcomeEvent => ({ userId: 'ada', teamId: null, repo: 'github.com/acme/app', sessionId: null, count: 1, attrs: {}, ...x });
    await store.insertOutcomes([
      // A merged pull request (webhook: its lines, a ticket it names), a commit pushed to main (no line counts), a
      // ticket the bridge closed, a deployment; Claude Code's telemetry: lines it wrote, pull requests it opened.
      o({ id: 'pr', kind: 'pull_request_merged', at: at(17), source: 'github', prNumber: 5, sha: 'a'.repeat(40), linesAdded: 120, linesRemoved: 30, tickets: ['PROJ-1'] }),
      o({ id: 'c1', kind: 'commit', at: at(17, 10), source: 'github', sha: 'b'.repeat(40) }),
      o({ id: 't1', kind: 'ticket_closed', at: at(18), source: 'api-trusted', tickets: ['DG-7'] }),
      o({ id: 'd1', kind: 'deployment', at: at(19), source: 'github', sha: 'a'.repeat(40) }),
      o({ id: 'loc', kind: 'lines_of_code', at: at(17), source: 'otel', count: 400, attrs: { type: 'added' } }),
      o({ id: 'opened', kind: 'pull_request', at: at(17), source: 'otel', count: 3 }),
    ]);
    const week = digestWeek('2026-11-17', Date.UTC(2026, 10, 24), 'UTC');
    const analysis = configSchema.parse({});
    const d = await collectDigest({ store, timeZone: 'UTC', analysis, budgets: () => [], findings: null, outcomes: store, decisions: null, close: async () => {} }, 'ada', week);
    expect(digestMarkdown(d)).toContain('1 commit, 1 merged pull request, 2 tickets (closed, or named by a merged pull request), 1 deployment. 120 lines added and 30 removed.');
    const [row] = (await outcomesView(store, analysis, { role: 'person', userId: 'ada' }, { since: week.start, until: week.end })).rows;
    expect([row?.outcomes.commits, row?.outcomes.mergedPrs, row?.outcomes.tickets, row?.outcomes.deployments]).toEqual([1, 1, 2, 1]);
    await store.close();
  });
});
