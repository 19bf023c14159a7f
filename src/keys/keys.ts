import { hash, randomBytes, randomUUID } from 'node:crypto';
import type { KeyRecord } from '../store/types.js';

/** Virtual keys look like `gh_` + 32 url-safe characters (192 bits of randomness). */
export const KEY_PREFIX = 'gh_';

/** SHA-256, hex. `crypto.hash` (Node ≥ 20.12) is the one-shot form: half the cost of createHash on every request. */
export function hashKey(key: string): string {
  return hash('sha256', key, 'hex');
}

/**
 * Makes a new key and the record to store. The plain key is returned once and never stored.
 * SHA-256 (not a slow password hash) is right here: the key is 192 random bits, not a guessable password,
 * and the gateway verifies it on every request.
 */
export function newKey(opts: {
  userId: string;
  teamId?: string | null;
  projectId?: string | null;
  name?: string | null;
  now?: number;
}): { key: string; record: KeyRecord } {
  const key = KEY_PREFIX + randomBytes(24).toString('base64url');
  return {
    key,
    record: {
      id: randomUUID(),
      hash: hashKey(key),
      prefix: key.slice(0, 10),
      userId: opts.userId,
      teamId: opts.teamId ?? null,
      projectId: opts.projectId ?? null,
      name: opts.name ?? null,
      createdAt: opts.now ?? Date.now(),
      revokedAt: null,
    },
  };
}
