import { BlockChain } from '../../detect/fingerprint/blocks.js';
import { fingerprintTurn } from '../../detect/fingerprint/fingerprint.js';
import { deriveKeys } from '../../detect/fingerprint/keys.js';
import type { Fingerprint } from '../../detect/fingerprint/types.js';
import { isRecord } from '../../usage/usage-fields.js';
import { stableId } from '../ids.js';
import { parseJsonObject, parseTimestamp, str } from '../json-line.js';

/**
 * Waste-detection fingerprints from a Claude Code session log, for the events the importer makes of it. Kept apart
 * from the importer (which skips the lines without usage undecoded, for speed): a caller that wants detection on
 * imported usage feeds every line of a file, in order, and stores what comes out. The text of each line is hashed
 * and dropped here; nothing of it leaves this module.
 *
 * - `type:"user"` lines: typed text is the next request's new turn (a human turn); `tool_result` blocks are the
 *   results of the previous assistant's `tool_use` blocks, which together make the next request's tool step.
 * - `type:"assistant"` lines with usage: the first line of each `message.id` + `requestId` pair is the request; its
 *   fingerprint gets the importer's event id (`stableId('claude-code', key)`, the same key as parse-line.ts).
 * - The context (the conversation so far) is hashed into chained blocks per session and chain (main or sidechain),
 *   as the gateway does for request bodies; block hashes match within a source, not across sources.
 */
export class ClaudeTranscriptFingerprinter {
  private readonly chains = new Map<string, Conversation>();

  constructor(private readonly secret: string) {}

  /** One line of the file; returns a fingerprint when the line is a request the importer will count. */
  line(text: string, where: string): Fingerprint | null {
    const obj = parseJsonObject(text);
    if (typeof obj === 'string') return null;
    const message = obj['message'];
    if (!isRecord(message)) return null;
    const c = this.conversation(`${str(obj['sessionId']) ?? '-'}\u0000${obj['isSidechain'] === true ? str(obj['agentId']) ?? 'side' : 'main'}`);
    const content = message['content'];
    if (obj['type'] === 'user') {
      const blocks = typeof content === 'string' ? [{ type: 'text', text: content }] : Array.isArray(content) ? content.filter(isRecord) : [];
      const typed = blocks.filter((b) => b['type'] === 'text' && typeof b['text'] === 'string').map((b) => b['text'] as string);
      const results = blocks.filter((b) => b['type'] === 'tool_result').map((b) => flatten(b['content']));
      if (results.length > 0) c.results.push(...results);
      else if (typed.length > 0) c.typed.push(...typed);
      return null;
    }
    if (obj['type'] !== 'assistant') return null;
    const messageId = str(message['id']);
    const requestId = str(obj['requestId']);
    const key = messageId !== null && requestId !== null ? `m\u0000${messageId}\u0000${requestId}` : null;
    const calls = Array.isArray(content) ? content.filter((b) => isRecord(b) && b['type'] === 'tool_use').map((b) => `${str((b as Record<string, unknown>)['name']) ?? ''} ${JSON.stringify((b as Record<string, unknown>)['input'] ?? null)}`) : [];
    let fp: Fingerprint | null = null;
    if (key !== null && key !== c.lastKey && isRecord(message['usage']) && message['model'] !== '<synthetic>') {
      c.lastKey = key;
      const newText = c.typed.length > 0 ? c.typed.join('\n') : null;
      const core = fingerprintTurn(
        { newText, toolCalls: c.results.length > 0 ? c.calls.join('\n') : '', toolResults: c.results.join('\n'), toolsDeclared: 16, contextChars: c.chars },
        this.secret,
      );
      const at = parseTimestamp(obj['timestamp']) ?? 0;
      fp = { ...core, blocks: c.chain.hashes(), eventId: stableId('claude-code', key), at, userId: null, sessionId: str(obj['sessionId']) };
      // What this request carried becomes context for the next one.
      for (const t of [...c.typed, ...c.results]) c.push(t);
      c.typed = [];
      c.results = [];
      c.calls = [];
    }
    if (key === null || key === c.lastKey) {
      c.calls.push(...calls);
      for (const b of Array.isArray(content) ? content : []) if (isRecord(b)) c.push(typeof b['text'] === 'string' ? b['text'] : JSON.stringify(b['input'] ?? ''));
    }
    void where;
    return fp;
  }

  private conversation(id: string): Conversation {
    let c = this.chains.get(id);
    if (c === undefined) {
      c = new Conversation(new BlockChain(deriveKeys(this.secret)));
      this.chains.set(id, c);
    }
    return c;
  }
}

class Conversation {
  typed: string[] = [];
  results: string[] = [];
  calls: string[] = [];
  lastKey: string | null = null;
  chars = 0;
  constructor(readonly chain: BlockChain) {}
  push(text: string): void {
    this.chain.push(`${text}\n`);
    this.chars += text.length + 1;
  }
}

function flatten(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((b) => (isRecord(b) && typeof b['text'] === 'string' ? b['text'] : '')).join('\n');
}

/** All fingerprints of one file's lines (user ids are filled in by the importer's attribution). */
export function fingerprintClaudeLines(lines: Iterable<string>, secret: string, file = ''): Fingerprint[] {
  const f = new ClaudeTranscriptFingerprinter(secret);
  const out: Fingerprint[] = [];
  let n = 0;
  for (const line of lines) {
    const fp = f.line(line, `${file}:${++n}`);
    if (fp !== null) out.push(fp);
  }
  return out;
}
