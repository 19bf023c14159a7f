/**
 * Reading the structure of a JSON line in place, on its bytes: where a value ends, and the members of an object.
 * Strings are skipped with the engine's byte search (indexOf of `"`), never decoded, so a line of large tool
 * output costs a few searches instead of a JSON.parse that builds its strings. Every function returns -1 (or
 * false) on anything malformed; callers then fall back to JSON.parse of the whole line.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

export function skipSpace(buf: Buffer, i: number, end: number): number {
  while (i < end && isSpace(buf[i]!)) i++;
  return i;
}

/** `buf[i]` is the opening quote; returns the index after the closing quote, or -1. */
export function skipString(buf: Buffer, i: number, end: number): number {
  let j = i + 1;
  for (;;) {
    const q = buf.indexOf(QUOTE, j);
    if (q < 0 || q >= end) return -1;
    let slashes = 0;
    while (q - 1 - slashes > i && buf[q - 1 - slashes] === BACKSLASH) slashes++;
    if (slashes % 2 === 0) return q + 1;
    j = q + 1;
  }
}

/** The index after the JSON value starting at `i` (after spaces), or -1. Nesting is bounded by `maxDepth`. */
export function skipValue(buf: Buffer, i: number, end: number, maxDepth = 256): number {
  i = skipSpace(buf, i, end);
  if (i >= end) return -1;
  const c = buf[i]!;
  if (c === QUOTE) return skipString(buf, i, end);
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    while (i < end) {
      const b = buf[i]!;
      if (b === QUOTE) {
        i = skipString(buf, i, end);
        if (i < 0) return -1;
        continue;
      }
      if (b === 0x7b || b === 0x5b) {
        if (++depth > maxDepth) return -1;
      } else if (b === 0x7d || b === 0x5d) {
        if (--depth === 0) return i + 1;
      }
      i++;
    }
    return -1;
  }
  // A number, true, false or null: up to the next delimiter.
  let j = i;
  while (j < end) {
    const b = buf[j]!;
    if (b === 0x2c || b === 0x7d || b === 0x5d || isSpace(b)) break;
    j++;
  }
  return j > i ? j : -1;
}

/** A JSON value's bytes [start, end), with its members or elements when it was read that deep. */
export interface JsonNode {
  start: number;
  end: number;
  /** Object members, when read (`depth` > 0). */
  members?: Member[];
  /** Array elements, when read (`depth` > 0). */
  items?: JsonNode[];
}

export interface Member extends JsonNode {
  /** The key as written (between its quotes, escapes not decoded). */
  key: string;
}

/**
 * The value starting at `i` (after spaces), its objects and arrays read `depth` levels deep (deeper ones are
 * skipped whole), in one pass: every string is searched once. With `stopAt`, the top object's members are read up
 * to that key (its value and the members after it are not read, and `end` is where reading stopped). Null when
 * malformed.
 */
export function readNode(buf: Buffer, i: number, end: number, depth: number, stopAt?: string): JsonNode | null {
  i = skipSpace(buf, i, end);
  const c = buf[i];
  if (depth <= 0 || (c !== 0x7b && c !== 0x5b)) {
    const e = skipValue(buf, i, end);
    return e < 0 ? null : { start: i, end: e };
  }
  const start = i;
  if (c === 0x5b) {
    const items: JsonNode[] = [];
    i = skipSpace(buf, i + 1, end);
    if (buf[i] === 0x5d) return { start, end: i + 1, items };
    for (;;) {
      const item = readNode(buf, i, end, depth - 1);
      if (item === null) return null;
      items.push(item);
      i = skipSpace(buf, item.end, end);
      if (buf[i] === 0x5d) return { start, end: i + 1, items };
      if (buf[i] !== 0x2c) return null;
      i = i + 1;
    }
  }
  const members: Member[] = [];
  i = skipSpace(buf, i + 1, end);
  if (buf[i] === 0x7d) return { start, end: i + 1, members };
  for (;;) {
    if (buf[i] !== QUOTE) return null;
    const keyEnd = skipString(buf, i, end);
    if (keyEnd < 0) return null;
    const key = buf.toString('latin1', i + 1, keyEnd - 1);
    if (key === stopAt) return { start, end: i, members };
    i = skipSpace(buf, keyEnd, end);
    if (buf[i] !== 0x3a) return null;
    const value = readNode(buf, i + 1, end, depth - 1);
    if (value === null) return null;
    members.push({ key, ...value });
    i = skipSpace(buf, value.end, end);
    if (buf[i] === 0x7d) return { start, end: i + 1, members };
    if (buf[i] !== 0x2c) return null;
    i = skipSpace(buf, i + 1, end);
  }
}

/** The members of the object starting at `i`, or null when it is not a well-formed object (see readNode). */
export function objectMembers(buf: Buffer, i: number, end: number, stopAt?: string): Member[] | null {
  const node = readNode(buf, i, end, 1, stopAt);
  return node?.members ?? null;
}

/** The [start, end) of each element of the array starting at `i`, or null when it is not a well-formed array. */
export function arrayElements(buf: Buffer, i: number, end: number): [number, number][] | null {
  const node = readNode(buf, i, end, 1);
  return node?.items?.map((n) => [n.start, n.end] as [number, number]) ?? null;
}

export const memberOf = (members: readonly Member[], key: string): Member | undefined => members.find((m) => m.key === key);

/** The value is exactly this JSON string (compared as bytes: `"tool_result"` and the like, no escapes). */
export function isStringValue(buf: Buffer, m: Member | undefined, value: string): boolean {
  if (m === undefined || m.end - m.start !== value.length + 2 || buf[m.start] !== QUOTE) return false;
  return buf.toString('latin1', m.start + 1, m.end - 1) === value;
}
