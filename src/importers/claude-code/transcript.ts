import type { FingerprintCore } from '../../detect/fingerprint/types.js';
import { isRecord } from '../../usage/usage-fields.js';
import { isStringValue, memberOf, readNode, type Member } from '../json-bytes.js';
import { parseJsonObject, str } from '../json-line.js';
import { Conversations, type Conversation } from '../transcript.js';
import type { FingerprintSettings, LineResult, TranscriptHasher } from '../types.js';

/**
 * Fingerprints from a Claude Code session log (see ../transcript.ts for what a fingerprint takes from a log):
 * - `type:"user"` lines: typed text (a string, or `text` blocks) is the next request's new turn; `tool_result`
 *   blocks are the results of the previous answer's `tool_use` blocks, which together make the next request's tool
 *   step. `isMeta` lines (text Claude Code adds itself) are context, not a turn; a compaction summary
 *   (`isCompactSummary`) starts the context over.
 * - `type:"assistant"` lines with usage: the first line of each `message.id` + `requestId` pair is a request, whose
 *   fingerprint goes with the importer's event (same key as parse-line.ts). Its `tool_use` blocks (`name input`,
 *   as the gateway writes them) are the calls of the next tool step.
 * User lines are read on their bytes (json-bytes.ts): the tool output in them, most of a log, is hashed as
 * written and never decoded. Anything unexpected falls back to JSON.parse of the line.
 *
 * Conversations are per session and chain (main or sidechain).
 */

/** Claude Code offers the model about this many tools (Read, Edit, Bash, Grep…): the classifier's "agent" signal. */
export const CLAUDE_CODE_TOOLS = 16;

export const USER_NEEDLE = Buffer.from('"type":"user"');

export function createClaudeTranscript(_path: string, context: unknown, fingerprints: FingerprintSettings): TranscriptHasher {
  const convs = new Conversations(fingerprints.secret, context, fingerprints.since);
  const conversation = (sessionId: string | null, sidechain: boolean): Conversation => convs.get(`${sessionId ?? '-'}:${sidechain ? 'side' : 'main'}`, sessionId ?? '-');

  const assistant = (buf: Buffer, start: number, end: number, text: string, usage: LineResult | undefined): FingerprintCore | null => {
    if (usage === undefined || usage === null || typeof usage === 'string') return null;
    const c = conversation(usage.sessionId, usage.tags.includes('sidechain'));
    let fp: FingerprintCore | null = null;
    if (usage.key !== c.lastKey) {
      c.lastKey = usage.key;
      fp = c.request(CLAUDE_CODE_TOOLS, usage.at);
    }
    for (const block of answerBlocks(buf, start, end) ?? answerBlocksParsed(text)) {
      if (block.call !== null) {
        c.calls.push(block.call);
        c.push(block.call);
      } else c.push(block.text, block.chars);
    }
    return fp;
  };

  return {
    line(buf, start, end, text, usage) {
      if (usage !== undefined && usage !== 'no_usage' && text !== null) return assistant(buf, start, end, text, usage);
      const user = readUserLine(buf, start, end);
      if (user !== undefined) {
        if (user !== null) applyUserLine(buf, user, conversation);
        return null;
      }
      const obj = parseJsonObject(text ?? buf.toString('utf8', start, end));
      if (typeof obj !== 'string' && obj['type'] === 'user') userObject(obj, conversation);
      return null;
    },
    pending: () => convs.pending(),
    context: () => convs.saved(),
  };
}

/** A block of an answer as context: its text (as written), or a tool call `name input` (also the next step's call). */
interface Block {
  text: string;
  chars: number;
  call: string | null;
}

const CONTENT = Buffer.from('"content":[');
const THINKING = Buffer.from('{"type":"thinking"');
const TOOL_USE = Buffer.from('"type":"tool_use"');
const TEXT = Buffer.from('"type":"text"');

/** Where `needle` first occurs in buf[from, end), or -1 (a search of the whole buffer would cost more than the line). */
function find(buf: Buffer, needle: Buffer, from: number, end: number): number {
  const i = buf.subarray(from, end).indexOf(needle);
  return i < 0 ? -1 : from + i;
}
const within = (buf: Buffer, needle: Buffer, from: number, end: number): boolean => find(buf, needle, from, end) >= 0;

/**
 * The content blocks of an assistant line, read on its bytes: text as written, tool calls as `name input` (the
 * input's JSON as written, which is what the gateway's JSON.stringify of it gives for a compact writer), and a
 * marker for thinking (never its text). Null when the bytes are not the shape expected.
 */
function answerBlocks(buf: Buffer, start: number, end: number): Block[] | null {
  const at = find(buf, CONTENT, start, end);
  if (at < 0) return [];
  // Claude Code writes one block per line; a thinking block (long text and signature) is only a marker here.
  if (find(buf, THINKING, at, at + CONTENT.length + THINKING.length) === at + CONTENT.length && !within(buf, TOOL_USE, at, end) && !within(buf, TEXT, at, end)) {
    return [{ text: '[thinking]', chars: 0, call: null }];
  }
  const elements = readNode(buf, at + CONTENT.length - 1, end, 2)?.items;
  if (elements === undefined) return null;
  const out: Block[] = [];
  for (const element of elements) {
    const m = element.members;
    if (m === undefined) return null;
    const type = memberOf(m, 'type');
    if (isStringValue(buf, type, 'tool_use')) {
      const input = memberOf(m, 'input');
      const call = `${stringAt(buf, memberOf(m, 'name')) ?? ''} ${input === undefined ? 'null' : buf.toString('utf8', input.start, input.end)}`;
      out.push({ text: call, chars: call.length, call });
    } else if (isStringValue(buf, type, 'text')) {
      const t = memberOf(m, 'text');
      out.push(t === undefined ? { text: '', chars: 0, call: null } : { text: buf.toString('latin1', t.start + 1, t.end - 1), chars: t.end - t.start - 2, call: null });
    } else out.push({ text: `[${stringAt(buf, type) ?? 'block'}]`, chars: 0, call: null });
  }
  return out;
}

/** The same from the parsed line, for bytes the reader above does not take. */
function answerBlocksParsed(line: string): Block[] {
  const obj = parseJsonObject(line);
  const blocks = typeof obj !== 'string' && isRecord(obj['message']) ? obj['message']['content'] : [];
  if (!Array.isArray(blocks)) return [];
  const out: Block[] = [];
  for (const b of blocks) {
    if (!isRecord(b)) continue;
    if (b['type'] === 'tool_use') {
      const call = `${str(b['name']) ?? ''} ${JSON.stringify(b['input'] ?? null)}`;
      out.push({ text: call, chars: call.length, call });
    } else if (b['type'] === 'text' && typeof b['text'] === 'string') {
      const raw = asWritten(JSON.stringify(b['text']).slice(1, -1));
      out.push({ text: raw, chars: raw.length, call: null });
    } else out.push({ text: `[${str(b['type']) ?? 'block'}]`, chars: 0, call: null });
  }
  return out;
}

const stringAt = (buf: Buffer, m: Member | undefined): string | null => {
  if (m === undefined || buf[m.start] !== 0x22) return null;
  try {
    return JSON.parse(buf.toString('utf8', m.start, m.end)) as string;
  } catch {
    return null;
  }
};

interface UserLine {
  sessionId: string | null;
  sidechain: boolean;
  meta: boolean;
  compact: boolean;
  /** Typed text and other blocks' markers, in order. */
  texts: string[];
  /** Tool results: their content's bytes as written ([from, to) of the line). */
  results: [number, number][];
}

/**
 * A `type:"user"` line read on its bytes: null when it is not a user line, undefined when its shape is not the one
 * Claude Code writes (the caller then parses it). Typed text is decoded (it is small and must be read as words);
 * tool results are left as byte ranges, hashed as written.
 */
function readUserLine(buf: Buffer, start: number, end: number): UserLine | null | undefined {
  // One pass, four levels deep (line, message, content, block). `toolUseResult` (Claude Code's own copy of the tool
  // output, often the larger half of the line) is the last key it writes: the members are read up to it.
  const top = readNode(buf, start, end, 4, 'toolUseResult')?.members;
  if (top === undefined) return undefined;
  if (!isStringValue(buf, memberOf(top, 'type'), 'user')) return null;
  const content = memberOf(memberOf(top, 'message')?.members ?? [], 'content');
  if (content === undefined) return undefined;
  const line: UserLine = {
    sessionId: stringAt(buf, memberOf(top, 'sessionId')),
    sidechain: bufTrue(buf, memberOf(top, 'isSidechain')),
    meta: bufTrue(buf, memberOf(top, 'isMeta')),
    compact: bufTrue(buf, memberOf(top, 'isCompactSummary')),
    texts: [],
    results: [],
  };
  if (buf[content.start] === 0x22) {
    const text = stringAt(buf, content);
    if (text === null) return undefined;
    line.texts.push(text);
    return line;
  }
  if (content.items === undefined) return undefined;
  for (const element of content.items) {
    const block = element.members;
    if (block === undefined) return undefined;
    if (isStringValue(buf, memberOf(block, 'type'), 'tool_result')) {
      const value = memberOf(block, 'content');
      line.results.push(value === undefined ? [element.start, element.start] : buf[value.start] === 0x22 ? [value.start + 1, value.end - 1] : [value.start, value.end]);
    } else line.texts.push(stringAt(buf, memberOf(block, 'text')) ?? `[${stringAt(buf, memberOf(block, 'type')) ?? 'block'}]`);
  }
  return line;
}

function applyUserLine(buf: Buffer, u: UserLine, conversation: (s: string | null, side: boolean) => Conversation): void {
  const c = conversation(u.sessionId, u.sidechain);
  if (u.compact) c.restart();
  for (const [from, to] of u.results) c.result(buf.toString('latin1', from, to));
  // Text beside tool results is Claude Code's own (an interruption notice): part of the step, not a turn.
  if (u.results.length > 0) for (const t of u.texts) c.hold(t);
  else typedOrContext(c, u.texts.join('\n'), u.meta);
}

function typedOrContext(c: Conversation, text: string, meta: boolean): void {
  if (meta || text.startsWith('[Request interrupted')) c.hold(text);
  else {
    c.typed.push(text);
    c.hold(text);
  }
}

function userObject(obj: Record<string, unknown>, conversation: (s: string | null, side: boolean) => Conversation): void {
  const message = obj['message'];
  if (!isRecord(message)) return;
  const c = conversation(str(obj['sessionId']), obj['isSidechain'] === true);
  if (obj['isCompactSummary'] === true) c.restart();
  const content = message['content'];
  if (typeof content === 'string') {
    typedOrContext(c, content, obj['isMeta'] === true);
    return;
  }
  if (!Array.isArray(content)) return;
  const typed: string[] = [];
  let results = 0;
  for (const b of content) {
    if (!isRecord(b)) continue;
    if (b['type'] === 'tool_result') {
      // The same bytes the byte reader hashes, for a writer that writes compact JSON as Claude Code does.
      c.result(asWritten(typeof b['content'] === 'string' ? JSON.stringify(b['content']).slice(1, -1) : JSON.stringify(b['content'] ?? null)));
      results++;
    } else typed.push(typeof b['text'] === 'string' ? b['text'] : `[${str(b['type']) ?? 'block'}]`);
  }
  if (results > 0) for (const t of typed) c.hold(t);
  else typedOrContext(c, typed.join('\n'), obj['isMeta'] === true);
}

/** JSON text as the byte reader sees it (one character per byte). */
function asWritten(json: string): string {
  return Buffer.from(json).toString('latin1');
}

function bufTrue(buf: Buffer, m: Member | undefined): boolean {
  return m !== undefined && m.end - m.start === 4 && buf.toString('latin1', m.start, m.end) === 'true';
}
