import { z } from 'zod';
import type { NormalisedUsage } from '../../usage/types.js';
import { inclusiveUsage } from '../../usage/usage-fields.js';
import { bucketKey } from './bucket-check.js';
import { convertBucketReport, pageOf, reportUrl, type BucketReport } from './paging.js';
import type { ApiUsageRow, ConvertedPage, UsageApi } from './types.js';

/**
 * OpenAI organization usage (`GET /v1/organization/usage/completions`) and costs (`GET /v1/organization/costs`),
 * per formats.md: buckets `{start_time, end_time, results[]}` in unix seconds; `input_tokens` includes
 * `input_cached_tokens`; cost rows carry `amount.value` in dollars. Pages: `has_more` + `next_page` → `page=`.
 * One event per usage result row; its `batch` and `service_tier` are its billing mode (usage/billing-mode.ts: batch
 * and flex at half, priority at the model's premium).
 */
const count = z.number().nonnegative().nullish();
const usageResult = z.looseObject({
  input_tokens: count,
  input_cached_tokens: count,
  output_tokens: count,
  num_model_requests: count,
  project_id: z.string().nullish(),
  user_id: z.string().nullish(),
  api_key_id: z.string().nullish(),
  model: z.string().nullish(),
  batch: z.boolean().nullish(),
  service_tier: z.string().nullish(),
  input_audio_tokens: count,
  output_audio_tokens: count,
});
const costResult = z.looseObject({
  amount: z.looseObject({ value: z.coerce.number(), currency: z.string().nullish() }),
  line_item: z.string().nullish(),
  project_id: z.string().nullish(),
});
const report: BucketReport<{ start_time: number; end_time: number; results: unknown[] }, z.infer<typeof costResult>, z.infer<typeof usageResult>> = {
  page: pageOf(z.looseObject({ start_time: z.number(), end_time: z.number(), results: z.array(z.unknown()) })),
  span: (b) => [b.start_time * 1000, b.end_time * 1000],
  cost: costResult,
  usdOf: (c) => c.amount.value,
  usage: usageResult,
  row: (at, endedAt, r, raw) =>
    r.input_tokens == null && r.output_tokens == null && r.input_audio_tokens == null && r.output_audio_tokens == null ? null : openAIRow(at, endedAt, r, raw),
};

export function convertOpenAIUsagePage(body: unknown): ConvertedPage {
  return convertBucketReport(body, report);
}

function openAIRow(at: number, endedAt: number, r: z.infer<typeof usageResult>, raw: unknown): ApiUsageRow {
  const tags = [`requests=${r.num_model_requests ?? 0}`];
  if (r.batch === true) tags.push('batch');
  if (r.service_tier) tags.push(`tier=${r.service_tier}`);
  const audioIn = r.input_audio_tokens ?? 0;
  const audioOut = r.output_audio_tokens ?? 0;
  if (audioIn + audioOut > 0) tags.push('audio');
  return {
    key: ['openai', bucketKey(at, endedAt, 's'), r.project_id, r.user_id, r.api_key_id, r.model, r.batch, r.service_tier].map((v) => v ?? '').join('\u0000'),
    at,
    endedAt,
    provider: 'openai',
    model: r.model ?? null,
    // input_tokens and output_tokens count text; audio tokens come beside them: counted in with them, and priced at
    // the model's audio rates (at its text rates where the catalogue has none).
    usage: {
      ...inclusiveUsage(
        { input: (r.input_tokens ?? 0) + audioIn, cacheRead: r.input_cached_tokens ?? 0, audioInput: audioIn, output: (r.output_tokens ?? 0) + audioOut, audioOutput: audioOut },
        raw,
      ),
      ...billingOf(r),
    },
    account: r.user_id ?? null,
    apiKey: r.api_key_id ?? null,
    email: null,
    projectId: r.project_id ?? null,
    tags,
    reportedCostUsd: null,
    longContext: false,
  };
}

/** The row's Batch API flag and service tier, as the usage's billing mode (none for the standard tier). */
function billingOf(r: z.infer<typeof usageResult>): Pick<NormalisedUsage, 'billing'> {
  const batch = r.batch === true;
  const tier = r.service_tier && r.service_tier !== 'default' && r.service_tier !== 'auto' ? r.service_tier : undefined;
  if (!batch && tier === undefined) return {};
  return { billing: { ...(batch ? { batch } : {}), ...(tier !== undefined ? { serviceTier: tier } : {}) } };
}

const unix = (d: Date): string => String(Math.floor(d.getTime() / 1000));

export const openAIUsageApi: UsageApi = {
  requests(baseUrl, since, until) {
    const range = [['start_time', unix(since)], ['end_time', unix(until)], ['bucket_width', '1d'], ['limit', '31']] as const;
    // service_tier: flex processing is billed at half the standard rate.
    const groups = ['project_id', 'user_id', 'api_key_id', 'model', 'batch', 'service_tier'].map((g) => ['group_by[]', g] as const);
    return [reportUrl(baseUrl, '/organization/usage/completions', [...range, ...groups]), reportUrl(baseUrl, '/organization/costs', range)];
  },
  headers: (key) => ({ authorization: `Bearer ${key}`, 'content-type': 'application/json' }),
  convertPage: convertOpenAIUsagePage,
  costReportPath: '/organization/costs',
};
