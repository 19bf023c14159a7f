/**
 * Deterministic, plausible-looking output text with an exact token count.
 *
 * Every piece is exactly one o200k token and starts a new pre-token (a word with its leading space, or a
 * lone "." / "," after a word), so BPE never merges across pieces: N pieces tokenise to exactly N tokens. The word list is
 * filtered at load time to words for which that holds ("X", " x" and " X" all single tokens), and the
 * tests check the count on many seeds with gpt-tokenizer itself.
 */
import { encode } from 'gpt-tokenizer/encoding/o200k_base';
import { createRng, randInt, type Rng } from './random.js';

const CANDIDATE_WORDS = `the of and to in is that for it as with was on be by this are from at or an have not but
which all were can more one their there has been if about also when would will them some into its other than then
time these two may only first new any most over such after made many where between being through under same each
while well both because those very during without again place part system work world way year state number people
use order case point group fact water form level area light line power change process study type problem result
field report value rate force model data early energy term action method practice design idea plan story house
market service support history interest health policy record account example question reason source answer moment
signal summary pattern garden river window letter engine forest canvas bridge morning quiet bright simple clear open
warm rapid slow small large long short green blue golden silver modern local common single final late even still
often always never soon here together almost quite rather further across around beyond within above below along
among against build hold keep bring carry follow move turn begin show offer consider provide describe explain
suggest measure notice return`;

function capitalise(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

function isOneToken(text: string): boolean {
  return encode(text).length === 1;
}

/** Words usable as single-token pieces, lower- and capitalised forms. */
export const WORDS: readonly string[] = [...new Set(CANDIDATE_WORDS.split(/\s+/).filter((w) => w.length > 0))].filter(
  (w) => isOneToken(` ${w}`) && isOneToken(` ${capitalise(w)}`) && isOneToken(capitalise(w)),
);

function pickWord(rng: Rng): string {
  return WORDS[Math.floor(rng() * WORDS.length)] ?? 'the';
}

/**
 * Exactly `tokens` one-token pieces of prose: sentences of 5 to 14 words, an occasional comma, ending on a
 * full stop whenever the budget allows.
 */
export function generatePieces(seed: number, tokens: number): string[] {
  const rng = createRng(seed);
  const pieces: string[] = [];
  let sentenceWords = 0;
  let sentenceLength = randInt(rng, 5, 14);
  while (pieces.length < tokens) {
    const remaining = tokens - pieces.length;
    // a sentence may not end with two tokens left: that would leave a one-word sentence without its stop
    if (sentenceWords > 0 && (remaining === 1 || (sentenceWords >= sentenceLength && remaining !== 2))) {
      pieces.push('.');
      sentenceWords = 0;
      sentenceLength = randInt(rng, 5, 14);
      continue;
    }
    const afterWord = (pieces[pieces.length - 1] ?? ',') !== ','; // ",," would merge into one token
    if (afterWord && sentenceWords >= 2 && sentenceWords < sentenceLength - 1 && remaining > 2 && rng() < 0.08) {
      pieces.push(',');
      continue;
    }
    const word = pickWord(rng);
    if (sentenceWords === 0) pieces.push(pieces.length === 0 ? capitalise(word) : ` ${capitalise(word)}`);
    else pieces.push(` ${word}`);
    sentenceWords++;
  }
  return pieces;
}

/** Groups pieces into stream chunks of 1 to 4 tokens, as real streams deliver a few tokens per event. */
export function chunkPieces(seed: number, pieces: readonly string[]): string[] {
  const rng = createRng(seed ^ 0x9e3779b9);
  const chunks: string[] = [];
  for (let i = 0; i < pieces.length; ) {
    const n = randInt(rng, 1, 4);
    chunks.push(pieces.slice(i, i + n).join(''));
    i += n;
  }
  return chunks;
}

/** Splits a string (tool arguments, signatures) into fragments of 4 to 12 characters, like real deltas. */
export function splitFragments(seed: number, text: string): string[] {
  const rng = createRng(seed ^ 0x85ebca6b);
  const out: string[] = [];
  for (let i = 0; i < text.length; ) {
    const n = randInt(rng, 4, 12);
    out.push(text.slice(i, i + n));
    i += n;
  }
  return out;
}

/** Cuts chunks so that their concatenation is the first `length` characters (for stop sequences). */
export function truncateChunks(chunks: readonly string[], length: number): string[] {
  const out: string[] = [];
  let used = 0;
  for (const chunk of chunks) {
    if (used >= length) break;
    const piece = chunk.slice(0, length - used);
    out.push(piece);
    used += piece.length;
  }
  return out;
}
