import type { BillingMode, NormalisedUsage, ToolCallKind, ToolCalls } from './types.js';
import { isRecord } from './usage-fields.js';

/**
 * What an OpenAI response says beside its `usage` that changes its price: the `service_tier` that served it (chat
 * completions, chat chunks, Responses objects) and, in a Responses object, the built-in tool calls among its
 * `output` items. Read from the object the gateway's meter parsed for the usage anyway.
 */
export function withOpenAIExtras(usage: NormalisedUsage | null, response: Record<string, unknown>, kind: 'chat' | 'responses'): NormalisedUsage | null {
  if (usage === null) return null;
  const billing = openAIBilling(response['service_tier']);
  if (billing !== undefined) usage.billing = billing;
  if (kind === 'responses') {
    const calls = responsesToolCalls(response['output']);
    if (calls !== undefined) usage.toolCalls = calls;
  }
  return usage;
}

/**
 * OpenAI's `service_tier` of a response as a billing mode; undefined for the standard tier (`default`, `auto`,
 * absent), nearly every response.
 */
export function openAIBilling(serviceTier: unknown): BillingMode | undefined {
  if (typeof serviceTier !== 'string' || serviceTier === 'default' || serviceTier === 'auto' || serviceTier === '') return undefined;
  return { serviceTier: serviceTier.slice(0, 32) };
}

/** Responses output item types of built-in tools billed per call. */
const TOOL_CALL_ITEMS: ReadonlyMap<string, ToolCallKind> = new Map([
  ['web_search_call', 'web_search'],
  ['file_search_call', 'file_search'],
]);

/**
 * The built-in tool calls a Responses object reports, one `output` item per call (`web_search_call`,
 * `file_search_call`), or undefined when there are none. Each item counts, whatever its `status`.
 */
export function responsesToolCalls(output: unknown): ToolCalls | undefined {
  if (!Array.isArray(output)) return undefined;
  let calls: ToolCalls | undefined;
  for (const item of output) {
    const type = isRecord(item) ? item['type'] : undefined;
    const kind = typeof type === 'string' ? TOOL_CALL_ITEMS.get(type) : undefined;
    if (kind === undefined) continue;
    calls ??= {};
    calls[kind] = (calls[kind] ?? 0) + 1;
  }
  return calls;
}
