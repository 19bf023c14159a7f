import { describe, expect, it } from 'vitest';
import { readNode, skipValue, type JsonNode } from './json-bytes.js';
import { createRng as rng } from '../sim/random.js';

const PIECES = ['a', ' ', '"', '\\', '\\"', '"}', '",', '\n', 'é', '😀', '{', '}', '[', ']', ':', ',', 'x"y', '\\\\'];

function randomValue(r: () => number, depth: number): unknown {
  const k = Math.floor(r() * (depth > 3 ? 4 : 6));
  if (k === 0) return Array.from({ length: Math.floor(r() * 6) }, () => PIECES[Math.floor(r() * PIECES.length)]).join('');
  if (k === 1) return Math.round(r() * 1e6) / 100 - 5000;
  if (k === 2) return r() < 0.5 ? true : null;
  if (k === 3) return false;
  if (k === 4) return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = 0; i < Math.floor(r() * 5); i++) o[`k${i}${PIECES[Math.floor(r() * PIECES.length)]}`] = randomValue(r, depth + 1);
  return o;
}

/** The node read back through JSON.parse of each span: must equal the value the bytes were written from. */
function rebuild(buf: Buffer, n: JsonNode): unknown {
  // Keys are kept as written, one character per byte.
  if (n.members) return Object.fromEntries(n.members.map((m) => [JSON.parse(`"${Buffer.from(m.key, 'latin1').toString('utf8')}"`) as string, rebuild(buf, m)]));
  if (n.items) return n.items.map((i) => rebuild(buf, i));
  return JSON.parse(buf.toString('utf8', n.start, n.end));
}

describe('reading JSON on its bytes', () => {
  it('finds every value, member and element span as JSON.parse reads them (escapes, quotes, UTF-8, nesting)', () => {
    const r = rng(11);
    for (let n = 0; n < 2000; n++) {
      const value = randomValue(r, 0);
      const text = r() < 0.5 ? JSON.stringify(value) : JSON.stringify(value, null, 1);
      const buf = Buffer.from(`xx${text}yy`);
      const end = buf.length - 2;
      expect(skipValue(buf, 2, end)).toBe(end);
      const node = readNode(buf, 2, end, 8);
      expect(node, text).not.toBeNull();
      expect(rebuild(buf, node!)).toEqual(value);
    }
  });

  it('refuses malformed input instead of guessing', () => {
    for (const bad of ['{"a":1', '{"a" 1}', '["a",]x', '"unterminated', '{"a":"b\\"}', '{,}', '']) {
      const buf = Buffer.from(bad);
      expect(readNode(buf, 0, buf.length, 4), bad).toBeNull();
    }
  });

  it('stops at a key when asked', () => {
    const buf = Buffer.from('{"type":"user","message":{"content":"hi"},"toolUseResult":{"stdout":"big"},"later":1}');
    const node = readNode(buf, 0, buf.length, 3, 'toolUseResult')!;
    expect(node.members!.map((m) => m.key)).toEqual(['type', 'message']);
  });
});
