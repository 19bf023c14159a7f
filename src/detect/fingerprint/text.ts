import { sip32, type SipKey } from './siphash.js';

/**
 * Text → keyed MinHash signature and a handful of numeric features. The text itself goes no further than this
 * file: callers keep the signature and the numbers, and drop the string.
 *
 * Shingles are the content words of the text (lower-cased, stop words and agent boilerplate removed) and their
 * adjacent pairs. Unigrams keep the similarity of a reworded prompt high ("fix the failing auth test" vs "please fix
 * the auth test that fails"); bigrams keep two prompts that merely share vocabulary apart.
 */

/** 64 slots: the Jaccard estimate's standard error is at most 0.0625 (1/(2·√64)); 256 bytes per prompt. */
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
const WORD = /[\p{L}\p{N}_]+/gu;
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

/** Public per-slot constants: the secret is in the shingle hash (SipHash), these only spread it over 64 slots. */
const SLOT_SEEDS = (() => {
  const out = new Uint32Array(MINHASH_SLOTS);
  let x = 0x9e3779b9;
  for (let i = 0; i < MINHASH_SLOTS; i++) {
    x = (x + 0x6d2b79f5) >>> 0;
    out[i] = fmix32(x);
  }
  return out;
})();

function fmix32(h: number): number {
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
  for (const m of text.toLowerCase().matchAll(WORD)) {
    words++;
    const w = m[0];
    if (REASONING.has(w)) reasoningHits++;
    else if (SIMPLE.has(w)) simpleHits++;
  }
  let codeLines = 0;
  for (const line of text.split('\n')) if (CODE_LINE.test(line)) codeLines++;
  let questions = 0;
  for (let i = text.indexOf('?'); i !== -1; i = text.indexOf('?', i + 1)) questions++;
  return { words, codeLines, reasoningHits, simpleHits, questions };
}

/** The keyed MinHash signature of a text (already cleaned), or null when it is too short to compare. */
export function minhash(key: SipKey, text: string): Uint32Array | null {
  const content: string[] = [];
  for (const m of text.toLowerCase().matchAll(WORD)) if (!STOP_WORDS.has(m[0])) content.push(m[0]);
  if (content.length < MIN_CONTENT_WORDS) return null;
  const sig = new Uint32Array(MINHASH_SLOTS).fill(0xffffffff);
  const seen = new Set<number>();
  const add = (h: number): void => {
    if (seen.has(h)) return;
    seen.add(h);
    for (let k = 0; k < MINHASH_SLOTS; k++) {
      const v = fmix32((h ^ SLOT_SEEDS[k]!) >>> 0);
      if (v < sig[k]!) sig[k] = v;
    }
  };
  for (let i = 0; i < content.length; i++) {
    add(sip32(key, content[i]!));
    if (i > 0) add(sip32(key, `${content[i - 1]!} ${content[i]!}`));
  }
  return sig;
}

/** Estimated Jaccard similarity of the two shingle sets: the share of slots whose minimums agree. */
export function similarity(a: Uint32Array, b: Uint32Array): number {
  let same = 0;
  for (let k = 0; k < MINHASH_SLOTS; k++) if (a[k] === b[k]) same++;
  return same / MINHASH_SLOTS;
}
