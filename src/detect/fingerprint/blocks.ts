import { createHmac } from 'node:crypto';
import type { FingerprintKeys } from './keys.js';

/**
 * Keyed, chained hashes of the context a request carries, in 4 KB blocks (about 1,000 tokens, two of Mooncake's
 * 512-token prefix blocks). Block i's hash covers block i and the hash of block i-1, so equal hashes mean an equal
 * prefix up to there: exactly what a provider's prompt cache can reuse. 4 KB rather than 2 KB halves what is stored
 * per request (a 200k-token context is 200 hashes, 1.2 KB) and still resolves any prefix worth caching. A re-sent
 * document shows up as a run of known hashes; cache reads on the event show whether it was billed as a cache hit.
 *
 * A new turn of a block or more (a document pasted into the newest message) is hashed on after the context, from
 * a content-defined anchor (`pasteStart`), so the same document pasted again with another question around it gives
 * the same run of hashes: equal hashes then mean an equal context and equal text from the anchor on. A prompt cache
 * serves such a document when it comes first and is marked for caching (with the question first, once reordered).
 *
 * Only whole blocks are hashed (the growing tail is not). Each hash is 48 bits of HMAC-SHA256: no text can be
 * recovered from it, and with 48 bits two different prefixes collide about once in 10^14 pairs.
 */

export const BLOCK_CHARS = 4096;
/**
 * 256 blocks = 1 MiB of context, past the largest context windows in use; beyond it the prefix is already unique
 * and hashing more only costs time on the observer's batch.
 */
export const MAX_BLOCKS = 256;

export class BlockChain {
  private readonly out: number[] = [];
  private prev = Buffer.alloc(8);
  private pending = '';
  private snapshot: readonly number[] = [];

  constructor(private readonly keys: FingerprintKeys) {}

  /** Appends text to the context; hashes every block it completes. */
  push(text: string): void {
    if (this.out.length >= MAX_BLOCKS || text.length === 0) return;
    let buf = this.pending.length > 0 ? this.pending + text : text;
    let at = 0;
    while (buf.length - at >= BLOCK_CHARS && this.out.length < MAX_BLOCKS) {
      this.hashBlock(buf.slice(at, at + BLOCK_CHARS));
      at += BLOCK_CHARS;
    }
    buf = at > 0 ? buf.slice(at) : buf;
    this.pending = this.out.length < MAX_BLOCKS ? buf : '';
  }

  /** The hashes of every whole block so far (an immutable snapshot, shared until the chain grows). */
  hashes(): number[] {
    if (this.snapshot.length !== this.out.length) this.snapshot = Object.freeze(this.out.slice());
    return this.snapshot as number[];
  }

  /** An independent copy (a shared system prompt hashed once, then extended per conversation). */
  clone(): BlockChain {
    const c = new BlockChain(this.keys);
    c.out.push(...this.out);
    c.prev = this.prev;
    c.pending = this.pending;
    return c;
  }

  get length(): number {
    return this.out.length;
  }

  private hashBlock(block: string): void {
    const digest = createHmac('sha256', this.keys.blocks).update(this.prev).update(block, 'utf8').digest();
    this.prev = digest.subarray(0, 8);
    this.out.push(digest.readUIntBE(0, 6));
  }
}

/** Block hashes of a whole context at once and, when given, of a long new turn after it (see `pasteStart`). */
export function hashBlocks(keys: FingerprintKeys, pieces: Iterable<string>, newTurn: string | null = null): number[] {
  const chain = new BlockChain(keys);
  for (const p of pieces) chain.push(p);
  if (newTurn !== null && newTurn.length >= BLOCK_CHARS) chain.push(newTurn.slice(pasteStart(newTurn)));
  return chain.hashes();
}

/**
 * The anchor is chosen within this many characters of a new turn's start: the text before it is not hashed, about
 * half of it on average (8 KB, two blocks of the paste).
 */
export const ANCHOR_CHARS = 16 * 1024;
/** Characters of text hashed at each candidate anchor: enough that repeated headings rarely tie. */
const ANCHOR_SPAN = 16;

/**
 * Where a new turn starts being hashed into blocks: the word start, within its first ANCHOR_CHARS, whose next
 * ANCHOR_SPAN characters hash lowest (a content-defined anchor, as in content-defined chunking). A document pasted
 * into the newest message comes with a different question each time, before or after it; aligning its blocks on
 * the text of the document rather than on the message's first character gives the same hashes either way. The
 * anchor falls in a question of q characters with odds of about q / ANCHOR_CHARS (that send then matches no
 * other): about 1% for a 200-character question. Unkeyed: the position is never stored, only the keyed block
 * hashes that follow it.
 */
export function pasteStart(text: string): number {
  const end = Math.min(text.length, ANCHOR_CHARS);
  let best = 0;
  let lowest = Number.POSITIVE_INFINITY;
  let prevSpace = true;
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    const space = c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d;
    if (prevSpace && !space) {
      // FNV-1a over the span, on UTF-16 code units.
      let h = 0x811c9dc5;
      const stop = Math.min(text.length, i + ANCHOR_SPAN);
      for (let j = i; j < stop; j++) h = Math.imul(h ^ text.charCodeAt(j), 0x01000193);
      h ^= h >>> 16; // FNV's low bits are weak: finish with murmur3's mix so the lowest is a fair draw
      h = Math.imul(h, 0x85ebca6b);
      h ^= h >>> 13;
      h = (h ^ (h >>> 16)) >>> 0;
      if (h < lowest) {
        lowest = h;
        best = i;
      }
    }
    prevSpace = space;
  }
  return best;
}

/** A keyed 48-bit hash of one agent step: the tool calls the model made and the results it got back. */
export function hashToolStep(keys: FingerprintKeys, calls: string, results: string): number {
  return createHmac('sha256', keys.steps).update(calls, 'utf8').update('\u0000').update(results, 'utf8').digest().readUIntBE(0, 6);
}
