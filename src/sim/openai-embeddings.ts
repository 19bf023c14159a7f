/** OpenAI `POST /v1/embeddings`: deterministic unit vectors, float arrays or base64 little-endian float32. */
import { parseDirectives } from './directives.js';
import { SimError } from './errors.js';
import { openaiModel } from './openai-common.js';
import { createRng, hashString } from './random.js';
import { jsonReply, scriptedReply, timingFor, type Reply, type SimContext } from './reply.js';
import { EmbeddingsBody, parseBody } from './schemas.js';
import { countTokens } from './tokens.js';

/**
 * Width when the request does not ask for `dimensions`. The real models answer 1536 / 3072 floats; nothing
 * in Goodhart reads the vectors, and small ones keep tests and benchmarks about the gateway, not JSON size.
 */
export const DEFAULT_EMBEDDING_DIMENSIONS = 16;
/** The real API's limit on inputs per request. */
const MAX_INPUTS = 2048;

function vector(key: string, dims: number): Float32Array {
  const rng = createRng(hashString(key));
  const out = new Float32Array(dims);
  let norm = 0;
  for (let i = 0; i < dims; i++) {
    const v = rng() * 2 - 1;
    out[i] = v;
    norm += v * v;
  }
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  for (let i = 0; i < dims; i++) out[i] = (out[i] ?? 0) * scale;
  return out;
}

export function handleEmbeddings(raw: unknown, ctx: SimContext): Reply {
  const body = parseBody(EmbeddingsBody, raw, 'openai');
  const model = openaiModel(body.model, 'embedding', 'embeddings');
  const input = body.input;
  const items: Array<string | number[]> =
    typeof input === 'string' ? [input] : input.every((x) => typeof x === 'number') ? [input as number[]] : (input as Array<string | number[]>);
  if (items.length > MAX_INPUTS) {
    throw new SimError(400, `'input' : maximum ${MAX_INPUTS} inputs per request, got ${items.length}.`, { param: 'input' });
  }
  const lastText = [...items].reverse().find((x): x is string => typeof x === 'string') ?? '';
  const directives = parseDirectives(lastText);
  const scripted = scriptedReply(directives, 'openai', ctx);
  if (scripted !== undefined) return scripted;

  const max = model.dimensions ?? DEFAULT_EMBEDDING_DIMENSIONS;
  const dims = body.dimensions ?? Math.min(DEFAULT_EMBEDDING_DIMENSIONS, max);
  if (dims > max) {
    throw new SimError(400, `Invalid value for 'dimensions': ${model.id} supports at most ${max}.`, { param: 'dimensions' });
  }
  let tokens = 0;
  const data = items.map((item, index) => {
    const key = typeof item === 'string' ? item : item.join(',');
    tokens += typeof item === 'string' ? countTokens(item) : item.length;
    const v = vector(`${model.id}\u0000${key}`, dims);
    const embedding =
      body.encoding_format === 'base64' ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') : Array.from(v);
    return { object: 'embedding', index, embedding };
  });
  const result = { object: 'list', data, model: model.id, usage: { prompt_tokens: tokens, total_tokens: tokens } };
  return jsonReply(result, timingFor(directives, ctx), 1);
}
