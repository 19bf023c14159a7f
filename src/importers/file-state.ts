import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import type { ImportFileState } from '../store/types.js';

/** How much of a file's start is hashed to tell an appended file from a rewritten or rotated one. */
export const HEAD_BYTES = 4096;

export interface FileStat {
  size: number;
  inode: number;
  mtimeMs: number;
}

export type ReadPlan =
  /** Nothing changed since the last run: not even opened. */
  | { kind: 'unchanged' }
  /** Read from `from`: 0 for a new or rewritten file, the stored offset for a file that only grew. */
  | { kind: 'read'; from: number; why: 'new' | 'appended' | 'rewritten' | 'truncated' | 'rotated' };

/**
 * Decides where to read a file from. `headHash` hashes the first `prev.headBytes` bytes as they are now (only
 * needed when the file changed; pass a function so an unchanged file is never opened).
 */
export function planRead(prev: ImportFileState | undefined, now: FileStat, headHash: (bytes: number) => string): ReadPlan {
  if (prev === undefined) return { kind: 'read', from: 0, why: 'new' };
  if (now.inode !== prev.inode) return { kind: 'read', from: 0, why: 'rotated' };
  if (now.size === prev.size && now.mtimeMs === prev.mtimeMs) return { kind: 'unchanged' };
  if (now.size < prev.offset) return { kind: 'read', from: 0, why: 'truncated' };
  if (headHash(prev.headBytes) !== prev.headHash) return { kind: 'read', from: 0, why: 'rewritten' };
  return { kind: 'read', from: prev.offset, why: 'appended' };
}

/** SHA-256 (hex) of the first `bytes` bytes of a file (fewer if it is shorter). */
export function hashHead(path: string, bytes: number): string {
  const buf = Buffer.alloc(bytes);
  const fd = openSync(path, 'r');
  try {
    const n = bytes === 0 ? 0 : readSync(fd, buf, 0, bytes, 0);
    return createHash('sha256').update(buf.subarray(0, n)).digest('hex');
  } finally {
    closeSync(fd);
  }
}
