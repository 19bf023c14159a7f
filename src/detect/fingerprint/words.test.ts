import { describe, expect, it } from 'vitest';
import { forEachWord } from './words.js';
import { createRng as rng } from '../../sim/random.js';

const words = (s: string): string[] => {
  const out: string[] = [];
  forEachWord(s, (w) => out.push(w));
  return out;
};
const regexWords = (s: string): string[] => [...s.matchAll(/[\p{L}\p{N}_]+/gu)].map((m) => m[0]);

describe('forEachWord', () => {
  it('splits like /[\\p{L}\\p{N}_]+/gu on code, prose and non-Latin scripts', () => {
    const text = 'fix_the auth-test (retry=3) in src/billing.ts; Größe ändern, 東京 の テスト, ٣٤ نقطة, 𝒳𝒴 emoji 🙂 ok';
    expect(words(text)).toEqual(regexWords(text));
    expect(words('')).toEqual([]);
    expect(words('...')).toEqual([]);
    expect(words('tail')).toEqual(['tail']);
  });

  it('agrees with the regex on random strings of mixed characters, lone surrogates included', () => {
    const rand = rng(42);
    const alphabet = [...'aZ9_ -.{}\n\té漢字ß١𝒳🙂', '\ud800', '\udc00', '\u0301', '\u00a0', '\u2028'];
    for (let n = 0; n < 2000; n++) {
      const s = Array.from({ length: Math.floor(rand() * 40) }, () => alphabet[Math.floor(rand() * alphabet.length)]).join('');
      expect(words(s), JSON.stringify(s)).toEqual(regexWords(s));
    }
  });
});
