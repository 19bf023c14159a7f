import { describe, expect, it } from 'vitest';
import { matchIdentity, resolveIdentity } from './attribution.js';

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
