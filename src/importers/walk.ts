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
 * (`~/.config/claude` linked to `~/.claude`) list a file once.
 */
export function listFiles(roots: readonly string[], accepts: (path: string) => boolean): FoundFile[] {
  const seen = new Map<string, FoundFile>();
  // Paths by concatenation, not path.join (which normalises every one; a re-import lists thousands of files), from
  // roots and names that are already normal.
  const visit = (dir: string, depth: number): void => {
    if (depth > 32) return;
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
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
