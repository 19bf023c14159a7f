// Only the o200k_base encoding (GPT-4o, GPT-4.1, GPT-5, o-series): importing the package root loads every encoding.
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { isRecord } from './usage-fields.js';

/**
 * Input-token estimates for requests whose provider never reported usage (client went away, upstream died
 * mid-stream). Counted with o200k_base, OpenAI's current tokenizer. For Claude this is an approximation: Anthropic
 * publishes no tokenizer, and its counts for the same text run somewhat higher.
 *
 * Every function takes the parsed request body as `unknown`, never throws, and returns a whole number of tokens.
 */

/**
 * Text counted exactly per request; beyond it tokens are extrapolated at the ratio measured so far. 2 Mi chars is
 * about 100 ms of tokenizing on one core, a bound on how long an estimate can hold up the event loop, and well past
 * the largest prompt a model accepts (1M tokens ≈ 4 MB of English is the extreme; such bodies are rare).
 */
export const MAX_ESTIMATE_CHARS = 2 * 1024 * 1024;

/**
 * OpenAI's cookbook counting for chat models: every message costs 3 tokens of framing on top of its fields, a
 * `name` one more, and every reply is primed with 3 (`<|start|>assistant<|message|>`).
 */
export const TOKENS_PER_MESSAGE = 3;
export const TOKENS_PER_NAME = 1;
export const TOKENS_REPLY_PRIMING = 3;

/**
 * Images cannot be measured without decoding them. OpenAI: a 1024×1024 image at high detail is 85 + 4 × 170 = 765
 * tokens, low detail a flat 85. Anthropic: about width × height / 750, so ≈1,600 for the largest image it does not
 * downscale (≈1.15 megapixels).
 */
export const OPENAI_IMAGE_TOKENS = 765;
export const OPENAI_IMAGE_TOKENS_LOW = 85;
export const ANTHROPIC_IMAGE_TOKENS = 1600;

/**
 * BPE merging is quadratic in the length of one pre-token: 16k characters of CJK text or a run of one letter take
 * about a second, 1 MB minutes. Runs of non-space (or of space) longer than this are counted in slices of this
 * size, which adds at most one token per slice.
 */
const SLICE = 256;
const LONG_RUN = new RegExp(`\\S{${SLICE + 1},}|\\s{${SLICE + 1},}`, 'g');
/** Text such as "<|endoftext|>" inside a prompt is ordinary text to the provider; the tokenizer would throw on it. */
const ENCODE_OPTIONS = { disallowedSpecial: new Set<string>() };
/** Nesting deeper than any real message (tool_result → content → blocks) is not followed. */
const MAX_DEPTH = 8;

/** Tokens in one string (no message framing). */
export function countTextTokens(text: string): number {
  const tally = new Tally();
  tally.text(text);
  return tally.total();
}

/** OpenAI chat completions: messages (string or content parts), names, tool calls, tool definitions. */
export function estimateOpenAIChatInput(body: unknown, tally: Tally = new Tally()): number {
  if (!isRecord(body)) return 0;
  const messages = body['messages'];
  if (Array.isArray(messages)) {
    for (const m of messages) {
      tally.tokens(TOKENS_PER_MESSAGE);
      if (!isRecord(m)) continue;
      tally.text(m['role']);
      openAIContent(tally, m['content']);
      if (typeof m['name'] === 'string') {
        tally.text(m['name']);
        tally.tokens(TOKENS_PER_NAME);
      }
      const calls = m['tool_calls'];
      if (Array.isArray(calls)) for (const c of calls) if (isRecord(c)) functionCall(tally, c['function']);
      functionCall(tally, m['function_call']);
    }
    tally.tokens(TOKENS_REPLY_PRIMING);
  }
  const tools = body['tools'];
  if (Array.isArray(tools)) {
    for (const t of tools) tally.json(isRecord(t) && t['function'] !== undefined ? t['function'] : t);
  }
  const functions = body['functions'];
  if (Array.isArray(functions)) for (const f of functions) tally.json(f);
  return tally.total();
}

/** Anthropic Messages: system (string or blocks), messages (string or blocks), tool definitions. */
export function estimateAnthropicInput(body: unknown, tally: Tally = new Tally()): number {
  if (!isRecord(body)) return 0;
  anthropicContent(tally, body['system'], 0);
  const messages = body['messages'];
  if (Array.isArray(messages)) {
    for (const m of messages) {
      tally.tokens(TOKENS_PER_MESSAGE);
      if (!isRecord(m)) continue;
      tally.text(m['role']);
      anthropicContent(tally, m['content'], 0);
    }
    tally.tokens(TOKENS_REPLY_PRIMING);
  }
  const tools = body['tools'];
  if (Array.isArray(tools)) for (const t of tools) tally.json(t);
  return tally.total();
}

/** OpenAI Responses: instructions, input (string or items: messages, function calls and outputs), tools. */
export function estimateResponsesInput(body: unknown, tally: Tally = new Tally()): number {
  if (!isRecord(body)) return 0;
  tally.text(body['instructions']);
  const input = body['input'];
  if (typeof input === 'string') {
    tally.tokens(TOKENS_PER_MESSAGE);
    tally.text(input);
    tally.tokens(TOKENS_REPLY_PRIMING);
  } else if (Array.isArray(input)) {
    for (const item of input) {
      tally.tokens(TOKENS_PER_MESSAGE);
      if (!isRecord(item)) continue;
      tally.text(item['role']);
      openAIContent(tally, item['content']);
      // function_call / custom_tool_call; function_call_output / custom_tool_call_output
      tally.text(item['name']);
      tally.text(item['arguments']);
      tally.text(item['input']);
      openAIContent(tally, item['output']);
      // reasoning items passed back: the summary is text, encrypted content cannot be counted
      openAIContent(tally, item['summary']);
    }
    tally.tokens(TOKENS_REPLY_PRIMING);
  }
  const tools = body['tools'];
  if (Array.isArray(tools)) for (const t of tools) tally.json(t);
  return tally.total();
}

/** OpenAI embeddings: `input` as a string, strings, or token ids (counted as given). */
export function estimateEmbeddingsInput(body: unknown): number {
  if (!isRecord(body)) return 0;
  const tally = new Tally();
  const input = body['input'];
  if (typeof input === 'string') tally.text(input);
  else if (Array.isArray(input)) {
    for (const x of input) {
      if (typeof x === 'string') tally.text(x);
      else if (typeof x === 'number') tally.tokens(1);
      else if (Array.isArray(x)) tally.tokens(x.length);
    }
  }
  return tally.total();
}

/** A string, or content parts: chat `text`/`image_url`/`refusal`, Responses `input_text`/`input_image`/…. */
export function openAIContent(tally: Tally, content: unknown): void {
  if (typeof content === 'string') return tally.text(content);
  if (!Array.isArray(content)) return;
  for (const part of content) {
    if (typeof part === 'string') tally.text(part);
    if (!isRecord(part)) continue;
    const type = part['type'];
    if (type === 'image_url' || type === 'input_image') {
      const detail = isRecord(part['image_url']) ? part['image_url']['detail'] : part['detail'];
      tally.image(detail === 'low' ? OPENAI_IMAGE_TOKENS_LOW : OPENAI_IMAGE_TOKENS);
      continue;
    }
    tally.text(part['text']);
    tally.text(part['refusal']);
  }
}

/** A function call's name and arguments (a request's history and a response alike). */
export function functionCall(tally: Tally, fn: unknown): void {
  if (!isRecord(fn)) return;
  tally.text(fn['name']);
  tally.text(fn['arguments']);
}

/** A string, or Anthropic content blocks: text, image, document, tool_use, tool_result, thinking. */
export function anthropicContent(tally: Tally, content: unknown, depth: number): void {
  if (typeof content === 'string') return tally.text(content);
  if (!Array.isArray(content) || depth > MAX_DEPTH) return;
  for (const block of content) {
    if (!isRecord(block)) continue;
    switch (block['type']) {
      case 'image':
        tally.image(ANTHROPIC_IMAGE_TOKENS);
        break;
      case 'tool_use':
      case 'server_tool_use':
        tally.text(block['name']);
        tally.json(block['input']);
        break;
      case 'tool_result':
        anthropicContent(tally, block['content'], depth + 1);
        break;
      case 'thinking':
        tally.text(block['thinking']);
        break;
      case 'document': {
        const source = block['source'];
        // Plain-text documents carry their text; PDFs (base64/url) are pages of images, not countable here.
        if (isRecord(source) && source['type'] === 'text') tally.text(source['data']);
        else if (isRecord(source) && source['type'] === 'content') {
          anthropicContent(tally, source['content'], depth + 1);
        }
        tally.text(block['title']);
        tally.text(block['context']);
        break;
      }
      default:
        tally.text(block['text']);
    }
  }
}

/** Tokens counted so far, with the character budget and the extrapolation past it. */
export class Tally {
  #tokens = 0;
  #countedChars = 0;
  #countedTokens = 0;
  #skippedChars = 0;

  tokens(n: number): void {
    this.#tokens += n;
  }

  /** An image's tokens (a flat estimate: see OPENAI_IMAGE_TOKENS). */
  image(n: number): void {
    this.tokens(n);
  }

  /** Counts `value` when it is a string; anything else is ignored. */
  text(value: unknown): void {
    if (typeof value !== 'string' || value.length === 0) return;
    const room = MAX_ESTIMATE_CHARS - this.#countedChars;
    if (room <= 0) {
      this.#skippedChars += value.length;
      return;
    }
    const counted = value.length > room ? value.slice(0, room) : value;
    this.#skippedChars += value.length - counted.length;
    this.#countedChars += counted.length;
    this.#countedTokens += countSliced(counted);
  }

  /** Counts a JSON value (tool definitions, tool inputs) by its compact serialisation. */
  json(value: unknown): void {
    if (value === undefined) return;
    let text: string | undefined;
    try {
      text = JSON.stringify(value);
    } catch {
      return; // cycles or BigInt: not a parsed JSON body
    }
    this.text(text);
  }

  total(): number {
    // About 4 characters a token for English when nothing was counted to measure the ratio.
    const ratio = this.#countedChars > 0 ? this.#countedTokens / this.#countedChars : 0.25;
    return this.#tokens + this.#countedTokens + Math.ceil(this.#skippedChars * ratio);
  }
}

function countSliced(text: string): number {
  let total = 0;
  let last = 0;
  for (const m of text.matchAll(LONG_RUN)) {
    const start = m.index;
    if (start > last) total += encodeCount(text.slice(last, start));
    const run = m[0];
    for (let i = 0; i < run.length; i += SLICE) total += encodeCount(run.slice(i, i + SLICE));
    last = start + run.length;
  }
  if (last < text.length) total += encodeCount(last === 0 ? text : text.slice(last));
  return total;
}

function encodeCount(text: string): number {
  try {
    return countTokens(text, ENCODE_OPTIONS);
  } catch {
    return Math.ceil(text.length / 4); // never expected; an estimate must not fail
  }
}

/** Counts only images (their flat estimates), never text: a walk of the body's parts, without the tokenizer. */
class ImageTally extends Tally {
  #images = 0;
  override tokens(): void {}
  override text(): void {}
  override json(): void {}
  override image(n: number): void {
    this.#images += n;
  }
  override total(): number {
    return this.#images;
  }
}

/**
 * The flat token estimates of a request's images (what estimate*Input counts for them), without counting any text:
 * a byte bound does not cover an image given by URL (60 bytes, 765-1,600 tokens).
 */
export function imageTokens(endpoint: string, body: unknown): number {
  switch (endpoint) {
    case 'chat.completions':
      return estimateOpenAIChatInput(body, new ImageTally());
    case 'responses':
      return estimateResponsesInput(body, new ImageTally());
    case 'messages':
    case 'messages.count_tokens':
      return estimateAnthropicInput(body, new ImageTally());
    default:
      return 0;
  }
}
