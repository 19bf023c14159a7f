import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createGitLookup, parseGitConfigList, type GitLookupOptions } from './git-info.js';
import { tempDir } from './testing.js';

const { dir, cleanup } = tempDir('git-info');
afterAll(cleanup);
const hasGit = spawnSync('git', ['--version']).status === 0;
let n = 0;

/** A fresh home and a repository under `work/` in it, with what the test writes into their config files. */
function setup(files: { home?: Record<string, string>; repo?: string } = {}) {
  const home = join(dir, `case-${++n}`);
  const repo = join(home, 'work', 'app');
  mkdirSync(join(repo, 'src', 'lib'), { recursive: true });
  execFileSync('git', ['init', '-q', repo], { env: { PATH: process.env['PATH'], HOME: home } });
  if (files.repo !== undefined) writeFileSync(join(repo, '.git', 'config'), `${readFileSync(join(repo, '.git', 'config'), 'utf8')}${files.repo}`);
  for (const [path, text] of Object.entries(files.home ?? {})) {
    mkdirSync(join(home, path, '..'), { recursive: true });
    writeFileSync(join(home, path), text);
  }
  // Only what a user's shell would have: no GIT_* of the test runner, no other HOME.
  const env = { PATH: process.env['PATH'], HOME: home };
  const lookup = (opts: GitLookupOptions = {}) => createGitLookup({ env, ...opts });
  return { home, repo, env, lookup };
}

const REMOTE = '[remote "upstream"]\n\turl = https://github.com/acme/fork\n[remote "origin"]\n\turl = git@github.com:acme/app.git\n';

describe.runIf(hasGit)('git lookup, asking git', () => {
  it('follows includeIf gitdir: in ~/.gitconfig, as `git config user.email` does', () => {
    const { home, repo, lookup } = setup({
      home: {
        '.gitconfig': `[user]\n\temail = alice.personal@gmail.com\n[includeIf "gitdir:${join('~', 'work')}/"]\n\tpath = .gitconfig-work\n`,
        '.gitconfig-work': '[user]\n\temail = alice@acme.com\n',
      },
      repo: REMOTE,
    });
    expect(lookup({ scope: 'user' })(join(repo, 'src'))).toEqual({ remoteUrl: 'git@github.com:acme/app.git', email: 'alice@acme.com' });
    // Outside ~/work the condition does not hold.
    const other = join(home, 'elsewhere');
    execFileSync('git', ['init', '-q', other]);
    expect(lookup({ scope: 'user' })(other).email).toBe('alice.personal@gmail.com');
  });

  it('reads ~/.config/git/config, and an [include] in the repository', () => {
    const { repo, lookup } = setup({ home: { '.config/git/config': '[user]\n\temail = xdg@acme.com\n' } });
    expect(lookup({ scope: 'user' })(repo).email).toBe('xdg@acme.com');
    writeFileSync(join(repo, '.git', 'team.inc'), '[user]\n\temail = included@acme.com\n');
    writeFileSync(join(repo, '.git', 'config'), `${readFileSync(join(repo, '.git', 'config'), 'utf8')}[include]\n\tpath = team.inc\n`);
    expect(lookup({ scope: 'repository' })(repo).email).toBe('included@acme.com');
  });

  it("in repository scope, never gives the importer's own email: not ~/.gitconfig, XDG, GIT_CONFIG_GLOBAL, nor a ~/ include", () => {
    const { home, repo, env, lookup } = setup({
      home: { '.gitconfig': '[user]\n\temail = auditor@acme.com\n', '.config/git/config': '[user]\n\temail = auditor-xdg@acme.com\n' },
      repo: `${REMOTE}[include]\n\tpath = ~/.gitconfig\n`,
    });
    expect(lookup({ scope: 'repository' })(repo)).toEqual({ remoteUrl: 'git@github.com:acme/app.git', email: null });
    const withGlobal = { ...env, GIT_CONFIG_GLOBAL: join(home, '.gitconfig') };
    expect(createGitLookup({ env: withGlobal, scope: 'repository' })(repo).email).toBeNull();
    writeFileSync(join(repo, '.git', 'config'), `${readFileSync(join(repo, '.git', 'config'), 'utf8')}[user]\n\temail = alice@acme.com\n`);
    expect(lookup({ scope: 'repository' })(repo).email).toBe('alice@acme.com');
  });

  it('answers for the directory, not for a repository GIT_DIR names (an import run from a git hook)', () => {
    const a = setup({ repo: '[user]\n\temail = a@acme.com\n' });
    const b = setup({ repo: '[user]\n\temail = b@acme.com\n' });
    const env = { ...a.env, GIT_DIR: join(b.repo, '.git'), GIT_CONFIG_PARAMETERS: "'user.email'='c@acme.com'" };
    expect(createGitLookup({ env, scope: 'user' })(a.repo).email).toBe('a@acme.com');
  });

  it('runs git once per repository, whatever the number of its folders, and never outside one', () => {
    const { home, repo, env } = setup({ repo: '[user]\n\temail = a@acme.com\n' });
    const calls = join(home, 'calls');
    const wrapper = join(home, 'git-wrapper');
    writeFileSync(wrapper, `#!/bin/sh\necho "$*" >> '${calls}'\nexec git "$@"\n`);
    chmodSync(wrapper, 0o755);
    const lookup = createGitLookup({ env, scope: 'user', git: wrapper });
    for (const d of [repo, join(repo, 'src'), join(repo, 'src', 'lib'), join(repo, 'src'), home, '/nonexistent/dir', 'relative/dir']) lookup(d);
    expect(lookup(join(repo, 'src', 'lib')).email).toBe('a@acme.com');
    expect(readFileSync(calls, 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('cannot be made to run anything, or to hang, by a repository config', () => {
    const { home, repo, lookup } = setup();
    const pwned = join(home, 'pwned');
    const fifo = join(home, 'fifo');
    execFileSync('mkfifo', [fifo]);
    writeFileSync(
      join(repo, '.git', 'config'),
      `${readFileSync(join(repo, '.git', 'config'), 'utf8')}[core]\n\tfsmonitor = touch ${pwned}\n\tpager = touch ${pwned}\n\thooksPath = ${home}\n` +
        `[pager]\n\tconfig = touch ${pwned}\n[alias]\n\tconfig = !touch ${pwned}\n[user]\n\temail = alice@acme.com\n[include]\n\tpath = ${fifo}\n`,
    );
    writeFileSync(join(home, 'post-checkout'), `#!/bin/sh\ntouch ${pwned}\n`, { mode: 0o755 });
    const started = Date.now();
    // The include blocks git on the FIFO: past the time allowed, the repository's file is read instead.
    expect(lookup({ scope: 'user', timeoutMs: 300 })(repo).email).toBe('alice@acme.com');
    expect(Date.now() - started).toBeLessThan(3000);
    expect(existsSync(pwned)).toBe(false);
  });

  it('reads a config git refuses (a syntax error), and a repository another user owns', () => {
    const { repo, lookup } = setup({ repo: '[user]\n\temail = alice@acme.com\n[broken\n' });
    expect(lookup({ scope: 'user' })(repo).email).toBe('alice@acme.com');
    const owned = setup({ repo: '[user]\n\temail = bob@acme.com\n', home: { '.gitconfig': '[user]\n\temail = auditor@acme.com\n' } });
    if (process.getuid?.() === 0) chownSync(owned.repo, 4242, 4242); // git ignores such a repository unless told it is safe
    expect(owned.lookup({ scope: 'user' })(owned.repo).email).toBe('bob@acme.com');
  });
});

describe('git lookup without git', () => {
  it("reads the repository's file, and in user scope ~/.gitconfig over the XDG file", () => {
    const { repo, lookup } = setup({
      home: { '.gitconfig': '[user]\n\temail = global@acme.com\n', '.config/git/config': '[user]\n\temail = xdg@acme.com\n' },
      repo: REMOTE,
    });
    expect(lookup({ scope: 'user', git: null })(join(repo, 'src'))).toEqual({ remoteUrl: 'git@github.com:acme/app.git', email: 'global@acme.com' });
    expect(lookup({ scope: 'user', git: join(dir, 'no-such-git') })(repo).email).toBe('global@acme.com');
    expect(lookup({ scope: 'repository', git: null })(repo)).toEqual({ remoteUrl: 'git@github.com:acme/app.git', email: null });
  });

  it('gives nothing for a folder in no repository', () => {
    const { home, lookup } = setup({ home: { '.gitconfig': '[user]\n\temail = global@acme.com\n' } });
    expect(lookup({ scope: 'user', git: null })(home)).toEqual({ remoteUrl: null, email: null });
  });
});

describe('parseGitConfigList', () => {
  it('takes the last email and the origin remote, else the first', () => {
    expect(parseGitConfigList('user.email\na@x\0remote.fork.url\nf\0remote.origin.url\no\0user.email\nb@x\0user.email\0')).toEqual({ remoteUrl: 'o', email: 'b@x' });
    expect(parseGitConfigList('remote.fork.url\nf\0remote.up.url\nu\0')).toEqual({ remoteUrl: 'f', email: null });
    expect(parseGitConfigList('')).toEqual({ remoteUrl: null, email: null });
  });
});
