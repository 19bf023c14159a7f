/**
 * Prompt-cache bookkeeping, pure apart from the `now` it is given.
 *
 * OpenAI caches automatically: a prompt sharing a prefix of at least 1024 tokens with an earlier prompt to the
 * same model reports that prefix, rounded down to a multiple of 128, as `cached_tokens`.
 *
 * Anthropic caches at explicit breakpoints (`cache_control`). A prefix up to a breakpoint of at least 1024
 * tokens is written the first time (billed as 5-minute or 1-hour write by its ttl) and read while its TTL
 * lasts, each read refreshing the TTL. Like the real API, a breakpoint also finds a hit at any of the 20
 * block boundaries before it, so a conversation that moves its breakpoint forward reads the earlier turns.
 * The three buckets are disjoint and add up to the prompt total.
 */
import { Lru } from './lru.js';
import { hashString } from './random.js';
import type { CacheTtl } from './prompt.js';

export const MIN_CACHEABLE_TOKENS = 1024;
export const OPENAI_CACHE_STEP = 128;
const ANTHROPIC_LOOKBACK_BLOCKS = 20;
const TTL_MS: Record<CacheTtl, number> = { '5m': 5 * 60_000, '1h': 60 * 60_000 };
/** Prefix keys kept: at 128-token steps this covers ~25M tokens of distinct prompts, a few MB of memory. */
const MAX_KEYS = 200_000;

/** Keys for the prefixes of the concatenated `parts` ending at each of `positions` (ascending). */
export function prefixKeys(namespace: string, parts: readonly Uint32Array[], positions: readonly number[]): string[] {
  const keys: string[] = [];
  let h1 = hashString(namespace, 1);
  let h2 = hashString(namespace, 2);
  let seen = 0;
  let next = 0;
  for (const tokens of parts) {
    for (let i = 0; i < tokens.length && next < positions.length; i++) {
      const t = tokens[i] ?? 0;
      h1 = Math.imul(h1 ^ t, 0x01000193) >>> 0;
      h2 = (Math.imul(h2, 31) + t + 0x9e3779b9) >>> 0;
      seen++;
      while (next < positions.length && positions[next] === seen) {
        keys.push(`${seen}:${h1.toString(36)}:${h2.toString(36)}`);
        next++;
      }
    }
  }
  return keys;
}

export class OpenAIPrefixCache {
  private readonly seen = new Lru<string, true>(MAX_KEYS);

  /** Returns `cached_tokens` for this prompt and remembers its prefixes. */
  use(model: string, parts: readonly Uint32Array[], total: number): number {
    if (total < MIN_CACHEABLE_TOKENS) return 0;
    const positions: number[] = [];
    for (let p = MIN_CACHEABLE_TOKENS; p <= total; p += OPENAI_CACHE_STEP) positions.push(p);
    const keys = prefixKeys(`openai:${model}`, parts, positions);
    let cached = 0;
    for (let i = keys.length - 1; i >= 0; i--) {
      if (this.seen.get(keys[i] ?? '') !== undefined) {
        cached = positions[i] ?? 0;
        break;
      }
    }
    for (const key of keys) this.seen.set(key, true);
    return cached;
  }
}

export interface Breakpoint {
  /** Index of the last part inside the cached prefix. */
  part: number;
  ttl: CacheTtl;
}

export interface AnthropicCacheUsage {
  read: number;
  write5m: number;
  write1h: number;
}

export class AnthropicPromptCache {
  private readonly entries = new Lru<string, { expires: number; ttl: CacheTtl }>(MAX_KEYS);

  use(model: string, parts: readonly Uint32Array[], breakpoints: readonly Breakpoint[], now: number): AnthropicCacheUsage {
    const usage: AnthropicCacheUsage = { read: 0, write5m: 0, write1h: 0 };
    if (breakpoints.length === 0) return usage;
    const ends: number[] = [];
    let sum = 0;
    for (const p of parts) ends.push((sum += p.length));

    const breakAt = new Map<number, CacheTtl>(); // position -> ttl (first breakpoint wins on a tie)
    const candidates = new Set<number>();
    for (const bp of breakpoints) {
      const pos = ends[bp.part] ?? 0;
      if (pos < MIN_CACHEABLE_TOKENS) continue;
      if (!breakAt.has(pos)) breakAt.set(pos, bp.ttl);
      for (let j = bp.part; j >= 0 && j > bp.part - ANTHROPIC_LOOKBACK_BLOCKS; j--) {
        const candidate = ends[j] ?? 0;
        if (candidate >= MIN_CACHEABLE_TOKENS) candidates.add(candidate);
      }
    }
    if (breakAt.size === 0) return usage;
    const positions = [...candidates].sort((a, b) => a - b);
    const keys = prefixKeys(`anthropic:${model}`, parts, positions);
    const keyAt = new Map<number, string>();
    positions.forEach((pos, i) => keyAt.set(pos, keys[i] ?? ''));

    for (let i = positions.length - 1; i >= 0; i--) {
      const key = keys[i] ?? '';
      const entry = this.entries.get(key);
      if (entry === undefined) continue;
      if (entry.expires <= now) {
        this.entries.delete(key);
        continue;
      }
      usage.read = positions[i] ?? 0;
      entry.expires = now + TTL_MS[entry.ttl]; // a hit refreshes the TTL
      break;
    }

    let prev = usage.read;
    for (const [pos, ttl] of [...breakAt].sort((a, b) => a[0] - b[0])) {
      if (pos <= usage.read) continue;
      if (ttl === '1h') usage.write1h += pos - prev;
      else usage.write5m += pos - prev;
      prev = pos;
      this.entries.set(keyAt.get(pos) ?? '', { expires: now + TTL_MS[ttl], ttl });
    }
    return usage;
  }
}
