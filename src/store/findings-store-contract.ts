import { expect, it } from 'vitest';
import { MINHASH_SLOTS } from '../detect/fingerprint/text.js';
import type { Fingerprint } from '../detect/fingerprint/types.js';
import type { FindingsStore, LiveSource } from '../detect/store.js';
import type { Finding } from '../detect/types.js';
import { makeTestEvent } from './store-contract.js';
import type { ImportStateStore, Store } from './types.js';

/**
 * What the findings tables of every store must do (findings, fingerprints, the secret, live detection's feed and
 * lease), run against SQLite and Postgres alike by findings-tables.test.ts beside each.
 */
export interface FindingsFixture {
  store: Store & ImportStateStore;
  findings: FindingsStore & LiveSource;
  close(): Promise<void>;
}

export const makeFinding = (over: Partial<Finding>): Finding => ({
  id: 'f1',
  rule: 'rephrase-loop',
  subject: { kind: 'user', id: 'alice' },
  userId: 'alice',
  teamId: 'team-a',
  sessionId: null,
  start: 1_000,
  end: 2_000,
  evidence: { counts: { prompts: 5 }, ratios: { meanSimilarity: 0.7 }, requestIds: ['e1', 'e2'] },
  wastedUsd: 1.25,
  wasteMethod: 'method',
  confidence: 0.8,
  summary: 'summary',
  suggestion: 'suggestion',
  detectedAt: 3_000,
  ...over,
});

const fingerprint = (eventId: string, at: number, over: Partial<Fingerprint> = {}): Fingerprint => {
  const prompt = new Uint32Array(MINHASH_SLOTS);
  for (let i = 0; i < MINHASH_SLOTS; i++) prompt[i] = (0xfffffff0 - i * 7919 * at) >>> 0;
  return {
    eventId,
    at,
    userId: 'alice',
    sessionId: 's1',
    humanTurn: true,
    prompt,
    features: { words: 12, codeLines: 0, reasoningHits: 1, simpleHits: 0, questions: 1 },
    blocks: [0xffffffffffff, 1, 2 ** 40 + 3],
    toolStep: 2 ** 47 + 5,
    toolsDeclared: 3,
    complexity: 0.25,
    ...over,
  };
};

export function runFindingsStoreContract(open: () => Promise<FindingsFixture>): void {
  it('upserts findings by id, filters by user, team, rule and time, newest first', async () => {
    const { findings: f, close } = await open();
    await f.upsertFindings([
      makeFinding({}),
      makeFinding({ id: 'f2', rule: 'fan-out', userId: 'bob', teamId: 'team-b', subject: { kind: 'user', id: 'bob' }, start: 5_000, end: 6_000 }),
      makeFinding({ id: 'f3', rule: 'spend-anomaly', userId: null, teamId: 'team-a', subject: { kind: 'team', id: 'team-a' }, start: 9_000, end: 9_500, wastedUsd: 0 }),
    ]);
    // The same id again (a finding that grew): replaced, not duplicated; the last of a batch wins.
    expect(await f.upsertFindings([makeFinding({ wastedUsd: 2, end: 2_500 }), makeFinding({ wastedUsd: 2.5, end: 3_000 })])).toBeGreaterThan(0);
    const all = await f.listFindings({});
    expect(all.map((x) => x.id)).toEqual(['f3', 'f2', 'f1']);
    expect(all[2]).toEqual(makeFinding({ wastedUsd: 2.5, end: 3_000 }));
    expect((await f.listFindings({ userId: 'bob' })).map((x) => x.id)).toEqual(['f2']);
    expect((await f.listFindings({ teamId: 'team-a' })).map((x) => x.id)).toEqual(['f3', 'f1']);
    expect((await f.listFindings({ rule: 'fan-out' })).map((x) => x.id)).toEqual(['f2']);
    expect((await f.listFindings({ since: 5_500, until: 9_100 })).map((x) => x.id)).toEqual(['f3', 'f2']);
    expect((await f.listFindings({ limit: 1 })).map((x) => x.id)).toEqual(['f3']);
    expect(await f.deleteFindings({ since: 0, until: 6_000, rules: ['rephrase-loop'] })).toBe(1);
    expect(await f.deleteFindings({ since: 0, until: 6_000, rules: [] })).toBe(0);
    expect((await f.listFindings({})).map((x) => x.id)).toEqual(['f3', 'f2']);
    await close();
  });

  it('writes an import batch’s fingerprints with its events', async () => {
    const { store, findings: f, close } = await open();
    const e = makeTestEvent({ id: 'imp-1', startedAt: 5_000, source: 'claude-code' });
    const fp = fingerprint('imp-1', 5_000);
    expect(await store.commitImportBatch({ events: [e], states: [], fingerprints: [fp] })).toEqual({ inserted: 1, replaced: 0, metered: 0 });
    expect(await f.fingerprintsOf(['imp-1'])).toEqual([fp]);
    await close();
  });

  it('keeps the fingerprint of the stored copy of an imported request, whatever order the copies come in', async () => {
    const { store, findings: f, close } = await open();
    // One request logged twice (a subagent's sidechain file and the session's log), at different times and in
    // different contexts: the main-chain copy is the event kept, so its fingerprint is the one kept.
    const main = (id: string) => makeTestEvent({ id, startedAt: 7_000, source: 'claude-code', tags: [] });
    const side = (id: string) => makeTestEvent({ id, startedAt: 7_002, source: 'claude-code', tags: ['sidechain'] });
    const fpMain = (id: string) => fingerprint(id, 7_000, { humanTurn: false, complexity: null });
    const fpSide = (id: string) => fingerprint(id, 7_002, { humanTurn: true, complexity: 0.5 });
    await store.commitImportBatch({ events: [side('dup-a')], states: [], fingerprints: [fpSide('dup-a')] });
    expect(await store.commitImportBatch({ events: [main('dup-a')], states: [], fingerprints: [fpMain('dup-a')] })).toEqual({ inserted: 0, replaced: 1, metered: 0 });
    await store.commitImportBatch({ events: [main('dup-b')], states: [], fingerprints: [fpMain('dup-b')] });
    expect(await store.commitImportBatch({ events: [side('dup-b')], states: [], fingerprints: [fpSide('dup-b')] })).toEqual({ inserted: 0, replaced: 0, metered: 0 });
    await store.commitImportBatch({ events: [side('dup-c'), main('dup-c')], states: [], fingerprints: [fpSide('dup-c'), fpMain('dup-c')] });
    for (const id of ['dup-a', 'dup-b', 'dup-c']) {
      expect((await store.listEvents({})).find((e) => e.id === id)?.startedAt, id).toBe(7_000);
      expect(await f.fingerprintsOf([id]), id).toEqual([fpMain(id)]);
    }
    // Copies written with the same time (the fingerprints differ by context only): the stored copy decides.
    const sideSameTime = (id: string) => ({ ...side(id), startedAt: 7_000 });
    const fpSideSameTime = (id: string) => ({ ...fpSide(id), at: 7_000 });
    await store.commitImportBatch({ events: [sideSameTime('dup-d')], states: [], fingerprints: [fpSideSameTime('dup-d')] });
    await store.commitImportBatch({ events: [main('dup-d')], states: [], fingerprints: [fpMain('dup-d')] });
    await store.commitImportBatch({ events: [main('dup-e')], states: [], fingerprints: [fpMain('dup-e')] });
    await store.commitImportBatch({ events: [sideSameTime('dup-e')], states: [], fingerprints: [fpSideSameTime('dup-e')] });
    for (const id of ['dup-d', 'dup-e']) {
      expect((await store.listEvents({})).find((e) => e.id === id)?.tags, id).toEqual([]);
      expect(await f.fingerprintsOf([id]), id).toEqual([fpMain(id)]);
    }
    await close();
  });

  it('keeps fingerprints bit for bit, ignores a repeated event id, deletes past retention', async () => {
    const { findings: f, close } = await open();
    const a = fingerprint('e1', 1_000);
    const b = fingerprint('e2', 2_000, { humanTurn: false, prompt: null, features: null, blocks: [], toolStep: null, complexity: null, sessionId: null });
    const c = fingerprint('e3', 3_000, { userId: null });
    expect(await f.insertFingerprints([a, b, c])).toBe(3);
    expect(await f.insertFingerprints([fingerprint('e1', 9_999)])).toBe(0);
    expect(await f.listFingerprints({ since: 0, until: 10_000 })).toEqual([a, b, c]);
    expect(await f.listFingerprints({ since: 2_000, until: 3_000 })).toEqual([b]);
    const some = await f.fingerprintsOf(['e3', 'nope', 'e1']);
    expect(some.sort((x, y) => x.at - y.at)).toEqual([a, c]);
    expect(await f.fingerprintsOf([])).toEqual([]);
    expect(await f.deleteFingerprintsBefore(2_500)).toBe(2);
    expect((await f.listFingerprints({ since: 0, until: 10_000 })).map((x) => x.eventId)).toEqual(['e3']);
    // A session id a client sent with U+0000 in it (Postgres refuses it) is kept without it.
    expect(await f.insertFingerprints([fingerprint('e4', 4_000, { sessionId: 'se\u0000ss' })])).toBe(1);
    expect((await f.fingerprintsOf(['e4']))[0]?.sessionId).toBe('sess');
    await close();
  });

  it('creates the fingerprint secret once', async () => {
    const { findings: f, close } = await open();
    const s = await f.fingerprintSecret();
    expect(Buffer.from(s, 'base64')).toHaveLength(32);
    expect(await f.fingerprintSecret()).toBe(s);
    await close();
  });

  it('feeds events in storage order, only up to a mark, whatever their start times', async () => {
    const { store, findings: f, close } = await open();
    const start = await f.feedMark();
    const t = Date.parse('2025-03-10T12:00:00Z');
    // Stored in this order; started in another (a long stream ends after a short request that started later).
    const first = [makeTestEvent({ id: 'b', startedAt: t + 5_000 }), makeTestEvent({ id: 'a', startedAt: t })];
    await store.insertEvents(first);
    const c = makeTestEvent({ id: 'c', startedAt: t - 3_600_000 });
    await store.insertEvents([c]);
    const mark = await f.feedMark();
    const d = makeTestEvent({ id: 'd', startedAt: t + 1, tags: ['x'], streamed: true, sessionId: 's9' });
    await store.insertEvents([d]);
    const ids: string[] = [];
    let cursor = start;
    for (;;) {
      const page = await f.readFeed(cursor, mark, 2);
      if (page.events.length === 0) break;
      ids.push(...page.events.map((e) => e.id));
      cursor = page.next;
    }
    // One batch is one transaction: its order is up to the store, the batches' order is not.
    expect(ids.slice(0, 2).sort()).toEqual(['a', 'b']);
    expect(ids.slice(2)).toEqual(['c']);
    const later = await f.readFeed(cursor, await f.feedMark(), 10);
    expect(later.events).toEqual([{ id: 'd', startedAt: d.startedAt }]);
    expect((await f.readFeed(later.next, await f.feedMark(), 10)).events).toEqual([]);
    // Released from the reorder buffer by id and start: whatever exists of them.
    const some = await f.eventsOf([{ id: 'c', startedAt: t - 3_600_000 }, { id: 'nope', startedAt: t }, { id: 'd', startedAt: d.startedAt }]);
    expect(some.sort((x, y) => x.id.localeCompare(y.id))).toEqual([c, d]);
    expect(await f.eventsOf([])).toEqual([]);
    // The warm-up reads by start time, only what is stored up to the mark.
    expect((await f.listEventsUpTo({ since: t - 7_200_000, until: t + 10_000 }, mark)).map((e) => e.id)).toEqual(['c', 'a', 'b']);
    expect((await f.listEventsUpTo({ since: t, until: t + 10_000 }, await f.feedMark())).map((e) => e.id)).toEqual(['a', 'd', 'b']);
    // …a page at a time.
    const first2 = await f.listEventsUpTo({ since: t - 7_200_000, until: t + 10_000, limit: 2 }, await f.feedMark());
    expect(first2.map((e) => e.id)).toEqual(['c', 'a']);
    const rest = await f.listEventsUpTo({ since: t - 7_200_000, until: t + 10_000, limit: 2, after: first2[1]! }, await f.feedMark());
    expect(rest.map((e) => e.id)).toEqual(['d', 'b']);
    await close();
  });

  it('gives the lease to one holder at a time, with the cursor saved under it', async () => {
    const { findings: f, close } = await open();
    expect(await f.acquireLease('live', 'A', 60_000)).toEqual({ cursor: null });
    expect(await f.acquireLease('live', 'B', 60_000)).toBeNull();
    expect(await f.saveCursor('live', 'A', '42', 60_000)).toBe(true);
    expect(await f.saveCursor('live', 'B', '99', 60_000)).toBe(false);
    expect(await f.acquireLease('live', 'A', 60_000)).toEqual({ cursor: '42' });
    await f.releaseLease('live', 'A');
    expect(await f.acquireLease('live', 'B', 60_000)).toEqual({ cursor: '42' });
    // A lost it: its next save says so, and it cannot take it back while B renews.
    expect(await f.saveCursor('live', 'A', '50', 60_000)).toBe(false);
    expect(await f.acquireLease('live', 'A', 60_000)).toBeNull();
    // A lease that is not renewed expires.
    expect(await f.saveCursor('live', 'B', '43', 30)).toBe(true);
    await new Promise((r) => setTimeout(r, 80));
    expect(await f.acquireLease('live', 'A', 60_000)).toEqual({ cursor: '43' });
    await close();
  });
}
