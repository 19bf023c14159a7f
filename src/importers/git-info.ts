import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';

/**
 * The git remote (`origin`, else the first remote) and `user.email` of the repository a directory belongs to, read
 * from `.git/config` (walking up to the repository root; worktrees and submodules' `.git` files followed) rather
 * than by running git: no process per directory, and no git needed on the machine. Cached per directory, so a
 * million log lines from one checkout cost one lookup. A directory that no longer exists gives nulls.
 */
export interface GitInfo {
  remoteUrl: string | null;
  email: string | null;
}

const NONE: GitInfo = { remoteUrl: null, email: null };

export function createGitLookup(opts: { globalConfig?: string } = {}): (cwd: string) => GitInfo {
  const cache = new Map<string, GitInfo>();
  let globalEmail: string | null | undefined;
  const fallbackEmail = (): string | null => {
    if (globalEmail === undefined) {
      try {
        globalEmail = opts.globalConfig === undefined ? null : parseGitConfig(readFileSync(opts.globalConfig, 'utf8')).email;
      } catch {
        globalEmail = null;
      }
    }
    return globalEmail;
  };
  return (cwd) => {
    let hit = cache.get(cwd);
    if (hit === undefined) {
      const found = lookup(cwd);
      // user.email usually lives in ~/.gitconfig; it applies only to directories that are repositories.
      hit = found === NONE || found.email !== null ? found : { ...found, email: fallbackEmail() };
      cache.set(cwd, hit);
    }
    return hit;
  };
}

function lookup(cwd: string): GitInfo {
  if (!isAbsolute(cwd)) return NONE;
  let dir = cwd;
  for (let depth = 0; depth < 64; depth++) {
    const config = gitConfigPath(join(dir, '.git'));
    if (config !== null) {
      try {
        return parseGitConfig(readFileSync(config, 'utf8'));
      } catch {
        return NONE;
      }
    }
    const parent = dirname(dir);
    if (parent === dir) return NONE;
    dir = parent;
  }
  return NONE;
}

/** The config file of a `.git` directory, or of the repository a `.git` file (worktree, submodule) points to. */
function gitConfigPath(dotGit: string): string | null {
  try {
    const st = statSync(dotGit);
    if (st.isDirectory()) return join(dotGit, 'config');
    const m = /^gitdir:\s*(.+)$/m.exec(readFileSync(dotGit, 'utf8'));
    if (!m?.[1]) return null;
    const gitdir = resolve(dirname(dotGit), m[1].trim());
    // A worktree's gitdir holds `commondir`, pointing at the main repository's .git.
    try {
      const common = readFileSync(join(gitdir, 'commondir'), 'utf8').trim();
      return join(resolve(gitdir, common), 'config');
    } catch {
      return join(gitdir, 'config');
    }
  } catch {
    return null;
  }
}

/** The parts of a git config file this needs: `[remote "…"] url` (origin preferred) and `[user] email`. */
export function parseGitConfig(text: string): GitInfo {
  let section = '';
  let origin: string | null = null;
  let firstRemote: string | null = null;
  let email: string | null = null;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const head = /^\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]/.exec(line);
    if (head) {
      section = `${head[1]!.toLowerCase()}${head[2] === undefined ? '' : ` ${head[2]}`}`;
      continue;
    }
    const kv = /^([A-Za-z0-9-]+)\s*=\s*(.*)$/.exec(line);
    if (!kv) continue;
    const key = kv[1]!.toLowerCase();
    const value = unquote(kv[2]!);
    if (section.startsWith('remote ') && key === 'url') {
      if (section === 'remote origin') origin ??= value;
      firstRemote ??= value;
    } else if (section === 'user' && key === 'email') {
      email = value;
    }
  }
  return { remoteUrl: origin ?? firstRemote, email };
}

function unquote(v: string): string {
  const s = v.replace(/\s+[#;].*$/, '').trim();
  return s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s;
}
