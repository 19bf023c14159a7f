import { convertOpenAIChatUsage, convertOpenAIEmbeddingsUsage } from '../../../usage/convert-openai-chat-usage.js';
import { withOpenAIExtras } from '../../../usage/convert-openai-extras.js';
import { convertOpenAIResponsesUsage } from '../../../usage/convert-openai-responses-usage.js';
import {
  estimateEmbeddingsInput,
  estimateOpenAIChatInput,
  estimateResponsesInput,
} from '../../../usage/estimate.js';
import { estimateOpenAIChatOutput, estimateResponsesOutput } from '../../../usage/estimate-output.js';
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
      // Most clients send no stream_options: the member is spliced into the raw bytes, sparing a re-serialisation
      // of the whole conversation (milliseconds for an agent's transcript) on the gateway's thread.
      const spliced = !modified && opts === undefined ? withLeadingMember(raw, STREAM_USAGE_MEMBER) : null;
      if (spliced !== null) return { body: spliced, dropUsageChunk };
      modified = true;
    }
  }
  return { body: modified ? JSON.stringify(json) : raw, dropUsageChunk };
}

const STREAM_USAGE_MEMBER = Buffer.from('"stream_options":{"include_usage":true},');

/**
 * `raw` (a JSON object's bytes, already parsed successfully) with `member` (`"key":value,`) inserted as its first
 * member; null when the object is empty (the trailing comma would be invalid). Only for a key the object lacks.
 */
export function withLeadingMember(raw: Buffer, member: Buffer): Buffer | null {
  let i = 0;
  while (i < raw.length && (raw[i] === 0x20 || raw[i] === 0x0a || raw[i] === 0x0d || raw[i] === 0x09)) i++;
  if (raw[i] !== 0x7b /* { */) return null;
  let j = i + 1;
  while (j < raw.length && (raw[j] === 0x20 || raw[j] === 0x0a || raw[j] === 0x0d || raw[j] === 0x09)) j++;
  if (raw[j] === 0x7d /* } */) return null;
  return Buffer.concat([raw.subarray(0, i + 1), member, raw.subarray(i + 1)]);
}

function usageFromBody(endpoint: Endpoint, json: unknown): NormalisedUsage | null {
  const body = json && typeof json === 'object' ? (json as Record<string, unknown>) : undefined;
  const usage = body?.usage;
  if (usage === undefined || usage === null) return null;
  switch (endpoint) {
    case 'responses':
      return withOpenAIExtras(convertOpenAIResponsesUsage(usage), body!, 'responses');
    case 'embeddings':
      return convertOpenAIEmbeddingsUsage(usage);
    default:
      return withOpenAIExtras(convertOpenAIChatUsage(usage), body!, 'chat');
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

function estimateOutput(endpoint: Endpoint, response: unknown): number {
  switch (endpoint) {
    case 'responses':
      return estimateResponsesOutput(response);
    case 'chat.completions':
      return estimateOpenAIChatOutput(response);
    default:
      return 0; // embeddings generate no tokens
  }
}

/**
 * Responses `background: true`: the provider answers `queued` at once and computes the response afterwards, to be
 * fetched with GET /v1/responses/{id} (or cancelled, or streamed from a cursor). Goodhart does not proxy those, so it
 * could neither meter the response (its cost would pass every budget) nor give it to the client: refused up front.
 */
function unmeterable(endpoint: Endpoint, json: Record<string, unknown>): string | null {
  if (endpoint !== 'responses' || json.background !== true) return null;
  return (
    '"background": true is not supported through this Goodhart gateway: a background response is computed after the request ends ' +
    'and fetched with GET /v1/responses/{id}, which Goodhart does not proxy, so it could be neither metered nor returned to you. ' +
    'Send the request without "background" (with "stream": true, a long response arrives as it is generated).'
  );
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
    estimateOutput,
    unmeterable,
  };
}

export const openaiAdapter = makeOpenAIAdapter(OPENAI_MODELS);
export const openaiCompatibleAdapter = makeOpenAIAdapter([]);
