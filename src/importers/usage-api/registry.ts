import type { EventSource } from '../../usage/event.js';
import { anthropicUsageApi } from './anthropic.js';
import { claudeCodeAnalyticsApi } from './claude-code-analytics.js';
import { openAIUsageApi } from './openai.js';
import type { UsageApi } from './types.js';

export const USAGE_API_SOURCES = ['openai-usage', 'anthropic-usage', 'anthropic-claude-code'] as const;
export type UsageApiSource = (typeof USAGE_API_SOURCES)[number];

/** Every provider usage API importer, with the event source its events carry. */
export const USAGE_APIS = {
  'openai-usage': { ...openAIUsageApi, eventSource: 'openai-usage' },
  'anthropic-usage': { ...anthropicUsageApi, eventSource: 'anthropic-usage' },
  // Claude Code analytics is Anthropic usage too (tagged `claude-code-analytics`): a separate --source would
  // need a new EventSource; `--source anthropic-usage` with the tag tells them apart.
  'anthropic-claude-code': { ...claudeCodeAnalyticsApi, eventSource: 'anthropic-usage' },
} as const satisfies Record<UsageApiSource, UsageApi & { eventSource: EventSource }>;
