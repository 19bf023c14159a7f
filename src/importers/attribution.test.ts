import { describe, expect, it } from 'vitest';
import { matchIdentity, resolveIdentity, resolveProject } from './attribution.js';

const users = [
  { id: 'carol', team: 'infra' },
  { id: 'alice', team: 'platform', email: 'alice@acme.com' },
];

describe('matchIdentity', () => {
  it("gives an identities rule without a team the person's team from users:", () => {
    const rules = { users, identities: [{ match: { account: 'acct-42' }, user: 'carol' }] };
    expect(matchIdentity({ account: 'acct-42' }, rules)).toEqual({ userId: 'carol', teamId: 'infra' });
  });

  it("keeps a rule's own team over the person's", () => {
    const rules = { users, identities: [{ match: { osUser: 'carol' }, user: 'carol', team: 'oncall' }] };
    expect(matchIdentity({ osUser: 'carol' }, rules)).toEqual({ userId: 'carol', teamId: 'oncall' });
  });

  it('leaves the team empty for a rule naming someone not in users:', () => {
    const rules = { users, identities: [{ match: { osUser: 'dan' }, user: 'dan' }] };
    expect(resolveIdentity({ osUser: 'dan' }, rules)).toEqual({ userId: 'dan', teamId: null });
  });
});

describe('resolveIdentity', () => {
  it('books a person of users: named by the OS user, email or account to their team there', () => {
    const rules = { users, identities: [] };
    expect(resolveIdentity({ osUser: 'alice' }, rules)).toEqual({ userId: 'alice', teamId: 'platform' });
    expect(resolveIdentity({ account: 'carol' }, rules)).toEqual({ userId: 'carol', teamId: 'infra' });
    // Her email in users: maps to her id (matchIdentity); an id nobody declared has no team.
    expect(resolveIdentity({ gitEmail: 'ALICE@acme.com', osUser: 'x' }, rules)).toEqual({ userId: 'alice', teamId: 'platform' });
    expect(resolveIdentity({ osUser: 'erin' }, rules)).toEqual({ userId: 'erin', teamId: null });
  });
});

describe('resolveProject', () => {
  it('names a Windows working directory by its last component on any machine', () => {
    expect(resolveProject('C:\\Users\\alice\\src\\webapp', null, [])).toEqual({ projectId: 'webapp', repo: 'C:\\Users\\alice\\src\\webapp' });
    expect(resolveProject('C:\\Users\\alice\\src\\webapp\\', null, []).projectId).toBe('webapp');
    expect(resolveProject('c:/Users/alice/src/webapp', null, []).projectId).toBe('webapp');
    expect(resolveProject('\\\\fileserver\\home\\alice\\webapp', null, []).projectId).toBe('webapp');
    expect(resolveProject('C:\\', null, []).projectId).toBeNull();
  });

  it('names a POSIX working directory by its last component, a backslash being part of a name there', () => {
    expect(resolveProject('/home/alice/src/webapp/', null, []).projectId).toBe('webapp');
    expect(resolveProject('/home/alice/odd\\name', null, []).projectId).toBe('odd\\name');
  });

  it('prefers the git remote, and a configured project with that repo', () => {
    const projects = [{ id: 'acme-app', repo: 'https://github.com/acme/app' }];
    expect(resolveProject('C:\\src\\checkout', 'git@github.com:acme/app.git', projects)).toEqual({ projectId: 'acme-app', repo: 'github.com/acme/app' });
    expect(resolveProject('C:\\src\\checkout', 'git@github.com:acme/tools.git', projects)).toEqual({ projectId: 'tools', repo: 'github.com/acme/tools' });
  });

  it('names in full a repository that would take the id of a project configured with another repo', () => {
    const projects = [{ id: 'billing', repo: 'https://github.com/acme/billing' }, { id: 'docs' }];
    expect(resolveProject(null, 'https://github.com/acme/billing', projects).projectId).toBe('billing');
    expect(resolveProject(null, 'https://github.com/other-org/billing', projects).projectId).toBe('github.com/other-org/billing');
    expect(resolveProject(null, 'https://gitlab.com/acme/billing', projects).projectId).toBe('gitlab.com/acme/billing');
    // A project configured without a repo takes any repository of its name, as before.
    expect(resolveProject(null, 'git@github.com:acme/docs.git', projects).projectId).toBe('docs');
  });
});
