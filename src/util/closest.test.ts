import { describe, expect, it } from 'vitest';
import { closest, didYouMean } from './closest.js';

describe('closest', () => {
  it('finds the name a typo most likely meant, and guesses nothing for a name far from all', () => {
    const models = ['gpt-5', 'gpt-5-mini', 'gpt-5-nano', 'gpt-4.1-mini'];
    expect(closest('gpt-5-nanoo', models)).toBe('gpt-5-nano');
    expect(closest('gpt-5-minii', models)).toBe('gpt-5-mini');
    expect(closest('platfrom', ['platform', 'data'])).toBe('platform');
    expect(closest('Platform', ['platform', 'data'])).toBe('platform');
    expect(closest('gpt-6-ultra-typo', models)).toBeUndefined();
    expect(closest('ab', ['ac'])).toBeUndefined(); // too short for a guess to mean anything
    expect(closest('gpt-5', models)).toBeUndefined(); // itself is no suggestion
    expect(didYouMean('datta', ['platform', 'data'])).toBe(' Did you mean "data"?');
    expect(didYouMean('search', ['platform', 'data'])).toBe('');
  });
});
