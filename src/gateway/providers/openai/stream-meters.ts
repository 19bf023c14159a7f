import { convertOpenAIChatUsage } from '../../../usage/convert-openai-chat-usage.js';
import { convertOpenAIResponsesUsage } from '../../../usage/convert-openai-responses-usage.js';
import type { SseEvent } from '../../sse.js';
import { asString, BaseStreamMeter, parseObject } from '../meter-base.js';

/**
 * OpenAI chat completion chunks. Only the first chunk (id, model) and the usage chunk are parsed; the rest are
 * kept as strings and parsed only if the stream breaks off and its output has to be estimated.
 */
export class OpenAIChatStreamMeter extends BaseStreamMeter {
  private seenFirst = false;

  constructor(private readonly dropUsageChunk: boolean) {
    super();
  }

  onEvent(ev: SseEvent, now: number): boolean {
    const d = ev.data;
    if (d.length === 0 || d === '[DONE]') return false;
    if (!this.seenFirst) {
      this.seenFirst = true;
      const j = parseObject(d);
      this.id = asString(j?.id);
      this.model = asString(j?.model);
    }
    if (d.includes('"usage":{')) {
      const j = parseObject(d);
      const usage = j ? convertOpenAIChatUsage(j.usage) : null;
      if (usage) this.reported = usage;
      const choices = j?.choices;
      if (this.dropUsageChunk && Array.isArray(choices) && choices.length === 0) return true;
    }
    if (this.first === null && isContentChunk(d)) this.first = now;
    this.deltas.push(d);
    return false;
  }

  protected deltaText(payload: Record<string, unknown>, out: string[]): void {
    const choices = payload.choices;
    if (!Array.isArray(choices)) return;
    for (const c of choices as Record<string, unknown>[]) {
      const delta = c?.delta as Record<string, unknown> | undefined;
      if (!delta) continue;
      for (const k of ['content', 'reasoning_content', 'reasoning', 'refusal']) {
        const s = asString(delta[k]);
        if (s) out.push(s);
      }
      if (!Array.isArray(delta.tool_calls)) continue;
      for (const t of delta.tool_calls as Record<string, unknown>[]) {
        const fn = t?.function as Record<string, unknown> | undefined;
        const name = asString(fn?.name);
        const args = asString(fn?.arguments);
        if (name) out.push(name);
        if (args) out.push(args);
      }
    }
  }
}

/** A chunk that carries generated text, reasoning or a tool call (not the role-only opener). */
function isContentChunk(d: string): boolean {
  return (
    (d.includes('"content":"') && !d.includes('"content":""')) ||
    d.includes('"tool_calls":[') ||
    d.includes('"reasoning_content":"') ||
    d.includes('"reasoning":"')
  );
}

const RESPONSES_FINAL = new Set(['response.completed', 'response.incomplete', 'response.failed']);

/** OpenAI Responses API events: usage comes whole in `response.completed` (or incomplete/failed). */
export class OpenAIResponsesStreamMeter extends BaseStreamMeter {
  onEvent(ev: SseEvent, now: number): boolean {
    const name = ev.event;
    if (name.endsWith('.delta')) {
      if (this.first === null) this.first = now;
      this.deltas.push(ev.data);
      return false;
    }
    if (name === 'response.created' || RESPONSES_FINAL.has(name)) {
      const response = parseObject(ev.data)?.response as Record<string, unknown> | undefined;
      this.id = asString(response?.id) ?? this.id;
      this.model = asString(response?.model) ?? this.model;
      if (RESPONSES_FINAL.has(name) && response?.usage) {
        this.reported = convertOpenAIResponsesUsage(response.usage) ?? this.reported;
      }
    }
    return false;
  }

  protected deltaText(payload: Record<string, unknown>, out: string[]): void {
    const s = asString(payload.delta);
    if (s) out.push(s);
  }
}
