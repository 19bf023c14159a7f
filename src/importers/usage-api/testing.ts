/**
 * Test helper: OpenAI's and Anthropic's admin usage reports computed from individual requests, as the providers do:
 * each asked range is cut into UTC-day buckets (from the day `start_time`/`starting_at` falls in), each bucket sums
 * the requests within both the bucket and the range asked (so a range that starts or ends within a day gets a partial
 * bucket of it), grouped by the `group_by[]` asked. Used as the importer's `fetch`.
 */
const DAY_MS = 86_400_000;

export interface FakeRequest {
  /** When it happened, epoch ms. */
  t: number;
  provider: 'openai' | 'anthropic';
  model: string;
  input: number;
  output: number;
  requests?: number;
  apiKeyId?: string | null;
  /** OpenAI's project_id or Anthropic's workspace_id. */
  projectId?: string | null;
  userId?: string | null;
}

/** The fake's `fetch`, and the URLs it was asked. */
export function fakeUsageApi(requests: readonly FakeRequest[]): { fetch: typeof fetch; asked: URL[] } {
  const asked: URL[] = [];
  const fetchFn = async (input: string | URL | Request): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    asked.push(url);
    const q = url.searchParams;
    const openai = url.pathname.endsWith('/organization/usage/completions');
    const anthropic = url.pathname.endsWith('/organizations/usage_report/messages');
    const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
    if (!openai && !anthropic) return json({ data: [], has_more: false, next_page: null });
    const start = openai ? Number(q.get('start_time')) * 1000 : Date.parse(q.get('starting_at') ?? '');
    const end = openai ? Number(q.get('end_time')) * 1000 : Date.parse(q.get('ending_at') ?? '');
    const groups = q.getAll('group_by[]');
    const data: unknown[] = [];
    for (let a = Math.floor(start / DAY_MS) * DAY_MS; a < end; a += DAY_MS) {
      const rows = new Map<string, Record<string, unknown>>();
      for (const r of requests) {
        if (r.provider !== (openai ? 'openai' : 'anthropic') || r.t < a || r.t >= a + DAY_MS || r.t < start || r.t >= end) continue;
        const keys: Record<string, unknown> = openai
          ? { project_id: r.projectId ?? null, user_id: r.userId ?? null, api_key_id: r.apiKeyId ?? null, model: r.model, batch: false, service_tier: 'default' }
          : { api_key_id: r.apiKeyId ?? null, workspace_id: r.projectId ?? null, model: r.model, service_tier: 'standard', context_window: '0-200k' };
        const grouped = Object.fromEntries(Object.entries(keys).map(([k, v]) => [k, groups.includes(k) ? v : null]));
        const k = JSON.stringify(grouped);
        const row = rows.get(k) ?? { ...grouped, n: 0, input: 0, output: 0 };
        row['n'] = (row['n'] as number) + (r.requests ?? 1);
        row['input'] = (row['input'] as number) + r.input;
        row['output'] = (row['output'] as number) + r.output;
        rows.set(k, row);
      }
      const results = [...rows.values()].map(({ n, input, output, ...keys }) =>
        openai
          ? { object: 'organization.usage.completions.result', ...keys, input_tokens: input, input_cached_tokens: 0, output_tokens: output, num_model_requests: n }
          : { ...keys, uncached_input_tokens: input, cache_read_input_tokens: 0, cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 }, output_tokens: output },
      );
      data.push(
        openai
          ? { object: 'bucket', start_time: a / 1000, end_time: (a + DAY_MS) / 1000, results }
          : { starting_at: new Date(a).toISOString(), ending_at: new Date(a + DAY_MS).toISOString(), results },
      );
    }
    return json({ data, has_more: false, next_page: null });
  };
  return { fetch: fetchFn as typeof fetch, asked };
}
