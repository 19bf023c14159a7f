/**
 * The words of a text: maximal runs of letters, digits and `_` (Unicode letters and numbers included), exactly the
 * matches of /[\p{L}\p{N}_]+/gu, found with a character loop. The regex allocates a match object per word and
 * tests property classes for ASCII too; this loop costs a third as much, and fingerprints run on every prompt of
 * every request and every imported agent turn. Only characters above U+007F go through the property test.
 */

const NON_ASCII_WORD = /^[\p{L}\p{N}]$/u;

/** Whether the code point at `i` (a non-ASCII one) is a letter or a number; returns its length in code units, or 0. */
function wordCharAt(text: string, i: number): number {
  const cp = text.codePointAt(i)!;
  const len = cp > 0xffff ? 2 : 1;
  return NON_ASCII_WORD.test(len === 2 ? text.slice(i, i + 2) : text[i]!) ? len : 0;
}

/** Calls `f` with each word of `text`, in order. */
export function forEachWord(text: string, f: (word: string) => void): void {
  const n = text.length;
  let start = -1;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    let len = 0;
    if (c < 0x80) {
      if ((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || c === 0x5f) len = 1;
    } else len = wordCharAt(text, i);
    if (len > 0) {
      if (start < 0) start = i;
      i += len;
    } else {
      if (start >= 0) {
        f(text.slice(start, i));
        start = -1;
      }
      i += text.codePointAt(i)! > 0xffff ? 2 : 1;
    }
  }
  if (start >= 0) f(text.slice(start));
}
