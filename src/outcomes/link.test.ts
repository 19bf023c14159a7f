import { describe, expect, it } from 'vitest';
import { linkSpend, type LinkOptions } from './link.js';
import { counted, makeSlice } from './testing.js';

const H = 3_600_000;
const D = 24 * H;
const opts: LinkOptions = { windowMs: 72 * H, explicitMaxAgeMs: 30 * D, defaultBranches: ['main', 'master'], ticketPrefixes: [] };
const t0 = Date.parse('2026-03-10T09:00:00Z');

describe('linking spend to outcomes', () => {
  it('task tag: a request tagged task:PROJ-7 pays for the outcomes naming PROJ-7, whoever shipped them', () => {
    const pr = counted({ id: 'pr', kind: 'pull_request_merged', userId: 'bob', tickets: ['PROJ-7'], at: t0 + 5 * D });
    const other = counted({ id: 'c', userId: 'ann', at: t0 + H });
    const links = linkSpend([makeSlice({ tasks: ['PROJ-7'], start: t0, costUsd: 12 })], [pr, other], opts);
    expect(links).toEqual([{ slice: 0, outcomeId: 'pr', method: 'task-tag', confidence: 1, usd: 12, tokens: 100_000 }]);
  });

  it('branch: Claude Code on repo R, branch B pays for the pull request of R from B (not another repo\'s B)', () => {
    const pr = counted({ id: 'pr', kind: 'pull_request_merged', repo: 'github.com/acme/app', branch: 'search-v2', at: t0 + 2 * D });
    const elsewhere = counted({ id: 'x', kind: 'pull_request_merged', repo: 'github.com/acme/web', branch: 'search-v2', at: t0 + 2 * D });
    const slice = makeSlice({ repo: 'git@github.com:acme/app.git', branch: 'search-v2', userId: 'someone-else' });
    expect(linkSpend([slice], [pr, elsewhere], opts).map((l) => [l.outcomeId, l.method, l.confidence])).toEqual([['pr', 'branch', 0.9]]);
    // A session in a subfolder of a local clone (no remote) still matches the clone.
    const local = counted({ id: 'local', kind: 'commit', repo: '/home/ann/app', branch: 'spike', at: t0 + H });
    expect(linkSpend([makeSlice({ repo: '/home/ann/app/src', branch: 'spike' })], [local], opts)[0]?.method).toBe('branch');
  });

  it('branch: shared branches (main) never link by branch, and spend after the merge is not the merged work\'s', () => {
    const onMain = counted({ id: 'm', repo: 'github.com/acme/app', branch: 'main', userId: 'bob', at: t0 + H });
    expect(linkSpend([makeSlice({ repo: 'github.com/acme/app', branch: 'main' })], [onMain], opts)).toEqual([]);
    const merged = counted({ id: 'pr', kind: 'pull_request_merged', repo: 'github.com/acme/app', branch: 'b', userId: 'bob', at: t0 - D });
    expect(linkSpend([makeSlice({ repo: 'github.com/acme/app', branch: 'b' })], [merged], opts)).toEqual([]);
  });

  it('ticket: a ticket id in the branch name pays for outcomes naming that ticket', () => {
    const closed = counted({ id: 't', kind: 'ticket_closed', userId: 'bob', repo: null, tickets: ['ENG-42'], at: t0 + 3 * D });
    const links = linkSpend([makeSlice({ repo: 'github.com/acme/app', branch: 'feature/eng-42-export' })], [closed], opts);
    expect(links.map((l) => [l.outcomeId, l.method, l.confidence])).toEqual([['t', 'ticket', 0.8]]);
  });

  it('person + project + window: the person\'s outcomes in that project within 72 hours, cost shared by count', () => {
    const a = counted({ id: 'a', userId: 'ann', projectId: 'app', at: t0 + 2 * H });
    const b = counted({ id: 'b', userId: 'ann', projectId: 'app', at: t0 + 70 * H, count: 3 });
    const late = counted({ id: 'late', userId: 'ann', projectId: 'app', at: t0 + 80 * H });
    const otherProject = counted({ id: 'web', userId: 'ann', projectId: 'web', at: t0 + H });
    const before = counted({ id: 'before', userId: 'ann', projectId: 'app', at: t0 - H });
    const links = linkSpend([makeSlice({ projectId: 'app', costUsd: 8 })], [a, b, late, otherProject, before], opts);
    expect(links.map((l) => [l.outcomeId, l.method, l.usd])).toEqual([
      ['a', 'person-project-window', 2],
      ['b', 'person-project-window', 6],
    ]);
  });

  it('person + window: requests without a project the outcomes know link to the person\'s next outcomes', () => {
    const c = counted({ id: 'c', userId: 'ann', projectId: 'app', at: t0 + 5 * H });
    expect(linkSpend([makeSlice({ projectId: null, repo: null })], [c], opts).map((l) => [l.method, l.confidence])).toEqual([['person-window', 0.3]]);
    // A gateway key's project that no outcome names is treated as unknown, not as "another project".
    expect(linkSpend([makeSlice({ projectId: 'checkout-svc' })], [c], opts)[0]?.method).toBe('person-window');
    // A known other project is not this one.
    const web = counted({ id: 'w', userId: 'bob', projectId: 'web', at: t0 });
    expect(linkSpend([makeSlice({ projectId: 'web' })], [c, web], opts)).toEqual([]);
  });

  it('takes the most explicit rule that finds anything, and no other', () => {
    const tagged = counted({ id: 'tagged', userId: 'bob', tickets: ['PROJ-1'], at: t0 + 10 * D });
    const mine = counted({ id: 'mine', userId: 'ann', at: t0 + H });
    const links = linkSpend([makeSlice({ tasks: ['PROJ-1'] })], [tagged, mine], opts);
    expect(links.map((l) => l.outcomeId)).toEqual(['tagged']);
    // Explicit links reach back 30 days at most.
    expect(linkSpend([makeSlice({ tasks: ['PROJ-1'], start: t0 - 40 * D })], [tagged], opts)).toEqual([]);
  });
});
