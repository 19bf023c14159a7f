import { describe, expect, it } from 'vitest';
import type { Permission } from '../policy/config.js';
import { canSeeBudget, canSeeOrg, canSeeUser, findingsScope, personAccess, teamAccess, visibilityOf } from './visibility.js';

const viewer = (userId: string | null, teamId: string | null, ...perms: Permission[]) => visibilityOf({ userId, teamId, permissions: new Set(perms) });
const teams: Record<string, string> = { alice: 'core', bob: 'core', carol: 'data' };
const teamOf = (u: string): string | null => teams[u] ?? null;

describe('dashboard visibility', () => {
  const member = viewer('alice', 'core');
  const lead = viewer('bob', 'core', 'approve');
  const finance = viewer('fin', null, 'budgets', 'audit');
  const admin = viewer(null, null, 'approve', 'manage', 'budgets', 'audit');

  it('maps roles to scopes', () => {
    expect([member, lead, finance, admin].map((v) => v.scope)).toEqual(['self', 'team', 'all', 'all']);
    expect(viewer(null, null).scope).toBe('none');
    // A lead without a team is a member.
    expect(viewer('dan', null, 'approve').scope).toBe('self');
  });

  it('lets a member see their own detail and their team in aggregate only', () => {
    expect(canSeeUser(member, 'alice', 'core')).toBe(true);
    expect(canSeeUser(member, 'bob', 'core')).toBe(false);
    expect(teamAccess(member, 'core')).toBe('aggregate');
    expect(teamAccess(member, 'data')).toBe(false);
    expect(canSeeOrg(member)).toBe(false);
    expect(findingsScope(member, {}, teamOf)).toEqual({ userId: 'alice' });
    expect(findingsScope(member, { userId: 'bob' }, teamOf)).toBeNull();
    expect(findingsScope(member, { teamId: 'core' }, teamOf)).toBeNull();
  });

  it('lets a lead see their team and its members, nobody else', () => {
    expect(canSeeUser(lead, 'alice', 'core')).toBe(true);
    expect(canSeeUser(lead, 'carol', 'data')).toBe(false);
    expect(teamAccess(lead, 'core')).toBe('detail');
    expect(teamAccess(lead, 'data')).toBe(false);
    expect(findingsScope(lead, {}, teamOf)).toEqual({ teamId: 'core' });
    expect(findingsScope(lead, { userId: 'carol' }, teamOf)).toBeNull();
    expect(canSeeBudget(lead, 'user', 'alice', teamOf)).toBe(true);
    expect(canSeeBudget(lead, 'org', null, teamOf)).toBe(false);
  });

  it("opens to a lead a person with usage booked to their team (one who has moved on too), with that usage only", () => {
    expect(personAccess(lead, 'alice', 'core', false)).toBe('team');
    expect(personAccess(lead, 'bob', 'core', false)).toBe('all');
    // carol is on data now, and had usage booked to core this month (before she moved).
    expect(personAccess(lead, 'carol', 'data', true)).toBe('team');
    expect(personAccess(lead, 'carol', 'data', false)).toBe(false);
    expect(findingsScope(lead, { userId: 'carol' }, teamOf, true)).toEqual({ userId: 'carol', teamId: 'core' });
    expect(findingsScope(lead, { userId: 'carol', teamId: 'data' }, teamOf, true)).toBeNull();
    expect(findingsScope(lead, { userId: 'alice' }, teamOf)).toEqual({ userId: 'alice', teamId: 'core' });
    expect(personAccess(member, 'bob', 'core', true)).toBe(false);
    expect(personAccess(finance, 'carol', 'data', false)).toBe('all');
  });

  it('lets finance and admin see everything', () => {
    for (const v of [finance, admin]) {
      expect(canSeeOrg(v)).toBe(true);
      expect(canSeeUser(v, 'carol', 'data')).toBe(true);
      expect(teamAccess(v, 'data')).toBe('detail');
      expect(findingsScope(v, {}, teamOf)).toEqual({});
      expect(canSeeBudget(v, 'tag', 'x', teamOf)).toBe(true);
    }
  });
});
