import { randomFillSync } from 'node:crypto';

const pool = Buffer.alloc(10 * 256);
let offset = pool.length;
const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * A UUIDv7 (RFC 9562): 48-bit millisecond timestamp, then random bits. Time-ordered ids keep the store's primary-key
 * index append-only (random UUIDs scatter every insert across the B-tree). Randomness is drawn in bulk.
 */
export function uuidv7(now = Date.now()): string {
  if (offset + 10 > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const r = offset;
  offset += 10;
  const ts = now.toString(16).padStart(12, '0').slice(-12);
  const b = (i: number) => HEX[pool[r + i]!]!;
  const variant = HEX[(pool[r + 2]! & 0x3f) | 0x80]!;
  return (
    `${ts.slice(0, 8)}-${ts.slice(8, 12)}-7${b(0).slice(1)}${b(1)}-${variant}${b(3)}-` +
    `${b(4)}${b(5)}${b(6)}${b(7)}${b(8)}${b(9)}`
  );
}
