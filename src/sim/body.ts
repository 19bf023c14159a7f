/** Reading request bodies safely: a size limit, a nesting limit, and JSON errors in the provider's words. */
import type { IncomingMessage } from 'node:http';
import { SimError } from './errors.js';

/** Anthropic's documented request limit for the Messages API; OpenAI's is of the same order. */
export const MAX_BODY_BYTES = 32 * 1024 * 1024;
/** Real tool schemas nest maybe 10 deep; 100 leaves room and keeps every recursive walk shallow. */
export const MAX_JSON_DEPTH = 100;

export async function readBody(req: IncomingMessage): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw tooLarge();
    chunks.push(chunk);
  }
  return chunks.length === 1 ? (chunks[0] ?? Buffer.alloc(0)).toString('utf8') : Buffer.concat(chunks).toString('utf8');
}

function tooLarge(): SimError {
  return new SimError(413, `Request body exceeds the maximum size of ${MAX_BODY_BYTES} bytes.`, {
    openaiCode: 'request_too_large',
  });
}

/** True when arrays/objects nest deeper than `max`; a linear scan that skips string contents. */
export function exceedsDepth(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > max) return true;
    } else if (c === 125 || c === 93) depth--;
  }
  return false;
}

export function parseJson(text: string): unknown {
  if (text.trim() === '') {
    throw new SimError(400, 'We could not parse the JSON body of your request: the body is empty.', {
      openaiCode: 'invalid_json',
    });
  }
  if (exceedsDepth(text, MAX_JSON_DEPTH)) {
    throw new SimError(400, `The JSON body nests deeper than ${MAX_JSON_DEPTH} levels.`, { openaiCode: 'invalid_json' });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new SimError(
      400,
      `We could not parse the JSON body of your request. (${err instanceof Error ? err.message : 'invalid JSON'})`,
      { openaiCode: 'invalid_json' },
    );
  }
}
