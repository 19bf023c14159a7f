import { splitCacheWrite } from './convert-anthropic-usage.js';
import type { NormalisedUsage } from './types.js';
import { countAt, firstCount, inclusiveUsage, isRecord, readCount } from './usage-fields.js';

/**
 * OpenAI chat completions `usage` → NormalisedUsage. Also accepts what OpenAI-compatible servers send:
 * - vLLM, Ollama, older servers: no `*_details`, or `null` details, or `null` counts.
 * - DeepSeek: `prompt_cache_hit_tokens` / `prompt_cache_miss_tokens` (prompt_tokens = hit + miss).
 * - Proxies in front of Anthropic (LiteLLM, some routers): `cache_read_input_tokens`, `cache_creation_input_tokens`
 *   and sometimes the `cache_creation` 5m/1h breakdown, next to an inclusive `prompt_tokens`.
 * - OpenRouter: `prompt_tokens_details.cache_write_tokens`.
 * Cache writes without a TTL are billed at the 5-minute rate. Audio tokens (`prompt_tokens_details.audio_tokens`,
 * `completion_tokens_details.audio_tokens`, gpt-audio and gpt-4o-audio) are parts of the totals, priced at the audio
 * rates.
 *
 * Null when `usage` is not an object or reports neither input nor output.
 */
export function convertOpenAIChatUsage(usage: unknown): NormalisedUsage | null {
  if (!isRecord(usage)) return null;
  const details = usage['prompt_tokens_details'];
  const outDetails = usage['completion_tokens_details'];

  const hit = readCount(usage['prompt_cache_hit_tokens']);
  const miss = readCount(usage['prompt_cache_miss_tokens']);
  const input = firstCount(
    readCount(usage['prompt_tokens']),
    readCount(usage['input_tokens']),
    hit !== undefined && miss !== undefined ? hit + miss : undefined,
  );
  const output = firstCount(readCount(usage['completion_tokens']), readCount(usage['output_tokens']));
  if (input === undefined && output === undefined) return null;

  // The same quantity under several names; some servers send a placeholder 0 in one and the count in another.
  const cacheRead = maxOf(countAt(details, 'cached_tokens'), hit, readCount(usage['cache_read_input_tokens']));
  const cacheWriteTotal = firstCount(
    readCount(usage['cache_creation_input_tokens']),
    countAt(details, 'cache_write_tokens'),
    countAt(details, 'cache_creation_tokens'),
  );
  const { cacheWrite5m, cacheWrite1h } = splitCacheWrite(cacheWriteTotal, usage['cache_creation']);
  const reasoning = firstCount(countAt(outDetails, 'reasoning_tokens'), readCount(usage['reasoning_tokens']));
  const audioInput = countAt(details, 'audio_tokens');
  const audioOutput = countAt(outDetails, 'audio_tokens');

  return inclusiveUsage({ input, cacheRead, cacheWrite5m, cacheWrite1h, audioInput, output, reasoning, audioOutput }, usage);
}

/**
 * OpenAI embeddings `usage` (`prompt_tokens`, `total_tokens`) → NormalisedUsage with no output.
 * Null when `usage` is not an object or reports no count.
 */
export function convertOpenAIEmbeddingsUsage(usage: unknown): NormalisedUsage | null {
  if (!isRecord(usage)) return null;
  const input = firstCount(
    readCount(usage['prompt_tokens']),
    readCount(usage['total_tokens']),
    readCount(usage['input_tokens']),
  );
  if (input === undefined) return null;
  return inclusiveUsage({ input }, usage);
}

function maxOf(...values: (number | undefined)[]): number | undefined {
  let best: number | undefined;
  for (const v of values) if (v !== undefined && (best === undefined || v > best)) best = v;
  return best;
}
