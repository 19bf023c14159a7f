import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outcomesReportCommand } from '../cli/commands/outcomes.js';
import { makeTestEvent } from '../store/store-contract.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { slicesOf } from './slices.js';
import type { OutcomeView } from './view.js';

const at = (iso: string) => Date.parse(iso);

describe("organisation usage reports beside the gateway (README: 'Spend recorded twice')", () => {
  // Bob's two requests through the gateway ($0.50), and OpenAI's usage API's rows of the same days, as `goodhart
  // import openai-usage` stores them: the gateway's upstream key (key_gateway) matches no identity, so it is the
  // rows' user (resolveIdentity), never Bob.
  const gateway = [
    makeTestEvent({ id: 'gw-1', userId: 'bob', teamId: 'data', source: 'gateway', provider: 'openai', modelServed: 'gpt-4o', startedAt: at('2026-03-03T10:00:00Z'), costUsd: 0.3 }),
    makeTestEvent({ id: 'gw-2', userId: 'bob', teamId: 'data', source: 'gateway', provider: 'openai', modelServed: 'gpt-4o', startedAt: at('2026-03-04T10:00:00Z'), costUsd: 0.2 }),
  ];
  const report = [
    makeTestEvent({ id: 'ou-1', userId: 'key_gateway', teamId: null, source: 'openai-usage', provider: 'openai', modelServed: 'gpt-4o', startedAt: at('2026-03-03T00:00:00Z'), costUsd: 0.3 }),
    makeTestEvent({ id: 'ou-2', userId: 'key_gateway', teamId: null, source: 'openai-usage', provider: 'openai', modelServed: 'gpt-4o', startedAt: at('2026-03-04T00:00:00Z'), costUsd: 0.2 }),
  ];

  it("leaves a provider's report rows out of a week with a more detailed record of that provider, whoever it is attributed to", () => {
    const others = [
      // Anthropic's report of the same week: nothing more detailed of Anthropic, so it counts.
      makeTestEvent({ id: 'au-1', userId: 'key_ann', teamId: null, source: 'anthropic-usage', provider: 'anthropic', modelServed: 'claude-sonnet-4-5', startedAt: at('2026-03-03T00:00:00Z'), costUsd: 2 }),
      // OpenAI's report of the next week, when the gateway metered nothing: counts.
      makeTestEvent({ id: 'ou-3', userId: 'key_gateway', teamId: null, source: 'openai-usage', provider: 'openai', modelServed: 'gpt-4o', startedAt: at('2026-03-10T00:00:00Z'), costUsd: 4 }),
    ];
    const slices = slicesOf([...gateway, ...report, ...others]);
    expect(slices.map((s) => [s.userId, s.costUsd])).toEqual([['key_ann', 2], ['bob', 0.3], ['bob', 0.2], ['key_gateway', 4]]);
  });

  describe('outcomes report', () => {
    const dir = mkdtempSync(join(tmpdir(), 'goodhart-slices-'));
    const db = join(dir, 'goodhart.db');
    const yaml = join(dir, 'goodhart.yaml');
    beforeAll(async () => {
      writeFileSync(yaml, 'teams: [{ id: data }]\nusers:\n  - { id: bob, team: data }\n');
      const store = new SqliteStore(db);
      await store.insertEvents(gateway);
      await store.commitImportBatch({ states: [], events: report });
      await store.insertOutcomes([{ id: 'c-bob', kind: 'commit', userId: 'bob', teamId: 'data', repo: 'github.com/acme/app', sha: 'b0000000', sessionId: null, at: at('2026-03-05T12:00:00Z'), count: 1, source: 'git', attrs: {} }]);
      await store.close();
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it("counts the organisation's week of the gateway's traffic once", async () => {
      const view = JSON.parse(await outcomesReportCommand({ db, config: yaml, since: '2026-03-02', until: '2026-03-09', json: true })) as OutcomeView;
      const org = view.rows.find((r) => r.subject.kind === 'org');
      expect(org === undefined ? null : [Math.round(org.spendUsd * 100) / 100, org.requests]).toEqual([0.5, 2]);
    });
  });
});
