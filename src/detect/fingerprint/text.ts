import { sip32, type SipKey } from './siphash.js';
import { forEachWord } from './words.js';

/**
 * Text → keyed MinHash signature and a handful of numeric features. The text itself goes no further than this
 * file: callers keep the signature and the numbers, and drop the string.
 *
 * Shingles are the content words of the text (lower-cased, stop words and agent boilerplate removed) and their
 * adjacent pairs. Unigrams keep the similarity of a reworded prompt high ("fix the failing auth test" vs "please fix
 * the auth test that fails"); bigrams keep two prompts that merely share vocabulary apart.
 */

/** 64 hashes: the Jaccard estimate's standard error is at most 0.0625 (1/(2·√64)); 256 bytes per prompt. */
export const MINHASH_SLOTS = 64;

/** Fewer content words than this and a prompt is an acknowledgement ("yes", "go on"), not something to compare. */
export const MIN_CONTENT_WORDS = 3;

/** At most this many characters of a new turn are fingerprinted: a pasted log beyond it adds no signal, only time. */
export const MAX_TEXT_CHARS = 64 * 1024;

const STOP_WORDS = new Set(
  ('a an the and or but if then else of to in on at by for with from into onto about as is are was were be been being ' +
    'it its this that these those there here i me my we our you your he she they them their him her what which who whom ' +
    'do does did doing done have has had having can could should would will shall may might must not no nor so too very ' +
    'just also please pls thanks thank ok okay yes yeah yep sure now again still some any all each every more most ' +
    'up down out over under than same such only own s t don isn doesn didn let lets go on continue proceed')
    .split(' '),
);

/** Words that suggest a task needs reasoning (design, proof, diagnosis): feature counts, not a verdict. */
const REASONING = new Set(
  ('why design architecture architect tradeoff tradeoffs trade prove proof derive algorithm complexity optimize ' +
    'optimise refactor debug diagnose race deadlock concurrency migrate migration analyze analyse compare evaluate ' +
    'plan strategy security vulnerability performance profile investigate implement distributed consistency invariant')
    .split(' '),
);

/** Words that suggest a mechanical task (reformat, translate, look up): feature counts, not a verdict. */
const SIMPLE = new Set(
  ('rename format reformat translate convert spell spelling typo capitalize lowercase uppercase list summarize ' +
    'summarise shorten define definition synonym example regex date timestamp json yaml csv sort lookup').split(' '),
);

const SYSTEM_REMINDER = /<system-reminder>[\s\S]*?<\/system-reminder>/g;
const CODE_LINE = /[{};]\s*$|^\s*(def|class|function|const|let|var|import|return|if|for|while)\b|=>|```/m;

export interface TextFeatures {
  /** Words in the new text (stop words included). */
  words: number;
  /** Lines that look like code. */
  codeLines: number;
  reasoningHits: number;
  simpleHits: number;
  questions: number;
}

export interface TextFingerprint {
  /** Keyed MinHash of the shingles, or null when the text has fewer than MIN_CONTENT_WORDS content words. */
  signature: Uint32Array | null;
  features: TextFeatures;
}

/** Keeps unigram and bigram hashes apart (public constants: the secret is in the word hashes). */
const UNIGRAM = 0x5bd1e995;
const BIGRAM = 0x27d4eb2f;
/** The empty-slot marker of a signature; a real hash of this value is stored one lower. */
const EMPTY = 0xffffffff;

/** murmur3's 32-bit finaliser: spreads a word hash over every bit. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Agent boilerplate removed and length bounded: what is fingerprinted of a new turn. */
export function cleanText(text: string): string {
  const bounded = text.length > MAX_TEXT_CHARS ? text.slice(0, MAX_TEXT_CHARS) : text;
  return bounded.includes('<system-reminder>') ? bounded.replace(SYSTEM_REMINDER, ' ') : bounded;
}

export function textFeatures(text: string): TextFeatures {
  let words = 0;
  let reasoningHits = 0;
  let simpleHits = 0;
  forEachWord(text.toLowerCase(), (w) => {
    words++;
    if (REASONING.has(w)) reasoningHits++;
    else if (SIMPLE.has(w)) simpleHits++;
  });
  let codeLines = 0;
  for (const line of text.split('\n')) if (CODE_LINE.test(line)) codeLines++;
  let questions = 0;
  for (let i = text.indexOf('?'); i !== -1; i = text.indexOf('?', i + 1)) questions++;
  return { words, codeLines, reasoningHits, simpleHits, questions };
}

/**
 * The keyed MinHash signature of a text (already cleaned), or null when it is too short to compare. A bottom-k
 * sketch: the MINHASH_SLOTS smallest distinct shingle hashes, ascending, EMPTY-padded when the text has fewer.
 * One hash per shingle (a k-permutation MinHash computes 64), and for a prompt of fewer than 64 shingles the
 * sketch is the whole set, so its similarity is exact. Each distinct word is SipHashed once under the secret; a
 * bigram's hash mixes its two word hashes.
 */
export function minhash(key: SipKey, text: string): Uint32Array | null {
  const sig = new Uint32Array(MINHASH_SLOTS).fill(EMPTY);
  let size = 0;
  const add = (v: number): void => {
    if (v === EMPTY) v = EMPTY - 1;
    if (size === MINHASH_SLOTS && v >= sig[MINHASH_SLOTS - 1]!) return;
    let lo = 0;
    let hi = size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sig[mid]! < v) lo = mid + 1;
      else hi = mid;
    }
    if (lo < size && sig[lo] === v) return;
    sig.copyWithin(lo + 1, lo, size === MINHASH_SLOTS ? MINHASH_SLOTS - 1 : size);
    sig[lo] = v;
    if (size < MINHASH_SLOTS) size++;
  };
  const words = new Map<string, number>();
  let content = 0;
  let prev = 0;
  forEachWord(text.toLowerCase(), (w) => {
    if (STOP_WORDS.has(w)) return;
    let h = words.get(w);
    if (h === undefined) {
      h = sip32(key, w);
      words.set(w, h);
    }
    add(fmix32(h ^ UNIGRAM));
    if (content > 0) add(fmix32((Math.imul(prev, 0x9e3779b1) + h) ^ BIGRAM));
    prev = h;
    content++;
  });
  return content < MIN_CONTENT_WORDS ? null : sig;
}

/**
 * Estimated Jaccard similarity of the two shingle sets: of the union's MINHASH_SLOTS smallest hashes (read off both
 * sketches in one merge), the share found in both. Exact when the union has fewer shingles than that.
 */
export function similarity(a: Uint32Array, b: Uint32Array): number {
  let i = 0;
  let j = 0;
  let seen = 0;
  let both = 0;
  while (seen < MINHASH_SLOTS) {
    const x = i < MINHASH_SLOTS ? a[i]! : EMPTY;
    const y = j < MINHASH_SLOTS ? b[j]! : EMPTY;
    if (x === EMPTY && y === EMPTY) break;
    if (x === y) {
      both++;
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
    seen++;
  }
  return seen === 0 ? 0 : both / seen;
}
