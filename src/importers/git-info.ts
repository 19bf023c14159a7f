import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { devNull, homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';

/**
 * The git remote (`origin`, else the first remote) and `user.email` of the repository a directory belongs to.
 *
 * The repository is found by walking up to the nearest `.git` (worktrees' and submodules' `.git` files followed);
 * a directory in none, or that no longer exists, gives nulls. Its settings are then asked of git itself
 * (`git config --get-regexp`), so `[include]`, `[includeIf "gitdir:…"]`, `~/.config/git/config` and the system
 * file count as they do for a commit, once per repository and cached per directory: a million log lines from one
 * checkout cost one git process (about 2 ms), lines never do. Without git on the machine, or when it fails or
 * exceeds its time, the config files are read instead (without includes).
 */
export interface GitInfo {
  remoteUrl: string | null;
  email: string | null;
}

/**
 * Whose settings count besides the repository's own. `user`: everything `git config` reads for the user running
 * the import (their global and XDG files, the system file): right for their own logs. `repository`: the
 * repository's config (and its worktree's, and their includes) alone: logs of someone else, whose email the
 * importer's own `~/.gitconfig` must not give.
 */
export type GitScope = 'user' | 'repository';

export interface GitLookupOptions {
  /** Default `repository`. */
  scope?: GitScope;
  /** The environment git runs in, and where the user's files are found (HOME, XDG_CONFIG_HOME); default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** The git program; null: never run it, read the files. Default `git` on the PATH. */
  git?: string | null;
  /**
   * 2 s: git answers in milliseconds, a home on a slow network share in tenths of a second; past that something
   * hangs (an include naming a FIFO, a dead mount) and the files are read instead.
   */
  timeoutMs?: number;
}

const NONE: GitInfo = { remoteUrl: null, email: null };
/** A config file larger than this is not a config file (nobody's is a megabyte); reading it would only cost memory. */
const MAX_CONFIG_BYTES = 1 << 20;
/** Under a file, so it can never exist: `~` in a repository's include paths then names nothing. */
const NO_HOME = join(devNull, 'goodhart-no-home');
/** The variables that say which user-level files git reads; kept in `user` scope, where they are the user's choice. */
const USER_FILE_VARS = new Set(['GIT_CONFIG_GLOBAL', 'GIT_CONFIG_SYSTEM', 'GIT_CONFIG_NOSYSTEM']);

export function createGitLookup(opts: GitLookupOptions = {}): (cwd: string) => GitInfo {
  const scope = opts.scope ?? 'repository';
  const env = opts.env ?? process.env;
  const gitEnv = childEnv(env, scope);
  const timeout = opts.timeoutMs ?? 2000;
  let git = opts.git === undefined ? 'git' : opts.git;
  let userFiles: GitInfo | undefined;
  const fromUserFiles = (): GitInfo => (userFiles ??= readConfigs(userConfigFiles(env)));
  const byRepo = new Map<string, GitInfo>();
  const byDir = new Map<string, GitInfo>();

  const fromFiles = (repo: Repo): GitInfo => {
    const own = readConfigs([repo.config]);
    // In `user` scope, user.email usually lives in ~/.gitconfig; a repository's own wins, as it does for git.
    return scope === 'user' && own.email === null ? { ...own, email: fromUserFiles().email } : own;
  };
  const ask = (repo: Repo): GitInfo => {
    if (git === null) return fromFiles(repo);
    const r = spawnSync(git, ['--no-pager', '-c', 'safe.directory=*', '-C', repo.root, 'config', '-z', '--includes', '--get-regexp', KEYS], {
      env: gitEnv,
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout,
      killSignal: 'SIGKILL',
      maxBuffer: MAX_CONFIG_BYTES,
      encoding: 'utf8',
      windowsHide: true,
    });
    if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
      git = null; // not installed: read files from now on, without trying again per repository
      return fromFiles(repo);
    }
    // 0: keys found; 1: none (an answer too). Anything else (a config git refuses, a timeout): read the files.
    if (r.error !== undefined || (r.status !== 0 && r.status !== 1)) return fromFiles(repo);
    return parseGitConfigList(r.stdout);
  };

  return (cwd) => {
    let hit = byDir.get(cwd);
    if (hit === undefined) {
      const repo = findRepo(cwd);
      if (repo === null) hit = NONE;
      else {
        hit = byRepo.get(repo.dotGit);
        if (hit === undefined) {
          hit = ask(repo);
          byRepo.set(repo.dotGit, hit);
        }
      }
      byDir.set(cwd, hit);
    }
    return hit;
  };
}

const KEYS = '^(user\\.email|remote\\..+\\.url)$';

/**
 * The environment of the one git command run here, `git config --get-regexp`: it reads config files and runs
 * nothing they name (no hooks, no fsmonitor, which only commands reading the index start; no pager, as its output
 * is a pipe and `--no-pager` is given). So it may read a repository another user owns, which git otherwise ignores
 * (`safe.directory`), silently answering from the importer's own files instead: an auditor reads many people's.
 * Variables that point git at another repository or add settings (GIT_DIR from a hook the import runs in,
 * GIT_CONFIG_PARAMETERS from `git -c`) are dropped: the answer is the directory's. In `repository` scope the user's
 * and the system's files are hidden too (GIT_CONFIG_NOSYSTEM, and a HOME and XDG_CONFIG_HOME that do not exist):
 * they are this machine's and the importer's, not those of whoever wrote the logs.
 */
function childEnv(env: Readonly<Record<string, string | undefined>>, scope: GitScope): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v !== undefined && (!k.startsWith('GIT_') || (scope === 'user' && USER_FILE_VARS.has(k)))) out[k] = v;
  }
  if (scope === 'repository') {
    out['GIT_CONFIG_NOSYSTEM'] = '1';
    out['HOME'] = NO_HOME;
    out['XDG_CONFIG_HOME'] = NO_HOME;
  }
  return out;
}

/** The user-level files git reads, in its order (a later one's value wins): the XDG file, then ~/.gitconfig. */
export function userConfigFiles(env: Readonly<Record<string, string | undefined>>): string[] {
  const global = env['GIT_CONFIG_GLOBAL'];
  if (global !== undefined && global !== '') return [global];
  const home = env['HOME'] ?? homedir();
  const xdg = env['XDG_CONFIG_HOME'];
  return [join(xdg !== undefined && xdg !== '' ? xdg : join(home, '.config'), 'git', 'config'), join(home, '.gitconfig')];
}

/** `git config -z --get-regexp` output: `key\nvalue\0` per value, in the order git read them (the last email wins). */
export function parseGitConfigList(out: string): GitInfo {
  let origin: string | null = null;
  let firstRemote: string | null = null;
  let email: string | null = null;
  for (const entry of out.split('\0')) {
    const nl = entry.indexOf('\n');
    if (nl < 0) continue; // a key without a value (`[user] email` alone)
    const key = entry.slice(0, nl);
    const value = entry.slice(nl + 1);
    if (key === 'user.email') email = value;
    else if (key.startsWith('remote.')) {
      if (key === 'remote.origin.url') origin ??= value;
      firstRemote ??= value;
    }
  }
  return { remoteUrl: origin ?? firstRemote, email };
}

interface Repo {
  /** The `.git` directory or file found: the cache key (its repository's settings are the same for every folder in it). */
  dotGit: string;
  /** The working tree's top, where git is run. */
  root: string;
  /** The config file the files fallback reads. */
  config: string;
}

function findRepo(cwd: string): Repo | null {
  if (!isAbsolute(cwd)) return null;
  let dir = cwd;
  for (let depth = 0; depth < 64; depth++) {
    const dotGit = join(dir, '.git');
    const config = gitConfigPath(dotGit);
    if (config !== null) return { dotGit, root: dir, config };
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
  return null;
}

/** The config file of a `.git` directory, or of the repository a `.git` file (worktree, submodule) points to. */
function gitConfigPath(dotGit: string): string | null {
  try {
    const st = statSync(dotGit);
    if (st.isDirectory()) return join(dotGit, 'config');
    const text = readSmall(dotGit);
    const m = text === null ? null : /^gitdir:\s*(.+)$/m.exec(text);
    if (!m?.[1]) return null;
    const gitdir = resolve(dirname(dotGit), m[1].trim());
    // A worktree's gitdir holds `commondir`, pointing at the main repository's .git.
    const common = readSmall(join(gitdir, 'commondir'));
    return join(common === null ? gitdir : resolve(gitdir, common.trim()), 'config');
  } catch {
    return null;
  }
}

/** The remote and email of config files read in order (a later file's email wins); unreadable ones are skipped. */
function readConfigs(paths: readonly string[]): GitInfo {
  let remoteUrl: string | null = null;
  let email: string | null = null;
  for (const p of paths) {
    const text = readSmall(p);
    if (text === null) continue;
    const found = parseGitConfig(text);
    remoteUrl ??= found.remoteUrl;
    email = found.email ?? email;
  }
  return { remoteUrl, email };
}

/**
 * A regular file's text, else null: a FIFO or device named where a config is expected would block the read
 * forever, and a huge file is not a config.
 */
function readSmall(path: string): string | null {
  try {
    const st = statSync(path);
    return st.isFile() && st.size <= MAX_CONFIG_BYTES ? readFileSync(path, 'utf8') : null;
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
