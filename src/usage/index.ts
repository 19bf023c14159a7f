export type { NormalisedUsage } from './types.js';
export { emptyUsage } from './types.js';
export { convertOpenAIChatUsage, convertOpenAIEmbeddingsUsage } from './convert-openai-chat-usage.js';
export { convertOpenAIResponsesUsage } from './convert-openai-responses-usage.js';
export { convertAnthropicUsage, createAnthropicStreamUsage, splitCacheWrite } from './convert-anthropic-usage.js';
export type { AnthropicStreamUsage, CacheWriteSplit } from './convert-anthropic-usage.js';
export { createPricer, modelPriceOverrideSchema, PRICE_SOURCES } from './pricing.js';
export type { ModelPriceOverride, PriceBreakdown, PriceResult, PriceSource, Pricer } from './pricing.js';
export {
  countTextTokens,
  estimateAnthropicInput,
  estimateEmbeddingsInput,
  estimateOpenAIChatInput,
  estimateResponsesInput,
  MAX_ESTIMATE_CHARS,
} from './estimate.js';
