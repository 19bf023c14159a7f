import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importGitCommand, outcomesReportCommand } from '../cli/commands/outcomes.js';
import { makeTestEvent } from '../store/store-contract.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { importGit } from './git/import.js';
import { TestRepo } from './git/test-repo.js';
import { testConfig } from './testing.js';
import { outcomesView, viewerFromActor, type OutcomeView } from './view.js';

/**
 * End to end on a real repository: Claude Code sessions on a feature branch, the branch merged as pull request #7,
 * `import-git`, then the view each role gets.
 */
const bob = { name: 'Bob', email: 'bob@acme.com' };
const ann = { name: 'Ann', email: 'ann@acme.com' };
const since = Date.parse('2026-03-02T00:00:00Z');
const until = Date.parse('2026-03-16T00:00:00Z');
const config = testConfig({
  users: [{ id: 'ann', team: 'core' }, { id: 'bob', team: 'core' }, { id: 'kim', team: 'data' }],
  outcomes: { people: [{ user: 'ann', emails: ['ann@acme.com'] }, { user: 'bob', emails: ['bob@acme.com'] }], questionMinUsdPerWeek: 50 },
});

describe('outcomes view', () => {
  const repo = new TestRepo('git@github.com:acme/app.git');
  const dir = mkdtempSync(join(tmpdir(), 'goodhart-view-'));
  const dbPath = join(dir, 'goodhart.db');
  let store: SqliteStore;

  beforeAll(async () => {
    repo.commit('init', { author: ann, at: '2026-03-02T09:00:00Z' });
    repo.git(['checkout', '-q', '-b', 'feature/PROJ-2-search']);
    repo.commit('Search', { author: bob, at: '2026-03-03T15:00:00Z', file: 's.txt', lines: 40 });
    repo.git(['checkout', '-q', 'main']);
    repo.merge('feature/PROJ-2-search', 'Merge pull request #7 from acme/feature/PROJ-2-search', { author: ann, at: '2026-03-04T10:00:00Z' });
    store = new SqliteStore(dbPath);
    const at = (iso: string) => Date.parse(iso);
    await store.insertEvents([
      // Bob's Claude Code sessions on the branch (the importer's repo + gitBranch).
      makeTestEvent({ userId: 'bob', teamId: 'core', source: 'claude-code', repo: 'github.com/acme/app', branch: 'feature/PROJ-2-search', startedAt: at('2026-03-03T10:00:00Z'), costUsd: 6 }),
      makeTestEvent({ userId: 'bob', teamId: 'core', source: 'claude-code', repo: 'github.com/acme/app', branch: 'feature/PROJ-2-search', startedAt: at('2026-03-03T14:00:00Z'), costUsd: 4 }),
      // Kim (another team) spends heavily through the gateway with nothing linked.
      makeTestEvent({ userId: 'kim', teamId: 'data', projectId: 'warehouse', startedAt: at('2026-03-05T10:00:00Z'), costUsd: 80 }),
    ]);
    await importGit({ store, config, repos: [repo.dir] });
  });

  afterAll(async () => {
    await store.close();
    repo.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a person sees their own outcomes, the spend linked to each and how', async () => {
    const v = await outcomesView(store, config, { role: 'person', userId: 'bob' }, { since, until });
    expect(v.rows).toHaveLength(1);
    expect(v.rows[0]).toMatchObject({ subject: { kind: 'user', id: 'bob' }, spendUsd: 10, linkedUsd: 10, outcomes: { commits: 1, mergedPrs: 1 } });
    expect(v.myOutcomes.map((o) => [o.kind, o.prNumber, o.branch, o.methods])).toEqual([
      ['commit', null, null, []],
      ['pull_request_merged', 7, 'feature/PROJ-2-search', ['branch']],
    ]);
    // Both sessions were on the pull request's branch: the explicit link wins over the person's time window, so
    // all $10 goes to the pull request and none to the commit (git log does not say which branch a commit was on).
    expect(v.myOutcomes.find((o) => o.prNumber === 7)?.linkedUsd).toBe(10);
    expect(v.questions).toEqual([]);
  });

  it('kim is asked about her week; her lead only sees that the team has one question', async () => {
    const kim = await outcomesView(store, config, { role: 'person', userId: 'kim' }, { since, until });
    expect(kim.questions.map((q) => q.summary)).toEqual([
      '$80.00 of AI spend in the week of 2026-03-02 (on warehouse), 1 requests, is not linked to any commit, pull request, ticket or deployment.',
    ]);
    const lead = await outcomesView(store, config, { role: 'lead', teamId: 'data' }, { since, until });
    expect(lead.rows.map((r) => [r.subject.id, r.spendUsd, r.outcomes.total])).toEqual([['data', 80, 0]]);
    expect(lead.questions).toEqual([]);
    expect(lead.openQuestions).toEqual({ data: 1 });
    expect(lead.myOutcomes).toEqual([]);
  });

  it('an admin sees every team and the organisation in aggregate, never people', async () => {
    const v = await outcomesView(store, config, viewerFromActor({ userId: null, teamId: null, permissions: new Set(['audit']) }), { since, until });
    expect(v.rows.map((r) => `${r.subject.kind}:${r.subject.id}`)).toEqual(['team:data', 'team:core', 'org:org']);
    expect(v.rows.at(-1)).toMatchObject({ spendUsd: 90, linkedUsd: 10, outcomes: { total: 3, mergedPrs: 1 } });
    expect(v.questions).toEqual([]);
  });

  it('maps actors to viewers', () => {
    expect(viewerFromActor({ userId: 'a', teamId: 't', permissions: new Set(['approve']) })).toEqual({ role: 'lead', teamId: 't' });
    expect(viewerFromActor({ userId: 'a', teamId: 't', permissions: new Set() })).toEqual({ role: 'person', userId: 'a' });
  });

  it('goodhart outcomes report --json / import-git through the CLI entry points', async () => {
    const yaml = join(dir, 'goodhart.yaml');
    writeFileSync(yaml, 'outcomes:\n  questionMinUsdPerWeek: 100\n');
    const text = await importGitCommand([repo.dir], { db: dbPath, config: yaml });
    expect(text).toContain('github.com/acme/app (project app): new commits only');
    const json = JSON.parse(await outcomesReportCommand({ db: dbPath, config: yaml, team: 'core', since: '2026-03-02', until: '2026-03-15', json: true })) as OutcomeView;
    expect(json.rows.map((r) => [r.subject.id, r.spendUsd, r.outcomes.commits, r.outcomes.mergedPrs, r.costPerOutcome])).toEqual([['core', 10, 2, 1, 10 / 3]]);
    const table = await outcomesReportCommand({ db: dbPath, config: yaml, since: '2026-03-02', until: '2026-03-15' });
    expect(table).toContain('Outcomes, every team, 2026-03-02 – 2026-03-15');
    // With a $100 threshold Kim's $80 week raises no question.
    expect(table).toMatch(/│ data +│ \$80\.00 │ +0 │/);
    expect(table).toMatch(/│ Organisation │ \$90\.00 │ +2 │ +1 │ +1 │ +0 │ +\$30\.00 │/);
    expect(table).not.toContain('Open questions');
    // Without --since: eight weeks back from midnight, not from the current time of day.
    const recent = JSON.parse(await outcomesReportCommand({ db: dbPath, config: yaml, json: true }, Date.parse('2026-03-20T15:37:00Z'))) as { since: string; until: string };
    // ISO 8601, as `report --json` gives them.
    expect([recent.since, recent.until]).toEqual(['2026-01-23T00:00:00.000Z', '2026-03-20T15:37:00.000Z']);
    // A --since after now, without --until: said in the options' words.
    await expect(outcomesReportCommand({ db: dbPath, config: yaml, since: '2030-01-01' }, Date.parse('2026-03-20T15:37:00Z'))).rejects.toThrow('--since (2030-01-01) must be before --until, which is now when not given');
  });
});

describe('spend recorded twice: metered by the gateway and reported by telemetry', () => {
  const dir = mkdtempSync(join(tmpdir(), 'goodhart-view-twice-'));
  const db = join(dir, 'goodhart.db');
  const yaml = join(dir, 'goodhart.yaml');
  const at = (iso: string) => Date.parse(iso);
  const range = { since: '2026-03-02', until: '2026-03-16' };

  beforeAll(async () => {
    writeFileSync(yaml, 'teams: [{ id: data }]\nusers:\n  - { id: bob, team: data }\n  - { id: ann, team: data }\n  - { id: cy, team: data }\n');
    const store = new SqliteStore(db);
    const request = (id: string, userId: string, source: 'gateway' | 'otel', iso: string, costUsd: number) =>
      makeTestEvent({ id, userId, teamId: 'data', source, provider: 'anthropic', endpoint: 'messages', modelServed: 'claude-sonnet-4-5-20250929', startedAt: at(iso), costUsd, tags: source === 'otel' ? ['claude-code', 'otel-log'] : [] });
    await store.insertEvents([
      // Bob's Claude Code goes through the gateway with telemetry on: each request is metered, and reported again
      // (at Claude Code's own estimate of its cost).
      request('gw-bob-1', 'bob', 'gateway', '2026-03-03T10:00:00Z', 0.3),
      request('ot-bob-1', 'bob', 'otel', '2026-03-03T10:00:01Z', 0.31),
      request('gw-bob-2', 'bob', 'gateway', '2026-03-04T10:00:00Z', 0.2),
      request('ot-bob-2', 'bob', 'otel', '2026-03-04T10:00:01Z', 0.21),
      // Ann's goes to Anthropic directly: her telemetry is the only record of it.
      request('ot-ann-1', 'ann', 'otel', '2026-03-03T11:00:00Z', 0.4),
      // Cy went through the gateway the first week and directly the second.
      request('gw-cy-1', 'cy', 'gateway', '2026-03-05T10:00:00Z', 1),
      request('ot-cy-1', 'cy', 'otel', '2026-03-05T10:00:01Z', 1.1),
      request('ot-cy-2', 'cy', 'otel', '2026-03-10T10:00:00Z', 2),
    ]);
    await store.insertOutcomes(['bob', 'ann', 'cy'].map((u) => ({ id: `c-${u}`, kind: 'commit' as const, userId: u, teamId: 'data', repo: 'github.com/acme/app', sha: `${u}0000000`, sessionId: null, at: at('2026-03-05T12:00:00Z'), count: 1, source: 'git' as const, attrs: {} })));
    await store.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const row = async (source?: string) => {
    const view = JSON.parse(await outcomesReportCommand({ db, config: yaml, team: 'data', ...range, json: true, ...(source === undefined ? {} : { source }) })) as OutcomeView;
    const r = view.rows[0]!;
    return [Math.round(r.spendUsd * 100) / 100, r.requests, r.outcomes.commits, r.costPerCommit === null ? null : Math.round(r.costPerCommit * 100) / 100];
  };

  it("counts each person's week once, from its most detailed record: the gateway's where it metered, else telemetry", async () => {
    // bob 0.5 (gateway), ann 0.4 (telemetry), cy 1 (gateway, first week) + 2 (telemetry, second week).
    expect(await row()).toEqual([3.9, 5, 3, 1.3]);
  });

  it('reads one source with --source, and names the sources for one it does not know', async () => {
    expect(await row('gateway')).toEqual([1.5, 3, 3, 0.5]);
    expect(await row('otel')).toEqual([4.02, 5, 3, 1.34]);
    await expect(row('telemetry')).rejects.toThrow(/--source: unknown source "telemetry"\. Use one of: gateway, /);
  });
});
