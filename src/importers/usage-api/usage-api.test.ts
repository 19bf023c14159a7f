import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.js';
import { GoodhartError } from '../../errors.js';
import { SqliteStore } from '../../store/sqlite/sqlite-store.js';
import { createPricer } from '../../usage/pricing.js';
import { stableId } from '../ids.js';
import { tempDir } from '../testing.js';
import { formatSummaryLine } from '../summary.js';
import { formatCostLine, formatRemovedLine } from './cost-line.js';
import { convertAnthropicUsagePage } from './anthropic.js';
import { convertOpenAIUsagePage } from './openai.js';
import { USAGE_APIS } from './registry.js';
import { runUsageApiImport, type UsageApiImportOptions } from './run.js';

/** Recorded responses in the documented shapes, replayed by a local server (pagination and a 429 included). */
const DAY = 1_775_692_800; // 2026-04-09T00:00:00Z
const openaiUsagePages: Record<string, unknown> = {
  first: {
    object: 'page',
    data: [
      {
        object: 'bucket',
        start_time: DAY,
        end_time: DAY + 86_400,
        results: [
          { object: 'organization.usage.completions.result', input_tokens: 1_000_000, input_cached_tokens: 400_000, output_tokens: 100_000, num_model_requests: 420, project_id: 'proj_web', user_id: 'user-ann', api_key_id: 'key_1', model: 'gpt-4o-2024-08-06', batch: false },
          { object: 'organization.usage.completions.result', input_tokens: 1_000_000, input_cached_tokens: 400_000, output_tokens: 100_000, num_model_requests: 10, project_id: 'proj_web', user_id: 'user-ann', api_key_id: 'key_1', model: 'gpt-4o-2024-08-06', batch: true },
        ],
      },
    ],
    has_more: true,
    next_page: 'page_AAA',
  },
  page_AAA: {
    object: 'page',
    data: [
      {
        object: 'bucket',
        start_time: DAY + 86_400,
        end_time: DAY + 2 * 86_400,
        results: [
          { object: 'organization.usage.completions.result', input_tokens: 20_000, input_cached_tokens: 0, output_tokens: 5_000, num_model_requests: 3, project_id: 'proj_api', user_id: null, api_key_id: 'key_2', model: 'gpt-4o-mini-2024-07-18', batch: false },
          // Flex processing is billed at half; audio tokens come beside the text ones.
          { object: 'organization.usage.completions.result', input_tokens: 100_000, input_cached_tokens: 0, output_tokens: 10_000, num_model_requests: 5, project_id: 'proj_api', user_id: null, api_key_id: 'key_3', model: 'gpt-4o-mini-2024-07-18', batch: false, service_tier: 'flex' },
          { object: 'organization.usage.completions.result', input_tokens: 1_000, input_cached_tokens: 0, output_tokens: 0, input_audio_tokens: 500_000, output_audio_tokens: 20_000, num_model_requests: 2, project_id: 'proj_api', user_id: null, api_key_id: 'key_4', model: 'gpt-4o-mini-2024-07-18', batch: false, service_tier: 'default' },
          { object: 'organization.usage.completions.result', input_tokens: 'lots' },
        ],
      },
    ],
    has_more: false,
    next_page: null,
  },
};
const openaiCosts = {
  object: 'page',
  data: [{ object: 'bucket', start_time: DAY, end_time: DAY + 86_400, results: [{ object: 'organization.costs.result', amount: { value: 4.5, currency: 'usd' }, line_item: 'gpt-4o', project_id: 'proj_web' }] }],
  has_more: false,
  next_page: null,
};
const anthropicUsage = {
  data: [
    {
      starting_at: '2026-04-09T00:00:00Z',
      ending_at: '2026-04-10T00:00:00Z',
      results: [
        { uncached_input_tokens: 2_000_000, cache_creation: { ephemeral_1h_input_tokens: 0, ephemeral_5m_input_tokens: 1_000_000 }, cache_read_input_tokens: 10_000_000, output_tokens: 500_000, server_tool_use: { web_search_requests: 4 }, api_key_id: 'apikey_01', workspace_id: 'wrkspc_01', model: 'claude-sonnet-4-6', service_tier: 'standard', context_window: '0-200k' },
        { uncached_input_tokens: 1_000_000, cache_creation: { ephemeral_1h_input_tokens: 0, ephemeral_5m_input_tokens: 0 }, cache_read_input_tokens: 0, output_tokens: 100_000, api_key_id: 'apikey_01', workspace_id: 'wrkspc_01', model: 'claude-sonnet-4-6', service_tier: 'batch', context_window: '0-200k' },
      ],
    },
  ],
  has_more: false,
  next_page: null,
};
const anthropicCosts = {
  data: [{ starting_at: '2026-04-09T00:00:00Z', ending_at: '2026-04-10T00:00:00Z', results: [{ currency: 'USD', amount: '2025.50', workspace_id: 'wrkspc_01', description: 'Claude Sonnet 4.6 Usage - Input Tokens' }] }],
  has_more: false,
  next_page: null,
};
const quietUsage = { ...openaiUsagePages['page_AAA'] as object, has_more: true, next_page: null };
const quietCosts = { object: 'page', data: [], has_more: false, next_page: null };
/** Later in the day the same day's report has grown: more commits and sessions. */
let ccGrown = false;
const claudeCodeDay = (page: 1 | 2) => ({
  data:
    page === 1
      ? [
          {
            date: '2026-04-09T00:00:00Z',
            actor: { type: 'user_actor', email_address: 'ann@acme.dev' },
            organization_id: 'org-1',
            customer_type: 'api',
            terminal_type: 'vscode',
            core_metrics: { num_sessions: ccGrown ? 5 : 3, lines_of_code: { added: 120, removed: 30 }, commits_by_claude_code: ccGrown ? 6 : 4, pull_requests_by_claude_code: 1 },
            tool_actions: { edit_tool: { accepted: 10, rejected: 2 }, write_tool: { accepted: 3, rejected: 0 } },
            model_breakdown: [{ model: 'claude-sonnet-4-6', tokens: { input: 1000, output: 2000, cache_read: 30_000, cache_creation: 4000 }, estimated_cost: { currency: 'USD', amount: 612 } }],
          },
        ]
      : [{ date: '2026-04-09T00:00:00Z', actor: { type: 'api_actor', api_key_name: 'ci-bot' }, core_metrics: { commits_by_claude_code: 1 }, model_breakdown: [] }],
  has_more: page === 1,
  next_page: page === 1 ? 'cc_page_2' : null,
});

const seen: { path: string; headers: IncomingMessage['headers'] }[] = [];
let server: Server;
let base = '';
let throttled = false;
beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    seen.push({ path: `${url.pathname}${url.search}`, headers: req.headers });
    const send = (body: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    // Misbehaving servers: a 200 cut short, and has_more with the same cursor on every page.
    if (url.pathname.startsWith('/truncated/')) {
      return res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":[{"start_time":177569');
    }
    if (url.pathname.startsWith('/loop/')) return send({ data: [], has_more: true, next_page: 'page_same' });
    // A quiet organization: the cost report has nothing for the days, and the usage report says more pages follow
    // without giving the cursor to ask for them.
    if (url.pathname === '/quiet/v1/organization/costs') return send(quietCosts);
    if (url.pathname === '/quiet/v1/organization/usage/completions') return send(quietUsage);
    if (url.pathname === '/v1/organization/usage/completions') {
      // The first call is rate limited once: the importer must wait and retry.
      if (!throttled) {
        throttled = true;
        res.writeHead(429, { 'retry-after': '0' }).end('{"error":{"message":"slow down"}}');
        return;
      }
      return send(openaiUsagePages[url.searchParams.get('page') ?? 'first']);
    }
    if (url.pathname === '/v1/organization/costs') return send(openaiCosts);
    if (url.pathname === '/v1/organizations/usage_report/messages') return send(anthropicUsage);
    if (url.pathname === '/v1/organizations/cost_report') return send(anthropicCosts);
    if (url.pathname === '/v1/organizations/usage_report/claude_code') {
      if (url.searchParams.get('starting_at') !== '2026-04-09') return send({ data: [], has_more: false, next_page: null });
      return send(claudeCodeDay(url.searchParams.get('page') === 'cc_page_2' ? 2 : 1));
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const { dir, cleanup } = tempDir('usage-api');
afterAll(cleanup);
let n = 0;
const run = async (source: keyof typeof USAGE_APIS, store: SqliteStore, extra: Partial<UsageApiImportOptions> = {}) =>
  runUsageApiImport({
    api: { ...USAGE_APIS[source], ...(await USAGE_APIS[source].load()) },
    store,
    pricer: createPricer(),
    rules: { identities: [{ match: { email: 'ann@acme.dev' }, user: 'ann', team: 'core' }, { match: { account: 'user-ann' }, user: 'ann', team: 'core' }], users: [] },
    adminKey: 'sk-admin-test',
    baseUrl: source === 'openai-usage' ? `${base}/v1` : base,
    since: '2026-04-09',
    until: '2026-04-10',
    env: {},
    ...extra,
  });

describe('provider usage API importers', () => {
  it('OpenAI: pages through usage (after a 429), one event per row, batch at half price, costs for comparison', async () => {
    const store = new SqliteStore(join(dir, `o-${++n}.db`));
    const s = await run('openai-usage', store);
    expect(s).toMatchObject({ source: 'openai-usage', eventsAdded: 5, linesRead: 6, skipped: { bad_shape: 1 }, reportedCostUsd: 4.5 });
    const usagePaths = seen.filter((x) => x.path.startsWith('/v1/organization/usage/completions'));
    expect(usagePaths.map((x) => new URL(x.path, 'http://x').searchParams.get('page'))).toEqual([null, null, 'page_AAA']);
    expect(usagePaths[0]!.headers.authorization).toBe('Bearer sk-admin-test');
    expect(new URL(usagePaths[0]!.path, 'http://x').searchParams.getAll('group_by[]')).toEqual(['project_id', 'user_id', 'api_key_id', 'model', 'batch', 'service_tier']);
    const events = (await store.listEvents({})).sort((a, b) => b.inputTokens - a.inputTokens || (b.costUsd ?? 0) - (a.costUsd ?? 0));
    // gpt-4o: 600k uncached × $2.50/M + 400k cached × $1.25/M + 100k output × $10/M = $3.00; batch half.
    expect(events.map((e) => [e.modelServed, e.inputTokens, e.cacheReadTokens, e.outputTokens, Math.round(e.costUsd! * 1e6) / 1e6, e.userId, e.teamId, e.projectId])).toEqual([
      ['gpt-4o-2024-08-06', 1_000_000, 400_000, 100_000, 3, 'ann', 'core', 'proj_web'],
      ['gpt-4o-2024-08-06', 1_000_000, 400_000, 100_000, 1.5, 'ann', 'core', 'proj_web'],
      // gpt-4o-mini at $0.15 / $0.60 per million: audio counted in, at the text rates (the catalogue has no audio rates for it)…
      ['gpt-4o-mini-2024-07-18', 501_000, 0, 20_000, 0.08715, 'key_4', null, 'proj_api'],
      // …and flex at half: (100k × 0.15 + 10k × 0.60) / 1M / 2.
      ['gpt-4o-mini-2024-07-18', 100_000, 0, 10_000, 0.0105, 'key_3', null, 'proj_api'],
      ['gpt-4o-mini-2024-07-18', 20_000, 0, 5_000, 0.006, 'key_2', null, 'proj_api'],
    ]);
    // Each tagged with its provider's day (bucket-date.ts).
    expect(events.map((e) => e.tags)).toEqual([
      ['requests=420', 'day=2026-04-09'],
      ['requests=10', 'batch', 'day=2026-04-09'],
      ['requests=2', 'tier=default', 'audio', 'day=2026-04-10'],
      ['requests=5', 'tier=flex', 'day=2026-04-10'],
      ['requests=3', 'day=2026-04-10'],
    ]);
    // An overlapping re-import adds nothing.
    throttled = true;
    expect(await run('openai-usage', store)).toMatchObject({ eventsAdded: 0, duplicates: 5 });
    await store.close();
  });

  it('Anthropic: disjoint buckets, 5m/1h writes, per-request rates for a daily sum, web searches, batch at half price, cents', async () => {
    const store = new SqliteStore(join(dir, `a-${++n}.db`));
    const s = await run('anthropic-usage', store);
    expect(s).toMatchObject({ eventsAdded: 2, reportedCostUsd: 20.255, costReportRows: 1 });
    expect(formatCostLine(s)).toBe("  cost: $22.54 priced from usage; $20.25 in the provider's cost report");
    const hit = seen.find((x) => x.path.startsWith('/v1/organizations/usage_report/messages'))!;
    expect(hit.headers['x-api-key']).toBe('sk-admin-test');
    expect(hit.headers['anthropic-version']).toBe('2023-06-01');
    const events = (await store.listEvents({})).sort((a, b) => b.inputTokens - a.inputTokens);
    // 2M × $3 + 10M × $0.30 + 1M × $3.75 + 0.5M × $15 per million = $20.25 (never repriced at a long-context tier),
    // and 4 web searches at $10 per thousand.
    expect(events.map((e) => [e.inputTokens, e.cacheWrite5mTokens, e.outputTokens, Math.round(e.costUsd! * 1e6) / 1e6, e.userId, e.projectId])).toEqual([
      [13_000_000, 1_000_000, 500_000, 20.29, 'apikey_01', 'wrkspc_01'],
      [1_000_000, 0, 100_000, 2.25, 'apikey_01', 'wrkspc_01'],
    ]);
    expect(events.map((e) => e.toolCalls)).toEqual([{ web_search: 4 }, undefined]);
    await store.close();
  });

  it("Claude Code analytics: one call per day, paged; Anthropic's estimate as the cost; outcomes", async () => {
    const store = new SqliteStore(join(dir, `c-${++n}.db`));
    const s = await run('anthropic-claude-code', store);
    // A source of its own, and the cost is Anthropic's estimate: no cost report was read, and the summary says so.
    expect(s).toMatchObject({ source: 'anthropic-claude-code', eventsAdded: 1, outcomesAdded: 9, pricedCostUsd: 0, estimatedCostUsd: 6.12, costReportRows: 0 });
    expect(formatCostLine(s)).toBe('  cost: $6.12 as the provider estimated it; no cost report read');
    const days = seen.filter((x) => x.path.startsWith('/v1/organizations/usage_report/claude_code')).map((x) => new URL(x.path, 'http://x').searchParams);
    expect(days.map((p) => [p.get('starting_at'), p.get('page')])).toEqual([
      ['2026-04-09', null],
      ['2026-04-09', 'cc_page_2'],
      ['2026-04-10', null],
    ]);
    const [e] = await store.listEvents({});
    expect(e).toMatchObject({ userId: 'ann', teamId: 'core', inputTokens: 35_000, cacheReadTokens: 30_000, cacheWrite5mTokens: 4000, outputTokens: 2000, costUsd: 6.12, tags: ['claude-code-analytics', 'day=2026-04-09'] });
    const outcomes = await store.listOutcomes({});
    const summary = outcomes.map((o) => `${o.userId}:${o.kind}:${o.count}:${o.attrs['type'] ?? o.attrs['decision'] ?? ''}`).sort();
    expect(summary).toEqual([
      'ann:commit:4:',
      'ann:edit_decision:10:accept',
      'ann:edit_decision:2:reject',
      'ann:edit_decision:3:accept',
      'ann:lines_of_code:120:added',
      'ann:lines_of_code:30:removed',
      'ann:pull_request:1:',
      'ann:session:3:',
      'ci-bot:commit:1:',
    ]);
    // The same day reported again once it has grown: its counts replace the stored ones, nothing is added twice.
    ccGrown = true;
    try {
      expect(await run('anthropic-claude-code', store)).toMatchObject({ eventsAdded: 0, outcomesAdded: 2 });
    } finally {
      ccGrown = false;
    }
    const again = (await store.listOutcomes({})).filter((o) => o.userId === 'ann' && (o.kind === 'commit' || o.kind === 'session'));
    expect(again.map((o) => `${o.kind}:${o.count}`).sort()).toEqual(['commit:6', 'session:5']);
    expect(await store.listOutcomes({})).toHaveLength(9);
    // Dated within their day, so a report of that day shows them.
    const day = Date.parse('2026-04-09T00:00:00Z');
    expect(await store.listOutcomes({ since: day, until: day + 86_400_000 })).toHaveLength(9);
    await store.close();
  });

  it('Claude Code analytics: a person named only in outcomes.people gets the spend and the commits, not their email', async () => {
    const store = new SqliteStore(join(dir, `p-${++n}.db`));
    const people = configSchema.parse({ users: [{ id: 'ann', team: 'core' }], outcomes: { people: [{ user: 'ann', emails: ['ANN@acme.dev'] }] } });
    await run('anthropic-claude-code', store, { rules: people });
    expect((await store.listEvents({})).map((e) => [e.userId, e.teamId])).toEqual([['ann', 'core']]);
    const commits = await store.listOutcomes({ kind: 'commit' });
    expect(commits.map((o) => [o.userId, o.teamId, o.count, o.attrs['authorEmail'] ?? null]).sort()).toEqual([['ann', 'core', 4, 'ann@acme.dev'], ['ci-bot', null, 1, null]]);
    await store.close();
  });

  it('keeps Claude Code analytics apart from the usage report it overlaps, and moves events stored under anthropic-usage', async () => {
    const store = new SqliteStore(join(dir, `s-${++n}.db`));
    await run('anthropic-usage', store);
    const analytics = await run('anthropic-claude-code', store);
    const cost = async (source: 'anthropic-usage' | 'anthropic-claude-code') => (await store.aggregate('day', { source })).reduce((t, r) => t + r.costUsd, 0);
    expect([await cost('anthropic-usage'), await cost('anthropic-claude-code')]).toEqual([22.54, 6.12]);
    expect(analytics.eventsAdded).toBe(1);
    // A database imported before analytics had its own source: the same event under anthropic-usage.
    const legacy = new SqliteStore(join(dir, `s-${++n}.db`));
    const [e] = await store.listEvents({ source: 'anthropic-claude-code' });
    await legacy.commitImportBatch({ events: [{ ...e!, source: 'anthropic-usage' }], states: [] });
    expect(await run('anthropic-claude-code', legacy)).toMatchObject({ eventsAdded: 0, eventsUpdated: 1 });
    expect((await legacy.listEvents({})).map((x) => [x.id, x.source])).toEqual([[e!.id, 'anthropic-claude-code']]);
    await Promise.all([store.close(), legacy.close()]);
  });

  it('says what is wrong, without a stack trace, for a body cut short, a looping cursor, a bare host and a reversed range', async () => {
    const store = new SqliteStore(join(dir, `e-${++n}.db`));
    const fail = (extra: Partial<UsageApiImportOptions>) => run('openai-usage', store, extra).catch((e: unknown) => e);
    const hits = () => seen.filter((x) => x.path.startsWith('/truncated/')).length;
    const truncated = await fail({ baseUrl: `${base}/truncated/v1`, retries: 1 });
    expect(truncated).toBeInstanceOf(GoodhartError);
    expect((truncated as Error).message).toMatch(/answered 200 but its body is not complete JSON .*2 times/);
    // Retried like a 5xx, then given up on.
    expect(hits()).toBe(2);
    const loop = await fail({ baseUrl: `${base}/loop/v1` });
    expect(loop).toBeInstanceOf(GoodhartError);
    expect((loop as Error).message).toMatch(/has_more with next_page "page_same", a page it had already given/);
    expect(seen.filter((x) => x.path.startsWith('/loop/')).length).toBe(2);
    // OpenAI's base URL without its /v1: the provider's 404, and what to check.
    const noV1 = await fail({ baseUrl: base });
    expect((noV1 as Error).message).toMatch(/answered 404: \. Check --base-url: OpenAI's ends in \/v1 \(https:\/\/api\.openai\.com\/v1\), Anthropic's does not .*this import asked http:\/\/127\.0\.0\.1:\d+\/organization\/usage\/completions\.$/);
    const bare = await fail({ baseUrl: 'api.openai.com/v1' });
    expect(bare).toBeInstanceOf(GoodhartError);
    expect((bare as Error).message).toBe('--base-url: "api.openai.com/v1" is not an http(s) URL. Write it whole, with its scheme, e.g. --base-url https://api.openai.com/v1.');
    const reversed = await fail({ since: '2026-04-11', until: '2026-04-09' });
    expect(reversed).toBeInstanceOf(GoodhartError);
    expect((reversed as Error).message).toMatch(/^--since 2026-04-11 is not before --until 2026-04-09: nothing to import\. A YYYY-MM-DD --until includes that day/);
    expect(await store.listEvents({})).toEqual([]);
    await store.close();
  });

  it('says an empty cost report was read, a has_more without a cursor cut the report short, and counts pages, not files', async () => {
    const store = new SqliteStore(join(dir, `q-${++n}.db`));
    const s = await run('openai-usage', store, { baseUrl: `${base}/quiet/v1` });
    expect(s).toMatchObject({ files: 0, filesRead: 0, pagesRead: 2, costReportRows: 0, costReportPages: 1, eventsAdded: 3 });
    expect(s.bytesRead).toBe(Buffer.byteLength(JSON.stringify(quietUsage)) + Buffer.byteLength(JSON.stringify(quietCosts)));
    expect(formatSummaryLine(s)).toMatch(/^openai-usage: 2 pages \(2 KB\), 4 lines, 3 events added, 0 duplicates; skipped: 1 bad shape in /);
    expect(formatCostLine(s)).toMatch(/^ {2}cost: \$[\d.]+ priced from usage; the provider's cost report was read and has no costs for this range$/);
    expect(s.problems.map((p) => [p.file, p.reason])).toEqual([
      ['/quiet/v1/organization/usage/completions', '1 result row not in the documented shape'],
      ['/quiet/v1/organization/usage/completions', 'answered has_more: true with no next_page: the API says more pages follow but gave no cursor to ask for them, so the pages after page 1 of this report were not read. Import again later, or a shorter range (--since/--until).'],
    ]);
    await store.close();
  });

  it('refuses a day already stored at another bucket width or grouping instead of counting it twice', async () => {
    const store = new SqliteStore(join(dir, `w-${++n}.db`));
    const daily = join(dir, 'daily.json');
    writeFileSync(daily, JSON.stringify(openaiUsagePages['first']));
    expect(await run('openai-usage', store, { files: [daily], adminKey: undefined })).toMatchObject({ eventsAdded: 2 });
    // Daily rows keep the ids earlier releases gave them, so databases imported before are still deduplicated.
    const first = (openaiUsagePages['first'] as { data: { results: Record<string, unknown>[] }[] }).data[0]!.results[0]!;
    const oldKey = ['openai', DAY, 'proj_web', 'user-ann', 'key_1', first['model'], false, undefined].map((v) => v ?? '').join('\u0000');
    expect((await store.listEvents({})).map((e) => e.id)).toContain(stableId('openai-usage', oldKey));
    // The same day saved hourly: the 00:00 hour was taken for the day's row and the other hours added to it.
    const hour = (h: number, results: unknown[]) => ({ object: 'bucket', start_time: DAY + h * 3600, end_time: DAY + (h + 1) * 3600, results });
    const hourly = join(dir, 'hourly.json');
    const r = first;
    writeFileSync(hourly, JSON.stringify({ data: [hour(0, [{ ...r, input_tokens: 10, output_tokens: 1 }]), hour(1, [{ ...r, input_tokens: 20, output_tokens: 2 }])], has_more: false }));
    const err = await run('openai-usage', store, { files: [hourly], adminKey: undefined }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GoodhartError);
    expect((err as Error).message).toMatch(/^openai-usage: 2026-04-09 is already stored in 1-day buckets and this import has 1-hour buckets from 2026-04-09T00:00Z.*Nothing was stored\.$/);
    // The same day grouped without users: one row per model holding the users' tokens.
    const byModel = join(dir, 'by-model.json');
    writeFileSync(byModel, JSON.stringify({ data: [{ start_time: DAY, end_time: DAY + 86_400, results: [{ ...r, user_id: null, api_key_id: null, project_id: null, batch: null }] }], has_more: false }));
    const grouped = await run('openai-usage', store, { files: [byModel], adminKey: undefined }).catch((e: unknown) => e);
    expect((grouped as Error).message).toMatch(/already stored with other groups than this import has \(2 of its 2 stored rows are not in it\)/);
    expect((await store.listEvents({})).map((e) => e.inputTokens)).toEqual([1_000_000, 1_000_000]);
    await store.close();
    // The API's answer for a day is whole: it replaces the hours a file stored of it instead of being refused.
    const hours = new SqliteStore(join(dir, `w-${++n}.db`));
    expect(await run('openai-usage', hours, { files: [hourly], adminKey: undefined })).toMatchObject({ eventsAdded: 2 });
    const api = await run('openai-usage', hours);
    expect(api).toMatchObject({ eventsAdded: 5, eventsRemoved: 2 });
    expect(formatRemovedLine(api)).toBe('  2 stored rows of those days removed: the API now reports them in other buckets or groups');
    expect((await hours.aggregate('day', { source: 'openai-usage' })).map((d) => [d.key, d.requests, d.inputTokens])).toEqual([
      ['2026-04-09', 2, 2_000_000],
      ['2026-04-10', 3, 621_000],
    ]);
    await hours.close();
  });

  it('reads saved responses with --file and needs no key for them; without either it says how to fix it', async () => {
    const store = new SqliteStore(join(dir, `f-${++n}.db`));
    const file = join(dir, 'saved-openai.json');
    writeFileSync(file, JSON.stringify([openaiUsagePages['first'], openaiUsagePages['page_AAA'], openaiCosts]));
    const s = await run('openai-usage', store, { files: [file], adminKey: undefined });
    expect(s).toMatchObject({ files: 1, eventsAdded: 5, reportedCostUsd: 4.5 });
    // Saved usage pages without the cost report: nothing to compare with, said as such.
    const usageOnly = join(dir, 'saved-openai-usage.json');
    writeFileSync(usageOnly, JSON.stringify([openaiUsagePages['first']]));
    const alone = await run('openai-usage', new SqliteStore(join(dir, `f-${++n}.db`)), { files: [usageOnly], adminKey: undefined });
    expect(formatCostLine(alone)).toBe('  cost: $4.50 priced from usage; no cost report read');
    // The gateway's own rows are not priced here, but its traffic is in the organisation's cost report.
    expect(formatCostLine({ ...s, meteredByGateway: 3 })).toBe("  cost: $4.60 priced from usage; $4.50 in the provider's cost report (which includes the gateway's own traffic, the 3 rows not stored)");
    // --since/--until apply to saved responses too: only the rows of buckets that start within them.
    const second = new Date((DAY + 86_400) * 1000).toISOString().slice(0, 10);
    const ranged = await run('openai-usage', new SqliteStore(join(dir, `f-${++n}.db`)), { files: [file], adminKey: undefined, since: second });
    // The first day's two rows are left out; the second day's gpt-4o-mini rows are kept; so is the first day's cost.
    expect([ranged.eventsAdded, ranged.skipped.out_of_range]).toEqual([3, 2]);
    expect([ranged.reportedCostUsd, ranged.costReportRows]).toEqual([0, 0]);
    // A saved analytics day imported for that day alone keeps its outcomes.
    const ccFile = join(dir, 'saved-cc.json');
    writeFileSync(ccFile, JSON.stringify([claudeCodeDay(1), claudeCodeDay(2)]));
    // --until is the last day imported, as in `goodhart report`: the same day as --since is that one day.
    const oneDay = await run('anthropic-claude-code', new SqliteStore(join(dir, `f-${++n}.db`)), { files: [ccFile], adminKey: undefined, since: '2026-04-09', until: '2026-04-09' });
    expect([oneDay.eventsAdded, oneDay.outcomesAdded]).toEqual([1, 9]);
    const err = await run('anthropic-usage', store, { adminKey: undefined }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GoodhartError);
    expect((err as Error).message).toMatch(/--admin-key or set ANTHROPIC_ADMIN_KEY/);
    await store.close();
  });
});

describe('usage report rows priced by the same rule as the gateway', () => {
  const pricer = createPricer();
  const at = new Date('2026-04-09T00:00:00Z');
  it('OpenAI: batch, flex and priority rows carry their billing mode; audio is priced at the audio rates', () => {
    const row = (extra: Record<string, unknown>) => ({ input_tokens: 1_000_000, input_cached_tokens: 0, output_tokens: 100_000, num_model_requests: 1, model: 'gpt-5-2025-08-07', ...extra });
    const page = convertOpenAIUsagePage({
      data: [{ start_time: 1775692800, end_time: 1775779200, results: [row({ batch: true }), row({ service_tier: 'flex' }), row({ service_tier: 'priority' }), row({ service_tier: 'default' }), row({ model: 'gpt-audio', input_audio_tokens: 400_000, output_audio_tokens: 50_000 })] }],
      has_more: false,
    });
    // gpt-5: $1.25 / $10 per million = $2.25 at the standard tier; priority at 2×.
    const costs = page.rows.map((r) => pricer.price(r.usage, r.model!, r.provider, at).costUsd);
    expect(costs.slice(0, 4).map((c) => Math.round(c! * 1e6) / 1e6)).toEqual([1.125, 1.125, 4.5, 2.25]);
    // gpt-audio: 1M text in at $2.50, 0.4M audio in at $32, 0.1M text out at $10, 0.05M audio out at $64.
    expect(page.rows[4]!.usage).toMatchObject({ input: { total: 1_400_000, audio: 400_000 }, output: { total: 150_000, audio: 50_000 } });
    expect(costs[4]).toBeCloseTo(2.5 + 0.4 * 32 + 0.1 * 10 + 0.05 * 64, 9);
  });

  it('Anthropic: web searches are tool calls, batch rows carry their tier', () => {
    const page = convertAnthropicUsagePage({
      data: [
        {
          starting_at: '2026-04-09T00:00:00Z',
          ending_at: '2026-04-10T00:00:00Z',
          results: [
            { uncached_input_tokens: 1000, output_tokens: 100, server_tool_use: { web_search_requests: 4 }, model: 'claude-sonnet-4-6', service_tier: 'standard' },
            { uncached_input_tokens: 1000, output_tokens: 100, model: 'claude-sonnet-4-6', service_tier: 'batch' },
          ],
        },
      ],
      has_more: false,
    });
    expect(page.rows.map((r) => [r.usage.toolCalls, r.usage.billing])).toEqual([
      [{ web_search: 4 }, undefined],
      [undefined, { serviceTier: 'batch' }],
    ]);
  });
});
