import { expect, it } from 'vitest';
import { OverlayChanged, type GovernanceStore, type OverlayRecord } from '../policy/store.js';
import { makeTestEvent } from './store-contract.js';
import type { Store } from './types.js';

/**
 * What every GovernanceStore must do, run against SQLite and Postgres alike (governance-store.test.ts beside each).
 * `raw` runs a statement on the database directly, around the store, to prove the audit log refuses rewrites.
 */
export interface GovernanceFixture {
  gov: GovernanceStore;
  /** The event store the governance tables sit next to (for spend history). */
  store: Store;
  raw(sql: string): Promise<unknown>;
  close(): Promise<void>;
}

const audit = (at: number, action: string, targetId: string, actor = 'admin-key:ops') => ({
  at,
  actor,
  actorRole: 'admin',
  action,
  targetKind: 'budget',
  targetId,
  before: null,
  after: { amount: at },
});

export function runGovernanceStoreContract(open: () => Promise<GovernanceFixture>): void {
  it('keeps the overlay, one record per entity, with each change in the audit log', async () => {
    const f = await open();
    const a = await f.gov.commit({ overlay: { kind: 'budget', id: 'b1', data: { amount: 5 }, updatedAt: 1, updatedBy: 'x' }, audit: audit(1, 'budget.set', 'b1') });
    const b = await f.gov.commit({ overlay: { kind: 'budget', id: 'b1', data: { amount: 7 }, updatedAt: 2, updatedBy: 'y' }, audit: audit(2, 'budget.set', 'b1') });
    await f.gov.commit({ overlay: { kind: 'team', id: 'core', data: null, updatedAt: 3, updatedBy: 'y' }, audit: audit(3, 'team.delete', 'core', 'user:alice') });
    expect(b.seq).toBeGreaterThan(a.seq);
    expect(await f.gov.loadOverlay()).toEqual([
      { kind: 'budget', id: 'b1', data: { amount: 7 }, updatedAt: 2, updatedBy: 'y' },
      { kind: 'team', id: 'core', data: null, updatedAt: 3, updatedBy: 'y' },
    ]);
    expect((await f.gov.listAudit({})).map((e) => e.action)).toEqual(['team.delete', 'budget.set', 'budget.set']);
    expect(await f.gov.listAudit({ actor: 'user:alice' })).toMatchObject([{ targetId: 'core', before: null, after: { amount: 3 } }]);
    expect((await f.gov.listAudit({ since: 2, until: 3 })).map((e) => e.at)).toEqual([2]);
    expect((await f.gov.listAudit({ targetKind: 'budget', targetId: 'b1', limit: 1 })).map((e) => e.at)).toEqual([2]);
    await f.close();
  });

  it('forgets an overlay record on a reset, with the reset in the audit log', async () => {
    const f = await open();
    await f.gov.commit({ overlay: { kind: 'budget', id: 'b1', data: null, updatedAt: 1, updatedBy: 'x' }, audit: audit(1, 'budget.delete', 'b1') });
    await f.gov.commit({ overlay: { kind: 'budget', id: 'b2', data: { amount: 2 }, updatedAt: 2, updatedBy: 'x' }, audit: audit(2, 'budget.set', 'b2') });
    await f.gov.commit({ overlayReset: { kind: 'budget', id: 'b1' }, audit: audit(3, 'budget.reset', 'b1') });
    expect(await f.gov.loadOverlay()).toEqual([{ kind: 'budget', id: 'b2', data: { amount: 2 }, updatedAt: 2, updatedBy: 'x' }]);
    expect((await f.gov.listAudit({})).map((e) => e.action)).toEqual(['budget.reset', 'budget.set', 'budget.delete']);
    await f.close();
  });

  it('writes an overlay change made from a record only while that record is still stored; else nothing of it', async () => {
    const f = await open();
    const set = (amount: number, overlayIf: OverlayRecord | null) =>
      f.gov.commit({ overlay: { kind: 'budget', id: 'b1', data: { amount }, updatedAt: amount, updatedBy: 'x' }, overlayIf, audit: audit(amount, 'budget.set', 'b1') });
    // Two at once, from no record: one wins, the other is refused.
    const first = await Promise.allSettled([set(1, null), set(2, null)]);
    expect(first.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(first.find((r) => r.status === 'rejected')).toMatchObject({ reason: expect.any(OverlayChanged) });
    const [stored] = await f.gov.loadOverlay();
    await expect(set(3, null)).rejects.toBeInstanceOf(OverlayChanged);
    await expect(set(3, { ...stored!, data: { amount: 99 } })).rejects.toBeInstanceOf(OverlayChanged);
    await set(4, stored!);
    expect(await f.gov.loadOverlay()).toMatchObject([{ data: { amount: 4 } }]);
    expect((await f.gov.listAudit({})).map((e) => e.at)).toEqual([4, stored!.updatedAt]);
    // Reset meanwhile: the record merged into is gone.
    await f.gov.commit({ overlayReset: { kind: 'budget', id: 'b1' }, audit: audit(5, 'budget.reset', 'b1') });
    await expect(set(6, { ...stored!, data: { amount: 4 } })).rejects.toBeInstanceOf(OverlayChanged);
    expect(await f.gov.loadOverlay()).toEqual([]);
    await f.close();
  });

  it('refuses to rewrite or delete audit entries, in the database itself', async () => {
    const f = await open();
    await f.gov.commit({ audit: audit(1, 'key.revoke', 'k1') });
    await expect(f.raw("UPDATE gov_audit SET actor = 'someone-else'")).rejects.toThrow(/append-only/);
    await expect(f.raw('DELETE FROM gov_audit')).rejects.toThrow(/append-only/);
    expect(await f.gov.listAudit({})).toMatchObject([{ actor: 'admin-key:ops', action: 'key.revoke' }]);
    await f.close();
  });

  it('stores access requests and grants, and lists them by status, person, team and expiry', async () => {
    const f = await open();
    const req = {
      id: 'ar_1',
      userId: 'bob',
      teamId: 'core',
      tier: 'premium',
      model: null,
      justification: 'benchmarks for the launch',
      hours: 8,
      status: 'pending' as const,
      createdAt: 10,
      decidedAt: null,
      decidedBy: null,
      note: null,
      grantId: null,
    };
    await f.gov.commit({ accessRequest: req, audit: audit(10, 'access.request', 'ar_1') });
    await f.gov.commit({ accessRequest: { ...req, id: 'ar_2', userId: 'cat', teamId: 'web', createdAt: 11 }, audit: audit(11, 'access.request', 'ar_2') });
    const grant = { id: 'gr_1', userId: 'bob', tier: 'premium', model: null, createdAt: 20, expiresAt: 100, grantedBy: 'user:lead', requestId: 'ar_1' };
    await f.gov.commit({ accessRequest: { ...req, status: 'approved', decidedAt: 20, decidedBy: 'user:lead', note: 'ok', grantId: 'gr_1' }, grant, audit: audit(20, 'access.approve', 'ar_1') });
    expect(await f.gov.getAccessRequest('ar_1')).toEqual({ ...req, status: 'approved', decidedAt: 20, decidedBy: 'user:lead', note: 'ok', grantId: 'gr_1' });
    expect(await f.gov.getAccessRequest('nope')).toBeUndefined();
    expect((await f.gov.listAccessRequests({})).map((r) => r.id)).toEqual(['ar_2', 'ar_1']);
    expect((await f.gov.listAccessRequests({ status: 'pending' })).map((r) => r.id)).toEqual(['ar_2']);
    expect((await f.gov.listAccessRequests({ teamId: 'core', userId: 'bob' })).map((r) => r.id)).toEqual(['ar_1']);
    expect(await f.gov.listGrants({ activeAt: 50, userId: 'bob' })).toEqual([grant]);
    await f.gov.commit({ grant: { ...grant, expiresAt: 40 }, audit: audit(40, 'grant.revoke', 'gr_1') });
    expect(await f.gov.listGrants({ activeAt: 50 })).toEqual([]);
    expect(await f.gov.listGrants({})).toEqual([{ ...grant, expiresAt: 40 }]);
    await f.close();
  });

  it('lets one decision of a pending request win when two come at once; the other leaves nothing behind', async () => {
    const f = await open();
    const req = { id: 'ar_9', userId: 'bob', teamId: 'core', tier: 'premium', model: null, justification: 'x', hours: 8, status: 'pending' as const, createdAt: 10, decidedAt: null, decidedBy: null, note: null, grantId: null };
    await f.gov.commit({ accessRequest: req, audit: audit(10, 'access.request', 'ar_9') });
    const grant = { id: 'gr_9', userId: 'bob', tier: 'premium', model: null, createdAt: 20, expiresAt: 1e15, grantedBy: 'user:lead', requestId: 'ar_9' };
    const approve = f.gov.commit({ accessRequest: { ...req, status: 'approved', decidedAt: 20, decidedBy: 'user:lead', note: null, grantId: 'gr_9' }, decidesPending: true, grant, audit: audit(20, 'access.approve', 'ar_9') });
    const deny = f.gov.commit({ accessRequest: { ...req, status: 'denied', decidedAt: 20, decidedBy: 'user:other-lead', note: null, grantId: null }, decidesPending: true, audit: audit(20, 'access.deny', 'ar_9') });
    const [a, d] = await Promise.allSettled([approve, deny]);
    // Whichever came first won; the other was refused with a 409.
    const won = [a, d].filter((r) => r.status === 'fulfilled');
    const lost = [a, d].filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect([won.length, lost.length]).toEqual([1, 1]);
    expect(lost[0]!.reason).toMatchObject({ httpStatus: 409, message: expect.stringMatching(/was decided by someone else/) });
    const stored = await f.gov.getAccessRequest('ar_9');
    const grants = await f.gov.listGrants({ activeAt: 30 });
    const decisions = (await f.gov.listAudit({ targetId: 'ar_9' })).map((e) => e.action).filter((x) => x !== 'access.request');
    if (a.status === 'fulfilled') {
      expect([stored?.status, grants.map((g) => g.id), decisions]).toEqual(['approved', ['gr_9'], ['access.approve']]);
    } else {
      expect([stored?.status, grants.map((g) => g.id), decisions]).toEqual(['denied', [], ['access.deny']]);
    }
    await f.close();
  });

  it('claims each alert once, also from a second connection', async () => {
    const f = await open();
    expect(await f.gov.claimAlert({ dedupKey: 'b|team:core|0|10|80', at: 5, payload: { threshold: 80 }, pending: [], leaseUntil: 0, holder: 'p1', keepUntil: null })).toBe(true);
    expect(await f.gov.claimAlert({ dedupKey: 'b|team:core|0|10|80', at: 6, payload: { threshold: 80 }, pending: [], leaseUntil: 0, holder: 'p1', keepUntil: null })).toBe(false);
    expect(await f.gov.claimAlert({ dedupKey: 'b|team:core|0|10|100', at: 6, payload: { threshold: 100 }, pending: [], leaseUntil: 0, holder: 'p1', keepUntil: null })).toBe(true);
    await f.close();
  });

  it('keeps an alert’s failed deliveries pending, and leases each to one taker at a time', async () => {
    const f = await open();
    const hook = { sink: 'hook', body: '{"threshold":80}' };
    const slack = { sink: 'slack', body: '{"text":"80%"}' };
    expect(await f.gov.claimAlert({ dedupKey: 'a', at: 1000, payload: {}, pending: [hook, slack], leaseUntil: 5000, holder: 'p1', keepUntil: null })).toBe(true);
    expect(await f.gov.claimAlert({ dedupKey: 'b', at: 1000, payload: {}, pending: [hook], leaseUntil: 5000, holder: 'p1', keepUntil: null })).toBe(true);
    expect(await f.gov.takePendingAlerts(2000, 0, 9000, 10, 'p2')).toEqual([]); // leased to the process delivering them
    expect(await f.gov.setAlertPending('a', [slack], 2000, 'p1')).toBe(true); // the hook took it; Slack was down
    expect(await f.gov.setAlertPending('b', [], 2000, 'p1')).toBe(true); // delivered
    const [first, second] = await Promise.all([f.gov.takePendingAlerts(2000, 0, 9000, 10, 'p2'), f.gov.takePendingAlerts(2000, 0, 9000, 10, 'p2')]);
    expect([...first!, ...second!]).toEqual([{ dedupKey: 'a', pending: [slack] }]);
    expect(await f.gov.takePendingAlerts(8999, 0, 20_000, 10, 'p2')).toEqual([]); // still leased
    expect(await f.gov.takePendingAlerts(9000, 1001, 20_000, 10, 'p2')).toEqual([]); // older than the retry horizon
    expect(await f.gov.takePendingAlerts(9000, 0, 20_000, 10, 'p2')).toEqual([{ dedupKey: 'a', pending: [slack] }]);
    await f.close();
  });

  it('takes, at a start, alerts waiting for their retry time that no process holds, but never one a process is sending', async () => {
    const f = await open();
    const hook = { sink: 'hook', body: '{}' };
    await f.gov.claimAlert({ dedupKey: 'waits', at: 1000, payload: {}, pending: [hook], leaseUntil: 5000, holder: 'p1', keepUntil: null });
    await f.gov.claimAlert({ dedupKey: 'sending', at: 1000, payload: {}, pending: [hook], leaseUntil: 5000, holder: 'p1', keepUntil: null });
    expect(await f.gov.setAlertPending('waits', [hook], 301_000, 'p1')).toBe(true); // failed: due again in 5 minutes
    expect(await f.gov.takePendingAlerts(2000, 0, 9000, 10, 'p2')).toEqual([]); // nothing due yet
    expect(await f.gov.takePendingAlerts(2000, 0, 9000, 10, 'p2', Number.MAX_SAFE_INTEGER)).toEqual([{ dedupKey: 'waits', pending: [hook] }]);
    // Now leased to p2 until 9000: not taken again, due or not.
    expect(await f.gov.takePendingAlerts(3000, 0, 12_000, 10, 'p3', Number.MAX_SAFE_INTEGER)).toEqual([]);
    await f.close();
  });

  it('records an attempt only for the holder of the lease: one whose lease ran out does not undo the takeover', async () => {
    const f = await open();
    const hook = { sink: 'hook', body: '{}' };
    await f.gov.claimAlert({ dedupKey: 'a', at: 1000, payload: {}, pending: [hook], leaseUntil: 5000, holder: 'p1', keepUntil: null });
    // p1 is still sending when its lease runs out; p2 takes the alert over until 9000.
    expect(await f.gov.takePendingAlerts(6000, 0, 9000, 10, 'p2')).toEqual([{ dedupKey: 'a', pending: [hook] }]);
    // p1's attempt fails: it would make the alert due at 6100, free for a third process while p2 is sending.
    expect(await f.gov.setAlertPending('a', [hook], 6100, 'p1')).toBe(false);
    expect(await f.gov.takePendingAlerts(7000, 0, 20_000, 10, 'p3')).toEqual([]);
    expect(await f.gov.setAlertPending('a', [], 8000, 'p2')).toBe(true);
    expect(await f.gov.takePendingAlerts(30_000, 0, 40_000, 10, 'p3')).toEqual([]);
    await f.close();
  });

  it('gives up deliveries past the retry window, and forgets alerts kept until before now', async () => {
    const f = await open();
    const hook = { sink: 'hook', body: '{}' };
    await f.gov.claimAlert({ dedupKey: 'old', at: 1000, payload: {}, pending: [hook], leaseUntil: 0, holder: 'p1', keepUntil: 50_000 });
    await f.gov.claimAlert({ dedupKey: 'new', at: 9000, payload: {}, pending: [hook], leaseUntil: 0, holder: 'p1', keepUntil: 60_000 });
    await f.gov.claimAlert({ dedupKey: 'for good', at: 1000, payload: {}, pending: [], leaseUntil: 0, holder: 'p1', keepUntil: null }); // a budget without periods
    expect(await f.gov.expireAlerts(10_000, 5000)).toEqual({ expired: 1, pruned: 0 });
    expect(await f.gov.takePendingAlerts(10_000, 0, 11_000, 10, 'p2')).toEqual([{ dedupKey: 'new', pending: [hook] }]);
    await f.gov.setAlertPending('new', [], 10_500, 'p2');
    expect(await f.gov.expireAlerts(55_000, 5000)).toEqual({ expired: 0, pruned: 1 });
    // Forgotten: raised again, it is recorded (and sent) again; the others are still remembered.
    expect(await f.gov.claimAlert({ dedupKey: 'old', at: 1000, payload: {}, pending: [], leaseUntil: 0, holder: 'p1', keepUntil: 50_000 })).toBe(true);
    expect(await f.gov.claimAlert({ dedupKey: 'new', at: 9000, payload: {}, pending: [], leaseUntil: 0, holder: 'p1', keepUntil: 60_000 })).toBe(false);
    expect(await f.gov.expireAlerts(1e15, 0)).toEqual({ expired: 0, pruned: 2 });
    expect(await f.gov.claimAlert({ dedupKey: 'for good', at: 1000, payload: {}, pending: [], leaseUntil: 0, holder: 'p1', keepUntil: null })).toBe(false);
    await f.close();
  });

  it('hands out the alerts due longest first: one that failed again goes to the back, and waits until it is due', async () => {
    const f = await open();
    const hook = { sink: 'hook', body: '{}' };
    for (const [key, at] of [['a', 1000], ['b', 1001], ['c', 1002]] as const) await f.gov.claimAlert({ dedupKey: key, at, payload: {}, pending: [hook], leaseUntil: 0, holder: 'p1', keepUntil: null });
    const keys = (taken: { dedupKey: string }[]) => taken.map((t) => t.dedupKey).sort();
    expect(keys(await f.gov.takePendingAlerts(2000, 0, 2100, 2, 'p2'))).toEqual(['a', 'b']);
    await f.gov.setAlertPending('a', [hook], 4000, 'p2'); // failed again: due at 4000
    await f.gov.setAlertPending('b', [hook], 3000, 'p2');
    expect(keys(await f.gov.takePendingAlerts(2500, 0, 2600, 2, 'p2'))).toEqual(['c']); // a and b are not due yet
    await f.gov.setAlertPending('c', [hook], 2500, 'p2');
    expect(keys(await f.gov.takePendingAlerts(6000, 0, 6100, 1, 'p2'))).toEqual(['c']);
    expect(keys(await f.gov.takePendingAlerts(6000, 0, 6100, 1, 'p2'))).toEqual(['b']);
    expect(keys(await f.gov.takePendingAlerts(6000, 0, 6100, 1, 'p2'))).toEqual(['a']);
    await f.close();
  });

  it('reads stored gateway spend per day and scope, before a cutoff, without imported usage', async () => {
    const f = await open();
    const day1 = { start: Date.parse('2025-03-10T00:00:00Z'), end: Date.parse('2025-03-11T00:00:00Z') };
    const day2 = { start: day1.end, end: Date.parse('2025-03-12T00:00:00Z') };
    expect(await f.gov.firstGatewayEventAt()).toBeNull();
    await f.store.insertEvents([
      makeTestEvent({ startedAt: day1.start + 1000, userId: 'alice', teamId: 'core', keyId: 'k1', tags: ['search'], costUsd: 1, inputTokens: 10, outputTokens: 5 }),
      makeTestEvent({ startedAt: day1.start + 2000, userId: 'bob', teamId: 'core', projectId: null, costUsd: 2, inputTokens: 1, outputTokens: 1 }),
      makeTestEvent({ startedAt: day2.start + 1000, userId: 'alice', teamId: 'core', costUsd: 4 }),
      makeTestEvent({ startedAt: day2.start + 9000, userId: 'alice', teamId: 'core', costUsd: 8 }),
      makeTestEvent({ source: 'claude-code', startedAt: day1.start + 3000, userId: 'alice', costUsd: 16 }),
    ]);
    expect(await f.gov.firstGatewayEventAt()).toBe(day1.start + 1000);
    const rows = await f.gov.spendByDay([day1, day2], day2.start + 5000);
    const byKey = Object.fromEntries(rows.map((r) => [`${r.day === day1.start ? 'd1' : 'd2'} ${r.scopeKey}`, [r.usd, r.tokens]]));
    expect(byKey).toEqual({
      'd1 org': [3, 17],
      'd1 user:alice': [1, 15],
      'd1 user:bob': [2, 2],
      'd1 team:core': [3, 17],
      'd1 project:web': [1, 15],
      'd1 key:k1': [1, 15],
      'd1 tag:search': [1, 15],
      'd2 org': [4, 110],
      'd2 user:alice': [4, 110],
      'd2 team:core': [4, 110],
      'd2 project:web': [4, 110],
    });
    await f.close();
  });
}
