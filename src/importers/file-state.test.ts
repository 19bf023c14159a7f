import { describe, expect, it } from 'vitest';
import type { ImportFileState } from '../store/types.js';
import { planRead } from './file-state.js';

const prev: ImportFileState = {
  source: 'claude-code',
  path: '/p',
  offset: 900,
  size: 1000,
  inode: 7,
  mtimeMs: 100,
  headHash: 'h-old',
  headBytes: 1000,
  context: null,
  updatedAt: 0,
};
const hashIs = (h: string) => (bytes: number) => (bytes === 1000 ? h : 'other');

describe('planRead', () => {
  it('reads a new file from the start', () => {
    expect(planRead(undefined, { size: 5, inode: 1, mtimeMs: 1 }, hashIs('x'))).toEqual({ kind: 'read', from: 0, why: 'new' });
  });
  it('does not open an unchanged file', () => {
    const never = () => {
      throw new Error('hashed an unchanged file');
    };
    expect(planRead(prev, { size: 1000, inode: 7, mtimeMs: 100 }, never)).toEqual({ kind: 'unchanged' });
  });
  it('reads only the appended bytes when the start of the file is the same', () => {
    expect(planRead(prev, { size: 1500, inode: 7, mtimeMs: 200 }, hashIs('h-old'))).toEqual({ kind: 'read', from: 900, why: 'appended' });
  });
  it('starts over when the file was rewritten, truncated or replaced by another file', () => {
    expect(planRead(prev, { size: 1500, inode: 7, mtimeMs: 200 }, hashIs('h-new'))).toMatchObject({ from: 0, why: 'rewritten' });
    expect(planRead(prev, { size: 800, inode: 7, mtimeMs: 200 }, hashIs('h-old'))).toMatchObject({ from: 0, why: 'truncated' });
    expect(planRead(prev, { size: 1000, inode: 8, mtimeMs: 100 }, hashIs('h-old'))).toMatchObject({ from: 0, why: 'rotated' });
  });
});
