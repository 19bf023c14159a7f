/**
 * The usage API importers against both stores that take imports: a SQLite file and PostgreSQL (the machine's server,
 * a schema of its own per store, as the Postgres store tests do; GOODHART_TEST_PG_URL points elsewhere). The
 * provider is the fake of testing.ts, reports computed from individual requests.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.js';
import { formatSummaryLine } from '../summary.js';
import { PostgresStore } from '../../store/postgres/postgres-store.js';
import { makeTestEvent } from '../../store/store-contract.js';
import { SqliteStore } from '../../store/sqlite/sqlite-store.js';
import type { AuditStore } from '../../store/types.js';
import { createPricer } from '../../usage/pricing.js';
import type { GatewayProvider } from '../import-config.js';
import { tempDir } from '../testing.js';
import { USAGE_APIS, type UsageApiSource } from './registry.js';
import { runUsageApiImport, type UsageApiImportOptions } from './run.js';
import { fakeUsageApi, type FakeRequest } from './testing.js';
import { TEST_PG_URL, testSchemas } from '../../testing/pg-schemas.js';

const { dir, cleanup } = tempDir('usage-stores');
const pg = testSchemas('gh_usage');
afterAll(cleanup);

const STORES: [string, () => Promise<AuditStore>][] = [
  ['sqlite', async () => new SqliteStore(join(dir, `${randomBytes(4).toString('hex')}.db`))],
  [
    'postgres',
    async () => PostgresStore.open(TEST_PG_URL, { searchPath: await pg.fresh() }),
  ],
];

const at = (iso: string): number => Date.parse(iso);
const NY = 'America/New_York';

async function run(source: UsageApiSource, store: AuditStore, requests: readonly FakeRequest[], extra: Partial<UsageApiImportOptions> = {}) {
  const api = fakeUsageApi(requests);
  return runUsageApiImport({
    api: { ...USAGE_APIS[source], ...(await USAGE_APIS[source].load()) },
    store,
    pricer: createPricer(),
    rules: configSchema.parse({}),
    adminKey: 'sk-admin-test',
    env: {},
    fetch: api.fetch,
    ...extra,
  });
}

/** An OpenAI day: 1 December, the first request at 02:00 UTC (still 30 November in New York). */
const december: FakeRequest[] = [
  { t: at('2026-12-01T02:00:00Z'), provider: 'openai', model: 'gpt-4o-mini-2024-07-18', input: 1000, output: 100, apiKeyId: 'key_a' },
  { t: at('2026-12-01T20:00:00Z'), provider: 'openai', model: 'gpt-4o-mini-2024-07-18', input: 2000, output: 200, apiKeyId: 'key_b' },
];
const DEC1 = { since: '2026-12-01', until: '2026-12-01' };

describe.each(STORES)('usage API import into %s', (_name, open) => {
  it("dates a day's bucket on its provider date: 1 December is December's in New York, configured there or not", async () => {
    for (const timeZone of [NY, 'UTC']) {
      const store = await open();
      try {
        expect(await run('openai-usage', store, december, { ...DEC1, timeZone })).toMatchObject({ eventsAdded: 2 });
        expect((await store.aggregate('day', {}, { timeZone: NY })).map((d) => [d.key, d.requests, d.inputTokens])).toEqual([['2026-12-01', 2, 3000]]);
        expect((await store.aggregate('month', {}, { timeZone: NY })).map((d) => d.key)).toEqual(['2026-12']);
        // Noon of the date in the configured zone: in Tokyo too when that is UTC (New York's noon is the 2nd there).
        expect((await store.aggregate('day', {}, { timeZone: 'Asia/Tokyo' })).map((d) => d.key)).toEqual([timeZone === 'UTC' ? '2026-12-01' : '2026-12-02']);
        // Importing the day again stores nothing new and dates nothing anew.
        expect(await run('openai-usage', store, december, { ...DEC1, timeZone })).toMatchObject({ eventsAdded: 0, eventsUpdated: 0, eventsRedated: 0, eventsRemoved: 0 });
      } finally {
        await store.close();
      }
    }
  });

  it('dates anew the days an earlier release stored at 00:00 UTC, instead of storing them twice', async () => {
    const store = await open();
    try {
      await run('openai-usage', store, december, { ...DEC1, timeZone: NY });
      // As an earlier release stored them: at the bucket's start, without the day's tag.
      const legacy = (await store.listEvents({})).map((e) => ({ ...e, startedAt: at('2026-12-01T00:00:00Z'), tags: e.tags.filter((t) => !t.startsWith('day=')) }));
      await store.commitImportBatch({ events: legacy, states: [], drop: legacy.map((e) => e.id) });
      expect((await store.aggregate('month', {}, { timeZone: NY })).map((d) => d.key)).toEqual(['2026-11']);
      const again = await run('openai-usage', store, december, { ...DEC1, timeZone: NY });
      expect(again).toMatchObject({ eventsAdded: 0, eventsUpdated: 2, eventsRedated: 2, eventsRemoved: 0 });
      expect((await store.aggregate('day', {}, { timeZone: NY })).map((d) => [d.key, d.requests, d.inputTokens])).toEqual([['2026-12-01', 2, 3000]]);
      // A config moved to another zone dates them anew too.
      expect(await run('openai-usage', store, december, { ...DEC1, timeZone: 'Europe/Berlin' })).toMatchObject({ eventsAdded: 0, eventsRedated: 2 });
      expect((await store.listEvents({})).map((e) => new Date(e.startedAt).toISOString())).toEqual(['2026-12-01T11:00:00.000Z', '2026-12-01T11:00:00.000Z']);
    } finally {
      await store.close();
    }
  });

  it("dates Claude Code analytics' days and their commits the same way, moving what earlier releases stored", async () => {
    const store = await open();
    try {
      const file = join(dir, `cc-${randomBytes(4).toString('hex')}.json`);
      writeFileSync(
        file,
        JSON.stringify({
          data: [
            {
              date: '2026-12-01T00:00:00Z',
              actor: { type: 'user_actor', email_address: 'ann@acme.dev' },
              core_metrics: { num_sessions: 2, commits_by_claude_code: 3 },
              model_breakdown: [{ model: 'claude-sonnet-4-6', tokens: { input: 1000, output: 2000, cache_read: 0, cache_creation: 0 }, estimated_cost: { currency: 'USD', amount: 100 } }],
            },
          ],
          has_more: false,
        }),
      );
      const cc = (timeZone: string) => run('anthropic-claude-code', store, [], { files: [file], adminKey: undefined, timeZone });
      expect(await cc(NY)).toMatchObject({ eventsAdded: 1, outcomesAdded: 2 });
      const ny = { timeZone: NY };
      expect((await store.aggregate('day', {}, ny)).map((d) => [d.key, d.costUsd])).toEqual([['2026-12-01', 1]]);
      const commits = await store.listOutcomes({ kind: 'commit' });
      expect(commits.map((o) => new Date(o.at).toISOString())).toEqual(['2026-12-01T17:00:00.000Z']);
      // As earlier releases stored them: the usage under anthropic-usage and everything at 00:00 UTC.
      const [e] = await store.listEvents({});
      const midnight = at('2026-12-01T00:00:00Z');
      await store.commitImportBatch({ events: [{ ...e!, source: 'anthropic-usage', startedAt: midnight, tags: ['claude-code-analytics'] }], states: [], drop: [e!.id] });
      await store.insertOutcomes((await store.listOutcomes({})).map((o) => ({ ...o, at: midnight, count: o.count + 1 })));
      expect((await store.listOutcomes({ since: midnight, until: midnight + 1 })).length).toBe(2);
      expect(await cc(NY)).toMatchObject({ eventsAdded: 0, eventsUpdated: 1, eventsRedated: 1, outcomesAdded: 2 });
      expect((await store.listEvents({})).map((x) => [x.source, new Date(x.startedAt).toISOString()])).toEqual([['anthropic-claude-code', '2026-12-01T17:00:00.000Z']]);
      expect((await store.listOutcomes({})).map((o) => [o.kind, o.count, new Date(o.at).toISOString()]).sort()).toEqual([
        ['commit', 3, '2026-12-01T17:00:00.000Z'],
        ['session', 2, '2026-12-01T17:00:00.000Z'],
      ]);
    } finally {
      await store.close();
    }
  });

  it("leaves the gateway's own upstream traffic to its metering: rows of the keys and projects usageReportIds names", async () => {
    const store = await open();
    try {
      // The gateway served two chat requests on 1 December with its upstream key (key_gw); ann went direct once.
      const served = [at('2026-12-01T09:00:00Z'), at('2026-12-01T10:00:00Z')];
      await store.insertEvents(served.map((t, i) => makeTestEvent({ id: `gw-${i}`, startedAt: t, provider: 'openai', modelRequested: 'gpt-4o-mini', modelServed: 'gpt-4o-mini-2024-07-18', inputTokens: 1000, outputTokens: 100, costUsd: 0.0002 })));
      const report: FakeRequest[] = [
        ...served.map((t) => ({ t, provider: 'openai' as const, model: 'gpt-4o-mini-2024-07-18', input: 1000, output: 100, apiKeyId: 'key_gw', projectId: 'proj_default' })),
        { t: at('2026-12-01T11:00:00Z'), provider: 'openai', model: 'gpt-4o-mini-2024-07-18', input: 500, output: 50, apiKeyId: 'key_ann', projectId: 'proj_default' },
      ];
      const day = async () => (await store.aggregate('day', {})).map((d) => [d.key, d.requests, d.inputTokens]);
      // Nothing names the gateway's key: its row is stored beside the gateway's events, and the summary says so.
      const unnamed = await run('openai-usage', store, report, { ...DEC1, gatewayProviders: [{ id: 'openai', type: 'openai', apiKeyIds: [], projectIds: [] }] });
      expect(unnamed).toMatchObject({ eventsAdded: 2, meteredByGateway: 0 });
      expect(unnamed.warnings).toEqual([
        "the gateway also metered these models on 2026-12-01 (UTC): openai-usage's rows include the gateway's own upstream traffic, so reports adding every source may count those days twice. To fix it, set providers.openai.usageReportIds (apiKeyIds: the api_key_id of the key the gateway uses (key_…), or projectIds: a project only it uses (proj_…)) and import again: those rows are then left to the gateway's own metering; or read the sources apart with --source.",
      ]);
      expect(await day()).toEqual([['2026-12-01', 4, 4500]]);
      // Named: its row is not stored, and the copy stored before is removed.
      const gatewayProviders: GatewayProvider[] = [{ id: 'openai', type: 'openai', apiKeyIds: ['key_gw'], projectIds: [] }];
      const named = await run('openai-usage', store, report, { ...DEC1, gatewayProviders });
      expect(named).toMatchObject({ eventsAdded: 0, eventsRemoved: 0, meteredByGateway: 1, duplicates: 2, warnings: [] });
      expect(formatSummaryLine(named)).toContain('2 duplicates (1 already metered by the gateway)');
      expect(await day()).toEqual([['2026-12-01', 3, 2500]]);
      expect((await store.listEvents({ source: 'openai-usage' })).map((e) => e.userId)).toEqual(['key_ann']);
      // A saved response of the same day: the same, not refused as grouped otherwise.
      const file = join(dir, `oa-${randomBytes(4).toString('hex')}.json`);
      const api = fakeUsageApi(report);
      const q = `start_time=${at('2026-12-01T00:00:00Z') / 1000}&end_time=${at('2026-12-02T00:00:00Z') / 1000}&group_by[]=project_id&group_by[]=user_id&group_by[]=api_key_id&group_by[]=model&group_by[]=batch&group_by[]=service_tier`;
      writeFileSync(file, JSON.stringify(await (await api.fetch(new URL(`https://api.openai.com/v1/organization/usage/completions?${q}`))).json()));
      expect(await run('openai-usage', store, [], { files: [file], adminKey: undefined, gatewayProviders })).toMatchObject({ eventsAdded: 0, meteredByGateway: 1 });
      expect(await day()).toEqual([['2026-12-01', 3, 2500]]);
      // Ids that match no row: said so, with where to look.
      const wrong = await run('openai-usage', store, report, { ...DEC1, gatewayProviders: [{ id: 'openai', type: 'openai', apiKeyIds: ['key_typo'], projectIds: [] }] });
      expect(wrong.warnings[0]).toMatch(/To fix it, none of this import's rows carries the ids in providers\.openai\.usageReportIds: check them against the report's api_key_id and project_id/);
    } finally {
      await store.close();
    }
  });

  it("names Anthropic's gateway traffic by its workspace", async () => {
    const store = await open();
    try {
      const report: FakeRequest[] = [
        { t: at('2026-12-01T09:00:00Z'), provider: 'anthropic', model: 'claude-sonnet-4-5-20250929', input: 1000, output: 100, apiKeyId: 'apikey_gw', projectId: 'wrkspc_gateway' },
        { t: at('2026-12-01T10:00:00Z'), provider: 'anthropic', model: 'claude-sonnet-4-5-20250929', input: 700, output: 70, apiKeyId: 'apikey_ci', projectId: 'wrkspc_ci' },
      ];
      const gatewayProviders: GatewayProvider[] = [{ id: 'claude', type: 'anthropic', apiKeyIds: [], projectIds: ['wrkspc_gateway'] }];
      const s = await run('anthropic-usage', store, report, { ...DEC1, gatewayProviders });
      expect(s).toMatchObject({ eventsAdded: 1, meteredByGateway: 1, warnings: [] });
      expect((await store.listEvents({})).map((e) => [e.projectId, e.inputTokens])).toEqual([['wrkspc_ci', 700]]);
      // Without any name, the gateway's Claude traffic of that day is pointed out.
      await store.insertEvents([makeTestEvent({ id: 'gw-c', startedAt: at('2026-12-01T09:00:00Z'), provider: 'claude', endpoint: 'messages', modelServed: 'claude-sonnet-4-5-20250929' })]);
      const unnamed = await run('anthropic-usage', store, report, { ...DEC1, gatewayProviders: [{ id: 'claude', type: 'anthropic', apiKeyIds: [], projectIds: [] }] });
      expect(unnamed.warnings[0]).toMatch(/^the gateway also metered these models on 2026-12-01 \(UTC\): anthropic-usage's rows .* set providers\.claude\.usageReportIds \(apiKeyIds: the api_key_id of the key the gateway uses \(apikey_…\), or projectIds: a workspace only it uses \(wrkspc_…\)\)/);
    } finally {
      await store.close();
    }
  });

  it("books a provider's project or workspace to the configured project named by its providerIds, with its team for people without one", async () => {
    const store = await open();
    try {
      const report: FakeRequest[] = [
        { t: at('2026-12-01T09:00:00Z'), provider: 'openai', model: 'gpt-4o-mini-2024-07-18', input: 1000, output: 100, apiKeyId: 'key_ci', projectId: 'proj_web1' },
        { t: at('2026-12-01T10:00:00Z'), provider: 'openai', model: 'gpt-4o-mini-2024-07-18', input: 700, output: 70, apiKeyId: 'key_ann', projectId: 'proj_web1' },
        { t: at('2026-12-01T11:00:00Z'), provider: 'openai', model: 'gpt-4o-mini-2024-07-18', input: 300, output: 30, apiKeyId: 'key_ci', projectId: 'proj_other' },
        { t: at('2026-12-01T12:00:00Z'), provider: 'anthropic', model: 'claude-sonnet-4-5-20250929', input: 400, output: 40, apiKeyId: 'apikey_ci', projectId: 'wrkspc_web' },
      ];
      const people = { identities: [{ match: { apiKey: 'key_ann' }, user: 'ann' }], users: [{ id: 'ann', team: 'core' }], teams: [{ id: 'core' }, { id: 'web-team' }] };
      const before = configSchema.parse(people);
      await run('openai-usage', store, report, { ...DEC1, rules: before });
      await run('anthropic-usage', store, report, { ...DEC1, rules: before });
      const rows = async () => (await store.listEvents({})).map((e) => [e.userId, e.teamId, e.projectId, e.inputTokens]).sort((a, b) => Number(b[3]) - Number(a[3]));
      expect(await rows()).toEqual([
        ['key_ci', null, 'proj_web1', 1000],
        ['ann', 'core', 'proj_web1', 700],
        ['apikey_ci', null, 'wrkspc_web', 400],
        ['key_ci', null, 'proj_other', 300],
      ]);
      // Mapped in the config: importing the days again moves the rows to the project, and to its team when their
      // person has none (ann keeps hers).
      const mapped = configSchema.parse({ ...people, projects: [{ id: 'web', team: 'web-team', providerIds: ['proj_web1', 'wrkspc_web'] }] });
      expect(await run('openai-usage', store, report, { ...DEC1, rules: mapped })).toMatchObject({ eventsAdded: 0, eventsUpdated: 2 });
      expect(await run('anthropic-usage', store, report, { ...DEC1, rules: mapped })).toMatchObject({ eventsAdded: 0, eventsUpdated: 1 });
      expect(await rows()).toEqual([
        ['key_ci', 'web-team', 'web', 1000],
        ['ann', 'core', 'web', 700],
        ['apikey_ci', 'web-team', 'web', 400],
        ['key_ci', null, 'proj_other', 300],
      ]);
      expect((await store.aggregate('project', {})).map((r) => [r.key, r.requests])).toEqual([
        ['web', 3],
        ['proj_other', 1],
      ]);
      expect((await store.aggregate('team', {})).map((r) => [r.key, r.requests]).sort()).toEqual([
        ['(none)', 1],
        ['core', 1],
        ['web-team', 2],
      ]);
    } finally {
      await store.close();
    }
  });
});
