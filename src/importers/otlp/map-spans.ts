import { inclusiveUsage, isRecord } from '../../usage/usage-fields.js';
import { attrCount, attrString, attrs, attrsKey, catalogueProvider, identityOf, nanos, nanosToMs, resourceId, resourceTag } from './attributes.js';
import { BAD_TIME, reject, type MappedBatch, type OtelUsage } from './types.js';

/**
 * OTel GenAI spans → usage, per the semantic conventions in formats.md. A span is a model call when its
 * `gen_ai.operation.name` is chat, generate_content, text_completion or embeddings (or absent) and it reports token
 * counts. Agent and tool spans (`invoke_agent`, `create_agent`, `execute_tool`) are skipped even when they carry
 * totals: they sum their child model calls, which are counted themselves.
 * `gen_ai.usage.input_tokens` includes cached tokens (the spec's SHOULD); deprecated `prompt_tokens` /
 * `completion_tokens` are read too.
 */
const MODEL_CALLS = new Set(['chat', 'generate_content', 'text_completion', 'embeddings']);

export function mapSpans(request: unknown): MappedBatch {
  const out: MappedBatch = { usage: [], outcomes: [], rejected: {} };
  for (const rs of list(request, 'resourceSpans')) {
    const resource = attrs(isRecord(rs['resource']) ? rs['resource']['attributes'] : undefined);
    const tag = resourceTag(resourceId(attrsKey(resource)));
    for (const ss of list(rs, 'scopeSpans')) {
      for (const span of list(ss, 'spans')) {
        const r = mapSpan(span, resource, tag);
        if (r === 'no-time' || r === 'no-span-id') reject(out.rejected, r === 'no-time' ? `span with token usage without endTimeUnixNano or startTimeUnixNano (${BAD_TIME})` : 'span with token usage without a spanId');
        else if (r !== null) out.usage.push(r);
      }
    }
  }
  return out;
}

/** `resource`: its attributes, and its tag (which its token histogram's intervals find its spans by). */
function mapSpan(span: Record<string, unknown>, resource: ReturnType<typeof attrs>, resourceTag: string): OtelUsage | null | 'no-time' | 'no-span-id' {
  const a = attrs(span['attributes']);
  const op = attrString(a, 'gen_ai.operation.name');
  if (op !== null && !MODEL_CALLS.has(op)) return null;
  const input = attrCount(a, 'gen_ai.usage.input_tokens', 'gen_ai.usage.prompt_tokens');
  const output = attrCount(a, 'gen_ai.usage.output_tokens', 'gen_ai.usage.completion_tokens');
  if (input === undefined && output === undefined) return null;
  const start = nanos(span['startTimeUnixNano']);
  const end = nanos(span['endTimeUnixNano']) ?? start;
  const traceId = typeof span['traceId'] === 'string' ? span['traceId'] : '';
  const spanId = typeof span['spanId'] === 'string' ? span['spanId'] : '';
  if (end === null) return 'no-time';
  if (spanId === '') return 'no-span-id';
  const status = span['status'];
  const failed = isRecord(status) && (status['code'] === 2 || status['code'] === 'STATUS_CODE_ERROR');
  const who = identityOf(resource, a);
  return {
    key: `span\u0000${traceId}\u0000${spanId}`,
    at: nanosToMs(start ?? end),
    endedAt: nanosToMs(end),
    provider: catalogueProvider(attrString(a, 'gen_ai.provider.name', 'gen_ai.system')),
    endpoint: op === 'embeddings' ? 'embeddings' : 'chat.completions',
    model: attrString(a, 'gen_ai.response.model', 'gen_ai.request.model'),
    modelRequested: attrString(a, 'gen_ai.request.model', 'gen_ai.response.model'),
    usage: inclusiveUsage(
      {
        input,
        cacheRead: attrCount(a, 'gen_ai.usage.cache_read.input_tokens', 'gen_ai.usage.cache_read_input_tokens'),
        cacheWrite5m: attrCount(a, 'gen_ai.usage.cache_creation.input_tokens', 'gen_ai.usage.cache_creation_input_tokens'),
        output,
        reasoning: attrCount(a, 'gen_ai.usage.reasoning.output_tokens', 'gen_ai.usage.reasoning_tokens'),
      },
      Object.fromEntries([...a].filter(([k]) => k.startsWith('gen_ai.usage.'))),
    ),
    reportedCostUsd: null,
    providerRequestId: attrString(a, 'gen_ai.response.id'),
    sessionId: who.session,
    identity: who,
    tags: ['otel-span', resourceTag],
    errorClass: failed ? 'otel_error' : null,
  };
}

/** `obj[key]` as a list of records (anything else is skipped). */
export function list(obj: unknown, key: string): Record<string, unknown>[] {
  const v = isRecord(obj) ? obj[key] : undefined;
  return Array.isArray(v) ? v.filter(isRecord) : [];
}
