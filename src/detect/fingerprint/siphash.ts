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
  return sipString(k, s, false);
}

/** The full 64-bit result as a number below 2^48 (exact in a double): for keyed ids stored as integers. */
export function sip48(k: SipKey, s: string): number {
  return sipString(k, s, true);
}

/**
 * The same algorithm as `sipBytes`, written with local variables and the round inlined: this runs for every shingle
 * of every prompt, and locals stay in registers where module state does not (about 5× faster).
 */
function sipString(k: SipKey, s: string, wide: boolean): number {
  let v0h = (k.k0h ^ 0x736f6d65) >>> 0;
  let v0l = (k.k0l ^ 0x70736575) >>> 0;
  let v1h = (k.k1h ^ 0x646f7261) >>> 0;
  let v1l = (k.k1l ^ 0x6e646f6d) >>> 0;
  let v2h = (k.k0h ^ 0x6c796765) >>> 0;
  let v2l = (k.k0l ^ 0x6e657261) >>> 0;
  let v3h = (k.k1h ^ 0x74656462) >>> 0;
  let v3l = (k.k1l ^ 0x79746573) >>> 0;
  const units = s.length;
  const full = units - (units % 4);
  let mh = 0;
  let ml = 0;
  let lo = 0;
  let h = 0;
  let l = 0;
  let t = 0;
  // Blocks, then the final block (length byte), then 4 finalisation rounds: `phase` 0, 1, 2.
  for (let i = 0, phase = 0; phase < 3; ) {
    let rounds: number;
    if (phase === 0 && i < full) {
      ml = (s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16)) >>> 0;
      mh = (s.charCodeAt(i + 2) | (s.charCodeAt(i + 3) << 16)) >>> 0;
      i += 4;
      rounds = 2;
    } else if (phase === 0) {
      phase = 1;
      ml = 0;
      mh = ((units * 2) & 0xff) << 24;
      const rest = units - full;
      if (rest >= 1) ml |= s.charCodeAt(full);
      if (rest >= 2) ml |= s.charCodeAt(full + 1) << 16;
      if (rest >= 3) mh |= s.charCodeAt(full + 2);
      ml >>>= 0;
      mh >>>= 0;
      rounds = 2;
    } else {
      phase = 3;
      v2l = (v2l ^ 0xff) >>> 0;
      rounds = 4;
      mh = 0;
      ml = 0;
    }
    if (rounds === 2) {
      v3h = (v3h ^ mh) >>> 0;
      v3l = (v3l ^ ml) >>> 0;
    }
    for (let r = 0; r < rounds; r++) {
      lo = (v0l + v1l) >>> 0;
      v0h = (v0h + v1h + (lo < v0l ? 1 : 0)) >>> 0;
      v0l = lo;
      h = ((v1h << 13) | (v1l >>> 19)) >>> 0;
      l = ((v1l << 13) | (v1h >>> 19)) >>> 0;
      v1h = (h ^ v0h) >>> 0;
      v1l = (l ^ v0l) >>> 0;
      t = v0h;
      v0h = v0l;
      v0l = t;
      lo = (v2l + v3l) >>> 0;
      v2h = (v2h + v3h + (lo < v2l ? 1 : 0)) >>> 0;
      v2l = lo;
      h = ((v3h << 16) | (v3l >>> 16)) >>> 0;
      l = ((v3l << 16) | (v3h >>> 16)) >>> 0;
      v3h = (h ^ v2h) >>> 0;
      v3l = (l ^ v2l) >>> 0;
      lo = (v0l + v3l) >>> 0;
      v0h = (v0h + v3h + (lo < v0l ? 1 : 0)) >>> 0;
      v0l = lo;
      h = ((v3h << 21) | (v3l >>> 11)) >>> 0;
      l = ((v3l << 21) | (v3h >>> 11)) >>> 0;
      v3h = (h ^ v0h) >>> 0;
      v3l = (l ^ v0l) >>> 0;
      lo = (v2l + v1l) >>> 0;
      v2h = (v2h + v1h + (lo < v2l ? 1 : 0)) >>> 0;
      v2l = lo;
      h = ((v1h << 17) | (v1l >>> 15)) >>> 0;
      l = ((v1l << 17) | (v1h >>> 15)) >>> 0;
      v1h = (h ^ v2h) >>> 0;
      v1l = (l ^ v2l) >>> 0;
      t = v2h;
      v2h = v2l;
      v2l = t;
    }
    if (rounds === 2) {
      v0h = (v0h ^ mh) >>> 0;
      v0l = (v0l ^ ml) >>> 0;
    }
  }
  const outL = (v0l ^ v1l ^ v2l ^ v3l) >>> 0;
  return wide ? ((v0h ^ v1h ^ v2h ^ v3h) & 0xffff) * 0x1_0000_0000 + outL : outL;
}
