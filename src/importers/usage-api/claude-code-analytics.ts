import { z } from 'zod';
import { convertAnthropicUsage } from '../../usage/convert-anthropic-usage.js';
import { stableId } from '../ids.js';
import { anthropicAdminHeaders } from './anthropic.js';
import { convertPage, pageOf, reportUrl } from './paging.js';
import type { ApiUsageRow, ConvertedPage, UsageApi } from './types.js';

/**
 * Anthropic Claude Code Analytics (`GET /v1/organizations/usage_report/claude_code?starting_at=YYYY-MM-DD`, one
 * day per call), per formats.md: rows `{date, actor{type: user_actor, email_address | api_actor, api_key_name},
 * core_metrics{num_sessions, lines_of_code{added, removed}, commits_by_claude_code, pull_requests_by_claude_code},
 * tool_actions{<tool>: {accepted, rejected}}, model_breakdown[{model, tokens{input, output, cache_read,
 * cache_creation}, estimated_cost{amount (cents), currency}}]}`.
 * One usage event per model of a row (tokens as Anthropic's disjoint buckets; Anthropic's estimate is the cost);
 * commits, pull requests, lines, sessions and edit decisions become outcome events.
 */
const n = z.number().nonnegative().nullish();
const row = z.looseObject({
  date: z.string(),
  actor: z.looseObject({ type: z.string(), email_address: z.string().nullish(), api_key_name: z.string().nullish() }),
  terminal_type: z.string().nullish(),
  core_metrics: z
    .looseObject({
      num_sessions: n,
      lines_of_code: z.looseObject({ added: n, removed: n }).nullish(),
      commits_by_claude_code: n,
      pull_requests_by_claude_code: n,
    })
    .nullish(),
  tool_actions: z.record(z.string(), z.looseObject({ accepted: n, rejected: n })).nullish(),
  model_breakdown: z
    .array(
      z.looseObject({
        model: z.string(),
        tokens: z.looseObject({ input: n, output: n, cache_read: n, cache_creation: n }),
        estimated_cost: z.looseObject({ amount: z.union([z.number(), z.string()]), currency: z.string().nullish() }).nullish(),
      }),
    )
    .nullish(),
});
const page = pageOf(z.unknown());

const DAY_MS = 86_400_000;

export function convertClaudeCodeAnalyticsPage(body: unknown): ConvertedPage {
  return convertPage(body, page, (raw, out) => {
    const r = row.safeParse(raw);
    const at = r.success ? Date.parse(r.data.date.length === 10 ? `${r.data.date}T00:00:00Z` : r.data.date) : NaN;
    if (!r.success || !Number.isFinite(at)) {
      out.bad += 1;
      return;
    }
    const d = r.data;
    const email = d.actor.type === 'user_actor' ? (d.actor.email_address ?? null) : null;
    const apiKey = d.actor.type === 'api_actor' ? (d.actor.api_key_name ?? null) : null;
    const actor = email ?? apiKey ?? d.actor.type;
    for (const m of d.model_breakdown ?? []) {
      const usage = convertAnthropicUsage({
        input_tokens: m.tokens.input ?? 0,
        output_tokens: m.tokens.output ?? 0,
        cache_read_input_tokens: m.tokens.cache_read ?? 0,
        cache_creation_input_tokens: m.tokens.cache_creation ?? 0,
      });
      if (usage === null) continue;
      usage.raw = m;
      const cents = m.estimated_cost === null || m.estimated_cost === undefined ? NaN : Number(m.estimated_cost.amount);
      out.rows.push({
        key: ['claude-code-analytics', at, actor, d.terminal_type, m.model].map((v) => v ?? '').join('\u0000'),
        at,
        endedAt: at + DAY_MS,
        provider: 'anthropic',
        model: m.model,
        usage,
        account: null,
        apiKey,
        email,
        projectId: null,
        tags: ['claude-code-analytics'],
        reportedCostUsd: Number.isFinite(cents) ? cents / 100 : null,
        longContext: false,
      } satisfies ApiUsageRow);
    }
    const outcome = (kind: ConvertedPage['outcomes'][number]['kind'], count: number | null | undefined, attrs: Record<string, string> = {}): void => {
      if (count === null || count === undefined || count <= 0) return;
      out.outcomes.push({
        id: stableId('acc', at, actor, d.terminal_type, kind, JSON.stringify(attrs)),
        kind,
        email,
        apiKey,
        repo: null,
        sessionId: null,
        // The day's start, as in its id; run.ts dates it as the day's usage is (bucket-date.ts).
        at,
        count,
        source: 'anthropic-claude-code',
        // The author, by which reports attribute it again (counted.ts: the people mapping of the day they run).
        attrs: { ...attrs, ...(d.terminal_type ? { terminal_type: d.terminal_type } : {}), ...(email !== null ? { authorEmail: email } : {}) },
      });
    };
    const c = d.core_metrics;
    outcome('commit', c?.commits_by_claude_code);
    outcome('pull_request', c?.pull_requests_by_claude_code);
    outcome('lines_of_code', c?.lines_of_code?.added, { type: 'added' });
    outcome('lines_of_code', c?.lines_of_code?.removed, { type: 'removed' });
    outcome('session', c?.num_sessions);
    for (const [tool, v] of Object.entries(d.tool_actions ?? {})) {
      outcome('edit_decision', v.accepted, { tool, decision: 'accept' });
      outcome('edit_decision', v.rejected, { tool, decision: 'reject' });
    }
  });
}

export const claudeCodeAnalyticsApi: UsageApi = {
  requests(baseUrl, since, until) {
    const urls: URL[] = [];
    // One day per call; the API's days are UTC dates.
    for (let day = Math.floor(since.getTime() / DAY_MS) * DAY_MS; day < until.getTime(); day += DAY_MS) {
      urls.push(reportUrl(baseUrl, '/v1/organizations/usage_report/claude_code', [['starting_at', new Date(day).toISOString().slice(0, 10)], ['limit', '1000']]));
    }
    return urls;
  },
  headers: anthropicAdminHeaders,
  convertPage: convertClaudeCodeAnalyticsPage,
};
