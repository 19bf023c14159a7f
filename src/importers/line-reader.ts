import { closeSync, openSync, readSync } from 'node:fs';

/**
 * Reads a file's complete lines from a byte offset with bounded memory: one buffer that starts at `chunkBytes` and
 * grows only while a single line needs it, up to `maxLineBytes`; a longer line is skipped (counted) without ever
 * being held whole.
 *
 * With `needles`, only lines containing one of them are handed over (with a mask of which); the others are counted
 * and never decoded. Needles are searched across the whole buffer, not line by line, which is what makes skipping
 * fast: most bytes of an agent log are in lines that carry nothing an importer reads.
 */
export interface ReadLinesOptions {
  /** Start of the first line to read. */
  from: number;
  /** Hand over only lines containing one of these (bit i of the mask: needle i occurs in the line). */
  needles?: readonly Buffer[];
  /** Default 4 MiB: large reads, few system calls. */
  chunkBytes?: number;
  /**
   * Default 16 MiB. No agent writes a usage line anywhere near that (a line is one API response's metadata plus at
   * most one content block); longer lines are tool output or garbage, and holding them would let one file take
   * unbounded memory.
   */
  maxLineBytes?: number;
  /** Called after each buffer with the bytes consumed so far (for a progress bar). */
  onProgress?: (consumedBytes: number) => void;
}

export interface LineHandler {
  /**
   * One complete line `buf[start, end)` (no newline), starting at byte `offset` of the file. `lineNo` is 1-based,
   * counted from `from`. For the final bytes of a file with no newline after them, `tail` is true and the handler
   * returns whether they were a complete record (then they are consumed; otherwise the next run reads them again,
   * as a writer may still be appending to that line).
   */
  (buf: Buffer, start: number, end: number, offset: number, lineNo: number, tail: boolean, mask: number): boolean | void;
}

export interface ReadLinesResult {
  /** Where the next read must start: just after the last consumed line. */
  offset: number;
  bytesRead: number;
  /** Complete lines seen (handed over or not), including skipped long lines. */
  lines: number;
  /** Lines longer than maxLineBytes, skipped. */
  tooLong: number;
  /** Line numbers (counted from `from`) of the first few skipped long lines. */
  tooLongAt: number[];
  /**
   * Lines without a needle that are not even shaped as a JSON object (see `objectShaped`): binary garbage, a line
   * cut short. Counted so, never decoded.
   */
  malformed: number;
  /** Line numbers (counted from `from`) of the first few of them. */
  malformedAt: number[];
}

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

const DEFAULT_CHUNK = 4 << 20;
const DEFAULT_MAX_LINE = 16 << 20;
const NL = 10;

export function readLines(path: string, opts: ReadLinesOptions, onLine: LineHandler): ReadLinesResult {
  const chunk = opts.chunkBytes ?? DEFAULT_CHUNK;
  const maxLine = Math.max(opts.maxLineBytes ?? DEFAULT_MAX_LINE, 1);
  const needles = opts.needles ?? [];
  const hits = new Array<number>(needles.length);
  let buf = scratch(Math.min(chunk, maxLine + 1));
  const fd = openSync(path, 'r');
  const result: ReadLinesResult = { offset: opts.from, bytesRead: 0, lines: 0, tooLong: 0, tooLongAt: [], malformed: 0, malformedAt: [] };
  /** File offset of buf[0]. */
  let base = opts.from;
  /** Valid bytes in buf. */
  let len = 0;
  /** Skipping the rest of a too-long line until its newline. */
  let skipping = false;
  /** Reading from the start of the file, and its first bytes not yet looked at for a byte-order mark. */
  let bomUnchecked = opts.from === 0;
  try {
    for (;;) {
      if (len === buf.length) {
        // No newline in a full buffer: grow up to the line cap, else skip this line.
        if (buf.length <= maxLine) {
          const bigger = Buffer.allocUnsafe(Math.min(buf.length * 2, maxLine + 1));
          buf.copy(bigger, 0, 0, len);
          buf = bigger;
          spare = bigger;
        } else {
          skipping = true;
          base += len;
          len = 0;
        }
      }
      const n = readSync(fd, buf, len, buf.length - len, base + len);
      if (n === 0) break;
      result.bytesRead += n;
      const end = len + n;
      let pos = 0;
      if (bomUnchecked && (base > 0 || end >= BOM.length)) {
        // A UTF-8 byte-order mark (editors on Windows write one) is not part of the first line.
        bomUnchecked = false;
        if (base === 0 && buf[0] === BOM[0] && buf[1] === BOM[1] && buf[2] === BOM[2]) pos = BOM.length;
      }
      if (skipping) {
        const nl = buf.indexOf(NL, len);
        if (nl < 0 || nl >= end) {
          base += end;
          len = 0;
          continue;
        }
        skipping = false;
        countTooLong(result);
        pos = nl + 1;
        result.offset = base + pos;
      }
      const lastNl = buf.lastIndexOf(NL, end - 1);
      if (lastNl >= pos) {
        // A view that ends at the last newline: needle searches must not run on into the stale rest of the reused
        // buffer (a few kilobytes appended to a file would otherwise search megabytes of an earlier file's bytes).
        pos = scan(buf.subarray(0, lastNl + 1), pos, lastNl, base, needles, hits.fill(-1), result, onLine);
        result.offset = base + pos;
      }
      // Keep the incomplete last line at the front of the buffer.
      if (pos > 0) {
        buf.copy(buf, 0, pos, end);
        base += pos;
        len = end - pos;
      } else {
        len = end;
      }
      opts.onProgress?.(result.bytesRead);
    }
    // Unconsumed bytes at the end (an unterminated line, maybe still being written): offer them as a tail record,
    // unless they are the start of a too-long line, which the next run skips again.
    if (!skipping && len > 0) {
      const tail = buf.subarray(0, len);
      let mask = 0;
      needles.forEach((n, i) => (mask |= tail.indexOf(n) >= 0 ? 1 << i : 0));
      if ((needles.length === 0 || mask !== 0) && onLine(buf, 0, len, base, result.lines + 1, true, mask) === true) {
        result.lines += 1;
        result.offset = base + len;
      }
    }
  } finally {
    closeSync(fd);
  }
  return result;
}

/**
 * One read buffer per thread, reused across files (thousands of small session files would otherwise allocate a
 * chunk each). It only grows while a line needs it, and never past maxLineBytes + 1.
 */
let spare: Buffer | null = null;
function scratch(size: number): Buffer {
  if (spare === null || spare.length < size) spare = Buffer.allocUnsafe(size);
  return spare.length === size ? spare : spare.subarray(0, size);
}

function countTooLong(result: ReadLinesResult): void {
  result.lines += 1;
  result.tooLong += 1;
  if (result.tooLongAt.length < 20) result.tooLongAt.push(result.lines);
}

/**
 * Hands over the complete lines in buf[pos, lastNl]; returns the start of the first unconsumed byte (lastNl + 1).
 * `hits[i]` caches where needle i next occurs (-1: not searched yet), so each needle is searched once per buffer.
 */
function scan(
  buf: Buffer,
  pos: number,
  lastNl: number,
  base: number,
  needles: readonly Buffer[],
  hits: number[],
  result: ReadLinesResult,
  onLine: LineHandler,
): number {
  const none = buf.length + 1;
  while (pos <= lastNl) {
    let start = pos;
    if (needles.length > 0) {
      let first = none;
      for (let i = 0; i < needles.length; i++) {
        if (hits[i]! < pos) {
          const h = buf.indexOf(needles[i]!, pos);
          hits[i] = h < 0 ? none : h;
        }
        if (hits[i]! < first) first = hits[i]!;
      }
      if (first > lastNl) {
        skipLines(buf, pos, lastNl, result);
        return lastNl + 1;
      }
      const lineStart = first === 0 ? 0 : buf.lastIndexOf(NL, first - 1) + 1;
      if (lineStart > pos) {
        skipLines(buf, pos, lineStart - 1, result);
        start = lineStart;
      }
    }
    const end = buf.indexOf(NL, start);
    let mask = 0;
    for (let i = 0; i < needles.length; i++) if (hits[i]! < end) mask |= 1 << i;
    result.lines += 1;
    onLine(buf, start, end, base + start, result.lines, false, mask);
    pos = end + 1;
  }
  return pos;
}

/**
 * Counts the lines in buf[from, to] (`from` a line's start, `to` a newline), handing none over, and which of them are
 * malformed: a few byte comparisons a line, so skipping stays as fast as counting newlines.
 */
function skipLines(buf: Buffer, from: number, to: number, result: ReadLinesResult): void {
  let start = from;
  let nl = buf.indexOf(NL, start);
  while (nl >= 0 && nl <= to) {
    result.lines += 1;
    if (!objectShaped(buf, start, nl)) {
      result.malformed += 1;
      if (result.malformedAt.length < 20) result.malformedAt.push(result.lines);
    }
    start = nl + 1;
    nl = buf.indexOf(NL, start);
  }
}

const isBlank = (b: number | undefined): boolean => b === 0x20 || b === 0x09 || b === 0x0d;

/**
 * Whether buf[start, end) starts with `{` and ends with `}`, JSON whitespace (and a CR) aside: what every line of an
 * agent's JSONL log is. Not a parse: a line that passes may still be invalid JSON; one that fails cannot be valid.
 */
export function objectShaped(buf: Buffer, start: number, end: number): boolean {
  let a = start;
  let b = end - 1;
  while (a <= b && isBlank(buf[a])) a++;
  while (b > a && isBlank(buf[b])) b--;
  return a < b && buf[a] === 0x7b && buf[b] === 0x7d;
}
