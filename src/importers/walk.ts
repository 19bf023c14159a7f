import { readdirSync, realpathSync, statSync } from 'node:fs';
import { resolve, sep } from 'node:path';

export interface FoundFile {
  path: string;
  size: number;
  inode: number;
  mtimeMs: number;
}

/**
 * Files under the roots (recursively) that `accepts` takes, each once, sorted by path. Missing roots are skipped;
 * symbolic links to directories are not followed (no cycles); roots are resolved so overlapping roots
 * (`~/.config/claude` linked to `~/.claude`) list a file once. A directory that cannot be listed (EACCES: another
 * user's) is told to `unreadable` with the error's code, as an unreadable file is reported when it is read; one
 * removed while the walk runs is not.
 */
export function listFiles(
  roots: readonly string[],
  accepts: (path: string) => boolean,
  unreadable: (dir: string, code: string) => void = () => undefined,
): FoundFile[] {
  const seen = new Map<string, FoundFile>();
  // Paths by concatenation, not path.join (which normalises every one; a re-import lists thousands of files), from
  // roots and names that are already normal.
  const visit = (dir: string, depth: number): void => {
    if (depth > 32) return;
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      const code = errorCode(err);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') unreadable(dir, code);
      return;
    }
    const prefix = dir.endsWith(sep) ? dir : dir + sep;
    for (const e of entries) {
      const p = prefix + e.name;
      if (e.isDirectory()) visit(p, depth + 1);
      else if ((e.isFile() || e.isSymbolicLink()) && accepts(p) && !seen.has(p)) {
        // A link to a file counts as that file; a link to a directory is not followed (not a Dirent directory).
        let st;
        try {
          st = statSync(p, { throwIfNoEntry: false });
        } catch {
          continue; // a link loop (ELOOP) or an unreadable target: skipped like a missing one, never fatal
        }
        if (st?.isFile()) seen.set(p, { path: p, size: st.size, inode: st.ino, mtimeMs: st.mtimeMs });
      }
    }
  };
  const done = new Set<string>();
  for (const root of roots) {
    let real: string;
    try {
      real = realpathSync(resolve(root));
    } catch (err) {
      // A missing root is the usual case (an agent never used here); one behind a folder this user may not enter is not.
      const code = errorCode(err);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') unreadable(resolve(root), code);
      continue;
    }
    if (done.has(real)) continue;
    done.add(real);
    const st = statSync(real);
    if (st.isDirectory()) visit(real, 0);
    else if (st.isFile()) seen.set(real, { path: real, size: st.size, inode: st.ino, mtimeMs: st.mtimeMs });
  }
  return [...seen.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

const errorCode = (err: unknown): string => (err as NodeJS.ErrnoException).code ?? String(err);
