import { hash } from 'node:crypto';

/**
 * A deterministic event id: the same request read twice (a re-import, an overlapping directory, a replayed OTLP
 * batch) gets the same id, so the store's insert-or-ignore makes imports idempotent. 128 bits of SHA-256.
 * (One-shot `crypto.hash`: a million ids per import make createHash's per-call objects measurable.)
 */
export function stableId(prefix: string, ...parts: readonly (string | number | null | undefined)[]): string {
  let input = '';
  for (const p of parts) input += `${p ?? ''}\u0000`;
  return `${prefix}_${hash('sha256', input, 'hex').slice(0, 32)}`;
}
