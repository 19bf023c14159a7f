import type { NormalisedUsage } from './types.js';

/**
 * Defensive readers for provider usage objects. Providers and OpenAI-compatible servers send missing fields, nulls,
 * floats and the odd numeric string; a converter must never throw on any of them.
 */

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Above this a "count" is garbage, not tokens (a request's context is at most millions): kept, it would overflow the
 * stores' 64-bit integer columns and their rollups (Postgres then refuses the whole batch, at every retry).
 */
export const MAX_COUNT = 1e12;

/**
 * A token count: a finite, non-negative number (or numeric string) up to MAX_COUNT, truncated to an integer.
 * Anything else (null, undefined, negative, NaN, absurdly large, objects) is `undefined`, meaning "not reported".
 */
export function readCount(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  if (!Number.isFinite(n) || n < 0 || n > MAX_COUNT) return undefined;
  return Math.floor(n);
}

/** `readCount` of `obj[key]` when `obj` is an object. */
export function countAt(obj: unknown, key: string): number | undefined {
  return isRecord(obj) ? readCount(obj[key]) : undefined;
}

/** The first of the given counts that was reported. */
export function firstCount(...values: (number | undefined)[]): number | undefined {
  for (const v of values) if (v !== undefined) return v;
  return undefined;
}

export interface InclusiveCounts {
  /** Input tokens as reported, in the OpenAI convention (cached tokens included). */
  input?: number | undefined;
  cacheRead?: number | undefined;
  cacheWrite5m?: number | undefined;
  cacheWrite1h?: number | undefined;
  /** Audio tokens among the input (OpenAI `prompt_tokens_details.audio_tokens`). */
  audioInput?: number | undefined;
  /** Output tokens as reported, reasoning included. */
  output?: number | undefined;
  reasoning?: number | undefined;
  /** Audio tokens among the output (OpenAI `completion_tokens_details.audio_tokens`). */
  audioOutput?: number | undefined;
}

/**
 * Builds the normalised shape from counts in the OpenAI convention (input includes cache and audio, output includes
 * reasoning and audio). A total smaller than its own parts cannot be inclusive: some OpenAI-compatible servers report
 * the parts disjointly (Anthropic-style), so then the parts are added to it instead of being taken out of it.
 * Either way `noCache` and `text` are never negative and nothing reported is dropped.
 */
export function inclusiveUsage(c: InclusiveCounts, raw: unknown): NormalisedUsage {
  const cacheRead = c.cacheRead ?? 0;
  const cacheWrite5m = c.cacheWrite5m ?? 0;
  const cacheWrite1h = c.cacheWrite1h ?? 0;
  const audioIn = c.audioInput ?? 0;
  const cached = cacheRead + cacheWrite5m + cacheWrite1h;
  const reported = c.input ?? 0;
  const inputTotal = reported >= cached + audioIn ? reported : reported + cached + audioIn;

  const reasoning = c.reasoning ?? 0;
  const audioOut = c.audioOutput ?? 0;
  const out = c.output ?? 0;
  const outputTotal = out >= reasoning + audioOut ? out : out + reasoning + audioOut;

  const usage: NormalisedUsage = {
    input: { total: inputTotal, noCache: inputTotal - cached, cacheRead, cacheWrite5m, cacheWrite1h },
    output: { total: outputTotal, text: outputTotal - reasoning - audioOut, reasoning },
    raw,
  };
  if (audioIn > 0) usage.input.audio = audioIn;
  if (audioOut > 0) usage.output.audio = audioOut;
  return usage;
}

