import type { ProviderType } from '../../config/schema.js';
import { anthropicAdapter } from './anthropic/index.js';
import { openaiAdapter, openaiCompatibleAdapter } from './openai/index.js';
import type { ProviderAdapter } from './types.js';

/** The one place that knows every provider type. A new type in config/schema.ts fails to compile until wired here. */
export const PROVIDER_ADAPTERS = {
  openai: openaiAdapter,
  'openai-compatible': openaiCompatibleAdapter,
  anthropic: anthropicAdapter,
} as const satisfies Record<ProviderType, ProviderAdapter>;
