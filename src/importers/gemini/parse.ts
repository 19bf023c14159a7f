import { basename } from 'node:path';
import { countAt, inclusiveUsage, isRecord } from '../../usage/usage-fields.js';
import { compactRaw, parseJsonObject, parseTimestamp, str } from '../json-line.js';
import type { LineParser, LineResult, ParsedUsage } from '../types.js';
import { chatRoot, NO_PLACE, type GeminiPlace } from './project-root.js';

/**
 * Gemini CLI chat recordings (`~/.gemini/tmp/<project hash>/chats/session-….json`, or `.jsonl`), per formats.md:
 * `messages[]` whose `type` is `gemini` carry `tokens{input, output, cached, thoughts, tool, total}`.
 * `input` includes `cached`; `tool` (tool-use prompt tokens) is more input; `thoughts` is reasoning, billed as
 * output. Keys are the session and the message id, so a chat file rewritten as it grows maps to the same events.
 * A chat's working directory is its project root (project-root.ts), from where Gemini CLI recorded it.
 */
export const GEMINI_FALLBACK_MODEL = 'gemini-2.5-pro';

export function convertGeminiTokens(tokens: unknown): ParsedUsage['usage'] | null {
  if (!isRecord(tokens)) return null;
  const input = countAt(tokens, 'input');
  const output = countAt(tokens, 'output');
  if (input === undefined && output === undefined) return null;
  const thoughts = countAt(tokens, 'thoughts') ?? 0;
  return inclusiveUsage(
    {
      input: (input ?? 0) + (countAt(tokens, 'tool') ?? 0),
      cacheRead: countAt(tokens, 'cached'),
      output: (output ?? 0) + thoughts,
      reasoning: thoughts,
    },
    compactRaw(tokens),
  );
}

/** One chat message → usage; `session` and `index` name it when it has no id; `cwd`: its project root. */
export function parseGeminiMessage(msg: unknown, session: string, index: string, cwd: string | null = null): LineResult {
  if (!isRecord(msg)) return 'bad_shape';
  if (msg['type'] !== 'gemini') return 'no_usage';
  const usage = convertGeminiTokens(msg['tokens']);
  if (usage === null) return 'no_usage';
  const at = parseTimestamp(msg['timestamp']);
  if (at === null) return 'bad_shape';
  const model = str(msg['model']);
  return {
    key: `g\u0000${session}\u0000${str(msg['id']) ?? index}`,
    at,
    provider: 'google',
    endpoint: 'other',
    model: model ?? GEMINI_FALLBACK_MODEL,
    usage,
    providerRequestId: str(msg['id']),
    sessionId: session,
    cwd,
    branch: null,
    repoUrl: null,
    tags: model === null ? ['model-guessed'] : [],
    reportedCostUsd: null,
  };
}

/** A whole `.json` chat file; `place`: what Gemini CLI wrote about its folder. */
export function parseGeminiChat(path: string, text: string, place: GeminiPlace = NO_PLACE): LineResult[] {
  const doc = parseJsonObject(text);
  if (typeof doc === 'string') return [doc];
  const messages = doc['messages'];
  if (!Array.isArray(messages)) return ['bad_shape'];
  const session = str(doc['sessionId']) ?? basename(path);
  const cwd = chatRoot(place, doc['projectHash'], doc['directories']);
  return messages.map((m, i) => parseGeminiMessage(m, session, String(i), cwd));
}

/** A `.jsonl` chat file: a header line with `sessionId` (and `projectHash`), then one message per line. */
export function createGeminiLineParser(path: string, saved: unknown, place: GeminiPlace = NO_PLACE): LineParser {
  let session = isRecord(saved) && typeof saved['session'] === 'string' ? saved['session'] : basename(path);
  // A state saved before the header's root was kept: its folder's, as a header would have given first.
  let cwd = isRecord(saved) && typeof saved['cwd'] === 'string' ? saved['cwd'] : chatRoot(place, null, null);
  return {
    parse(line, where) {
      const obj = parseJsonObject(line);
      if (typeof obj === 'string') return obj;
      if (typeof obj['sessionId'] === 'string' && obj['type'] !== 'gemini') {
        session = obj['sessionId'];
        // The header: where the chat was recorded.
        cwd = chatRoot(place, obj['projectHash'], obj['directories']) ?? cwd;
        return null;
      }
      return parseGeminiMessage(obj, session, where, cwd);
    },
    context: () => ({ session, ...(cwd === null ? {} : { cwd }) }),
  };
}
