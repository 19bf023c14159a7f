import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Real git repositories for tests: `git init` in a temporary folder, commits with chosen authors and dates,
 * branches, merges and reverts. Isolated from the machine's git config (no signing hooks, no templates).
 */
export interface Author {
  name: string;
  email: string;
}

export class TestRepo {
  readonly dir: string;

  constructor(remote?: string) {
    this.dir = mkdtempSync(join(tmpdir(), 'goodhart-git-'));
    this.git(['init', '-q', '-b', 'main']);
    if (remote !== undefined) this.git(['remote', 'add', 'origin', remote]);
  }

  git(args: readonly string[], opts: { author?: Author; at?: string } = {}): string {
    const who = opts.author ?? { name: 'Test', email: 'test@example.com' };
    const at = opts.at ?? '2026-03-02T10:00:00Z';
    return execFileSync('git', ['-c', 'commit.gpgsign=false', '-c', 'core.hooksPath=/dev/null', ...args], {
      cwd: this.dir,
      encoding: 'utf8',
      env: {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        HOME: this.dir,
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_AUTHOR_NAME: who.name,
        GIT_AUTHOR_EMAIL: who.email,
        GIT_COMMITTER_NAME: who.name,
        GIT_COMMITTER_EMAIL: who.email,
        GIT_AUTHOR_DATE: at,
        GIT_COMMITTER_DATE: at,
      },
    }).trim();
  }

  /** Writes `lines` lines to `file` and commits it; returns the sha. */
  commit(message: string, opts: { author: Author; at: string; file?: string; lines?: number }): string {
    const file = opts.file ?? 'a.txt';
    writeFileSync(join(this.dir, file), Array.from({ length: opts.lines ?? 3 }, (_, i) => `${message.split("\n")[0]!.slice(0, 20)} ${i}`).join('\n') + '\n');
    this.git(['add', file], opts);
    this.git(['commit', '-q', '-m', message], opts);
    return this.head();
  }

  merge(branch: string, message: string, opts: { author: Author; at: string }): string {
    this.git(['merge', '--no-ff', '-q', '-m', message, branch], opts);
    return this.head();
  }

  revert(sha: string, opts: { author: Author; at: string; mainline?: number }): string {
    this.git(['revert', '--no-edit', ...(opts.mainline !== undefined ? ['-m', String(opts.mainline)] : []), sha], opts);
    return this.head();
  }

  head(): string {
    return this.git(['rev-parse', 'HEAD']);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
