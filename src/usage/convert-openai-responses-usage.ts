import type { NormalisedUsage } from './types.js';
import { countAt, inclusiveUsage, isRecord, readCount } from './usage-fields.js';

/**
 * OpenAI Responses API `usage` (also `response.completed` → `response.usage` when streaming) → NormalisedUsage.
 * `input_tokens` includes `input_tokens_details.cached_tokens`; `output_tokens` includes
 * `output_tokens_details.reasoning_tokens`. The Responses API reports no cache writes.
 *
 * Null when `usage` is not an object or reports neither input nor output.
 */
export function convertOpenAIResponsesUsage(usage: unknown): NormalisedUsage | null {
  if (!isRecord(usage)) return null;
  const input = readCount(usage['input_tokens']);
  const output = readCount(usage['output_tokens']);
  if (input === undefined && output === undefined) return null;
  return inclusiveUsage(
    {
      input,
      cacheRead: countAt(usage['input_tokens_details'], 'cached_tokens'),
      output,
      reasoning: countAt(usage['output_tokens_details'], 'reasoning_tokens'),
    },
    usage,
  );
}
