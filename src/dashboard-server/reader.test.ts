import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Finding } from '../detect/types.js';
import { GoodhartError } from '../errors.js';
import { loadSpendSlices } from '../outcomes/slices.js';
import type { RouteDecision } from '../route/decisions.js';
import { SqliteDecisionStore } from '../route/sqlite-decisions.js';
import { makeTestEvent } from '../store/store-contract.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { startHarness } from '../testing/harness.js';
import { ReaderThread } from './reader.js';

/**
 * The dashboard's reader thread answers exactly what the store answers on the gateway's own thread, passes errors
 * back with their HTTP status, comes back after its thread dies, and the dashboard's pages read through it.
 */
const at = (iso: string): number => Date.parse(iso);
const dir = mkdtempSync(join(tmpdir(), 'goodhart-reader-'));
const db = join(dir, 'goodhart.db');
let store: SqliteStore;
let decisions: SqliteDecisionStore;
let reader: ReaderThread;

const finding = (id: string, userId: string, day: string, wastedUsd: number): Finding => ({
  id, rule: 'rephrase-loop', subject: { kind: 'user', id: userId }, userId, teamId: 'core', sessionId: null,
  start: at(`2026-10-${day}T09:00:00Z`), end: at(`2026-10-${day}T10:00:00Z`),
  evidence: { counts: { requests: 4 }, ratios: { similarity: 0.93 }, requestIds: ['e1', 'e2'] }, wastedUsd, wasteMethod: 'repeats',
  confidence: 0.9, summary: 'four near-duplicates', suggestion: 'say what was wrong with the answer', detectedAt: at('2026-10-21T00:00:00Z'),
});
const decision = (id: string, teamId: string, requestedCostUsd: number, routedCostUsd: number): RouteDecision => ({
  id, at: at('2026-10-05T10:00:00Z'), mode: 'on', applied: true, keyId: 'k1', userId: 'alice', teamId, projectId: null, provider: 'openai',
  endpoint: 'chat.completions', taskClass: 'chat', score: 0.1, modelRequested: 'gpt-5', modelRouted: 'gpt-5-nano', requestedCostUsd, routedCostUsd, missAt: null,
});

beforeAll(async () => {
  store = new SqliteStore(db);
  await store.insertEvents([
    makeTestEvent({ id: 'a1', userId: 'alice', teamId: 'core', startedAt: at('2026-10-02T10:00:00Z'), costUsd: 4 }),
    makeTestEvent({ id: 'a2', userId: 'alice', teamId: 'core', startedAt: at('2026-10-19T10:30:00Z'), costUsd: 6 }),
    makeTestEvent({ id: 'c1', userId: 'carol', teamId: 'data', startedAt: at('2026-10-05T11:00:00Z'), costUsd: 20, modelServed: 'claude-sonnet-4', provider: 'anthropic' }),
  ]);
  await store.findings.upsertFindings([finding('f1', 'alice', '07', 4.5), finding('f2', 'carol', '09', 12)]);
  await store.insertOutcomes([{ id: 'o1', kind: 'commit', userId: 'alice', teamId: 'core', repo: null, sessionId: null, at: at('2026-10-20T12:00:00Z'), count: 3, source: 'otel', attrs: {} }]);
  decisions = new SqliteDecisionStore(db);
  await decisions.insertDecisions([decision('d1', 'core', 0.01, 0.0004), decision('d2', 'data', 0.3, 0.02)]);
  reader = new ReaderThread(db);
});
afterAll(async () => {
  await reader.close();
  await decisions.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('dashboard reader thread', () => {
  it('answers each read exactly as the store does', async () => {
    const range = { since: at('2026-10-01T00:00:00Z'), until: at('2026-11-01T00:00:00Z') };
    const byDay = await reader.aggregate('day', range, { timeZone: 'Europe/Berlin' });
    expect(byDay).toEqual(await store.aggregate('day', range, { timeZone: 'Europe/Berlin' }));
    expect(byDay.map((r) => [r.key, r.costUsd])).toEqual([['2026-10-02', 4], ['2026-10-05', 20], ['2026-10-19', 6]]);
    expect(await reader.aggregate('team', { ...range, teamId: 'core' })).toEqual(await store.aggregate('team', { ...range, teamId: 'core' }));
    const found = await reader.listFindings({ ...range, userId: 'carol' });
    expect(found).toEqual(await store.findings.listFindings({ ...range, userId: 'carol' }));
    expect(found.map((f) => [f.id, f.wastedUsd, f.evidence.ratios])).toEqual([['f2', 12, { similarity: 0.93 }]]);
    expect((await reader.listOutcomes(range)).map((o) => [o.id, o.count])).toEqual([['o1', 3]]);
    // Spend slices for the outcomes card are summed on the thread, as loadSpendSlices sums them on this one.
    const slices = await reader.spendSlices({ ...range, teamId: 'core' });
    expect(slices).toEqual(await loadSpendSlices(store, { ...range, teamId: 'core' }));
    expect(slices.map((s) => [s.userId, s.costUsd])).toEqual([['alice', 4], ['alice', 6]]);
    const groups = await reader.savingsGroups({ teamId: 'data' });
    expect(groups).toEqual(await decisions.savingsGroups({ teamId: 'data' }));
    expect(groups.map((g) => [g.teamId, g.requests, g.requestedUsd, g.routedUsd])).toEqual([['data', 1, 0.3, 0.02]]);
  });

  it('passes an error back with its status, and keeps answering', async () => {
    const err = await reader.aggregate('day', {}, { timeZone: 'Mars/Olympus' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GoodhartError);
    expect((err as GoodhartError).httpStatus).toBe(400);
    expect((err as GoodhartError).message).toMatch(/Unknown time zone "Mars\/Olympus"/);
    expect((await reader.aggregate('user', {})).map((r) => r.key).sort()).toEqual(['alice', 'carol']);
  });

  it('fails reads with the reason when its thread cannot open the file', async () => {
    const broken = new ReaderThread(join(dir, 'no-such-folder', 'goodhart.db'));
    await expect(broken.aggregate('day', {})).rejects.toThrow(/reader thread failed: Cannot open the SQLite database at .*no-such-folder/);
    await broken.close();
  });

  it('starts a new thread on the next read after its thread died', async () => {
    await reader.aggregate('team', {});
    const worker = (reader as unknown as { thread: { worker: { terminate(): Promise<number> } | null } }).thread.worker;
    expect(worker).not.toBeNull();
    await worker!.terminate();
    expect((await reader.aggregate('team', {})).map((r) => [r.key, r.costUsd])).toEqual([['data', 20], ['core', 10]]);
  });
});

describe('dashboard on a SQLite file', () => {
  it('reads its pages on the reader thread, never through the gateway’s own store connection', async () => {
    const h = await startHarness({ now: () => at('2026-10-20T12:00:00Z'), config: () => ({ timeZone: 'UTC', users: [{ id: 'fin', role: 'finance' }] }) });
    try {
      await h.store.insertEvents([makeTestEvent({ id: 'x1', userId: 'bob', teamId: 'core', startedAt: at('2026-10-03T10:00:00Z'), costUsd: 7.25 })]);
      const key = await h.addKey('fin');
      const signIn = await h.gateway.app.inject({ method: 'POST', url: '/api/session', headers: { 'content-type': 'application/json' }, payload: { key } });
      expect(signIn.statusCode, signIn.body).toBe(200);
      const cookie = String(signIn.headers['set-cookie']).split(';')[0]!;
      const onGatewayThread = vi.spyOn(h.store, 'aggregate');
      const res = await h.gateway.app.inject({ method: 'GET', url: '/api/org', headers: { cookie } });
      expect(res.statusCode, res.body).toBe(200);
      expect((res.json() as { spend: { totals: { costUsd: number } } }).spend.totals.costUsd).toBe(7.25);
      expect(onGatewayThread).not.toHaveBeenCalled();
      // The team page's Outcomes card reads the events and outcomes on the thread too.
      const events = vi.spyOn(h.store, 'listEvents');
      const team = await h.gateway.app.inject({ method: 'GET', url: '/api/teams/core', headers: { cookie } });
      expect(team.statusCode, team.body).toBe(200);
      expect((team.json() as { outcomes: { row: { spendUsd: number } | null } }).outcomes.row?.spendUsd).toBe(7.25);
      expect([onGatewayThread.mock.calls.length, events.mock.calls.length]).toEqual([0, 0]);
    } finally {
      await h.close();
    }
  });
});
