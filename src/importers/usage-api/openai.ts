import { z } from 'zod';
import { inclusiveUsage } from '../../usage/usage-fields.js';
import type { ApiUsageRow, ConvertedPage, UsageApi } from './types.js';

/**
 * OpenAI organization usage (`GET /v1/organization/usage/completions`) and costs (`GET /v1/organization/costs`),
 * per formats.md: buckets `{start_time, end_time, results[]}` in unix seconds; `input_tokens` includes
 * `input_cached_tokens`; cost rows carry `amount.value` in dollars. Pages: `has_more` + `next_page` → `page=`.
 * One event per usage result row; batch rows are billed at half price.
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
});
const costResult = z.looseObject({
  amount: z.looseObject({ value: z.coerce.number(), currency: z.string().nullish() }),
  line_item: z.string().nullish(),
  project_id: z.string().nullish(),
});
const page = z.looseObject({
  data: z.array(z.looseObject({ start_time: z.number(), end_time: z.number(), results: z.array(z.unknown()) })),
  has_more: z.boolean().nullish(),
  next_page: z.string().nullish(),
});

export function convertOpenAIUsagePage(body: unknown): ConvertedPage {
  const parsed = page.safeParse(body);
  const out: ConvertedPage = { rows: [], outcomes: [], reportedCostUsd: 0, bad: 0, hasMore: false, nextPage: null };
  if (!parsed.success) {
    out.bad = 1;
    return out;
  }
  out.hasMore = parsed.data.has_more === true;
  out.nextPage = parsed.data.next_page ?? null;
  for (const bucket of parsed.data.data) {
    for (const raw of bucket.results) {
      const cost = costResult.safeParse(raw);
      if (cost.success) {
        out.reportedCostUsd += cost.data.amount.value;
        continue;
      }
      const r = usageResult.safeParse(raw);
      if (!r.success || (r.data.input_tokens == null && r.data.output_tokens == null)) {
        out.bad += 1;
        continue;
      }
      out.rows.push(openAIRow(bucket.start_time, bucket.end_time, r.data, raw));
    }
  }
  return out;
}

function openAIRow(start: number, end: number, r: z.infer<typeof usageResult>, raw: unknown): ApiUsageRow {
  const tags = [`requests=${r.num_model_requests ?? 0}`];
  if (r.batch === true) tags.push('batch');
  if (r.service_tier) tags.push(`tier=${r.service_tier}`);
  return {
    key: ['openai', start, r.project_id, r.user_id, r.api_key_id, r.model, r.batch, r.service_tier].map((v) => v ?? '').join('\u0000'),
    at: start * 1000,
    endedAt: end * 1000,
    provider: 'openai',
    model: r.model ?? null,
    usage: inclusiveUsage({ input: r.input_tokens ?? 0, cacheRead: r.input_cached_tokens ?? 0, output: r.output_tokens ?? 0 }, raw),
    account: r.user_id ?? null,
    apiKey: r.api_key_id ?? null,
    email: null,
    projectId: r.project_id ?? null,
    tags,
    reportedCostUsd: null,
    // The Batch API costs half; flex processing too.
    priceMultiplier: r.batch === true || r.service_tier === 'flex' ? 0.5 : 1,
    longContext: false,
  };
}

const unix = (d: Date): string => String(Math.floor(d.getTime() / 1000));

export const openAIUsageApi: UsageApi = {
  description: 'Import OpenAI organization usage (and costs, for comparison) with an admin key',
  keyEnv: 'OPENAI_ADMIN_KEY',
  defaultBaseUrl: 'https://api.openai.com/v1',
  requests(baseUrl, since, until) {
    const base = baseUrl.replace(/\/+$/, '');
    const usage = new URL(`${base}/organization/usage/completions`);
    for (const [k, v] of [
      ['start_time', unix(since)],
      ['end_time', unix(until)],
      ['bucket_width', '1d'],
      ['limit', '31'],
      ['group_by[]', 'project_id'],
      ['group_by[]', 'user_id'],
      ['group_by[]', 'api_key_id'],
      ['group_by[]', 'model'],
      ['group_by[]', 'batch'],
    ] as const) usage.searchParams.append(k, v);
    const costs = new URL(`${base}/organization/costs`);
    for (const [k, v] of [['start_time', unix(since)], ['end_time', unix(until)], ['bucket_width', '1d'], ['limit', '31']] as const) {
      costs.searchParams.append(k, v);
    }
    return [usage, costs];
  },
  headers: (key) => ({ authorization: `Bearer ${key}`, 'content-type': 'application/json' }),
  nextUrl(url, cursor) {
    const next = new URL(url);
    next.searchParams.set('page', cursor);
    return next;
  },
  convertPage: convertOpenAIUsagePage,
};
