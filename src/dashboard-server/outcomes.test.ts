import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outcomesReportCommand } from '../cli/commands/outcomes.js';
import { loadConfigFile } from '../config/load.js';
import { createGateway, type Gateway } from '../gateway/server.js';
import { newKey } from '../keys/keys.js';
import type { OutcomeEvent } from '../outcomes/event.js';
import type { OutcomeView } from '../outcomes/view.js';
import { makeTestEvent } from '../store/store-contract.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';

/**
 * The dashboard's Outcomes card shows what `goodhart outcomes report` shows for the same person or team and
 * month: merged pull requests (not the ones Claude Code opened), reverts applied, cost each on all spend. Read
 * through the dashboard's reader thread (a SQLite file), compared with the CLI on the same file.
 */
const NOW = Date.parse('2026-10-20T12:00:00Z');
const at = (iso: string): number => Date.parse(iso);
const YAML = `timeZone: UTC
teams: [{ id: core }, { id: data }]
users:
  - { id: alice, team: core, role: member }
  - { id: bob, team: core, role: lead }
  - { id: dan, team: core, role: member }
  - { id: carol, team: data, role: member }
`;

const outcome = (o: Partial<OutcomeEvent> & Pick<OutcomeEvent, 'id' | 'kind' | 'userId' | 'at'>): OutcomeEvent => ({
  teamId: o.userId === 'carol' ? 'data' : 'core', repo: 'github.com/acme/billing', sessionId: null, count: 1, source: 'github', attrs: {}, ...o,
});
const sha = (c: string): string => c.repeat(40);

describe('dashboard Outcomes card', () => {
  const dir = mkdtempSync(join(tmpdir(), 'goodhart-dash-outcomes-'));
  const db = join(dir, 'goodhart.db');
  const yaml = join(dir, 'goodhart.yaml');
  let store: SqliteStore;
  let gateway: Gateway;
  const cookies: Record<string, string> = {};

  beforeAll(async () => {
    writeFileSync(yaml, YAML);
    const config = loadConfigFile(yaml);
    store = new SqliteStore(db);
    await store.insertEvents([
      makeTestEvent({ id: 'a1', userId: 'alice', teamId: 'core', startedAt: at('2026-09-02T10:00:00Z'), costUsd: 3 }),
      makeTestEvent({ id: 'a2', userId: 'alice', teamId: 'core', startedAt: at('2026-09-10T10:00:00Z'), costUsd: 5 }),
      makeTestEvent({ id: 'b1', userId: 'bob', teamId: 'core', startedAt: at('2026-09-11T10:00:00Z'), costUsd: 2 }),
      // A third person on core: a member sees the team's totals only with two others in them (dashboard.minGroupSize).
      makeTestEvent({ id: 'd1', userId: 'dan', teamId: 'core', startedAt: at('2026-09-13T10:00:00Z'), costUsd: 1 }),
      makeTestEvent({ id: 'c1', userId: 'carol', teamId: 'data', startedAt: at('2026-09-12T10:00:00Z'), costUsd: 40 }),
    ]);
    await store.insertOutcomes([
      // Alice: two commits, the second reverted; #200 merged and reverted with the Revert button (#201); #202 stands.
      outcome({ id: 'c1', kind: 'commit', userId: 'alice', at: at('2026-09-03T10:00:00Z'), sha: sha('1'), source: 'git' }),
      outcome({ id: 'c2', kind: 'commit', userId: 'alice', at: at('2026-09-04T10:00:00Z'), sha: sha('2'), source: 'git' }),
      outcome({ id: 'r2', kind: 'commit', userId: 'alice', at: at('2026-09-05T10:00:00Z'), sha: sha('3'), source: 'git', revertsSha: sha('2') }),
      outcome({ id: 'pr200', kind: 'pull_request_merged', userId: 'alice', at: at('2026-09-06T10:00:00Z'), prNumber: 200, sha: sha('4'), linesAdded: 120 }),
      outcome({ id: 'pr201', kind: 'pull_request_merged', userId: 'alice', at: at('2026-09-07T10:00:00Z'), prNumber: 201, sha: sha('5'), attrs: { revertsPr: '200' } }),
      outcome({ id: 'pr202', kind: 'pull_request_merged', userId: 'alice', at: at('2026-09-08T10:00:00Z'), prNumber: 202, sha: sha('6'), linesAdded: 120 }),
      // Claude Code's telemetry: pull requests opened, and lines: activity, not outcomes.
      outcome({ id: 'otel-pr', kind: 'pull_request', userId: 'alice', at: at('2026-09-09T00:00:00Z'), repo: null, source: 'otel', count: 3 }),
      outcome({ id: 'otel-loc', kind: 'lines_of_code', userId: 'alice', at: at('2026-09-09T00:00:00Z'), repo: null, source: 'otel', count: 500, attrs: { type: 'added' } }),
      outcome({ id: 'b-c', kind: 'commit', userId: 'bob', at: at('2026-09-11T12:00:00Z'), sha: sha('7'), source: 'git' }),
      outcome({ id: 'k-c', kind: 'commit', userId: 'carol', at: at('2026-09-12T12:00:00Z'), sha: sha('8'), source: 'git', repo: 'github.com/acme/warehouse' }),
    ]);
    gateway = await createGateway({ config, store, now: () => NOW });
    for (const [user, team] of [['alice', 'core'], ['bob', 'core']] as const) {
      const k = newKey({ userId: user, teamId: team, projectId: null });
      await store.createKey(k.record);
      await gateway.keys.refresh();
      const res = await gateway.app.inject({ method: 'POST', url: '/api/session', headers: { 'content-type': 'application/json' }, payload: { key: k.key } });
      expect(res.statusCode, res.body).toBe(200);
      cookies[user] = String(res.headers['set-cookie']).split(';')[0]!;
    }
  });
  afterAll(async () => {
    await gateway.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const page = async (user: string, url: string) => {
    const res = await gateway.app.inject({ method: 'GET', url, headers: { cookie: cookies[user]! } });
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as { spend: { totals: { costUsd: number } }; outcomes: { available: boolean; row: OutcomeView['rows'][number] | null; reverted: number } };
  };
  const cli = async (opts: { user?: string; team?: string }): Promise<OutcomeView> =>
    JSON.parse(await outcomesReportCommand({ db, config: yaml, since: '2026-09-01', until: '2026-09-30', json: true, ...opts }, NOW)) as OutcomeView;

  it("a person's card counts what the report counts: merged PRs, reverts applied, cost on all their spend", async () => {
    const d = await page('alice', '/api/users/alice?month=2026-09');
    const report = await cli({ user: 'alice' });
    expect(d.outcomes.row).toEqual(report.rows[0]);
    expect(d.outcomes.reverted).toBe(report.reverted);
    expect(d.outcomes).toMatchObject({ available: true, reverted: 2, row: { spendUsd: 8, outcomes: { commits: 1, mergedPrs: 1, total: 2 }, costPerMergedPr: 8, costPerCommit: 8, costPerOutcome: 4 } });
    expect(d.outcomes.row?.spendUsd).toBe(d.spend.totals.costUsd);
  });

  it("a team's card is the lead's report of the team", async () => {
    const d = await page('bob', '/api/teams/core?month=2026-09');
    const report = await cli({ team: 'core' });
    expect(d.outcomes.row).toEqual(report.rows[0]);
    expect(d.outcomes).toMatchObject({ reverted: 2, row: { spendUsd: 11, outcomes: { commits: 2, mergedPrs: 1, total: 3 } } });
    // A member sees the same team figures, but for the weekly spend: days of the month are left out for her (bob and
    // dan alone besides her), and a week less the days shown would give them.
    const member = await page('alice', '/api/teams/core?month=2026-09');
    expect((member as unknown as { hidden: { days: string[] } }).hidden.days.length).toBeGreaterThan(0);
    expect(member.outcomes).toEqual({ ...d.outcomes, row: { ...d.outcomes.row, weekly: [], spendOutcomeCorrelation: null, trend: { change: null, direction: 'unknown' } } });
    // The lead's People table: each person by name with what they shipped, as each one's own report counts it.
    const people = (await page('bob', '/api/teams/core?month=2026-09')) as unknown as { users: { key: string; costUsd: number; outcomes: { total: number } | null; costPerOutcome: number | null }[] };
    expect(people.users.map((u) => [u.key, u.costUsd, u.outcomes?.total, u.costPerOutcome])).toEqual([['alice', 8, 2, 4], ['bob', 2, 1, 2], ['dan', 1, 0, null]]);
    for (const user of ['alice', 'bob', 'dan']) expect(people.users.find((u) => u.key === user)?.outcomes).toEqual((await cli({ user })).rows[0]?.outcomes);
    // A member gets no per-person rows.
    expect(((await page('alice', '/api/teams/core?month=2026-09')) as unknown as { users: unknown }).users).toBeNull();
    // Bob's own card: his commit, none of alice's reverts.
    expect((await page('bob', '/api/users/bob?month=2026-09')).outcomes).toMatchObject({ reverted: 0, row: { outcomes: { commits: 1, mergedPrs: 0 } } });
  });

  it('says so for a month with nothing counted; a month not started is not a page', async () => {
    expect((await page('alice', '/api/users/alice?month=2026-08')).outcomes).toMatchObject({ available: false, note: expect.stringMatching(/^No commits/) });
    const future = await gateway.app.inject({ method: 'GET', url: '/api/users/alice?month=2026-12', headers: { cookie: cookies['alice']! } });
    expect(future.statusCode).toBe(404);
  });
});

describe('dashboard Outcomes card and `outcomes report` in the config’s time zone', () => {
  const dir = mkdtempSync(join(tmpdir(), 'goodhart-dash-outcomes-tz-'));
  const db = join(dir, 'goodhart.db');
  const yaml = join(dir, 'goodhart.yaml');
  let store: SqliteStore;
  let gateway: Gateway;
  let cookie = '';

  beforeAll(async () => {
    writeFileSync(yaml, YAML.replace('timeZone: UTC', 'timeZone: America/Los_Angeles'));
    store = new SqliteStore(db);
    // 30 September in Los Angeles, 1 October in UTC: the spend, and a commit an hour later.
    await store.insertEvents([
      makeTestEvent({ id: 'a1', userId: 'alice', teamId: 'core', startedAt: at('2026-09-15T10:00:00Z'), costUsd: 3 }),
      makeTestEvent({ id: 'a2', userId: 'alice', teamId: 'core', startedAt: at('2026-10-01T05:00:00Z'), costUsd: 5 }),
    ]);
    await store.insertOutcomes([
      outcome({ id: 'c1', kind: 'commit', userId: 'alice', at: at('2026-09-15T11:00:00Z'), sha: sha('1'), source: 'git' }),
      outcome({ id: 'c2', kind: 'commit', userId: 'alice', at: at('2026-10-01T06:00:00Z'), sha: sha('2'), source: 'git' }),
    ]);
    gateway = await createGateway({ config: loadConfigFile(yaml), store, now: () => NOW });
    const k = newKey({ userId: 'alice', teamId: 'core', projectId: null });
    await store.createKey(k.record);
    await gateway.keys.refresh();
    const res = await gateway.app.inject({ method: 'POST', url: '/api/session', headers: { 'content-type': 'application/json' }, payload: { key: k.key } });
    cookie = String(res.headers['set-cookie']).split(';')[0]!;
  });
  afterAll(async () => {
    await gateway.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('cuts the days where the dashboard does, unless --tz says otherwise', async () => {
    const d = (await gateway.app.inject({ method: 'GET', url: '/api/users/me?month=2026-09', headers: { cookie } })).json();
    const report = async (tz?: string) =>
      JSON.parse(await outcomesReportCommand({ db, config: yaml, user: 'alice', since: '2026-09-01', until: '2026-09-30', json: true, ...(tz ? { tz } : {}) }, NOW)) as OutcomeView & { timeZone: string };
    const la = await report();
    expect(la.timeZone).toBe('America/Los_Angeles');
    expect(la.rows[0]).toMatchObject({ spendUsd: 8, outcomes: { commits: 2 } });
    expect(d.outcomes.row).toEqual(la.rows[0]);
    expect((await report('UTC')).rows[0]).toMatchObject({ spendUsd: 3, outcomes: { commits: 1 } });
    await expect(report('Mars/Olympus')).rejects.toMatchObject({ message: expect.stringMatching(/^--tz: unknown time zone/) });
    const table = await outcomesReportCommand({ db, config: yaml, user: 'alice', since: '2026-09-01', until: '2026-09-30' }, NOW);
    expect(table.split('\n')[0]).toMatch(/^Outcomes, your outcomes \(alice\), 2026-09-01 – 2026-09-30 \(America\/Los_Angeles/);
  });
});
