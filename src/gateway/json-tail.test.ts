import { describe, expect, it } from 'vitest';
import { TailKeeper, usageFromTail } from './json-tail.js';

describe('usageFromTail', () => {
  it("reads an embeddings body's usage and model from its last bytes", () => {
    const body = JSON.stringify({ object: 'list', data: [{ object: 'embedding', index: 0, embedding: [0.1, -0.2] }], model: 'text-embedding-3-large', usage: { prompt_tokens: 14336, total_tokens: 14336 } });
    expect(usageFromTail(body.slice(20))).toEqual({ usage: { prompt_tokens: 14336, total_tokens: 14336 }, model: 'text-embedding-3-large' });
  });

  it('reads usage followed by other members, written with spaces (Python servers)', () => {
    const body = JSON.stringify({ id: 'c', model: 'm', choices: [], usage: { prompt_tokens: 5, completion_tokens: 7, prompt_tokens_details: { cached_tokens: 2 } }, system_fingerprint: 'fp' }, null, 1);
    expect(usageFromTail(body)).toEqual({ usage: { prompt_tokens: 5, completion_tokens: 7, prompt_tokens_details: { cached_tokens: 2 } }, model: 'm' });
  });

  it('is not fooled by "usage": inside a string, nor by a usage object cut off by the end', () => {
    const body = JSON.stringify({ model: 'm', usage: { prompt_tokens: 3 }, note: 'x "usage": {"prompt_tokens": 999} }' });
    expect(usageFromTail(body)?.usage).toEqual({ prompt_tokens: 3 });
    expect(usageFromTail('{"data":[1],"usage":{"prompt_tokens":3')).toBeNull();
    expect(usageFromTail('{"data":[1]}')).toBeNull();
  });
});

describe('TailKeeper', () => {
  it('keeps the last bytes of what passed, across chunks and a character cut at its start', () => {
    const t = new TailKeeper(7);
    for (const s of ['aaaa', 'bbbb', 'é', 'cccccc']) t.push(Buffer.from(s));
    // The last 7 bytes: the second of é's two, then the six c.
    expect(t.text()).toBe('\uFFFDcccccc');
    const u = new TailKeeper(8);
    for (const s of ['aaaa', 'bbbb', 'é', 'cccccc']) u.push(Buffer.from(s));
    expect(u.text()).toBe('écccccc');
  });
});
