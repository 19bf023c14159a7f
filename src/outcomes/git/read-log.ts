import { spawn } from 'node:child_process';
import { GoodhartError } from '../../errors.js';
import { LOG_FORMAT, RecordSplitter, parseRecord, type GitCommit } from './parse-log.js';

/**
 * Runs git at the edge. `git log` is streamed: records are parsed as its output arrives, so a repository with a
 * million commits never sits in memory. Config that would change the output (signatures, colours, pagers, a
 * user's log.* settings) is overridden on the command line; LC_ALL=C keeps messages stable for the errors below.
 */
const GIT_OVERRIDES = ['-c', 'log.showSignature=false', '-c', 'color.ui=false', '-c', 'core.quotePath=false', '-c', 'log.mailmap=true'];
const GIT_ENV = { ...process.env, LC_ALL: 'C', GIT_PAGER: 'cat', GIT_TERMINAL_PROMPT: '0' };

/** Runs a short git command and returns its stdout (trimmed). */
export function git(dir: string, args: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['-C', dir, ...GIT_OVERRIDES, ...args], { env: GIT_ENV, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', (cause) => reject(gitMissing(cause)));
    child.on('close', (code) => (code === 0 ? resolve(out.trim()) : reject(gitFailed(dir, args, err))));
    // git may exit before reading its input (an error, or a command that reads none): its exit code says what happened.
    child.stdin.on('error', () => {});
    if (input === undefined) child.stdin.end();
    else child.stdin.end(input);
  });
}

export interface LogRange {
  /** Revisions to walk (HEAD, a branch, or `--all`). */
  include: readonly string[];
  /** Commits already imported: their history is excluded (`^sha`). */
  exclude: readonly string[];
  /** git's --since (committer date), an ISO time. */
  since?: string;
}

/**
 * Streams the commits of a range, children before parents (`--date-order`), each with its `--numstat` totals;
 * a merge's numbers are its diff against the first parent (what the pull request changed). `skipped` counts
 * records that did not parse.
 */
export async function* readGitLog(dir: string, range: LogRange, stats = { skipped: 0 }): AsyncGenerator<GitCommit> {
  const args = [
    'log', LOG_FORMAT, '--numstat', '--diff-merges=first-parent', '--date-order', '--no-renames', '--no-ext-diff', '--encoding=UTF-8',
    ...(range.since !== undefined ? [`--since=${range.since}`] : []),
    // Revisions on stdin: a clone with thousands of refs would overflow the command line.
    '--stdin',
  ];
  const child = spawn('git', ['-C', dir, ...GIT_OVERRIDES, ...args], { env: GIT_ENV, stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.on('error', () => {});
  child.stdin.end(`${[...range.include, ...range.exclude.map((sha) => `^${sha}`)].join('\n')}\n`);
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d.slice(0, 4096)));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', (cause) => reject(gitMissing(cause)));
    child.on('close', resolve);
  });
  // Awaited below; a consumer that stops early must not leave a rejection unhandled.
  exited.catch(() => {});
  const splitter = new RecordSplitter();
  try {
    for await (const chunk of child.stdout.setEncoding('utf8')) {
      for (const record of splitter.push(chunk as string)) {
        const c = parseRecord(record);
        if (c === null) stats.skipped += 1;
        else yield c;
      }
    }
    const code = await exited;
    if (code !== 0) throw gitFailed(dir, args, err);
    for (const record of splitter.end()) {
      const c = parseRecord(record);
      if (c === null) stats.skipped += 1;
      else yield c;
    }
  } finally {
    if (child.exitCode === null) child.kill();
  }
}

function gitMissing(cause: unknown): GoodhartError {
  return new GoodhartError('config_invalid', 500, `Cannot run git (${String(cause)}). Install git and make sure it is on PATH.`, { cause });
}

function gitFailed(dir: string, args: readonly string[], stderr: string): GoodhartError {
  const msg = stderr.trim().split('\n').slice(-3).join(' ');
  if (/not a git repository/i.test(msg)) {
    return new GoodhartError('invalid_request', 400, `${dir} is not a git repository. Pass the folder of a clone (or run the command inside one).`);
  }
  if (/does not have any commits yet|bad default revision 'HEAD'/i.test(msg)) {
    return new GoodhartError('invalid_request', 400, `${dir} has no commits yet: nothing to import.`);
  }
  return new GoodhartError('internal', 500, `git ${args[0] ?? ''} failed in ${dir}: ${msg || 'no message'}`);
}
