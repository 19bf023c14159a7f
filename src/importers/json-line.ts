import type { SkipReason } from './types.js';

/**
 * JSON.parse for one untrusted log line: a syntax error is `invalid_json`; nesting too deep for the engine is
 * `too_deep`; anything but an object is `bad_shape`. Never throws.
 */
export function parseJsonObject(line: string): Record<string, unknown> | SkipReason {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    return err instanceof RangeError ? 'too_deep' : 'invalid_json';
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : 'bad_shape';
}

/** Epoch ms of an ISO 8601 string or epoch number (seconds or ms), else null. */
export function parseTimestamp(value: unknown): number | null {
  if (typeof value === 'string') {
    const ms = Date.parse(value);
    return Number.isFinite(ms) ? ms : null;
  }
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value < 1e11 ? value * 1000 : value;
  return null;
}

export const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/**
 * A bounded copy of a usage object for `rawUsage`: scalars (strings cut at 256 characters) and nested objects two
 * levels deep, at most 64 keys each; arrays and deeper nesting dropped. An untrusted line can put anything in its
 * usage object; what is kept for re-pricing must stay small and safe to serialise.
 */
export function compactRaw(value: unknown, depth = 2): unknown {
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'string') return value.length > 256 ? value.slice(0, 256) : value;
  if (typeof value !== 'object' || Array.isArray(value) || depth === 0) return undefined;
  const out: Record<string, unknown> = {};
  const src = value as Record<string, unknown>;
  let n = 0;
  for (const k in src) {
    if (n++ >= 64) break;
    const c = compactRaw(src[k], depth - 1);
    if (c !== undefined) out[k] = c;
  }
  return out;
}
