import type { UsageApi, UsageApiInfo } from './types.js';

export const USAGE_API_SOURCES = ['openai-usage', 'anthropic-usage', 'anthropic-claude-code'] as const;
export type UsageApiSource = (typeof USAGE_API_SOURCES)[number];

export interface UsageApiEntry extends UsageApiInfo {
  /** The implementation, loaded on demand: `goodhart import claude-code` never loads these modules or their schemas. */
  load(): Promise<UsageApi>;
}

/** Every provider usage API importer, with the event source its events carry. */
export const USAGE_APIS = {
  'openai-usage': {
    description: 'Import OpenAI organization usage (and costs, for comparison) with an admin key',
    keyEnv: 'OPENAI_ADMIN_KEY',
    defaultBaseUrl: 'https://api.openai.com/v1',
    eventSource: 'openai-usage',
    costReport: true,
    providerType: 'openai',
    gatewayIds: true,
    load: async () => (await import('./openai.js')).openAIUsageApi,
  },
  'anthropic-usage': {
    description: 'Import Anthropic organization usage (and costs, for comparison) with an admin key',
    keyEnv: 'ANTHROPIC_ADMIN_KEY',
    defaultBaseUrl: 'https://api.anthropic.com',
    eventSource: 'anthropic-usage',
    costReport: true,
    providerType: 'anthropic',
    gatewayIds: true,
    load: async () => (await import('./anthropic.js')).anthropicUsageApi,
  },
  // Claude Code analytics reports part of the same Anthropic spend as the usage report, per person: a source of its
  // own, so that reports read one or the other instead of adding both.
  'anthropic-claude-code': {
    description: "Import Anthropic's Claude Code analytics (per-user tokens, cost estimates, commits, PRs, lines) with an admin key",
    keyEnv: 'ANTHROPIC_ADMIN_KEY',
    defaultBaseUrl: 'https://api.anthropic.com',
    eventSource: 'anthropic-claude-code',
    // Stored as anthropic-usage until it had a source of its own: the same ids, so a re-import moves those events.
    idSource: 'anthropic-usage',
    costReport: false,
    providerType: 'anthropic',
    gatewayIds: false,
    load: async () => (await import('./claude-code-analytics.js')).claudeCodeAnalyticsApi,
  },
} as const satisfies Record<UsageApiSource, UsageApiEntry>;
