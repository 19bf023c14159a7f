import { convertOpenAIChatUsage } from '../../../usage/convert-openai-chat-usage.js';
import { convertOpenAIResponsesUsage } from '../../../usage/convert-openai-responses-usage.js';
import type { NormalisedUsage } from '../../../usage/types.js';
import type { SseEvent } from '../../sse.js';
import type { StreamMeter } from '../types.js';

function tryParse(s: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(s);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/**
 * OpenAI chat completion chunks. Only the first chunk (id, model) and the usage chunk are parsed; the rest are
 * kept as strings and parsed only if the stream breaks off and its output has to be estimated.
 */
export class OpenAIChatStreamMeter implements StreamMeter {
  private id: string | null = null;
  private model: string | null = null;
  private first: number | null = null;
  private reported: NormalisedUsage | null = null;
  private seenFirst = false;
  private readonly deltas: string[] = [];

  constructor(private readonly dropUsageChunk: boolean) {}

  onEvent(ev: SseEvent, now: number): boolean {
    const d = ev.data;
    if (d.length === 0 || d === '[DONE]') return false;
    if (!this.seenFirst) {
      this.seenFirst = true;
      const j = tryParse(d);
      this.id = str(j?.id);
      this.model = str(j?.model);
    }
    if (d.includes('"usage":{')) {
      const j = tryParse(d);
      const usage = j ? convertOpenAIChatUsage(j.usage) : null;
      if (usage) this.reported = usage;
      const choices = j?.choices;
      if (this.dropUsageChunk && Array.isArray(choices) && choices.length === 0) return true;
    }
    if (this.first === null && isContentChunk(d)) this.first = now;
    this.deltas.push(d);
    return false;
  }

  usage(): NormalisedUsage | null {
    return this.reported;
  }
  partialInput(): NormalisedUsage | null {
    return null;
  }
  outputText(): string {
    const parts: string[] = [];
    for (const d of this.deltas) {
      const choices = tryParse(d)?.choices;
      if (!Array.isArray(choices)) continue;
      for (const c of choices as Record<string, unknown>[]) {
        const delta = c?.delta as Record<string, unknown> | undefined;
        if (!delta) continue;
        for (const k of ['content', 'reasoning_content', 'reasoning', 'refusal']) {
          const s = str(delta[k]);
          if (s) parts.push(s);
        }
        if (Array.isArray(delta.tool_calls)) {
          for (const t of delta.tool_calls as Record<string, unknown>[]) {
            const fn = t?.function as Record<string, unknown> | undefined;
            const name = str(fn?.name);
            const args = str(fn?.arguments);
            if (name) parts.push(name);
            if (args) parts.push(args);
          }
        }
      }
    }
    return parts.join('');
  }
  firstTokenAt(): number | null {
    return this.first;
  }
  modelServed(): string | null {
    return this.model;
  }
  providerRequestId(): string | null {
    return this.id;
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
export class OpenAIResponsesStreamMeter implements StreamMeter {
  private id: string | null = null;
  private model: string | null = null;
  private first: number | null = null;
  private reported: NormalisedUsage | null = null;
  private readonly deltas: string[] = [];

  onEvent(ev: SseEvent, now: number): boolean {
    const name = ev.event;
    if (name.endsWith('.delta')) {
      if (this.first === null) this.first = now;
      this.deltas.push(ev.data);
      return false;
    }
    if (name === 'response.created' || RESPONSES_FINAL.has(name)) {
      const response = tryParse(ev.data)?.response as Record<string, unknown> | undefined;
      this.id = str(response?.id) ?? this.id;
      this.model = str(response?.model) ?? this.model;
      if (RESPONSES_FINAL.has(name) && response?.usage) {
        this.reported = convertOpenAIResponsesUsage(response.usage) ?? this.reported;
      }
    }
    return false;
  }

  usage(): NormalisedUsage | null {
    return this.reported;
  }
  partialInput(): NormalisedUsage | null {
    return null;
  }
  outputText(): string {
    return this.deltas.map((d) => str(tryParse(d)?.delta) ?? '').join('');
  }
  firstTokenAt(): number | null {
    return this.first;
  }
  modelServed(): string | null {
    return this.model;
  }
  providerRequestId(): string | null {
    return this.id;
  }
}
