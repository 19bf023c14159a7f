import { closeSync, openSync, readdirSync, readSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import { isRecord } from '../usage/usage-fields.js';
import type { FileSource } from './types.js';

/**
 * Input given to the wrong import: another agent's logs, another provider's usage page, a saved API error. Told with
 * what it looks like and the command that reads it; the import then exits 1 (nothing of it could be imported), as
 * it does when a folder or file named on the command line is not there.
 */
export interface WrongInput {
  /** The folder or file named on the command line. */
  path: string;
  /** What it is: an agent's logs or a usage API's page (the source that reads it), or `api-error`. */
  looksLike: FileSource | 'openai-usage' | 'anthropic-usage' | 'anthropic-claude-code' | 'api-error';
  /** One sentence: what it is, and what to run instead. */
  hint: string;
}

const AGENT: Record<FileSource, string> = { 'claude-code': 'Claude Code', codex: 'Codex', gemini: 'Gemini CLI' };

const CODEX_TYPES = new Set(['session_meta', 'turn_context', 'event_msg', 'response_item', 'compacted', 'token_usage_record']);
const GEMINI_TYPES = new Set(['user', 'gemini', 'info', 'error', 'warning']);

/** Which agent wrote a log line (a JSON object), when its shape says so. */
export function agentOfLine(o: Record<string, unknown>): FileSource | null {
  if (typeof o['type'] === 'string' && CODEX_TYPES.has(o['type']) && isRecord(o['payload'])) return 'codex';
  // Claude Code: every entry of a conversation has a uuid and its session; the summaries name their leaf.
  if ((typeof o['uuid'] === 'string' && (typeof o['sessionId'] === 'string' || 'parentUuid' in o)) || (o['type'] === 'summary' && 'leafUuid' in o)) return 'claude-code';
  // Gemini CLI: the chat's header, its update and rewind records, and its messages (an id, not a uuid).
  if (typeof o['sessionId'] === 'string' && typeof o['projectHash'] === 'string') return 'gemini';
  if ('$set' in o || '$rewindTo' in o) return 'gemini';
  if (typeof o['id'] === 'string' && typeof o['type'] === 'string' && GEMINI_TYPES.has(o['type']) && 'content' in o && !('uuid' in o)) return 'gemini';
  return null;
}

/** How many files and bytes of each to look at: enough to tell, bounded whatever the folder holds. */
const MAX_FILES = 40;
const MAX_DIRS = 400;
const HEAD_BYTES = 64 * 1024;
const MAX_LINES = 20;

/**
 * When `source`'s import of these folders found nothing of its own: those whose `.jsonl`/`.json` files are another
 * agent's logs (by the first lines of a few of them), none of them `source`'s own.
 */
export function sniffLogFolders(roots: readonly string[], source: FileSource): WrongInput[] {
  const out: WrongInput[] = [];
  for (const root of roots) {
    const counts = new Map<FileSource, number>();
    for (const file of sampleFiles(root)) {
      for (const agent of agentsOfFile(file)) counts.set(agent, (counts.get(agent) ?? 0) + 1);
    }
    if ((counts.get(source) ?? 0) > 0 || counts.size === 0) continue;
    const [other] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]!;
    const path = resolve(root);
    out.push({ path, looksLike: other, hint: `${path} holds ${AGENT[other]} logs, not ${AGENT[source]}'s: import them with \`goodhart import ${other} ${path}\`.` });
  }
  return out;
}

/** The agents whose lines the head of a file holds (a Gemini `.json` chat is one document). */
function agentsOfFile(path: string): FileSource[] {
  const head = readHead(path);
  if (head === null) return [];
  const found = new Set<FileSource>();
  if (path.endsWith('.json')) {
    // A chat too long for the head: its header fields come first.
    const doc = parseObject(head.text);
    const start = head.text.slice(0, 2048);
    if (doc !== null ? Array.isArray(doc['messages']) && typeof doc['sessionId'] === 'string' : start.includes('"sessionId"') && start.includes('"projectHash"')) found.add('gemini');
    return [...found];
  }
  // The last line of a head cut short is not whole.
  const lines = head.text.split('\n').slice(0, head.whole ? undefined : -1).slice(0, MAX_LINES);
  for (const line of lines) {
    const o = parseObject(line);
    const agent = o === null ? null : agentOfLine(o);
    if (agent !== null) found.add(agent);
  }
  return [...found];
}

/** Log-like files under a folder (or the file itself), the first few found, breadth first. */
function sampleFiles(root: string): string[] {
  const files: string[] = [];
  const isLog = (p: string) => p.endsWith('.jsonl') || p.endsWith('.json');
  if (isLog(root) && readHead(root) !== null) return [root];
  const queue = [resolve(root)];
  for (let n = 0; n < queue.length && n < MAX_DIRS && files.length < MAX_FILES; n++) {
    const dir = queue[n]!;
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      const p = dir.endsWith(sep) ? dir + e.name : dir + sep + e.name;
      if (e.isDirectory()) queue.push(p);
      else if (e.isFile() && isLog(p) && files.length < MAX_FILES) files.push(p);
    }
  }
  return files;
}

function readHead(path: string): { text: string; whole: boolean } | null {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const buf = Buffer.alloc(HEAD_BYTES);
    const n = readSync(fd, buf, 0, HEAD_BYTES, 0);
    return { text: buf.toString('utf8', 0, n), whole: n < HEAD_BYTES };
  } catch {
    return null;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function parseObject(text: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(text);
    return isRecord(v) ? v : null;
  } catch {
    return null;
  }
}

/**
 * A saved response that is an API error (`{"error": {...}}`, OpenAI's; `{"type": "error", "error": {...}}`,
 * Anthropic's): its message, else null.
 */
export function apiErrorOf(body: unknown): string | null {
  if (!isRecord(body) || !('error' in body) || 'data' in body) return null;
  const e = body['error'];
  if (typeof e === 'string') return e;
  if (isRecord(e)) {
    const message = typeof e['message'] === 'string' ? e['message'] : null;
    const type = typeof e['type'] === 'string' ? e['type'] : typeof e['code'] === 'string' ? e['code'] : null;
    return [type, message].filter((s) => s !== null).join(': ') || JSON.stringify(e).slice(0, 200);
  }
  return null;
}
