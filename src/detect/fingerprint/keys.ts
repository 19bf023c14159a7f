import { createHmac } from 'node:crypto';
import { sipKey, type SipKey } from './siphash.js';

/**
 * Keys for fingerprints, derived from the per-installation secret. Separate keys per use (HMAC-SHA256 of a label),
 * so no two kinds of fingerprint can be compared with each other, and a leaked derived key reveals no other.
 * Fingerprints made with different secrets never match: rotating the secret starts detection history afresh.
 */
export interface FingerprintKeys {
  /** SipHash key for prompt shingles (MinHash). */
  words: SipKey;
  /** HMAC key for context blocks. */
  blocks: Buffer;
  /** HMAC key for tool steps (calls + results). */
  steps: Buffer;
}

/** 16 characters is the floor for a secret (≈ 96 bits when random base64); generated secrets are 32 random bytes. */
export const MIN_SECRET_LENGTH = 16;

const cache = new Map<string, FingerprintKeys>();

export function deriveKeys(secret: string): FingerprintKeys {
  const hit = cache.get(secret);
  if (hit) return hit;
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new Error(`The fingerprint secret must be at least ${MIN_SECRET_LENGTH} characters (use 32 random bytes, base64).`);
  }
  const derive = (label: string, version = 1): Buffer => createHmac('sha256', secret).update(`goodhart-fingerprint:${label}:v${version}`).digest();
  // words v2: prompt signatures became bottom-k sketches; a new key keeps them from ever matching v1 signatures.
  const keys: FingerprintKeys = { words: sipKey(derive('words', 2)), blocks: derive('blocks'), steps: derive('steps') };
  if (cache.size > 16) cache.clear();
  cache.set(secret, keys);
  return keys;
}
