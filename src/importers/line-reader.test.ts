import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readLines, type ReadLinesOptions } from './line-reader.js';

const dir = mkdtempSync(join(tmpdir(), 'goodhart-lines-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = (content: string | Buffer): string => {
  const p = join(dir, `f${++n}`);
  writeFileSync(p, content);
  return p;
};

function collect(path: string, opts: ReadLinesOptions, acceptTail = true) {
  const lines: { text: string; offset: number; lineNo: number; tail: boolean }[] = [];
  const result = readLines(path, opts, (buf, start, end, offset, lineNo, tail) => {
    lines.push({ text: buf.toString('utf8', start, end), offset, lineNo, tail });
    return acceptTail;
  });
  return { lines, result };
}

describe('readLines', () => {
  it('hands over every line with its byte offset and number, across tiny buffers', () => {
    const p = file('one\ntwo two\n\nfour\n');
    for (const chunkBytes of [1, 2, 3, 5, 64]) {
      const { lines, result } = collect(p, { from: 0, chunkBytes });
      expect(lines.map((l) => [l.text, l.offset, l.lineNo])).toEqual([
        ['one', 0, 1],
        ['two two', 4, 2],
        ['', 12, 3],
        ['four', 13, 4],
      ]);
      expect(result).toMatchObject({ offset: 18, lines: 4, tooLong: 0, bytesRead: 18 });
    }
  });

  it('starts at an offset and counts lines without the needle without handing them over', () => {
    const p = file('{"a":1}\n{"usage":{"x":1}}\n{"b":2}\n{"c":3}\n{"usage":{"y":2}}\n');
    const { lines, result } = collect(p, { from: 8, needles: [Buffer.from('usage":')], chunkBytes: 7 });
    expect(lines.map((l) => [l.text, l.offset, l.lineNo])).toEqual([
      ['{"usage":{"x":1}}', 8, 1],
      ['{"usage":{"y":2}}', 42, 4],
    ]);
    expect(result).toMatchObject({ offset: 60, lines: 4 });
  });

  it('counts the lines it skips that are not shaped as JSON objects, with their numbers', () => {
    const p = file('{"a":1}\n\u0000garbage\n  {"b":2} \r\n\n{"usage":{"x":1}}\n{"cut\n{"c":3}\n');
    for (const chunkBytes of [1, 3, 7, 64]) {
      const { lines, result } = collect(p, { from: 0, needles: [Buffer.from('usage":')], chunkBytes });
      expect(lines.map((l) => l.lineNo)).toEqual([5]);
      expect(result).toMatchObject({ lines: 7, malformed: 3, malformedAt: [2, 4, 6] });
    }
  });

  it('skips lines over the cap without holding them, and keeps reading after them', () => {
    const long = 'x'.repeat(1000);
    const p = file(`short\n${long}\nafter\n${long}${long}\nlast\n`);
    const { lines, result } = collect(p, { from: 0, maxLineBytes: 100, chunkBytes: 16 });
    expect(lines.map((l) => l.text)).toEqual(['short', 'after', 'last']);
    expect(result).toMatchObject({ lines: 5, tooLong: 2, tooLongAt: [2, 4], offset: 6 + 1001 + 6 + 2001 + 5 });
  });

  it('offers an unterminated last line as a tail and consumes it only when the handler accepts it', () => {
    const p = file('{"a":1}\n{"b":');
    const rejected = collect(p, { from: 0 }, false);
    expect(rejected.lines.map((l) => [l.text, l.tail])).toEqual([['{"a":1}', false], ['{"b":', true]]);
    expect(rejected.result).toMatchObject({ offset: 8, lines: 1 });
    const accepted = collect(p, { from: 0 }, true);
    expect(accepted.result).toMatchObject({ offset: 13, lines: 2 });
  });

  it('leaves an unterminated too-long line for the next run', () => {
    const p = file(`ok\n${'y'.repeat(500)}`);
    const { lines, result } = collect(p, { from: 0, maxLineBytes: 100, chunkBytes: 32 });
    expect(lines.map((l) => l.text)).toEqual(['ok']);
    expect(result).toMatchObject({ offset: 3, lines: 1, tooLong: 0 });
  });

  it('skips a UTF-8 byte-order mark at the start of the file, and only there', () => {
    const bom = '\uFEFF';
    const p = file(`${bom}{"a":1}\n${bom}{"b":2}\n{"c":`);
    for (const chunkBytes of [1, 2, 4, 64]) {
      const { lines, result } = collect(p, { from: 0, chunkBytes }, false);
      expect(lines.map((l) => [l.text, l.offset, l.lineNo, l.tail])).toEqual([
        ['{"a":1}', 3, 1, false],
        [`${bom}{"b":2}`, 11, 2, false],
        ['{"c":', 22, 3, true],
      ]);
      expect(result).toMatchObject({ offset: 22, lines: 2 });
    }
    expect(collect(file(`${bom}{"a":1}`), { from: 0 }).lines.map((l) => [l.text, l.offset, l.tail])).toEqual([['{"a":1}', 3, true]]);
    expect(collect(p, { from: 11 }, false).lines.map((l) => l.text)).toEqual([`${bom}{"b":2}`, '{"c":']);
  });

  it('handles binary garbage as ordinary bytes', () => {
    const garbage = Buffer.from([0, 255, 254, 10, 0x7b, 0x7d, 10, 1, 2, 3]);
    const { lines, result } = collect(file(garbage), { from: 0 }, false);
    expect(lines).toHaveLength(3);
    expect(result).toMatchObject({ offset: 7, lines: 2 });
  });
});
