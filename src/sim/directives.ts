/**
 * Scripted behaviour: `[[sim:key=value,flag,...]]` anywhere in the last user message text.
 *
 *   status=NNN      answer with that HTTP status (400-599) and a provider-format error body
 *   retry-after=S   seconds for the `retry-after` header of a 429 (default 1)
 *   die-after=N     stream N content chunks, then destroy the socket (non-stream: destroy before answering)
 *   hang            accept the request and never answer
 *   ttft=MS         delay before the first byte, overriding `firstTokenMs`
 *   itl=MS          delay between stream chunks, overriding `interTokenMs`
 *   tokens=N        emit exactly N output text tokens (still capped by max_tokens)
 *   searches=N      run each built-in search tool the request declares N times (default once; 0: not at all)
 */
import { SimError } from './errors.js';

export interface Directives {
  status?: number;
  retryAfter?: number;
  dieAfter?: number;
  hang?: boolean;
  ttftMs?: number;
  itlMs?: number;
  tokens?: number;
  searches?: number;
}

const DIRECTIVE = /\[\[sim:([^\]]*)\]\]/g;

/** Ten minutes: longer than any client timeout a test would set, short enough not to overflow timers. */
const MAX_DELAY_MS = 600_000;
/** Output longer than this is never useful in a test and would only make the simulator slow. */
const MAX_TOKENS_DIRECTIVE = 100_000;

const KEYS = 'status, retry-after, die-after, hang, ttft, itl, tokens, searches';
/** A request's searches: enough for any test, few enough that an answer stays small. */
const MAX_SEARCHES = 20;

function integer(key: string, raw: string | undefined, min: number, max: number): number {
  const n = raw === undefined || !/^\d+$/.test(raw.trim()) ? NaN : Number(raw.trim());
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new SimError(400, `Invalid sim directive "${key}=${raw ?? ''}": expected an integer from ${min} to ${max}.`);
  }
  return n;
}

export function parseDirectives(text: string): Directives {
  if (!text.includes('[[sim:')) return {};
  const out: Directives = {};
  for (const match of text.matchAll(DIRECTIVE)) {
    for (const item of (match[1] ?? '').split(',')) {
      const trimmed = item.trim();
      if (trimmed === '') continue;
      const eq = trimmed.indexOf('=');
      const key = (eq === -1 ? trimmed : trimmed.slice(0, eq)).trim().toLowerCase();
      const value = eq === -1 ? undefined : trimmed.slice(eq + 1);
      switch (key) {
        case 'status':
          out.status = integer(key, value, 400, 599);
          break;
        case 'retry-after':
          out.retryAfter = integer(key, value, 0, 86_400);
          break;
        case 'die-after':
          out.dieAfter = integer(key, value, 0, 1_000_000);
          break;
        case 'hang':
          out.hang = true;
          break;
        case 'ttft':
          out.ttftMs = integer(key, value, 0, MAX_DELAY_MS);
          break;
        case 'itl':
          out.itlMs = integer(key, value, 0, MAX_DELAY_MS);
          break;
        case 'tokens':
          out.tokens = integer(key, value, 0, MAX_TOKENS_DIRECTIVE);
          break;
        case 'searches':
          out.searches = integer(key, value, 0, MAX_SEARCHES);
          break;
        default:
          throw new SimError(400, `Unknown sim directive "${key}" in [[sim:...]]; known: ${KEYS}.`);
      }
    }
  }
  return out;
}
