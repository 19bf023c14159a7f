import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { AUDIT_CONTRACT, makeTestEvent } from '../store-contract.js';
import { supportsImports, type ImportFileState } from '../types.js';
import { SqliteStore } from './sqlite-store.js';

const dir = mkdtempSync(join(tmpdir(), 'goodhart-audit-'));
let n = 0;
const fresh = (): SqliteStore => new SqliteStore(join(dir, `a-${++n}.db`));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const state = (over: Partial<ImportFileState> = {}): ImportFileState => ({
  source: 'claude-code',
  path: '/logs/a.jsonl',
  offset: 100,
  size: 100,
  inode: 42,
  mtimeMs: 1.5,
  headHash: 'ab',
  headBytes: 100,
  context: null,
  updatedAt: 7,
  ...over,
});

describe('SqliteStore audit tables', () => {
  it('supports imports', () => {
    const store = fresh();
    expect(supportsImports(store)).toBe(true);
  });

  it.each(AUDIT_CONTRACT)('%s', async (_title, check) => {
    await check(fresh());
  });

  it('keeps the better of two events with one id: main over sidechain, then the larger token sum', async () => {
    const store = fresh();
    const base = { id: 'cc-1', source: 'claude-code' as const, inputTokens: 100, outputTokens: 5 };
    expect(await store.commitImportBatch({ events: [makeTestEvent({ ...base, tags: ['sidechain'], outputTokens: 900 })], states: [] })).toEqual({ inserted: 1, replaced: 0, metered: 0 });
    // A main-chain line beats a sidechain one even with fewer tokens.
    expect(await store.commitImportBatch({ events: [makeTestEvent({ ...base, outputTokens: 20 })], states: [] })).toEqual({ inserted: 0, replaced: 1, metered: 0 });
    // A smaller main-chain line, and any sidechain line, are ignored.
    expect(await store.commitImportBatch({ events: [makeTestEvent({ ...base, outputTokens: 10 }), makeTestEvent({ ...base, tags: ['sidechain'], outputTokens: 5000 })], states: [] })).toEqual({ inserted: 0, replaced: 0, metered: 0 });
    // A larger main-chain line replaces it.
    expect(await store.commitImportBatch({ events: [makeTestEvent({ ...base, outputTokens: 50, costUsd: 0.5 })], states: [] })).toEqual({ inserted: 0, replaced: 1, metered: 0 });
    const [e] = await store.listEvents({});
    expect(e).toMatchObject({ id: 'cc-1', outputTokens: 50, costUsd: 0.5, tags: [] });
    expect(await store.listEvents({})).toHaveLength(1);
  });

  it('stores file states with the batch and replaces them', async () => {
    const store = fresh();
    await store.commitImportBatch({ events: [], states: [state()] });
    await store.commitImportBatch({ events: [], states: [state({ offset: 250, size: 300, context: '{"m":"x"}' })] });
    expect(await store.getImportState('claude-code', '/logs/a.jsonl')).toEqual(state({ offset: 250, size: 300, context: '{"m":"x"}' }));
    expect(await store.getImportState('codex', '/logs/a.jsonl')).toBeUndefined();
    expect(await store.listImportStates('claude-code')).toHaveLength(1);
  });

  it('turns cumulative points into increases; replays, resets and restarts', async () => {
    const store = fresh();
    const p = (timeNs: string, value: number, startTimeNs = '1000') => ({ seriesKey: 's', startTimeNs, timeNs, value });
    expect(await store.advanceCounters([p('2000', 10), p('3000', 15)])).toEqual([10, 5]);
    // The same batch again (an exporter retry): the point stored last gives its increase again (its events have the
    // ids of the first attempt's: stored now if that attempt's were not), older points add nothing.
    expect(await store.advanceCounters([p('2000', 10), p('3000', 15), p('2500', 12)])).toEqual([0, 5, 0]);
    // Lower than before: the counter was reset, the new value counts in full.
    expect(await store.advanceCounters([p('4000', 3)])).toEqual([3]);
    // A new start time (the process restarted, or another sender with the same attributes) is a series of its own:
    // it counts in full, and a later point of the series before it still counts its own increase.
    expect(await store.advanceCounters([p('6000', 7, '5000'), p('4500', 20)])).toEqual([7, 17]);
    // A point twice in one call counts once; the same again in the next call gives its increase again.
    expect(await store.advanceCounters([p('7000', 9, '5000'), p('7000', 9, '5000')])).toEqual([2, 0]);
    expect(await store.advanceCounters([p('7000', 9, '5000')])).toEqual([2]);
    // Two senders with the same attributes taking turns: each series moves on its own, nothing is lost or counted
    // twice, and the last point of either sent again gives its increase again.
    const q = (startTimeNs: string, timeNs: string, value: number) => ({ seriesKey: 't', startTimeNs, timeNs, value });
    expect(await store.advanceCounters([q('100', '200', 4), q('150', '250', 10), q('100', '300', 6), q('150', '350', 11), q('100', '300', 6)])).toEqual([4, 10, 2, 1, 0]);
    expect(await store.advanceCounters([q('150', '350', 11), q('100', '300', 6)])).toEqual([1, 2]);
    // 64-bit nanosecond times beyond 2^53 compare exactly.
    const big = '1763900000000000001';
    expect(await store.advanceCounters([{ seriesKey: 'b', startTimeNs: '1', timeNs: big, value: 1 }, { seriesKey: 'b', startTimeNs: '1', timeNs: '1763900000000000002', value: 4 }])).toEqual([1, 3]);
  });

  it('keeps counting the series stored before they were told apart by start time (migration 12)', async () => {
    const path = join(dir, `a-${++n}.db`);
    const store = new SqliteStore(path);
    await store.close();
    // Back to schema 11: one row per series key.
    const db = new Database(path);
    db.exec(`DROP TABLE counter_series; DROP TABLE otel_intervals; DROP INDEX idx_events_otel_model_end;
      CREATE TABLE counter_series (series_key TEXT PRIMARY KEY, start_time_ns TEXT NOT NULL, time_ns TEXT NOT NULL, value REAL NOT NULL, last_delta REAL) WITHOUT ROWID;
      INSERT INTO counter_series VALUES ('s', '1000', '3000', 15, 5);`);
    for (const c of ['audio_input_tokens', 'audio_output_tokens', 'tool_calls']) db.exec(`ALTER TABLE events DROP COLUMN ${c}`); // migration 14
    db.pragma('user_version = 11');
    db.close();
    const reopened = new SqliteStore(path);
    expect(await reopened.advanceCounters([{ seriesKey: 's', startTimeNs: '1000', timeNs: '3000', value: 15 }])).toEqual([5]);
    expect(await reopened.advanceCounters([{ seriesKey: 's', startTimeNs: '1000', timeNs: '4000', value: 22 }])).toEqual([7]);
    expect(await reopened.advanceCounters([{ seriesKey: 's', startTimeNs: '2000', timeNs: '4000', value: 4 }])).toEqual([4]);
    await reopened.close();
  });

  it('inserts outcomes idempotently and filters them', async () => {
    const store = fresh();
    const o = { id: 'o1', kind: 'commit' as const, userId: 'ann', teamId: 'core', repo: null, sessionId: 's', at: 1000, count: 2, source: 'otel' as const, attrs: { model: 'x' } };
    expect(await store.insertOutcomes([o, { ...o, id: 'o2', kind: 'pull_request', at: 2000, count: 1 }])).toBe(2);
    expect(await store.insertOutcomes([o])).toBe(0);
    expect(await store.listOutcomes({ kind: 'commit' })).toEqual([o]);
    expect((await store.listOutcomes({ since: 1500 })).map((x) => x.id)).toEqual(['o2']);
    // Stored as Postgres stores it: without U+0000 (rows.ts, outcomeValues).
    expect(await store.insertOutcomes([{ ...o, id: 'o3', sessionId: 's\u0000', attrs: { model: 'x\u0000y', 'k\u0000': 'lone \ud800' }, tickets: ['T\u0000-1'] }])).toBe(1);
    expect((await store.listOutcomes({ kind: 'commit' })).find((x) => x.id === 'o3')).toMatchObject({ sessionId: 's', attrs: { model: 'xy', k: 'lone \ufffd' }, tickets: ['T-1'] });
  });

  it('keeps the shipped-work fields of outcomes (git, webhooks)', async () => {
    const store = fresh();
    const shipped = {
      id: 'c1', kind: 'commit' as const, userId: 'ann', teamId: 'core', repo: 'github.com/acme/app', sessionId: null,
      at: 5000, count: 1, source: 'git' as const, attrs: {}, projectId: 'app', branch: 'feat/PROJ-7', sha: 'a'.repeat(40),
      prNumber: 12, tickets: ['PROJ-7'], linesAdded: 30, linesRemoved: 4, filesChanged: 3, aiCoAuthored: true,
      aiTools: ['claude'], revertsSha: 'b'.repeat(40),
    };
    // Mixed batch: unknown fields stay absent, false stays false, every shipped-work field round-trips.
    const plain = { ...shipped, id: 'c2', at: 6000, aiCoAuthored: false, projectId: undefined, branch: undefined, sha: undefined, prNumber: undefined, tickets: undefined, linesAdded: undefined, linesRemoved: undefined, filesChanged: undefined, aiTools: undefined, revertsSha: undefined };
    expect(await store.insertOutcomes([shipped, plain])).toBe(2);
    const [a, b] = await store.listOutcomes({ source: 'git' });
    expect(a).toEqual(shipped);
    expect(b).toStrictEqual({ id: 'c2', kind: 'commit', userId: 'ann', teamId: 'core', repo: 'github.com/acme/app', sessionId: null, at: 6000, count: 1, source: 'git', attrs: {}, aiCoAuthored: false });
  });

  it('a connection that imports checkpoints the WAL every 10k pages, not after every batch past 1000', async () => {
    const path = join(dir, `wal-${++n}.db`);
    const store = new SqliteStore(path);
    const at = Date.parse('2025-03-10T12:00:00Z');
    // About 3,000 pages of WAL in batches of a few hundred: SQLite's default (1000 pages) would have checkpointed.
    for (let b = 0; b < 12; b++) {
      const events = Array.from({ length: 500 }, (_, i) => makeTestEvent({ id: `imp-${b}-${i}`, source: 'claude-code', startedAt: at + b * 1000 + i, rawUsage: 'x'.repeat(2000) }));
      await store.commitImportBatch({ events, states: [] });
    }
    const other = new Database(path);
    try {
      // [busy, frames in the WAL, frames checkpointed]: frames since the last checkpoint that reset the WAL.
      const [result] = other.pragma('wal_checkpoint(PASSIVE)') as { log: number }[];
      expect(result!.log).toBeGreaterThan(2000);
    } finally {
      other.close();
      await store.close();
    }
  });
});
