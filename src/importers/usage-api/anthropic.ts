import { z } from 'zod';
import { convertAnthropicUsage } from '../../usage/convert-anthropic-usage.js';
import type { ApiUsageRow, ConvertedPage, UsageApi } from './types.js';

/**
 * Anthropic Admin API usage report (`GET /v1/organizations/usage_report/messages`) and cost report
 * (`GET /v1/organizations/cost_report`), per formats.md: buckets `{starting_at, ending_at, results[]}`;
 * `uncached_input_tokens`, `cache_read_input_tokens`, `cache_creation{ephemeral_5m_input_tokens,
 * ephemeral_1h_input_tokens}`, `output_tokens`; cost `amount` is a decimal STRING in CENTS.
 * One event per usage result row; `service_tier: "batch"` rows are billed at half price and
 * `context_window: "200k-1M"` rows at the long-context rates.
 */
const count = z.number().nonnegative().nullish();
const usageResult = z.looseObject({
  uncached_input_tokens: count,
  cache_read_input_tokens: count,
  cache_creation: z.looseObject({ ephemeral_5m_input_tokens: count, ephemeral_1h_input_tokens: count }).nullish(),
  output_tokens: count,
  server_tool_use: z.looseObject({ web_search_requests: count }).nullish(),
  api_key_id: z.string().nullish(),
  workspace_id: z.string().nullish(),
  account_id: z.string().nullish(),
  model: z.string().nullish(),
  service_tier: z.string().nullish(),
  context_window: z.string().nullish(),
  inference_geo: z.string().nullish(),
});
const costResult = z.looseObject({
  amount: z.union([z.string(), z.number()]),
  currency: z.string().nullish(),
});
const page = z.looseObject({
  data: z.array(z.looseObject({ starting_at: z.string(), ending_at: z.string(), results: z.array(z.unknown()) })),
  has_more: z.boolean().nullish(),
  next_page: z.string().nullish(),
});

export function convertAnthropicUsagePage(body: unknown): ConvertedPage {
  const parsed = page.safeParse(body);
  const out: ConvertedPage = { rows: [], outcomes: [], reportedCostUsd: 0, bad: 0, hasMore: false, nextPage: null };
  if (!parsed.success) {
    out.bad = 1;
    return out;
  }
  out.hasMore = parsed.data.has_more === true;
  out.nextPage = parsed.data.next_page ?? null;
  for (const bucket of parsed.data.data) {
    const at = Date.parse(bucket.starting_at);
    const endedAt = Date.parse(bucket.ending_at);
    if (!Number.isFinite(at) || !Number.isFinite(endedAt)) {
      out.bad += bucket.results.length;
      continue;
    }
    for (const raw of bucket.results) {
      const cost = costResult.safeParse(raw);
      if (cost.success) {
        const cents = Number(cost.data.amount);
        if (Number.isFinite(cents)) out.reportedCostUsd += cents / 100;
        else out.bad += 1;
        continue;
      }
      const r = usageResult.safeParse(raw);
      if (!r.success) {
        out.bad += 1;
        continue;
      }
      const row = anthropicRow(at, endedAt, r.data);
      if (row === null) out.bad += 1;
      else out.rows.push(row);
    }
  }
  return out;
}

function anthropicRow(at: number, endedAt: number, r: z.infer<typeof usageResult>): ApiUsageRow | null {
  const m5 = r.cache_creation?.ephemeral_5m_input_tokens ?? 0;
  const h1 = r.cache_creation?.ephemeral_1h_input_tokens ?? 0;
  const raw = {
    input_tokens: r.uncached_input_tokens ?? 0,
    cache_read_input_tokens: r.cache_read_input_tokens ?? 0,
    cache_creation_input_tokens: m5 + h1,
    cache_creation: { ephemeral_5m_input_tokens: m5, ephemeral_1h_input_tokens: h1 },
    output_tokens: r.output_tokens ?? 0,
  };
  const usage = convertAnthropicUsage(raw);
  if (usage === null) return null;
  usage.raw = r;
  const tags: string[] = [];
  if (r.service_tier) tags.push(`tier=${r.service_tier}`);
  if (r.context_window) tags.push(`context=${r.context_window}`);
  const searches = r.server_tool_use?.web_search_requests ?? 0;
  if (searches > 0) tags.push(`web_search_requests=${searches}`);
  return {
    key: ['anthropic', at, r.api_key_id, r.workspace_id, r.account_id, r.model, r.service_tier, r.context_window, r.inference_geo]
      .map((v) => v ?? '')
      .join('\u0000'),
    at,
    endedAt,
    provider: 'anthropic',
    model: r.model ?? null,
    usage,
    account: r.account_id ?? null,
    apiKey: r.api_key_id ?? null,
    email: null,
    projectId: r.workspace_id ?? null,
    tags,
    reportedCostUsd: null,
    priceMultiplier: r.service_tier === 'batch' ? 0.5 : 1,
    longContext: r.context_window === '200k-1M',
  };
}

export const anthropicUsageApi: UsageApi = {
  description: 'Import Anthropic organization usage (and costs, for comparison) with an admin key',
  keyEnv: 'ANTHROPIC_ADMIN_KEY',
  defaultBaseUrl: 'https://api.anthropic.com',
  requests(baseUrl, since, until) {
    const base = baseUrl.replace(/\/+$/, '');
    const usage = new URL(`${base}/v1/organizations/usage_report/messages`);
    for (const [k, v] of [
      ['starting_at', since.toISOString()],
      ['ending_at', until.toISOString()],
      ['bucket_width', '1d'],
      ['limit', '31'],
      ['group_by[]', 'model'],
      ['group_by[]', 'api_key_id'],
      ['group_by[]', 'workspace_id'],
      ['group_by[]', 'service_tier'],
      ['group_by[]', 'context_window'],
    ] as const) usage.searchParams.append(k, v);
    const costs = new URL(`${base}/v1/organizations/cost_report`);
    for (const [k, v] of [['starting_at', since.toISOString()], ['ending_at', until.toISOString()], ['limit', '31']] as const) {
      costs.searchParams.append(k, v);
    }
    return [usage, costs];
  },
  headers: (key) => ({ 'x-api-key': key, 'anthropic-version': '2023-06-01' }),
  nextUrl(url, cursor) {
    const next = new URL(url);
    next.searchParams.set('page', cursor);
    return next;
  },
  convertPage: convertAnthropicUsagePage,
};
