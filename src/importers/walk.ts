import { lstatSync, readdirSync, realpathSync, statSync, type Stats } from 'node:fs';
import { resolve } from 'node:path';

export interface FoundFile {
  path: string;
  size: number;
  inode: number;
  mtimeMs: number;
}

/**
 * Files under the roots (recursively) that `accepts` takes, each once, sorted by path. Missing roots are skipped;
 * symbolic links to directories are not followed (no cycles); roots are resolved so overlapping roots
 * (`~/.config/claude` linked to `~/.claude`) list a file once.
 */
export function listFiles(roots: readonly string[], accepts: (path: string) => boolean): FoundFile[] {
  const seen = new Map<string, FoundFile>();
  // Names and one lstat per entry, not `withFileTypes`: a file's size and times are needed anyway, and building a
  // Dirent per entry as well costs more than the listing's system calls (a re-import lists thousands of files).
  const visit = (dir: string, depth: number): void => {
    if (depth > 32) return;
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    const prefix = dir.endsWith('/') ? dir : `${dir}/`;
    for (const name of names) {
      const p = prefix + name;
      let st: Stats | undefined;
      try {
        st = lstatSync(p, { throwIfNoEntry: false });
        if (st?.isDirectory()) {
          visit(p, depth + 1);
          continue;
        }
        if (st === undefined || !(st.isFile() || st.isSymbolicLink()) || !accepts(p) || seen.has(p)) continue;
        // A link to a file counts as that file; a link to a directory is not followed.
        if (st.isSymbolicLink()) st = statSync(p, { throwIfNoEntry: false });
      } catch {
        // Vanished or unreadable between listing and stat: nothing to import.
        continue;
      }
      if (st?.isFile()) seen.set(p, { path: p, size: st.size, inode: st.ino, mtimeMs: st.mtimeMs });
    }
  };
  const done = new Set<string>();
  for (const root of roots) {
    let real: string;
    try {
      real = realpathSync(resolve(root));
    } catch {
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
