import { z } from 'zod';
import { convertAnthropicUsage } from '../../usage/convert-anthropic-usage.js';
import { bucketKey } from './bucket-check.js';
import { convertBucketReport, pageOf, reportUrl, type BucketReport } from './paging.js';
import type { ApiUsageRow, ConvertedPage, UsageApi } from './types.js';

/**
 * Anthropic Admin API usage report (`GET /v1/organizations/usage_report/messages`) and cost report
 * (`GET /v1/organizations/cost_report`), per formats.md: buckets `{starting_at, ending_at, results[]}`;
 * `uncached_input_tokens`, `cache_read_input_tokens`, `cache_creation{ephemeral_5m_input_tokens,
 * ephemeral_1h_input_tokens}`, `output_tokens`; cost `amount` is a decimal STRING in CENTS.
 * One event per usage result row; `service_tier: "batch"` rows are billed at half price (its billing mode,
 * usage/billing-mode.ts), web searches (`server_tool_use.web_search_requests`) per search, and
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
const report: BucketReport<{ starting_at: string; ending_at: string; results: unknown[] }, z.infer<typeof costResult>, z.infer<typeof usageResult>> = {
  page: pageOf(z.looseObject({ starting_at: z.string(), ending_at: z.string(), results: z.array(z.unknown()) })),
  span(b) {
    const at = Date.parse(b.starting_at);
    const endedAt = Date.parse(b.ending_at);
    return Number.isFinite(at) && Number.isFinite(endedAt) ? [at, endedAt] : null;
  },
  cost: costResult,
  // A decimal string in cents.
  usdOf(c) {
    const cents = Number(c.amount);
    return Number.isFinite(cents) ? cents / 100 : null;
  },
  usage: usageResult,
  row: (at, endedAt, r) => anthropicRow(at, endedAt, r),
};

export function convertAnthropicUsagePage(body: unknown): ConvertedPage {
  return convertBucketReport(body, report);
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
    ...(r.server_tool_use ? { server_tool_use: r.server_tool_use } : {}),
    ...(r.service_tier ? { service_tier: r.service_tier } : {}),
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
    key: ['anthropic', bucketKey(at, endedAt, 'ms'), r.api_key_id, r.workspace_id, r.account_id, r.model, r.service_tier, r.context_window, r.inference_geo]
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
    longContext: r.context_window === '200k-1M',
  };
}

export const anthropicUsageApi: UsageApi = {
  requests(baseUrl, since, until) {
    const range = [['starting_at', since.toISOString()], ['ending_at', until.toISOString()]] as const;
    const groups = ['model', 'api_key_id', 'workspace_id', 'service_tier', 'context_window'].map((g) => ['group_by[]', g] as const);
    return [
      reportUrl(baseUrl, '/v1/organizations/usage_report/messages', [...range, ['bucket_width', '1d'], ['limit', '31'], ...groups]),
      reportUrl(baseUrl, '/v1/organizations/cost_report', [...range, ['limit', '31']]),
    ];
  },
  headers: anthropicAdminHeaders,
  convertPage: convertAnthropicUsagePage,
  costReportPath: '/v1/organizations/cost_report',
};

/** Anthropic's Admin API headers (usage and cost reports, Claude Code analytics). */
export function anthropicAdminHeaders(key: string): Record<string, string> {
  return { 'x-api-key': key, 'anthropic-version': '2023-06-01' };
}
