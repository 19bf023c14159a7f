/**
 * SipHash-2-4 (Aumasson & Bernstein), a keyed pseudo-random function built for short inputs: without the 128-bit
 * key its outputs cannot be computed or inverted, so a hash of a word or shingle reveals nothing to a reader of the
 * database who lacks the installation secret. 64-bit lanes are kept as pairs of 32-bit halves (no BigInt: this runs
 * for every shingle of every prompt).
 *
 * Strings are hashed as their UTF-16 code units, little-endian (two bytes each): a fixed, documented encoding, and
 * no encoder call per shingle. Returns the low 32 bits of the 64-bit result (`sip32`) or both halves (`sip64`).
 */

export interface SipKey {
  /** k0 and k1 as (hi, lo) 32-bit halves. */
  k0h: number;
  k0l: number;
  k1h: number;
  k1l: number;
}

export function sipKey(bytes: Uint8Array): SipKey {
  if (bytes.length < 16) throw new Error('A SipHash key needs 16 bytes.');
  const le = (o: number): number => (bytes[o]! | (bytes[o + 1]! << 8) | (bytes[o + 2]! << 16) | (bytes[o + 3]! << 24)) >>> 0;
  return { k0l: le(0), k0h: le(4), k1l: le(8), k1h: le(12) };
}

// State of the current hash; module-level so the hot loop allocates nothing. Single-threaded, not re-entrant.
let v0h = 0, v0l = 0, v1h = 0, v1l = 0, v2h = 0, v2l = 0, v3h = 0, v3l = 0;

function round(): void {
  // v0 += v1
  let lo = (v0l + v1l) >>> 0;
  v0h = (v0h + v1h + (lo < v0l ? 1 : 0)) >>> 0;
  v0l = lo;
  // v1 = rotl(v1, 13) ^ v0
  let h = ((v1h << 13) | (v1l >>> 19)) >>> 0;
  let l = ((v1l << 13) | (v1h >>> 19)) >>> 0;
  v1h = (h ^ v0h) >>> 0;
  v1l = (l ^ v0l) >>> 0;
  // v0 = rotl(v0, 32)
  let t = v0h;
  v0h = v0l;
  v0l = t;
  // v2 += v3
  lo = (v2l + v3l) >>> 0;
  v2h = (v2h + v3h + (lo < v2l ? 1 : 0)) >>> 0;
  v2l = lo;
  // v3 = rotl(v3, 16) ^ v2
  h = ((v3h << 16) | (v3l >>> 16)) >>> 0;
  l = ((v3l << 16) | (v3h >>> 16)) >>> 0;
  v3h = (h ^ v2h) >>> 0;
  v3l = (l ^ v2l) >>> 0;
  // v0 += v3
  lo = (v0l + v3l) >>> 0;
  v0h = (v0h + v3h + (lo < v0l ? 1 : 0)) >>> 0;
  v0l = lo;
  // v3 = rotl(v3, 21) ^ v0
  h = ((v3h << 21) | (v3l >>> 11)) >>> 0;
  l = ((v3l << 21) | (v3h >>> 11)) >>> 0;
  v3h = (h ^ v0h) >>> 0;
  v3l = (l ^ v0l) >>> 0;
  // v2 += v1
  lo = (v2l + v1l) >>> 0;
  v2h = (v2h + v1h + (lo < v2l ? 1 : 0)) >>> 0;
  v2l = lo;
  // v1 = rotl(v1, 17) ^ v2
  h = ((v1h << 17) | (v1l >>> 15)) >>> 0;
  l = ((v1l << 17) | (v1h >>> 15)) >>> 0;
  v1h = (h ^ v2h) >>> 0;
  v1l = (l ^ v2l) >>> 0;
  // v2 = rotl(v2, 32)
  t = v2h;
  v2h = v2l;
  v2l = t;
}

function init(k: SipKey): void {
  v0h = (k.k0h ^ 0x736f6d65) >>> 0;
  v0l = (k.k0l ^ 0x70736575) >>> 0;
  v1h = (k.k1h ^ 0x646f7261) >>> 0;
  v1l = (k.k1l ^ 0x6e646f6d) >>> 0;
  v2h = (k.k0h ^ 0x6c796765) >>> 0;
  v2l = (k.k0l ^ 0x6e657261) >>> 0;
  v3h = (k.k1h ^ 0x74656462) >>> 0;
  v3l = (k.k1l ^ 0x79746573) >>> 0;
}

function compress(mh: number, ml: number): void {
  v3h = (v3h ^ mh) >>> 0;
  v3l = (v3l ^ ml) >>> 0;
  round();
  round();
  v0h = (v0h ^ mh) >>> 0;
  v0l = (v0l ^ ml) >>> 0;
}

function finish(): void {
  v2l = (v2l ^ 0xff) >>> 0;
  round();
  round();
  round();
  round();
}

/** SipHash-2-4 of raw bytes; returns [hi, lo]. Used for the reference test vectors. */
export function sipBytes(k: SipKey, bytes: Uint8Array): [number, number] {
  init(k);
  const n = bytes.length;
  const full = n - (n % 8);
  const le = (o: number): number => (bytes[o]! | (bytes[o + 1]! << 8) | (bytes[o + 2]! << 16) | (bytes[o + 3]! << 24)) >>> 0;
  for (let i = 0; i < full; i += 8) compress(le(i + 4), le(i));
  let ml = 0;
  let mh = (n & 0xff) << 24;
  for (let i = full; i < n; i++) {
    const shift = (i - full) * 8;
    if (shift < 32) ml |= bytes[i]! << shift;
    else mh |= bytes[i]! << (shift - 32);
  }
  compress(mh >>> 0, ml >>> 0);
  finish();
  return [(v0h ^ v1h ^ v2h ^ v3h) >>> 0, (v0l ^ v1l ^ v2l ^ v3l) >>> 0];
}

/** SipHash-2-4 of `s` as UTF-16LE code units (4 per 64-bit word), low 32 bits. */
export function sip32(k: SipKey, s: string): number {
  hashString(k, s);
  return (v0l ^ v1l ^ v2l ^ v3l) >>> 0;
}

/** The full 64-bit result as a number below 2^48 (exact in a double): for keyed ids stored as integers. */
export function sip48(k: SipKey, s: string): number {
  hashString(k, s);
  return ((v0h ^ v1h ^ v2h ^ v3h) & 0xffff) * 0x1_0000_0000 + ((v0l ^ v1l ^ v2l ^ v3l) >>> 0);
}

function hashString(k: SipKey, s: string): void {
  init(k);
  const units = s.length;
  const full = units - (units % 4);
  for (let i = 0; i < full; i += 4) {
    compress(
      (s.charCodeAt(i + 2) | (s.charCodeAt(i + 3) << 16)) >>> 0,
      (s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16)) >>> 0,
    );
  }
  let ml = 0;
  let mh = ((units * 2) & 0xff) << 24;
  const rest = units - full;
  if (rest >= 1) ml |= s.charCodeAt(full);
  if (rest >= 2) ml |= s.charCodeAt(full + 1) << 16;
  if (rest >= 3) mh |= s.charCodeAt(full + 2);
  compress(mh >>> 0, ml >>> 0);
  finish();
}
