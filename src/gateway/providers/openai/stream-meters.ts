import { convertOpenAIChatUsage } from '../../../usage/convert-openai-chat-usage.js';
import { withOpenAIExtras } from '../../../usage/convert-openai-extras.js';
import { convertOpenAIResponsesUsage } from '../../../usage/convert-openai-responses-usage.js';
import type { SseEvent } from '../../sse.js';
import { asString, BaseStreamMeter, parseObject } from '../meter-base.js';

/**
 * How many chunks are parsed looking for the id and model. Azure OpenAI with content filtering opens with a chunk of
 * prompt filter results whose id and model are "" (the next one has them); a server that never sends them costs
 * this many parses, not one per chunk.
 */
const ID_PROBES = 4;

/**
 * OpenAI chat completion chunks. Only the first chunks that carry an id and model, and the usage chunk, are parsed;
 * the rest are kept as strings and parsed only if the stream breaks off and its output has to be estimated.
 */
export class OpenAIChatStreamMeter extends BaseStreamMeter {
  private probes = 0;

  constructor(private readonly dropUsageChunk: boolean) {
    super();
  }

  onEvent(ev: SseEvent, now: number): boolean {
    const d = ev.data;
    if (d.length === 0 || d === '[DONE]') return false;
    if ((this.id === null || this.model === null) && this.probes < ID_PROBES) {
      this.probes++;
      this.noteIds(parseObject(d));
    }
    if (memberValueStarts(d, 'usage', '{')) {
      const j = parseObject(d);
      // The usage chunk carries the response's service_tier too, as every chunk does.
      const usage = j ? withOpenAIExtras(convertOpenAIChatUsage(j.usage), j, 'chat') : null;
      if (usage) this.reported = usage;
      this.noteIds(j);
      const choices = j?.choices;
      if (this.dropUsageChunk && Array.isArray(choices) && choices.length === 0) return true;
    }
    if (this.first === null && isContentChunk(d)) this.first = now;
    // An error mid-stream comes as a chunk of its own: {"error": {…}}.
    if (d.startsWith('{"error"') || ev.event === 'error') this.noteError(d);
    this.deltas.push(d);
    return false;
  }

  /** The first non-empty id and model seen. */
  private noteIds(j: Record<string, unknown> | null): void {
    this.id ??= nonEmpty(j?.id);
    this.model ??= nonEmpty(j?.model);
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

const nonEmpty = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v : null);

/** A chunk that carries generated text, reasoning or a tool call (not the role-only opener). */
function isContentChunk(d: string): boolean {
  return (
    nonEmptyString(d, 'content') ||
    memberValueStarts(d, 'tool_calls', '[') ||
    memberValueStarts(d, 'reasoning_content', '"') ||
    memberValueStarts(d, 'reasoning', '"')
  );
}

const isJsonSpace = (c: number): boolean => c === 32 || c === 10 || c === 13 || c === 9;

/**
 * Whether some member `"name"` of the JSON text `d` has a value starting with `open` (`{`, `[` or `"`), with any
 * JSON whitespace around the colon: servers that write `"usage": {` (Python's json.dumps: llama.cpp, vLLM's older
 * releases) are read like OpenAI's compact `"usage":{`. A scan, not a parse: most chunks are never parsed. A string
 * value that merely contains `"name":` is escaped (`\"name\":`), so it cannot match.
 */
function memberValueStarts(d: string, name: string, open: string): boolean {
  return valueAfter(d, name, open) !== -1;
}

/** Like memberValueStarts(d, name, '"'), for a string value that is not empty. */
function nonEmptyString(d: string, name: string): boolean {
  for (let at = valueAfter(d, name, '"'); at !== -1; at = valueAfter(d, name, '"', at)) {
    if (d.charCodeAt(at + 1) !== 34) return true;
  }
  return false;
}

/** The index of the first value of a member `"name"` that starts with `open`, searching from `from`; -1 if none. */
function valueAfter(d: string, name: string, open: string, from = 0): number {
  const key = `"${name}"`;
  for (let i = d.indexOf(key, from); i !== -1; i = d.indexOf(key, i + 1)) {
    let j = i + key.length;
    while (isJsonSpace(d.charCodeAt(j))) j++;
    if (d.charCodeAt(j) !== 58 /* : */) continue;
    j++;
    while (isJsonSpace(d.charCodeAt(j))) j++;
    if (d[j] === open) return j;
  }
  return -1;
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
    if (name === 'error') {
      this.noteError(ev.data);
      return false;
    }
    if (name === 'response.created' || RESPONSES_FINAL.has(name)) {
      const response = parseObject(ev.data)?.response as Record<string, unknown> | undefined;
      this.id = asString(response?.id) ?? this.id;
      this.model = asString(response?.model) ?? this.model;
      if (RESPONSES_FINAL.has(name) && response?.usage) {
        // The final event carries the whole response: its output items (built-in tool calls) and service_tier.
        this.reported = withOpenAIExtras(convertOpenAIResponsesUsage(response.usage), response, 'responses') ?? this.reported;
      }
      // A failure may come as this final event alone, with no `error` event before it.
      if (name === 'response.failed') this.noteFailedResponse(response?.error);
    }
    return false;
  }

  protected deltaText(payload: Record<string, unknown>, out: string[]): void {
    const s = asString(payload.delta);
    if (s) out.push(s);
  }
}
