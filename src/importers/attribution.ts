import { posix, win32 } from 'node:path';
import type { GoodhartConfig, IdentityRule } from '../config/schema.js';
import type { GitInfo } from './git-info.js';

/**
 * Who and what a piece of imported usage belongs to. Pure: the identities it is given were looked up at the edges
 * (OS user, git config, the log or API row itself).
 */
export interface Identity {
  osUser?: string | null;
  gitEmail?: string | null;
  email?: string | null;
  account?: string | null;
  apiKey?: string | null;
}

export interface Attribution {
  userId: string | null;
  teamId: string | null;
}

/** `outcomes.people` (git emails → people) is optional: a caller that has it (the whole config) maps by it too. */
type Rules = Pick<GoodhartConfig, 'identities' | 'users'> & { outcomes?: { people: readonly { user: string; team?: string | undefined; emails: readonly string[] }[] } };

const MATCH_KEYS = ['osUser', 'gitEmail', 'email', 'account', 'apiKey'] as const satisfies readonly (keyof Identity & keyof IdentityRule['match'])[];

const same = (a: string | null | undefined, b: string): boolean => a != null && a.toLowerCase() === b.toLowerCase();

/**
 * The first `identities` rule whose every given field matches, else a configured user whose `email` is the account
 * or git email, else a person of `outcomes.people` with that email (so one mapping serves spend and outcomes: Claude
 * Code analytics' `alice@acme.com` is alice whichever of them names her); null when nothing in the config names this
 * identity. A rule's team is its own `team`, else the
 * person's team in `users:` (as a key created for them, or a match on their email, would give).
 */
export function matchIdentity(id: Identity, rules: Rules): Attribution | null {
  for (const rule of rules.identities) {
    const given = MATCH_KEYS.filter((k) => rule.match[k] !== undefined);
    if (given.every((k) => same(id[k], rule.match[k]!))) {
      return { userId: rule.user, teamId: rule.team ?? rules.users.find((u) => u.id === rule.user)?.team ?? null };
    }
  }
  for (const user of rules.users) {
    if (user.email !== undefined && (same(id.email, user.email) || same(id.gitEmail, user.email))) {
      return { userId: user.id, teamId: user.team ?? null };
    }
  }
  for (const p of rules.outcomes?.people ?? []) {
    if (p.emails.some((e) => same(id.email, e) || same(id.gitEmail, e))) {
      return { userId: p.user, teamId: p.team ?? rules.users.find((u) => u.id === p.user)?.team ?? null };
    }
  }
  return null;
}

/**
 * `matchIdentity`, else the email, the OS user or the account as the user id, with the team `users:` gives a person
 * of that id (`--os-user alice` is alice of users:, on her team, as her key would book her), else none.
 */
export function resolveIdentity(id: Identity, rules: Rules): Attribution {
  const matched = matchIdentity(id, rules);
  if (matched !== null) return matched;
  const userId = id.email ?? id.gitEmail ?? id.osUser ?? id.account ?? id.apiKey ?? null;
  return { userId, teamId: teamOf(userId, rules) };
}

/** The team `users:` gives the person with this id, or null. */
export function teamOf(userId: string | null, rules: Pick<Rules, 'users'>): string | null {
  return userId === null ? null : (rules.users.find((u) => u.id === userId)?.team ?? null);
}

export interface ProjectAttribution {
  projectId: string | null;
  /** `host/owner/name` of the git remote, else the working directory. */
  repo: string | null;
}

/**
 * A remote URL in a comparable form: `git@github.com:acme/app.git`, `https://user@github.com/acme/app` and
 * `ssh://git@github.com/acme/app.git` are all `github.com/acme/app`.
 */
export function normaliseRemote(url: string): string {
  let s = url.trim();
  const scp = /^[^/@:]+@([^:/]+):(.+)$/.exec(s);
  if (scp) s = `${scp[1]}/${scp[2]}`;
  else s = s.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/^[^@/]*@/, '');
  return s.replace(/\.git\/?$/, '').replace(/\/+$/, '').replace(/:\d+\//, '/').toLowerCase();
}

/**
 * The project of a working directory: a configured project with the same repo, else the repo's or folder's name. A
 * remote whose name is the id of a project configured with another repo (`other-org/billing`, GitLab's
 * `acme/billing`, beside project `billing` of `github.com/acme/billing`) is not that project: it is named in full
 * (`github.com/other-org/billing`). A project configured without a repo still takes any repo or folder of its name.
 */
export function resolveProject(cwd: string | null, remoteUrl: string | null, projects: GoodhartConfig['projects']): ProjectAttribution {
  const repo = remoteUrl !== null ? normaliseRemote(remoteUrl) : cwd;
  if (remoteUrl !== null) {
    const found = projects.find((p) => p.repo !== undefined && normaliseRemote(p.repo) === repo);
    if (found) return { projectId: found.id, repo };
  }
  const name = repo === null ? null : lastComponent(repo);
  if (remoteUrl !== null && repo !== null && projects.some((p) => p.id === name && p.repo !== undefined)) return { projectId: repo, repo };
  return { projectId: name === '' ? null : name, repo };
}

/**
 * The last component of a path as the machine that wrote the log spells it, whatever this one is: a log written on
 * Windows (`C:\Users\ada\app`, `\\server\share\app`) read on Linux, and the other way round. A POSIX path
 * keeps a backslash as part of a name, as POSIX does.
 */
function lastComponent(path: string): string {
  return /^(?:[A-Za-z]:[\\/]|\\\\)/.test(path) ? win32.basename(path) : posix.basename(path);
}

/** Attribution for a local log, with git lookups done once per directory. */
export function createLocalAttributor(
  config: Rules & Pick<GoodhartConfig, 'projects'>,
  identity: { osUser: string | null; account?: string | null },
  git: (cwd: string) => GitInfo,
): (cwd: string | null, repoUrl: string | null) => Attribution & ProjectAttribution {
  const cache = new Map<string, Attribution & ProjectAttribution>();
  return (cwd, repoUrl) => {
    const key = `${cwd ?? ''}\u0000${repoUrl ?? ''}`;
    let hit = cache.get(key);
    if (hit === undefined) {
      const info = cwd === null ? { remoteUrl: null, email: null } : git(cwd);
      const who = resolveIdentity({ osUser: identity.osUser, account: identity.account ?? null, gitEmail: info.email }, config);
      hit = { ...who, ...resolveProject(cwd, repoUrl ?? info.remoteUrl, config.projects) };
      cache.set(key, hit);
    }
    return hit;
  };
}
