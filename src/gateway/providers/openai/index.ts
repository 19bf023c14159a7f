import { convertOpenAIChatUsage, convertOpenAIEmbeddingsUsage } from '../../../usage/convert-openai-chat-usage.js';
import { convertOpenAIResponsesUsage } from '../../../usage/convert-openai-responses-usage.js';
import {
  estimateEmbeddingsInput,
  estimateOpenAIChatInput,
  estimateResponsesInput,
} from '../../../usage/estimate.js';
import type { Endpoint } from '../../../usage/event.js';
import type { NormalisedUsage } from '../../../usage/types.js';
import type { PreparedBody, ProviderAdapter, RequestInfo, StreamMeter } from '../types.js';
import { OpenAIChatStreamMeter, OpenAIResponsesStreamMeter } from './stream-meters.js';

/** Model families OpenAI's own API serves; an openai-compatible provider serves only what the config lists. */
const OPENAI_MODELS = [
  'gpt-*',
  'chatgpt-*',
  'o1*',
  'o3*',
  'o4*',
  'codex-*',
  'text-embedding-*',
  'omni-moderation-*',
  'computer-use-*',
] as const;

function readInfo(_endpoint: Endpoint, json: Record<string, unknown>): RequestInfo {
  const user = json.user ?? json.safety_identifier;
  return {
    model: typeof json.model === 'string' ? json.model : null,
    stream: json.stream === true,
    clientUser: typeof user === 'string' && user.length > 0 ? user : null,
  };
}

function prepare(
  endpoint: Endpoint,
  json: Record<string, unknown>,
  raw: Buffer,
  upstreamModel: string | null,
): PreparedBody {
  let modified = false;
  let dropUsageChunk = false;
  if (upstreamModel !== null && upstreamModel !== json.model) {
    json.model = upstreamModel;
    modified = true;
  }
  if (endpoint === 'chat.completions' && json.stream === true) {
    const opts = json.stream_options;
    const wantsUsage =
      opts !== null && typeof opts === 'object' && (opts as Record<string, unknown>).include_usage === true;
    if (!wantsUsage) {
      // Usage arrives in streams only when asked for: ask for it, and hide the extra chunk from a client that didn't.
      json.stream_options = { ...(opts && typeof opts === 'object' ? opts : {}), include_usage: true };
      dropUsageChunk = true;
      modified = true;
    }
  }
  return { body: modified ? JSON.stringify(json) : raw, dropUsageChunk };
}

function usageFromBody(endpoint: Endpoint, json: unknown): NormalisedUsage | null {
  const usage = json && typeof json === 'object' ? (json as Record<string, unknown>).usage : undefined;
  if (usage === undefined || usage === null) return null;
  switch (endpoint) {
    case 'responses':
      return convertOpenAIResponsesUsage(usage);
    case 'embeddings':
      return convertOpenAIEmbeddingsUsage(usage);
    default:
      return convertOpenAIChatUsage(usage);
  }
}

function createStreamMeter(endpoint: Endpoint, prepared: PreparedBody): StreamMeter {
  return endpoint === 'responses' ? new OpenAIResponsesStreamMeter() : new OpenAIChatStreamMeter(prepared.dropUsageChunk);
}

function estimateInput(endpoint: Endpoint, json: Record<string, unknown>): number {
  switch (endpoint) {
    case 'responses':
      return estimateResponsesInput(json);
    case 'embeddings':
      return estimateEmbeddingsInput(json);
    default:
      return estimateOpenAIChatInput(json);
  }
}

function makeOpenAIAdapter(defaultModels: readonly string[]): ProviderAdapter {
  return {
    wire: 'openai',
    paths: {
      'chat.completions': '/chat/completions',
      responses: '/responses',
      embeddings: '/embeddings',
      models: '/models',
    },
    defaultModels,
    upstreamHeaders: (apiKey): Record<string, string> => (apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
    readInfo,
    prepare,
    usageFromBody,
    createStreamMeter,
    estimateInput,
  };
}

export const openaiAdapter = makeOpenAIAdapter(OPENAI_MODELS);
export const openaiCompatibleAdapter = makeOpenAIAdapter([]);
