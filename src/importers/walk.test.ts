import { mkdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from './testing.js';
import { listFiles } from './walk.js';

const { dir, cleanup } = tempDir('walk');
afterAll(cleanup);

describe('listFiles', () => {
  const root = join(dir, 'claude', 'projects');
  mkdirSync(join(root, 'p1', 'session-a', 'subagents'), { recursive: true });
  mkdirSync(join(root, 'p2'), { recursive: true });
  mkdirSync(join(dir, 'elsewhere'), { recursive: true });
  writeFileSync(join(root, 'p1', 'session-a.jsonl'), 'a\n');
  writeFileSync(join(root, 'p1', 'session-a', 'subagents', 'agent-1.jsonl'), 'bb\n');
  writeFileSync(join(root, 'p1', 'notes.txt'), 'not a log');
  writeFileSync(join(root, 'p2', 'b.jsonl'), 'ccc\n');
  writeFileSync(join(dir, 'elsewhere', 'linked.jsonl'), 'dddd\n');
  writeFileSync(join(dir, 'elsewhere', 'inside-linked-dir.jsonl'), 'e\n');
  // A link to a file is that file; a link to a directory (here one that would loop) is not followed.
  symlinkSync(join(dir, 'elsewhere', 'linked.jsonl'), join(root, 'p2', 'link.jsonl'));
  symlinkSync(join(dir, 'elsewhere'), join(root, 'p2', 'dir-link'));
  symlinkSync(root, join(root, 'p1', 'loop'));
  // A link to itself (ELOOP on stat) and a dangling link: skipped, never fatal.
  symlinkSync(join(root, 'p1', 'self.jsonl'), join(root, 'p1', 'self.jsonl'));
  symlinkSync(join(dir, 'nowhere.jsonl'), join(root, 'p1', 'dangling.jsonl'));
  const accepts = (p: string): boolean => p.endsWith('.jsonl');

  it('lists accepted files under the roots with size, inode and mtime, sorted by path, links to files included', () => {
    const files = listFiles([root], accepts);
    expect(files.map((f) => f.path.slice(root.length + 1))).toEqual(['p1/session-a.jsonl', 'p1/session-a/subagents/agent-1.jsonl', 'p2/b.jsonl', 'p2/link.jsonl']);
    const linked = statSync(join(dir, 'elsewhere', 'linked.jsonl'));
    expect(files[3]).toEqual({ path: join(root, 'p2', 'link.jsonl'), size: 5, inode: linked.ino, mtimeMs: linked.mtimeMs });
    expect(files.map((f) => f.size)).toEqual([2, 3, 4, 5]);
  });

  it('lists a file once for overlapping roots, skips missing roots and takes a file given as a root', () => {
    const single = join(root, 'p2', 'b.jsonl');
    const files = listFiles([root, join(dir, 'claude', '..', 'claude', 'projects'), join(dir, 'missing'), single], accepts);
    expect(files).toHaveLength(4);
    expect(listFiles([single], accepts).map((f) => f.path)).toEqual([single]);
  });
});
