/**
 * Token counting for the simulator: gpt-tokenizer's o200k encoding for both providers, with an LRU cache so
 * a benchmark sending the same prompt over and over tokenises it once.
 */
import { countTokens as o200kCount, encode as o200kEncode } from 'gpt-tokenizer/encoding/o200k_base';
import { Lru } from './lru.js';

/** Prompts may contain `<|endoftext|>` and friends: count them as plain text, never throw. */
const PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

// Bounds, weighed in characters kept alive (the keys are the prompt strings themselves): 16M characters of
// counted strings and 32M of encoded ones (a token weighs as 2 characters of Uint32Array), ~100-200 MB at worst;
// enough for hundreds of 10k-token prompts, which is what the prompt-cache tests and benchmarks re-send.
const counts = new Lru<string, number>(16_000_000, (_n, text) => text.length + 32);
const encodings = new Lru<string, Uint32Array>(32_000_000, (tokens, text) => text.length + tokens.length * 2 + 32);
/** Above this length a string is encoded rather than only counted, so a later prefix-cache lookup reuses it. */
const ENCODE_ABOVE_CHARS = 4096;

export function countTokens(text: string): number {
  if (text.length === 0) return 0;
  const cached = counts.get(text);
  if (cached !== undefined) return cached;
  if (text.length > ENCODE_ABOVE_CHARS) return encodeTokens(text).length;
  const n = o200kCount(text, PLAIN_TEXT);
  counts.set(text, n);
  return n;
}

export function encodeTokens(text: string): Uint32Array {
  if (text.length === 0) return new Uint32Array(0);
  const cached = encodings.get(text);
  if (cached !== undefined) return cached;
  const tokens = Uint32Array.from(o200kEncode(text, PLAIN_TEXT));
  encodings.set(text, tokens);
  counts.set(text, tokens.length);
  return tokens;
}
