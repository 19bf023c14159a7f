import { createHash } from 'node:crypto';

/**
 * A deterministic event id: the same request read twice (a re-import, an overlapping directory, a replayed OTLP
 * batch) gets the same id, so the store's insert-or-ignore makes imports idempotent. 128 bits of SHA-256.
 */
export function stableId(prefix: string, ...parts: readonly (string | number | null | undefined)[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(`${p ?? ''}\u0000`);
  return `${prefix}_${h.digest('hex').slice(0, 32)}`;
}
