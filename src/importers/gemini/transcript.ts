import { basename } from 'node:path';
import type { FingerprintCore } from '../../detect/fingerprint/types.js';
import { isRecord } from '../../usage/usage-fields.js';
import { parseJsonObject, parseTimestamp, str } from '../json-line.js';
import { Conversation, Conversations } from '../transcript.js';
import type { FingerprintSettings, KeyedFingerprint, LineResult, TranscriptHasher } from '../types.js';
import { convertGeminiTokens } from './parse.js';

/**
 * Fingerprints from a Gemini CLI chat (see ../transcript.ts for what a fingerprint takes from a log): `messages[]`
 * of `type: "user"` are the person's turns; each `type: "gemini"` message with `tokens` is a request, whose tool
 * step is the previous answer's `toolCalls` (`name args`) with their `result`s, which Gemini CLI records on the
 * call itself. Keys are the parser's (parse.ts): the session and the message id, else its index.
 */

/** Gemini CLI offers the model about a dozen tools (read_file, write_file, run_shell_command, glob…). */
export const GEMINI_TOOLS = 12;

class GeminiChat {
  /** The tool calls of the last answer, each with its result, waiting for the next request. */
  private lastCalls: { call: string; result: string }[] = [];

  constructor(private readonly c: Conversation) {}

  /** One message; a fingerprint when it is a request. */
  message(m: Record<string, unknown>): FingerprintCore | null {
    const c = this.c;
    if (m['type'] === 'user') {
      const text = contentText(m['content']);
      c.typed.push(text);
      c.hold(text);
      return null;
    }
    if (m['type'] !== 'gemini') return null;
    let fp: FingerprintCore | null = null;
    if (convertGeminiTokens(m['tokens']) !== null) {
      if (c.typed.length === 0) {
        for (const { call, result } of this.lastCalls) {
          c.calls.push(call);
          c.result(result);
        }
      }
      this.lastCalls = [];
      fp = c.request(GEMINI_TOOLS, parseTimestamp(m['timestamp']) ?? 0);
    }
    c.push(contentText(m['content']));
    for (const t of Array.isArray(m['toolCalls']) ? m['toolCalls'] : []) {
      if (!isRecord(t)) continue;
      const call = `${str(t['name']) ?? ''} ${JSON.stringify(t['args'] ?? null)}`;
      c.push(call);
      this.lastCalls.push({ call, result: JSON.stringify(t['result'] ?? null) });
    }
    return fp;
  }
}

/** A whole `.json` chat file. */
export function geminiChatFingerprints(path: string, text: string, fingerprints: FingerprintSettings): KeyedFingerprint[] {
  const doc = parseJsonObject(text);
  if (typeof doc === 'string' || !Array.isArray(doc['messages'])) return [];
  const session = str(doc['sessionId']) ?? basename(path);
  const chat = new GeminiChat(new Conversation(fingerprints.secret, {}, fingerprints.since));
  const out: KeyedFingerprint[] = [];
  doc['messages'].forEach((m, i) => {
    if (!isRecord(m)) return;
    const core = chat.message(m);
    if (core !== null) out.push({ key: `g\u0000${session}\u0000${str(m['id']) ?? String(i)}`, core });
  });
  return out;
}

/** A `.jsonl` chat file, line by line (requests are the parser's records). */
export function createGeminiTranscript(_path: string, context: unknown, fingerprints: FingerprintSettings): TranscriptHasher {
  const convs = new Conversations(fingerprints.secret, context, fingerprints.since);
  const chat = new GeminiChat(convs.get('main'));
  return {
    line(_buf, _start, _end, text, usage: LineResult | undefined) {
      if (text === null) return null;
      const obj = parseJsonObject(text);
      if (typeof obj === 'string') return null;
      const core = chat.message(obj);
      return usage !== undefined && usage !== null && typeof usage !== 'string' ? core : null;
    },
    pending: () => convs.pending(),
    context: () => convs.saved(),
  };
}

/** A message's text: a string, or parts with `text` (other parts as a marker). */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((p) => (typeof p === 'string' ? p : isRecord(p) && typeof p['text'] === 'string' ? p['text'] : '[part]')).join('\n');
}
