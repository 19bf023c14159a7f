/**
 * The behaviour every Store must have, as a vitest suite. Each store's test file calls
 * `runStoreContract('sqlite', () => …)`; `makeStore` must return a new, empty store on every call.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { GoodhartError } from '../errors.js';
import type { UsageEvent } from '../usage/event.js';
import type { AuditStore, EventFilter, KeyRecord, OutcomeStore, Store, UsageAggregate } from './types.js';

let nextId = 0;

/** A complete, plausible gateway event; override what the test is about. */
export function makeTestEvent(overrides: Partial<UsageEvent> = {}): UsageEvent {
  nextId += 1;
  const startedAt = overrides.startedAt ?? Date.parse('2025-03-10T12:00:00Z');
  return {
    id: `evt-${String(nextId).padStart(6, '0')}`,
    source: 'gateway',
    providerRequestId: null,
    startedAt,
    firstTokenAt: null,
    endedAt: startedAt + 1_000,
    userId: 'alice',
    teamId: 'core',
    projectId: 'web',
    keyId: null,
    sessionId: null,
    tags: [],
    repo: null,
    branch: null,
    provider: 'openai',
    endpoint: 'chat.completions',
    modelRequested: 'gpt-4o',
    modelServed: 'gpt-4o-2024-08-06',
    inputTokens: 100,
    cacheReadTokens: 0,
    cacheWrite5mTokens: 0,
    cacheWrite1hTokens: 0,
    outputTokens: 10,
    reasoningTokens: 0,
    costUsd: 0.01,
    usageEstimated: false,
    status: 200,
    errorClass: null,
    streamed: false,
    clientAborted: false,
    rawUsage: null,
    ...overrides,
  };
}

export function makeTestKey(overrides: Partial<KeyRecord> = {}): KeyRecord {
  return {
    id: 'key_1',
    hash: 'a'.repeat(64),
    prefix: 'gh_abc123',
    userId: 'alice',
    teamId: 'core',
    projectId: null,
    name: 'laptop',
    createdAt: Date.parse('2025-03-01T00:00:00Z'),
    revokedAt: null,
    ...overrides,
  };
}

const at = (iso: string): number => Date.parse(iso);

/** `{ key: [requests, costUsd] }`, so an assertion reads like the report it checks. */
function byKey(rows: UsageAggregate[]): Record<string, [number, number]> {
  return Object.fromEntries(rows.map((r) => [r.key, [r.requests, Math.round(r.costUsd * 1e9) / 1e9]]));
}

export function runStoreContract(name: string, makeStore: () => Promise<Store>): void {
  describe(`Store contract: ${name}`, () => {
    const open: Store[] = [];
    const fresh = async (): Promise<Store> => {
      const store = await makeStore();
      open.push(store);
      return store;
    };
    afterEach(async () => {
      await Promise.all(open.splice(0).map((s) => s.close()));
    });

    describe('events', () => {
      it('stores text a client sent with U+0000 in it, without it, and the rest of its batch', async () => {
        const store = await fresh();
        const poisoned = makeTestEvent({ sessionId: 'a\u0000b', modelRequested: 'gpt-4o\u0000', tags: ['x\u0000y'], providerRequestId: '\u0000id', status: 404 });
        const plain = makeTestEvent({ sessionId: 'plain' });
        expect(await store.insertEvents([poisoned, plain])).toBe(2);
        const got = await store.listEvents({});
        expect(got.map((e) => [e.sessionId, e.modelRequested, e.tags, e.providerRequestId])).toEqual([
          ['ab', 'gpt-4o', ['xy'], 'id'],
          ['plain', plain.modelRequested, plain.tags, plain.providerRequestId],
        ]);
      });

      it('stores identifiers too long for an index cut to 256 bytes of UTF-8, and the rest of their batch', async () => {
        const store = await fresh();
        // Random, so Postgres cannot compress them into an index entry (a xorshift, seeded per string).
        const long = (seed: number) => {
          let x = seed * 2654435761;
          return Array.from({ length: 30_000 }, () => {
            x ^= x << 13;
            x ^= x >>> 17;
            x ^= x << 5;
            return String.fromCharCode(33 + ((x >>> 0) % 89));
          }).join('');
        };
        const huge = makeTestEvent({ sessionId: long(1), modelRequested: long(2), userId: long(3), tags: [long(4)] });
        // Seven identifiers share one index entry in the hourly rollup: multi-byte ones, a lone surrogate and a pair at
        // the cut (never split) too.
        const cjk = '中'.repeat(600);
        const wide = makeTestEvent({ modelRequested: cjk, modelServed: cjk, userId: `${'u'.repeat(255)}😀`, teamId: 'a\ud800b', provider: 'é'.repeat(300) });
        const plain = makeTestEvent({ sessionId: 'plain' });
        expect(await store.insertEvents([huge, wide, plain])).toBe(3);
        const got = new Map((await store.listEvents({})).map((e) => [e.id, e]));
        expect(got.get(huge.id)).toMatchObject({ sessionId: long(1).slice(0, 256), modelRequested: long(2).slice(0, 256), userId: long(3).slice(0, 256), tags: [long(4).slice(0, 256)] });
        expect(got.get(wide.id)).toMatchObject({ modelRequested: '中'.repeat(85), modelServed: '中'.repeat(85), userId: 'u'.repeat(255), teamId: 'a\ufffdb', provider: 'é'.repeat(128) });
        expect(got.get(plain.id)?.sessionId).toBe('plain');
        expect((await store.aggregate('model', {})).map((r) => r.key)).toContain('中'.repeat(85));
        // A filter with the whole value finds what was kept of it, in listings and in reports (rollup or raw).
        expect((await store.listEvents({ sessionId: long(1) })).map((e) => e.id)).toEqual([huge.id]);
        expect((await store.listEvents({ userId: `${'u'.repeat(255)}😀`, teamId: 'a\ud800b' })).map((e) => e.id)).toEqual([wide.id]);
        expect((await store.aggregate('day', { model: cjk })).map((r) => r.requests)).toEqual([1]);
        expect((await store.aggregate('session', { sessionId: long(1) })).map((r) => r.requests)).toEqual([1]);
        // U+0000 in a filter is no error on Postgres: it matches what was stored without it.
        const nul = makeTestEvent({ sessionId: 'a\u0000b' });
        await store.insertEvents([nul]);
        expect((await store.listEvents({ sessionId: 'a\u0000b' })).map((e) => e.id)).toEqual([nul.id]);
        expect((await store.aggregate('user', { sessionId: 'a\u0000b' })).map((r) => r.requests)).toEqual([1]);
      });

      it('stores counts and times no column could hold as the nearest it can, and the rest of their batch', async () => {
        const store = await fresh();
        const absurd = makeTestEvent({ inputTokens: 1e30, outputTokens: Number.NaN, startedAt: 1e20, endedAt: 1e20, firstTokenAt: 1e20 });
        // Two costs whose float sum overflows (an error on Postgres, not Infinity), in the same hour and group.
        const costly = [makeTestEvent({ costUsd: 1e308 }), makeTestEvent({ costUsd: 1e308 }), makeTestEvent({ costUsd: Number.POSITIVE_INFINITY })];
        const plain = makeTestEvent({ outputTokens: 7, costUsd: 0.5 });
        expect(await store.insertEvents([absurd, ...costly, plain])).toBe(5);
        const got = new Map((await store.listEvents({})).map((e) => [e.id, e]));
        expect(got.get(absurd.id)).toMatchObject({ inputTokens: 1e12, outputTokens: 0, startedAt: Date.UTC(2100, 0, 1) - 1, firstTokenAt: null });
        expect(costly.map((e) => got.get(e.id)?.costUsd)).toEqual([1e9, 1e9, null]);
        expect(got.get(plain.id)?.outputTokens).toBe(7);
        // And the rollups still sum.
        expect((await store.aggregate('day', {})).reduce((a, r) => a + r.costUsd, 0)).toBe(2e9 + 0.5 + (absurd.costUsd ?? 0));
      });

      it('round-trips every field', async () => {
        const store = await fresh();
        const full = makeTestEvent({
          source: 'claude-code',
          providerRequestId: 'msg_01',
          firstTokenAt: at('2025-03-10T12:00:00.250Z'),
          keyId: 'key_1',
          sessionId: 'sess-1',
          tags: ['ci', 'nightly'],
          repo: 'github.com/acme/web',
          branch: 'main',
          provider: 'anthropic',
          endpoint: 'messages',
          inputTokens: 1234,
          cacheReadTokens: 1000,
          cacheWrite5mTokens: 50,
          cacheWrite1hTokens: 25,
          outputTokens: 321,
          reasoningTokens: 120,
          costUsd: 0.012345,
          usageEstimated: true,
          status: 499,
          errorClass: 'client_aborted',
          streamed: true,
          clientAborted: true,
          rawUsage: '{"input_tokens":159}',
          fallbackFrom: 'anthropic/claude-opus-4-1: upstream_5xx (529)',
          audioInputTokens: 500,
          audioOutputTokens: 20,
          toolCalls: { web_search: 3, file_search: 1 },
        });
        const bare = makeTestEvent({
          userId: null,
          teamId: null,
          projectId: null,
          modelRequested: null,
          modelServed: null,
          costUsd: null,
          startedAt: at('2025-03-10T12:00:01Z'),
        });
        expect(await store.insertEvents([full, bare])).toBe(2);
        expect(await store.listEvents({})).toEqual([full, bare]);
      });

      it('inserts idempotently on id and returns only the new count', async () => {
        const store = await fresh();
        const events = [makeTestEvent(), makeTestEvent(), makeTestEvent()];
        expect(await store.insertEvents(events)).toBe(3);
        expect(await store.insertEvents(events)).toBe(0);
        const extra = makeTestEvent();
        expect(await store.insertEvents([...events, extra])).toBe(1);
        expect(await store.insertEvents([])).toBe(0);
        expect((await store.listEvents({})).map((e) => e.id)).toEqual([...events, extra].map((e) => e.id));
      });

      it('lists by startedAt then id, with limit and descending order', async () => {
        const store = await fresh();
        const t = at('2025-03-10T10:00:00Z');
        const late = makeTestEvent({ id: 'a-late', startedAt: t + 2 });
        const tieB = makeTestEvent({ id: 'b-tie', startedAt: t });
        const tieA = makeTestEvent({ id: 'a-tie', startedAt: t });
        await store.insertEvents([late, tieB, tieA]);
        expect((await store.listEvents({})).map((e) => e.id)).toEqual(['a-tie', 'b-tie', 'a-late']);
        expect((await store.listEvents({ limit: 2 })).map((e) => e.id)).toEqual(['a-tie', 'b-tie']);
        expect((await store.listEvents({ limit: 2, order: 'desc' })).map((e) => e.id)).toEqual(['a-late', 'b-tie']);
      });

      it('filters by time (until exclusive), team, user, project, model, source and session', async () => {
        const store = await fresh();
        const t0 = at('2025-03-10T00:00:00Z');
        const e1 = makeTestEvent({ id: 'e1', startedAt: t0, teamId: 'core', userId: 'alice', sessionId: 's1' });
        const e2 = makeTestEvent({ id: 'e2', startedAt: t0 + 1000, teamId: 'data', userId: 'bob', projectId: 'etl' });
        const e3 = makeTestEvent({
          id: 'e3',
          startedAt: t0 + 2000,
          source: 'codex',
          modelRequested: 'o3',
          modelServed: null,
          sessionId: 's1',
        });
        await store.insertEvents([e1, e2, e3]);
        const ids = async (f: Parameters<Store['listEvents']>[0]): Promise<string[]> =>
          (await store.listEvents(f)).map((e) => e.id);
        expect(await ids({ since: t0 + 1000 })).toEqual(['e2', 'e3']);
        expect(await ids({ until: t0 + 1000 })).toEqual(['e1']);
        expect(await ids({ since: t0 + 1000, until: t0 + 2000 })).toEqual(['e2']);
        expect(await ids({ teamId: 'data' })).toEqual(['e2']);
        expect(await ids({ userId: 'alice' })).toEqual(['e1', 'e3']);
        expect(await ids({ projectId: 'etl' })).toEqual(['e2']);
        // The model filter matches the served or the requested name.
        expect(await ids({ model: 'gpt-4o' })).toEqual(['e1', 'e2']);
        expect(await ids({ model: 'gpt-4o-2024-08-06' })).toEqual(['e1', 'e2']);
        expect(await ids({ model: 'o3' })).toEqual(['e3']);
        expect(await ids({ source: 'codex' })).toEqual(['e3']);
        expect(await ids({ sessionId: 's1' })).toEqual(['e1', 'e3']);
        expect(await ids({ sessionId: 's1', source: 'gateway' })).toEqual(['e1']);
        expect(await ids({ teamId: 'nobody' })).toEqual([]);
      });
    });

    describe('aggregate by day and month in a time zone', () => {
      // 23:30 UTC is the next day in Berlin (UTC+1 in early March) and the same day in New York (UTC-4 after
      // 9 March). Kolkata is +5:30 and Kathmandu +5:45: the 15-minute slots must land on the right side.
      const events = (): UsageEvent[] => [
        makeTestEvent({ startedAt: at('2025-03-10T12:00:00Z'), costUsd: 0.5, inputTokens: 10 }),
        makeTestEvent({ startedAt: at('2025-03-10T18:14:59Z'), costUsd: 0.01, inputTokens: 20 }),
        makeTestEvent({ startedAt: at('2025-03-10T18:15:00Z'), costUsd: 0.02, inputTokens: 40 }),
        makeTestEvent({ startedAt: at('2025-03-10T18:29:59Z'), costUsd: 0.04, inputTokens: 80 }),
        makeTestEvent({ startedAt: at('2025-03-10T18:30:00Z'), costUsd: 0.08, inputTokens: 160 }),
        makeTestEvent({ startedAt: at('2025-03-10T23:30:00Z'), costUsd: 1, inputTokens: 320 }),
        makeTestEvent({ startedAt: at('2025-03-11T01:00:00Z'), costUsd: 0.25, inputTokens: 640 }),
      ];

      it('buckets days in UTC by default', async () => {
        const store = await fresh();
        await store.insertEvents(events());
        const rows = await store.aggregate('day', {});
        expect(byKey(rows)).toEqual({ '2025-03-10': [6, 1.65], '2025-03-11': [1, 0.25] });
        expect(rows.map((r) => r.inputTokens)).toEqual([630, 640]);
        expect(rows.map((r) => r.key)).toEqual(['2025-03-10', '2025-03-11']);
      });

      it('moves 23:30 UTC to the next day in Europe/Berlin', async () => {
        const store = await fresh();
        await store.insertEvents(events());
        const rows = await store.aggregate('day', {}, { timeZone: 'Europe/Berlin' });
        expect(byKey(rows)).toEqual({ '2025-03-10': [5, 0.65], '2025-03-11': [2, 1.25] });
      });

      it('keeps the evening UTC events on the same day in America/New_York', async () => {
        const store = await fresh();
        await store.insertEvents(events());
        const rows = await store.aggregate('day', {}, { timeZone: 'America/New_York' });
        expect(byKey(rows)).toEqual({ '2025-03-10': [7, 1.9] });
        expect(rows[0]?.inputTokens).toBe(1270);
      });

      it('splits on the half hour in Asia/Kolkata and the quarter hour in Asia/Kathmandu', async () => {
        const store = await fresh();
        await store.insertEvents(events());
        const kolkata = await store.aggregate('day', {}, { timeZone: 'Asia/Kolkata' });
        expect(byKey(kolkata)).toEqual({ '2025-03-10': [4, 0.57], '2025-03-11': [3, 1.33] });
        const kathmandu = await store.aggregate('day', {}, { timeZone: 'Asia/Kathmandu' });
        expect(byKey(kathmandu)).toEqual({ '2025-03-10': [2, 0.51], '2025-03-11': [5, 1.39] });
        expect(kathmandu.map((r) => r.inputTokens)).toEqual([30, 1240]);
      });

      it('buckets months in the time zone', async () => {
        const store = await fresh();
        await store.insertEvents([
          makeTestEvent({ startedAt: at('2025-01-15T12:00:00Z'), costUsd: 1 }),
          makeTestEvent({ startedAt: at('2025-01-31T23:30:00Z'), costUsd: 2 }),
          makeTestEvent({ startedAt: at('2025-02-10T12:00:00Z'), costUsd: 4 }),
        ]);
        expect(byKey(await store.aggregate('month', {}))).toEqual({ '2025-01': [2, 3], '2025-02': [1, 4] });
        expect(byKey(await store.aggregate('month', {}, { timeZone: 'Europe/Berlin' }))).toEqual({
          '2025-01': [1, 1],
          '2025-02': [2, 6],
        });
        expect(byKey(await store.aggregate('month', {}, { timeZone: 'America/New_York' }))).toEqual({
          '2025-01': [2, 3],
          '2025-02': [1, 4],
        });
      });

      it('reports firstAt, lastAt, models and estimated counts of a merged bucket', async () => {
        const store = await fresh();
        await store.insertEvents([
          makeTestEvent({ startedAt: at('2025-03-10T08:00:00Z'), modelServed: 'b-model' }),
          makeTestEvent({ startedAt: at('2025-03-10T20:00:00Z'), modelServed: 'a-model', usageEstimated: true }),
          makeTestEvent({ startedAt: at('2025-03-10T21:00:00Z'), modelServed: 'a-model' }),
        ]);
        const [row] = await store.aggregate('day', {});
        expect(row).toMatchObject({
          key: '2025-03-10',
          requests: 3,
          estimatedRequests: 1,
          firstAt: at('2025-03-10T08:00:00Z'),
          lastAt: at('2025-03-10T21:00:00Z'),
          models: ['a-model', 'b-model'],
        });
      });

      it('applies filters before bucketing', async () => {
        const store = await fresh();
        await store.insertEvents([
          ...events(),
          makeTestEvent({ startedAt: at('2025-03-10T12:00:00Z'), teamId: 'data', costUsd: 100 }),
        ]);
        const rows = await store.aggregate('day', { teamId: 'core', since: at('2025-03-10T18:15:00Z') });
        expect(byKey(rows)).toEqual({ '2025-03-10': [4, 1.14], '2025-03-11': [1, 0.25] });
      });

      it('rejects an unknown time zone with a GoodhartError', async () => {
        const store = await fresh();
        await expect(store.aggregate('day', {}, { timeZone: 'Mars/Olympus' })).rejects.toBeInstanceOf(GoodhartError);
      });

      it('returns no rows for no events', async () => {
        const store = await fresh();
        expect(await store.aggregate('day', {})).toEqual([]);
        expect(await store.aggregate('team', {})).toEqual([]);
      });
    });

    describe('aggregate by group', () => {
      it('sums every token kind per team and shows null groups as (none)', async () => {
        const store = await fresh();
        await store.insertEvents([
          makeTestEvent({
            teamId: 'core',
            inputTokens: 1000,
            cacheReadTokens: 600,
            cacheWrite5mTokens: 100,
            cacheWrite1hTokens: 50,
            outputTokens: 200,
            reasoningTokens: 80,
            costUsd: 0.5,
          }),
          makeTestEvent({
            teamId: 'core',
            inputTokens: 10,
            cacheReadTokens: 1,
            cacheWrite5mTokens: 2,
            cacheWrite1hTokens: 3,
            outputTokens: 4,
            reasoningTokens: 5,
            costUsd: 0.25,
          }),
          makeTestEvent({ teamId: null, costUsd: 2 }),
        ]);
        const rows = await store.aggregate('team', {});
        expect(rows.map((r) => r.key)).toEqual(['(none)', 'core']);
        expect(rows[1]).toMatchObject({
          key: 'core',
          requests: 2,
          inputTokens: 1010,
          cacheReadTokens: 601,
          cacheWrite5mTokens: 102,
          cacheWrite1hTokens: 53,
          outputTokens: 204,
          reasoningTokens: 85,
          costUsd: 0.75,
          unpricedRequests: 0,
        });
      });

      it('groups by session, user, project and model', async () => {
        const store = await fresh();
        await store.insertEvents([
          makeTestEvent({ sessionId: 's1', userId: 'alice', projectId: 'web', costUsd: 1 }),
          makeTestEvent({ sessionId: 's1', userId: 'bob', projectId: 'web', costUsd: 2 }),
          makeTestEvent({ sessionId: 's2', userId: 'bob', projectId: null, modelServed: null, costUsd: 4 }),
          makeTestEvent({ sessionId: null, userId: 'carol', modelRequested: null, modelServed: null, costUsd: 8 }),
        ]);
        expect(byKey(await store.aggregate('session', {}))).toEqual({ '(none)': [1, 8], s2: [1, 4], s1: [2, 3] });
        expect((await store.aggregate('session', {})).map((r) => r.key)).toEqual(['(none)', 's2', 's1']);
        expect(byKey(await store.aggregate('user', {}))).toEqual({ carol: [1, 8], bob: [2, 6], alice: [1, 1] });
        expect(byKey(await store.aggregate('project', {}))).toEqual({ '(none)': [1, 4], web: [3, 11] });
        // Served name when known, else the requested one; neither is (none).
        expect(byKey(await store.aggregate('model', {}))).toEqual({
          '(none)': [1, 8],
          'gpt-4o': [1, 4],
          'gpt-4o-2024-08-06': [2, 3],
        });
        const [s1] = (await store.aggregate('session', { sessionId: 's1' }));
        expect(s1?.models).toEqual(['gpt-4o-2024-08-06']);
      });

      it('selects the events with no team, user or project by a null filter, in reports (rollup or raw) and listings', async () => {
        const store = await fresh();
        const [lone, nobody, orphan] = [
          makeTestEvent({ userId: 'bob', teamId: null, projectId: null, costUsd: 1 }),
          makeTestEvent({ userId: null, teamId: null, projectId: 'web', costUsd: 2 }),
          makeTestEvent({ userId: 'carol', teamId: 'core', projectId: null, costUsd: 4 }),
        ];
        await store.insertEvents([makeTestEvent({ costUsd: 8 }), lone!, nobody!, orphan!]);
        const ids = async (filter: EventFilter) => (await store.listEvents(filter)).map((e) => e.id).sort();
        expect(await ids({ teamId: null })).toEqual([lone!.id, nobody!.id]);
        expect(await ids({ userId: null })).toEqual([nobody!.id]);
        expect(await ids({ projectId: null, teamId: 'core' })).toEqual([orphan!.id]);
        expect(byKey(await store.aggregate('user', { teamId: null }))).toEqual({ '(none)': [1, 2], bob: [1, 1] });
        expect(byKey(await store.aggregate('team', { projectId: null }))).toEqual({ '(none)': [1, 1], core: [1, 4] });
        expect(byKey(await store.aggregate('day', { userId: null }))).toEqual({ '2025-03-10': [1, 2] });
        expect(byKey(await store.aggregate('session', { teamId: null, userId: 'bob' }))).toEqual({ '(none)': [1, 1] });
      });

      it('counts unpriced events separately and leaves them out of costUsd', async () => {
        const store = await fresh();
        await store.insertEvents([
          makeTestEvent({ teamId: 'core', costUsd: 0.3 }),
          makeTestEvent({ teamId: 'core', costUsd: null, modelServed: 'mystery-1' }),
          makeTestEvent({ teamId: 'data', costUsd: null, modelServed: 'mystery-1' }),
          makeTestEvent({ teamId: 'data', costUsd: null, modelServed: 'mystery-1' }),
        ]);
        const teams = await store.aggregate('team', {});
        expect(teams.map((r) => [r.key, r.requests, r.costUsd, r.unpricedRequests])).toEqual([
          ['core', 2, 0.3, 1],
          ['data', 2, 0, 2],
        ]);
        const [day] = await store.aggregate('day', {});
        expect(day).toMatchObject({ requests: 4, costUsd: 0.3, unpricedRequests: 3 });
      });
    });

    describe('keys', () => {
      it('creates, finds, lists and revokes keys, bumping the version on each change', async () => {
        const store = await fresh();
        const v0 = await store.keysVersion();
        const key = makeTestKey();
        const other = makeTestKey({ id: 'key_2', hash: 'b'.repeat(64), prefix: 'gh_def456', teamId: null, name: null });
        await store.createKey(key);
        const v1 = await store.keysVersion();
        expect(v1).toBeGreaterThan(v0);
        await store.createKey(other);
        const v2 = await store.keysVersion();
        expect(v2).toBeGreaterThan(v1);

        expect(await store.findKeyByHash(key.hash)).toEqual(key);
        expect(await store.findKeyByHash('c'.repeat(64))).toBeUndefined();
        expect(await store.listKeys()).toEqual([key, other]);

        const revokedAt = at('2025-03-05T00:00:00Z');
        expect(await store.revokeKey('key_1', revokedAt)).toEqual({ ...key, revokedAt });
        const v3 = await store.keysVersion();
        expect(v3).toBeGreaterThan(v2);
        expect(await store.findKeyByHash(key.hash)).toEqual({ ...key, revokedAt });

        expect(await store.revokeKey('gh_def456', revokedAt + 1)).toEqual({ ...other, revokedAt: revokedAt + 1 });
        expect(await store.keysVersion()).toBeGreaterThan(v3);
      });

      it('returns undefined when revoking an unknown key and leaves the version alone', async () => {
        const store = await fresh();
        await store.createKey(makeTestKey());
        const v = await store.keysVersion();
        expect(await store.revokeKey('key_nope', 1)).toBeUndefined();
        expect(await store.keysVersion()).toBe(v);
      });

      it('keeps the first revocation time when a key is revoked twice', async () => {
        const store = await fresh();
        await store.createKey(makeTestKey());
        await store.revokeKey('key_1', 100);
        const v = await store.keysVersion();
        expect((await store.revokeKey('key_1', 200))?.revokedAt).toBe(100);
        expect(await store.keysVersion()).toBe(v);
      });

      it('rejects a duplicate id or hash', async () => {
        const store = await fresh();
        await store.createKey(makeTestKey());
        await expect(store.createKey(makeTestKey({ hash: 'f'.repeat(64) }))).rejects.toBeInstanceOf(GoodhartError);
        await expect(store.createKey(makeTestKey({ id: 'key_9' }))).rejects.toBeInstanceOf(GoodhartError);
        expect(await store.listKeys()).toHaveLength(1);
      });
    });
  });
}

/**
 * An import of an agent's log does not store a request the gateway metered (same provider request id): Claude Code
 * logs the responses it got through the gateway too. Other sources' events, and imported events without a provider
 * id, are stored as before. For the stores that take imports (SQLite and Postgres).
 */
export async function checkMeteredImports(store: Store & Pick<AuditStore, 'commitImportBatch'>): Promise<void> {
  const t = Date.UTC(2025, 5, 1, 12);
  // Claude Code calls the Messages API: what the gateway's events are looked up for.
  const msg = (o: Partial<UsageEvent>): UsageEvent => makeTestEvent({ endpoint: 'messages', provider: 'anthropic', ...o });
  await store.insertEvents([msg({ id: 'gw-1', source: 'gateway', providerRequestId: 'msg_01', startedAt: t, outputTokens: 40, costUsd: 0.4 })]);
  const logged = [
    msg({ id: 'cc-a', source: 'claude-code', providerRequestId: 'msg_01', startedAt: t + 900, outputTokens: 40, costUsd: 0.4 }),
    msg({ id: 'cc-b', source: 'claude-code', providerRequestId: 'msg_02', startedAt: t + 1000, outputTokens: 7 }),
    msg({ id: 'cc-c', source: 'claude-code', providerRequestId: null, startedAt: t + 1100, outputTokens: 9 }),
  ];
  expect(await store.commitImportBatch({ events: logged, states: [] })).toEqual({ inserted: 2, replaced: 0, metered: 1 });
  expect((await store.listEvents({})).map((e) => e.id)).toEqual(['gw-1', 'cc-b', 'cc-c']);
  // The reports count the request once, at the gateway's cost.
  const [day] = await store.aggregate('day', {});
  expect([day?.requests, day?.outputTokens]).toEqual([3, 56]);
  // Importing the same log again adds nothing and still finds it metered.
  expect(await store.commitImportBatch({ events: logged, states: [] })).toEqual({ inserted: 0, replaced: 0, metered: 1 });
  // A copy imported before the gateway's event was stored (an older release, a late gateway write) is removed when
  // the log is read again, from the reports as well.
  const early = msg({ id: 'cc-early', source: 'claude-code', providerRequestId: 'msg_09', startedAt: t + 2000, outputTokens: 100 });
  expect(await store.commitImportBatch({ events: [early], states: [] })).toEqual({ inserted: 1, replaced: 0, metered: 0 });
  await store.insertEvents([msg({ id: 'gw-9', source: 'gateway', providerRequestId: 'msg_09', startedAt: t + 1900, outputTokens: 100 })]);
  expect((await store.aggregate('day', {}))[0]?.requests).toBe(5);
  expect(await store.commitImportBatch({ events: [early], states: [] })).toEqual({ inserted: 0, replaced: 0, metered: 1 });
  expect((await store.listEvents({})).map((e) => e.id)).toEqual(['gw-1', 'cc-b', 'cc-c', 'gw-9']);
  const [after] = await store.aggregate('day', {});
  expect([after?.requests, after?.outputTokens]).toEqual([4, 156]);
  expect((await store.aggregate('day', { source: 'claude-code' }))[0]?.outputTokens).toBe(16);
}

/**
 * `import --full` after the config changed: a record of the same rank replaces the stored event only when it refreshes
 * what the config decides (its price, its person), and only on a full re-read.
 */
export async function checkRefreshedImports(store: Store & Pick<AuditStore, 'commitImportBatch'>): Promise<void> {
  const first = makeTestEvent({ id: 'cc-r', source: 'claude-code', startedAt: Date.UTC(2025, 5, 2), outputTokens: 30, costUsd: null, userId: 'dev' });
  await store.commitImportBatch({ events: [first], states: [] });
  const priced = { ...first, costUsd: 0.25, userId: 'ada' };
  expect(await store.commitImportBatch({ events: [priced], states: [] })).toMatchObject({ replaced: 0 });
  expect(await store.commitImportBatch({ events: [priced], states: [], refresh: true })).toMatchObject({ replaced: 1 });
  expect(await store.commitImportBatch({ events: [priced], states: [], refresh: true })).toMatchObject({ replaced: 0 });
  expect((await store.listEvents({})).map((e) => [e.costUsd, e.userId])).toEqual([[0.25, 'ada']]);
  const [day] = await store.aggregate('day', {});
  expect([day?.requests, day?.costUsd, day?.unpricedRequests]).toEqual([1, 0.25, 0]);
  expect((await store.aggregate('user', {})).map((r) => r.key)).toEqual(['ada']);
  // An importer given a source of its own moves its stored events there, rollups included.
  const moved = { ...priced, source: 'anthropic-claude-code' as const };
  expect(await store.commitImportBatch({ events: [moved], states: [], refresh: true })).toMatchObject({ replaced: 1 });
  expect((await store.aggregate('day', { source: 'claude-code' })).length).toBe(0);
  expect((await store.aggregate('day', { source: 'anthropic-claude-code' }))[0]?.costUsd).toBe(0.25);
}

/**
 * A request logged again later, re-dated (a Codex fork starts with copies of its parent's requests, stamped at the
 * fork): the copy with the earlier start is kept, whichever is imported first, and the rollups follow it.
 */
export async function checkEarlierCopyKept(store: Store & Pick<AuditStore, 'commitImportBatch'>): Promise<void> {
  const day = Date.UTC(2025, 5, 5, 9);
  const original = makeTestEvent({ id: 'cx-1', source: 'codex', startedAt: day, sessionId: 'parent', inputTokens: 1000, outputTokens: 100, costUsd: 0.01 });
  const copy = { ...original, startedAt: day + 5 * 86_400_000, sessionId: 'fork' };
  expect(await store.commitImportBatch({ events: [copy], states: [] })).toMatchObject({ inserted: 1, replaced: 0 });
  expect(await store.commitImportBatch({ events: [original], states: [] })).toMatchObject({ inserted: 0, replaced: 1 });
  expect(await store.commitImportBatch({ events: [copy], states: [] })).toMatchObject({ inserted: 0, replaced: 0 });
  expect(await store.commitImportBatch({ events: [copy], states: [], refresh: true })).toMatchObject({ replaced: 0 });
  expect((await store.listEvents({})).map((e) => [e.startedAt, e.sessionId])).toEqual([[day, 'parent']]);
  expect((await store.aggregate('day', {})).map((d) => [d.key, d.requests])).toEqual([['2025-06-05', 1]]);
}

/**
 * Of two records of one outcome the more trusted is kept: self-reported (`api`) < a trusted poster's (`api-trusted`) <
 * the provider's (a webhook delivery, git). A self-report never displaces or blocks a trusted record.
 */
export async function checkOutcomeOverride(store: Pick<OutcomeStore, 'insertOutcomes' | 'listOutcomes'>): Promise<void> {
  const claim = { id: 'pr-43', kind: 'pull_request_merged' as const, userId: 'ann', teamId: 'core', repo: 'github.com/acme/app', sessionId: null, at: 1000, count: 1, source: 'api' as const, attrs: { postedBy: 'ann' } };
  expect(await store.insertOutcomes([claim])).toBe(1);
  const delivered = { ...claim, userId: 'bob', source: 'github' as const, attrs: {} };
  expect(await store.insertOutcomes([delivered])).toBe(1);
  expect(await store.insertOutcomes([claim])).toBe(0);
  expect(await store.insertOutcomes([{ ...delivered, userId: 'carl' }])).toBe(0);
  expect(await store.insertOutcomes([{ ...claim, userId: 'carl', source: 'api-trusted' as const }])).toBe(0);
  // A ticket claimed by an ordinary key before the trusted bridge posts its closure for the real person.
  const ticket = { ...claim, id: 'ticket-ENG-4242', kind: 'ticket_closed' as const, tickets: ['ENG-4242'] };
  expect(await store.insertOutcomes([ticket])).toBe(1);
  const bridged = { ...ticket, userId: 'bob', source: 'api-trusted' as const, attrs: { postedBy: 'jira-bridge' } };
  expect(await store.insertOutcomes([bridged])).toBe(1);
  expect(await store.insertOutcomes([ticket])).toBe(0);
  expect(await store.insertOutcomes([{ ...bridged, userId: 'carl' }])).toBe(0);
  // The provider's own record still replaces the bridge's.
  expect(await store.insertOutcomes([{ ...bridged, userId: 'dana', source: 'github' as const, attrs: {} }])).toBe(1);
  expect((await store.listOutcomes({})).map((o) => [o.id, o.userId, o.source])).toEqual([
    ['pr-43', 'bob', 'github'],
    ['ticket-ENG-4242', 'dana', 'github'],
  ]);
}

/** Claude Code analytics reports a day's totals so far: a later report of the same day replaces the stored count. */
export async function checkOutcomeSnapshots(store: Pick<OutcomeStore, 'insertOutcomes' | 'listOutcomes'>): Promise<void> {
  const day = { id: 'acc-ann-commit', kind: 'commit' as const, userId: 'ann', teamId: 'core', repo: null, sessionId: null, at: 1000, count: 4, source: 'anthropic-claude-code' as const, attrs: {} };
  expect(await store.insertOutcomes([day])).toBe(1);
  expect(await store.insertOutcomes([day])).toBe(0);
  expect(await store.insertOutcomes([{ ...day, count: 7, teamId: 'web' }])).toBe(1);
  // Only the same source replaces it: anything else with that id is kept out.
  expect(await store.insertOutcomes([{ ...day, count: 99, source: 'otel' as const }])).toBe(0);
  expect((await store.listOutcomes({})).map((o) => [o.id, o.count, o.teamId, o.source])).toEqual([['acc-ann-commit', 7, 'web', 'anthropic-claude-code']]);
}

/** A usage API's bucket read again grouped otherwise: the rows it no longer has are removed with the new ones stored. */
export async function checkDroppedImports(store: Store & Pick<AuditStore, 'commitImportBatch'>): Promise<void> {
  const at = Date.UTC(2025, 5, 3);
  const old = makeTestEvent({ id: 'oa-all', source: 'openai-usage', startedAt: at, endedAt: at + 86_400_000, inputTokens: 900, outputTokens: 100, costUsd: 1 });
  const gw = makeTestEvent({ id: 'gw-1', source: 'gateway', startedAt: at + 5, costUsd: 0.5 });
  await store.commitImportBatch({ events: [old, gw], states: [] });
  const split = [makeTestEvent({ ...old, id: 'oa-default', inputTokens: 600, costUsd: 0.7 }), makeTestEvent({ ...old, id: 'oa-flex', inputTokens: 300, costUsd: 0.15 })];
  expect(await store.commitImportBatch({ events: split, states: [], drop: ['oa-all', 'gw-1', 'never-stored'] })).toMatchObject({ inserted: 2, dropped: 1 });
  expect((await store.listEvents({})).map((e) => e.id).sort()).toEqual(['gw-1', 'oa-default', 'oa-flex']);
  const [day] = await store.aggregate('day', { source: 'openai-usage' });
  expect([day?.requests, day?.inputTokens, day?.costUsd]).toEqual([2, 900, 0.85]);
}

/**
 * A usage API's row stored at another date (a day dated at its start by an earlier release): dropped and stored again
 * at its new date in one batch, the rollups following it (day and month keys in New York move with it).
 */
export async function checkRedatedImports(store: Store & Pick<AuditStore, 'commitImportBatch'>): Promise<void> {
  const day = Date.UTC(2026, 11, 1);
  const old = makeTestEvent({ id: 'oa-dec1', source: 'openai-usage', startedAt: day, endedAt: day + 86_400_000, inputTokens: 900, outputTokens: 100, costUsd: 1 });
  await store.commitImportBatch({ events: [old], states: [] });
  const ny = { timeZone: 'America/New_York' };
  expect((await store.aggregate('month', {}, ny)).map((m) => m.key)).toEqual(['2026-11']);
  const dated = { ...old, startedAt: Date.UTC(2026, 11, 1, 17), tags: ['day=2026-12-01'] };
  expect(await store.commitImportBatch({ events: [dated], states: [], refresh: true, drop: [old.id] })).toMatchObject({ inserted: 1, replaced: 0, dropped: 1 });
  expect((await store.listEvents({})).map((e) => [e.id, e.startedAt, e.tags])).toEqual([[old.id, dated.startedAt, ['day=2026-12-01']]]);
  expect((await store.aggregate('day', {}, ny)).map((d) => [d.key, d.requests, d.inputTokens, d.costUsd])).toEqual([['2026-12-01', 1, 900, 1]]);
  expect((await store.aggregate('month', {}, ny)).map((m) => [m.key, m.requests])).toEqual([['2026-12', 1]]);
}

/** OpenTelemetry events of some sessions by tag (the OTLP receiver's log-or-metrics check): ids and sessions. */
export async function checkOtelTagged(store: Store & Pick<AuditStore, 'otelTagged'>): Promise<void> {
  const at = Date.UTC(2025, 5, 4);
  await store.insertEvents([
    makeTestEvent({ id: 'ot-log-1', source: 'otel', sessionId: 's1', startedAt: at, tags: ['claude-code', 'otel-log'] }),
    makeTestEvent({ id: 'ot-log-2', source: 'otel', sessionId: 's1', startedAt: at + 1, tags: ['claude-code', 'otel-log'] }),
    makeTestEvent({ id: 'ot-metric', source: 'otel', sessionId: 's2', startedAt: at, tags: ['claude-code', 'otel-metric'] }),
    // Not OpenTelemetry, or tagged otherwise (a tag that contains the other's name is not it).
    makeTestEvent({ id: 'gw-log', source: 'gateway', sessionId: 's2', startedAt: at, tags: ['otel-log'] }),
    makeTestEvent({ id: 'ot-other', source: 'otel', sessionId: 's3', startedAt: at, tags: ['otel-log-x'] }),
  ]);
  const ids = async (sessions: string[], tag: string, limit = 100) => (await store.otelTagged(sessions, tag, limit)).map((r) => `${r.sessionId}:${r.id}`).sort();
  if (JSON.stringify(await ids(['s1', 's2', 's3'], 'otel-log')) !== JSON.stringify(['s1:ot-log-1', 's1:ot-log-2'])) throw new Error(`otel-log: ${JSON.stringify(await ids(['s1', 's2', 's3'], 'otel-log'))}`);
  if (JSON.stringify(await ids(['s1', 's2'], 'otel-metric')) !== JSON.stringify(['s2:ot-metric'])) throw new Error('otel-metric');
  if ((await ids(['s1'], 'otel-log', 1)).length !== 1) throw new Error('limit');
  if ((await ids([], 'otel-log')).length !== 0) throw new Error('no sessions');
}

/** The audit-mode checks every store that takes imports passes, by title (run by the SQLite and Postgres tests). */
export const AUDIT_CONTRACT: readonly [title: string, check: (store: AuditStore) => Promise<void>][] = [
  ['does not store an imported request the gateway already metered', checkMeteredImports],
  ['lets a webhook delivery replace an API claim of the same outcome, and nothing else', checkOutcomeOverride],
  ["replaces a Claude Code analytics day's count with a later report of it", checkOutcomeSnapshots],
  ['finds OpenTelemetry events of sessions by tag', checkOtelTagged],
  ['removes the imported events a batch drops, with their rollups, and never a gateway event', checkDroppedImports],
  ['refreshes a stored event with the current price and person on a full re-read only', checkRefreshedImports],
  ['keeps the earlier of two copies of a request, whichever came first', checkEarlierCopyKept],
  ['stores again at its new date a usage row the same batch drops', checkRedatedImports],
];
