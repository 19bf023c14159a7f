import type { BillingMode, NormalisedUsage } from './types.js';
import { countAt, isRecord, readCount } from './usage-fields.js';

/**
 * Anthropic Messages `usage` → NormalisedUsage.
 *
 * Anthropic's buckets are DISJOINT: `input_tokens` is only the uncached part; `cache_creation_input_tokens` and
 * `cache_read_input_tokens` come on top. `output_tokens` includes extended thinking, which is not reported
 * separately (reasoning = 0).
 */

const USAGE_KEYS = ['input_tokens', 'cache_creation_input_tokens', 'cache_read_input_tokens', 'output_tokens'] as const;

export interface CacheWriteSplit {
  cacheWrite5m: number;
  cacheWrite1h: number;
}

/**
 * Splits cache-write tokens into the 5-minute and 1-hour rates. Without the `cache_creation` breakdown every write
 * is 5-minute (Anthropic's default TTL). When the breakdown and the total disagree, nothing is dropped: a total
 * larger than the breakdown puts the rest at the 5-minute rate; a breakdown larger than the total is trusted.
 */
export function splitCacheWrite(total: number | undefined, breakdown: unknown): CacheWriteSplit {
  const m5 = countAt(breakdown, 'ephemeral_5m_input_tokens');
  const h1 = countAt(breakdown, 'ephemeral_1h_input_tokens');
  if (m5 === undefined && h1 === undefined) return { cacheWrite5m: total ?? 0, cacheWrite1h: 0 };
  const cacheWrite1h = h1 ?? 0;
  const rest = (total ?? 0) - cacheWrite1h;
  return { cacheWrite5m: Math.max(m5 ?? 0, rest), cacheWrite1h };
}

/** Null when `usage` is not an object or reports none of the token fields. */
export function convertAnthropicUsage(usage: unknown): NormalisedUsage | null {
  if (!isRecord(usage)) return null;
  const breakdownReported =
    countAt(usage['cache_creation'], 'ephemeral_5m_input_tokens') !== undefined ||
    countAt(usage['cache_creation'], 'ephemeral_1h_input_tokens') !== undefined;
  if (!breakdownReported && USAGE_KEYS.every((k) => readCount(usage[k]) === undefined)) return null;

  const noCache = readCount(usage['input_tokens']) ?? 0;
  const cacheRead = readCount(usage['cache_read_input_tokens']) ?? 0;
  const { cacheWrite5m, cacheWrite1h } = splitCacheWrite(
    readCount(usage['cache_creation_input_tokens']),
    usage['cache_creation'],
  );
  const output = readCount(usage['output_tokens']) ?? 0;

  const converted: NormalisedUsage = {
    input: { total: noCache + cacheRead + cacheWrite5m + cacheWrite1h, noCache, cacheRead, cacheWrite5m, cacheWrite1h },
    output: { total: output, text: output, reasoning: 0 },
    raw: usage,
  };
  const searches = countAt(usage['server_tool_use'], 'web_search_requests') ?? 0;
  if (searches > 0) converted.toolCalls = { web_search: searches };
  const billing = anthropicBilling(usage);
  if (billing !== undefined) converted.billing = billing;
  return converted;
}

/** `usage.speed` and `usage.service_tier` when they are not the standard ones (nearly every response is). */
function anthropicBilling(usage: Record<string, unknown>): BillingMode | undefined {
  const speed = usage['speed'];
  const tier = usage['service_tier'];
  const fast = typeof speed === 'string' && speed !== 'standard' ? speed.slice(0, 32) : undefined;
  const serviceTier = typeof tier === 'string' && tier !== 'standard' ? tier.slice(0, 32) : undefined;
  if (fast === undefined && serviceTier === undefined) return undefined;
  return { ...(serviceTier !== undefined ? { serviceTier } : {}), ...(fast !== undefined ? { speed: fast } : {}) };
}

export interface AnthropicStreamUsage {
  /** `message_start.message.usage`: input and cache fields, and a placeholder `output_tokens`. */
  onMessageStart(usage: unknown): void;
  /** `message_delta.usage`: the CUMULATIVE `output_tokens`, sometimes the input and cache fields again. */
  onMessageDelta(usage: unknown): void;
  /** Usage so far, or null when neither event carried any. */
  result(): NormalisedUsage | null;
}

/**
 * Accumulates a streamed Anthropic response's usage: start from `message_start`, then overwrite with the non-null
 * fields of each `message_delta`. Counts in `message_delta` are cumulative, so they replace and are never summed.
 * `raw` of the result is the merged usage object, which `convertAnthropicUsage` accepts again for re-pricing.
 */
export function createAnthropicStreamUsage(): AnthropicStreamUsage {
  let merged: Record<string, unknown> | null = null;

  const overwrite = (usage: unknown): void => {
    if (!isRecord(usage)) return;
    const next: Record<string, unknown> = { ...merged };
    for (const [key, value] of Object.entries(usage)) {
      if (value === null || value === undefined) continue;
      const prev = next[key];
      // Nested objects (cache_creation, server_tool_use) are merged field by field, with the same null rule.
      if (isRecord(value) && isRecord(prev)) {
        const inner: Record<string, unknown> = { ...prev };
        for (const [k, v] of Object.entries(value)) if (v !== null && v !== undefined) inner[k] = v;
        next[key] = inner;
      } else {
        next[key] = value;
      }
    }
    merged = next;
  };

  return {
    onMessageStart: overwrite,
    onMessageDelta: overwrite,
    result: () => (merged === null ? null : convertAnthropicUsage(merged)),
  };
}
