import { convertAnthropicUsage, createAnthropicStreamUsage } from '../../../usage/convert-anthropic-usage.js';
import { estimateAnthropicInput } from '../../../usage/estimate.js';
import { estimateAnthropicOutput } from '../../../usage/estimate-output.js';
import type { Endpoint } from '../../../usage/event.js';
import type { NormalisedUsage } from '../../../usage/types.js';
import type { SseEvent } from '../../sse.js';
import { asString, BaseStreamMeter, parseObject } from '../meter-base.js';
import type { PreparedBody, ProviderAdapter, RequestInfo } from '../types.js';

/**
 * Anthropic message streams: input and cache buckets arrive in `message_start`, the final cumulative
 * `output_tokens` in `message_delta`. Only those two events are parsed.
 */
class AnthropicStreamMeter extends BaseStreamMeter {
  private readonly acc = createAnthropicStreamUsage();
  private sawStart = false;
  private sawDelta = false;

  onEvent(ev: SseEvent, now: number): boolean {
    switch (ev.event) {
      case 'content_block_delta':
        if (this.first === null) this.first = now;
        this.deltas.push(ev.data);
        break;
      case 'message_start': {
        const message = parseObject(ev.data)?.message as Record<string, unknown> | undefined;
        this.id = asString(message?.id) ?? this.id;
        this.model = asString(message?.model) ?? this.model;
        if (message?.usage) {
          this.acc.onMessageStart(message.usage);
          this.sawStart = true;
        }
        break;
      }
      case 'error':
        this.noteError(ev.data);
        break;
      case 'message_delta': {
        const usage = parseObject(ev.data)?.usage;
        if (usage) {
          this.acc.onMessageDelta(usage);
          this.sawDelta = true;
        }
        break;
      }
    }
    return false;
  }

  override usage(): NormalisedUsage | null {
    // Without message_delta the output count is message_start's placeholder: not a real report.
    return this.sawStart && this.sawDelta ? this.acc.result() : null;
  }
  override partialInput(): NormalisedUsage | null {
    return this.sawStart ? this.acc.result() : null;
  }
  protected deltaText(payload: Record<string, unknown>, out: string[]): void {
    const delta = payload.delta as Record<string, unknown> | undefined;
    for (const k of ['text', 'partial_json', 'thinking']) {
      const v = delta?.[k];
      if (typeof v === 'string') out.push(v);
    }
  }
}

function readInfo(_endpoint: Endpoint, json: Record<string, unknown>): RequestInfo {
  const metadata = json.metadata;
  const user =
    metadata && typeof metadata === 'object' ? (metadata as Record<string, unknown>).user_id : undefined;
  return {
    model: typeof json.model === 'string' ? json.model : null,
    stream: json.stream === true,
    clientUser: typeof user === 'string' && user.length > 0 ? user : null,
  };
}

function prepare(
  _endpoint: Endpoint,
  json: Record<string, unknown>,
  raw: Buffer,
  upstreamModel: string | null,
): PreparedBody {
  if (upstreamModel !== null && upstreamModel !== json.model) {
    json.model = upstreamModel;
    return { body: JSON.stringify(json), dropUsageChunk: false };
  }
  return { body: raw, dropUsageChunk: false };
}

export const anthropicAdapter: ProviderAdapter = {
  wire: 'anthropic',
  paths: {
    messages: '/v1/messages',
    'messages.count_tokens': '/v1/messages/count_tokens',
    models: '/v1/models',
  },
  defaultModels: ['claude-*'],
  upstreamHeaders: (apiKey): Record<string, string> => (apiKey ? { 'x-api-key': apiKey } : {}),
  readInfo,
  prepare,
  usageFromBody(endpoint, json) {
    // count_tokens is free: it reports a count, not billed usage.
    if (endpoint === 'messages.count_tokens') return null;
    const usage = json && typeof json === 'object' ? (json as Record<string, unknown>).usage : undefined;
    return usage ? convertAnthropicUsage(usage) : null;
  },
  createStreamMeter: () => new AnthropicStreamMeter(),
  estimateInput: (_endpoint, json) => estimateAnthropicInput(json),
  estimateOutput: (endpoint, response) => (endpoint === 'messages' ? estimateAnthropicOutput(response) : 0),
  unmeterable: () => null,
};
