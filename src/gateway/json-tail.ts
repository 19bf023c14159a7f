/**
 * The usage of a JSON answer too large to hold, read from its last bytes: OpenAI's embeddings, chat and Responses
 * bodies and Anthropic's messages all end with their `usage` member (embeddings: `…],"model":"…","usage":{…}}`).
 * A scan of the tail, never a parse of the whole body: the same `"name":` test as the stream meters', so a string
 * value that merely contains `"usage":` (escaped, `\"usage\":`) cannot match.
 */

/** Bytes kept from the end of a passed-through body: the usage member and what follows it fit many times over. */
export const TAIL_BYTES = 64 * 1024;

export interface TailUsage {
  /** The last `"usage"` object in the tail, parsed. */
  usage: Record<string, unknown>;
  /** The last `"model"` string before it, else null. */
  model: string | null;
}

export function usageFromTail(text: string): TailUsage | null {
  for (let m = lastMember(text, 'usage', '{', text.length); m !== null; m = m.key === 0 ? null : lastMember(text, 'usage', '{', m.key - 1)) {
    const end = objectEnd(text, m.value);
    if (end === -1) continue;
    let usage: unknown;
    try {
      usage = JSON.parse(text.slice(m.value, end + 1));
    } catch {
      continue;
    }
    if (usage === null || typeof usage !== 'object' || Array.isArray(usage)) continue;
    return { usage: usage as Record<string, unknown>, model: modelBefore(text, m.key) };
  }
  return null;
}

const isJsonSpace = (c: number): boolean => c === 32 || c === 10 || c === 13 || c === 9;

/**
 * The last member `"name"` whose value starts with `open`, its key at or before `before`: where its key and its value
 * begin; null if none.
 */
function lastMember(text: string, name: string, open: string, before: number): { key: number; value: number } | null {
  const key = `"${name}"`;
  for (let i = text.lastIndexOf(key, before); i !== -1; i = i === 0 ? -1 : text.lastIndexOf(key, i - 1)) {
    let j = i + key.length;
    while (isJsonSpace(text.charCodeAt(j))) j++;
    if (text.charCodeAt(j) !== 58 /* : */) continue;
    j++;
    while (isJsonSpace(text.charCodeAt(j))) j++;
    if (text[j] === open) return { key: i, value: j };
  }
  return null;
}

/** The index of the `}` closing the object that opens at `start`, skipping strings; -1 if the text ends first. */
function objectEnd(text: string, start: number): number {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      for (i++; i < text.length && text.charCodeAt(i) !== 34; i++) if (text.charCodeAt(i) === 92 /* \ */) i++;
    } else if (c === 123 /* { */ || c === 91 /* [ */) {
      depth++;
    } else if (c === 125 /* } */ || c === 93 /* ] */) {
      depth--;
      if (depth === 0) return c === 125 ? i : -1;
    }
  }
  return -1;
}

function modelBefore(text: string, before: number): string | null {
  return stringAt(text, lastMember(text, 'model', '"', before));
}

/**
 * The last string member `"name"` of the text (the response's `service_tier`, after `usage` in a chat answer and
 * after `output` in a Responses one), else null.
 */
export function lastStringMember(text: string, name: string): string | null {
  return stringAt(text, lastMember(text, name, '"', text.length));
}

/** The first string member `"name"` of the text (the `model` near the start of a chat, Responses or Messages answer). */
export function firstStringMember(text: string, name: string): string | null {
  const key = `"${name}"`;
  for (let i = text.indexOf(key); i !== -1; i = text.indexOf(key, i + 1)) {
    const m = lastMember(text, name, '"', i);
    if (m !== null && m.key === i) return stringAt(text, m);
  }
  return null;
}

/** The string value that starts at `m.value`, parsed; null when absent, empty, cut off or not a string. */
function stringAt(text: string, m: { value: number } | null): string | null {
  if (m === null) return null;
  const at = m.value;
  let end = at + 1;
  while (end < text.length && text.charCodeAt(end) !== 34) end += text.charCodeAt(end) === 92 ? 2 : 1;
  if (end >= text.length) return null;
  try {
    const model: unknown = JSON.parse(text.slice(at, end + 1));
    return typeof model === 'string' && model.length > 0 ? model : null;
  } catch {
    return null;
  }
}

/** The last `limit` bytes (or a little more) of a body passing through, kept as the chunks that hold them. */
export class TailKeeper {
  private readonly chunks: Buffer[] = [];
  private size = 0;

  constructor(private readonly limit = TAIL_BYTES) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.chunks.length > 1 && this.size - this.chunks[0]!.length >= this.limit) this.size -= this.chunks.shift()!.length;
  }

  /** The kept bytes as text: the first character may be cut (a U+FFFD), never one the usage is in. */
  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.limit)).toString('utf8');
  }
}

/**
 * Counts a Responses answer's built-in tool call items (`"type": "web_search_call"`, billed per call) in the bytes of
 * a body passing through, chunk by chunk. A value inside a string cannot match: its quotes are escaped.
 */
export class ToolCallItems {
  private static readonly ITEM = /"type"\s*:\s*"(web_search_call|file_search_call)"/g;
  /** Characters kept from the previous chunk: a match cut by a chunk boundary is found whole in the next scan. */
  private static readonly CARRY = 64;
  private carry = '';
  private readonly counts = new Map<string, number>();

  push(chunk: Buffer): void {
    const text = this.carry + chunk.toString('latin1');
    ToolCallItems.ITEM.lastIndex = 0;
    for (let m = ToolCallItems.ITEM.exec(text); m !== null; m = ToolCallItems.ITEM.exec(text)) {
      // A match that lies wholly in the carried text was counted with the chunk it came from.
      if (m.index + m[0].length > this.carry.length) this.counts.set(m[1]!, (this.counts.get(m[1]!) ?? 0) + 1);
    }
    this.carry = text.slice(-ToolCallItems.CARRY);
  }

  /** The items found, as a Responses `output` list holds them (what the usage converter counts). */
  items(): { type: string }[] {
    const out: { type: string }[] = [];
    for (const [type, n] of this.counts) for (let i = 0; i < n; i++) out.push({ type });
    return out;
  }
}
