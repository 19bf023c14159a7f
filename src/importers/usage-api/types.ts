import type { OutcomeEvent } from '../../outcomes/event.js';
import type { EventSource } from '../../usage/event.js';
import type { NormalisedUsage } from '../../usage/types.js';

/** One row of a provider's usage report (a model's usage in one time bucket for one grouping), before pricing. */
export interface ApiUsageRow {
  /** Bucket start (and width, unless a day) + every grouping value: unique within the source, stable across re-imports. */
  key: string;
  /** Bucket start and end, epoch ms. */
  at: number;
  endedAt: number;
  provider: string;
  model: string | null;
  usage: NormalisedUsage;
  /** Who, as the provider names them: user or account id, API key id or name, email. */
  account: string | null;
  apiKey: string | null;
  email: string | null;
  projectId: string | null;
  tags: string[];
  /** Cost the provider itself reported for the row (Claude Code analytics' estimate), USD. */
  reportedCostUsd: number | null;
  /** Anthropic's `context_window: "200k-1M"`: priced at the long-context rates. */
  longContext: boolean;
}

/** What one page of a usage or cost API response holds. */
export interface ConvertedPage {
  rows: ApiUsageRow[];
  /** Outcome events without attribution (Claude Code analytics), keyed like rows. */
  outcomes: (Omit<OutcomeEvent, 'userId' | 'teamId'> & { email: string | null; apiKey: string | null })[];
  /**
   * The provider's cost report rows of the page (cost endpoints), USD with the start of their bucket (so a range
   * keeps the same buckets as the usage rows), compared against the priced rows.
   */
  costs: { at: number; usd: number }[];
  /** Result rows that were not the documented shape. */
  bad: number;
  hasMore: boolean;
  nextPage: string | null;
}

/** What the CLI and the runner know about a usage API before loading it. */
export interface UsageApiInfo {
  /** Shown in `goodhart import --help`. */
  description: string;
  /** Environment variable holding the admin key. */
  keyEnv: string;
  defaultBaseUrl: string;
  /** The event source its events carry. */
  eventSource: EventSource;
  /** The source whose name seeds event ids, when not `eventSource` (ids must not change across releases). */
  idSource?: EventSource;
  /** Whether it reads the provider's cost report too (compared against the priced rows in the summary). */
  costReport: boolean;
  /** The gateway's providers of this type send their traffic to the provider this API reports on. */
  providerType: 'openai' | 'anthropic';
  /**
   * Whether its rows carry the provider's key and project ids (the usage reports), by which the gateway's own
   * upstream traffic is known (`providers.ID.usageReportIds`). Claude Code analytics names keys, not their ids.
   */
  gatewayIds: boolean;
}

/** How to call one usage API; paged with `page=<next_page>` (paging.ts). */
export interface UsageApi {
  /** The first request of each series to page through, for the time range. */
  requests(baseUrl: string, since: Date, until: Date): URL[];
  headers(adminKey: string): Record<string, string>;
  convertPage(page: unknown): ConvertedPage;
  /** How the path of its cost report's requests ends, when it reads one (the summary says whether it was read). */
  costReportPath?: string;
}
