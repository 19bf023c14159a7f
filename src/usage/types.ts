/**
 * The one normalised usage shape every provider, importer and receiver converts into.
 *
 * Conventions (see ../shared/reference/formats.md):
 * - `input.total` INCLUDES cache reads and cache writes (OpenAI's convention, and what the price catalogue expects).
 *   Anthropic reports disjoint buckets; its converter adds them up.
 * - `output.total` INCLUDES reasoning tokens.
 * - `raw` keeps the provider's original usage object so events can be re-priced or re-checked later.
 */
export interface NormalisedUsage {
  input: {
    total: number;
    /** Input tokens neither read from nor written to a cache. */
    noCache: number;
    cacheRead: number;
    /** Cache writes billed at the 5-minute rate (Anthropic's default, and OpenAI-compatible "cache_write"). */
    cacheWrite5m: number;
    /** Cache writes billed at the 1-hour rate. */
    cacheWrite1h: number;
    /** Audio tokens among the uncached input (OpenAI `prompt_tokens_details.audio_tokens`); absent: none. */
    audio?: number;
  };
  output: {
    total: number;
    /** Visible text output: total minus reasoning and audio. */
    text: number;
    reasoning: number;
    /** Audio tokens among the output (OpenAI `completion_tokens_details.audio_tokens`); absent: none. */
    audio?: number;
  };
  /** Built-in tools the provider ran and bills per call (web search, file search); absent: none. */
  toolCalls?: ToolCalls;
  /**
   * How the provider says it served the request, where that changes the price per token (OpenAI `service_tier`,
   * Anthropic `usage.speed`, the Batch API): see billing-mode.ts. Absent: standard.
   */
  billing?: BillingMode;
  raw: unknown;
}

/**
 * Built-in tools billed per call, each with the catalogue's price key (USD per thousand calls). Anthropic reports
 * `usage.server_tool_use.web_search_requests`; OpenAI's Responses API an output item per call (`web_search_call`,
 * `file_search_call`).
 */
export const TOOL_CALL_KINDS = ['web_search', 'file_search'] as const;
export type ToolCallKind = (typeof TOOL_CALL_KINDS)[number];
export const TOOL_CALL_PRICE_KEYS = {
  web_search: 'web_searches_kcount',
  file_search: 'storage_searches_kcount',
} as const satisfies Record<ToolCallKind, string>;
/** Calls by kind; kinds not called are left out. */
export type ToolCalls = Partial<Record<ToolCallKind, number>>;

/** What a response (or a usage report) says about the service that ran it, as reported. */
export interface BillingMode {
  /** OpenAI `service_tier` of the response (`default`, `flex`, `priority`, `fast`), Anthropic `usage.service_tier`. */
  serviceTier?: string | undefined;
  /** Anthropic `usage.speed` (`fast` or `standard`). */
  speed?: string | undefined;
  /** Served by a Batch API (usage reports' `batch: true`). */
  batch?: boolean | undefined;
}

export const emptyUsage = (): NormalisedUsage => ({
  input: { total: 0, noCache: 0, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 0 },
  output: { total: 0, text: 0, reasoning: 0 },
  raw: null,
});
