import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../testing/harness.js';
import { configSchema } from '../config/schema.js';
import { createGateway } from '../gateway/server.js';
import { EventWriter } from '../store/event-writer.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { makeTestEvent } from '../store/store-contract.js';
import type { Finding } from '../detect/types.js';
import type { UsageAggregate } from '../store/types.js';
import { monthRange, smallGroupNote } from './views.js';

/**
 * The dashboard API through the real gateway (fastify inject): sign-in, the session cookie, and what each role may
 * see, enforced by the server.
 */
const NOW = Date.parse('2026-10-20T12:00:00Z');
const at = (iso: string): number => Date.parse(iso);
let h: Harness;
const keys: Record<string, string> = {};

beforeAll(async () => {
  h = await startHarness({
    now: () => NOW,
    // The key cache hears of no revocation during these tests: sign-in must ask the store itself.
    keyRefreshMs: 3_600_000,
    config: () => ({
      timeZone: 'UTC',
      // ops: declared, nobody in it yet and no usage.
      teams: [{ id: 'core' }, { id: 'data' }, { id: 'ops' }],
      users: [
        { id: 'alice', team: 'core', role: 'member' },
        { id: 'bob', team: 'core', role: 'lead' },
        { id: 'carol', team: 'data', role: 'member' },
        { id: 'fin', role: 'finance' },
        { id: 'dave', team: 'data', role: 'member' },
      ],
      budgets: [
        { id: 'org-month', scope: 'org', amount: 1000, period: 'month' },
        { id: 'core-month', scope: 'team:core', amount: 50, period: 'month' },
        { id: 'per-user', scope: 'user:*', amount: 30, period: 'month' },
        { id: 'per-team', scope: 'team:*', amount: 80, period: 'month' },
      ],
      tiers: { standard: ['gpt-4o-mini*'], premium: ['gpt-4o', 'gpt-4o-2*'] },
    }),
  });
  keys['alice'] = h.key; // the harness's own key: alice, team platform → re-created below for core
  for (const [user, team] of [['alice', 'core'], ['bob', 'core'], ['carol', 'data'], ['fin', null], ['dave', 'data']] as const) {
    keys[user] = await h.addKey(user, team ?? undefined);
  }
  await h.store.insertEvents([
    makeTestEvent({ id: 'a1', userId: 'alice', teamId: 'core', startedAt: at('2026-10-02T10:00:00Z'), costUsd: 4 }),
    makeTestEvent({ id: 'a2', userId: 'alice', teamId: 'core', startedAt: at('2026-10-19T10:00:00Z'), costUsd: 6 }),
    makeTestEvent({ id: 'b1', userId: 'bob', teamId: 'core', startedAt: at('2026-10-05T10:00:00Z'), costUsd: 2, modelServed: 'claude-sonnet-4', provider: 'anthropic' }),
    makeTestEvent({ id: 'c1', userId: 'carol', teamId: 'data', startedAt: at('2026-10-05T11:00:00Z'), costUsd: 20 }),
    makeTestEvent({ id: 'old', userId: 'carol', teamId: 'data', startedAt: at('2026-09-30T23:00:00Z'), costUsd: 100 }),
  ]);
});
afterAll(async () => h.close());

async function signIn(user: string): Promise<string> {
  const res = await h.gateway.app.inject({ method: 'POST', url: '/api/session', headers: { 'content-type': 'application/json' }, payload: { key: keys[user] } });
  expect(res.statusCode, res.body).toBe(200);
  const cookie = String(res.headers['set-cookie']);
  expect(cookie).toMatch(/^gh_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=86400$/);
  return cookie.split(';')[0]!;
}

const get = (cookie: string, url: string) => h.gateway.app.inject({ method: 'GET', url, headers: { cookie } });

describe('dashboard API', () => {
  it('refuses without a session, and a wrong key at sign-in', async () => {
    expect((await h.gateway.app.inject({ method: 'GET', url: '/api/me' })).statusCode).toBe(401);
    // The page's check on load: not signed in is an answer, not an error.
    const session = await h.gateway.app.inject({ method: 'GET', url: '/api/session' });
    expect([session.statusCode, session.json()]).toEqual([200, { signedIn: false }]);
    const bad = await h.gateway.app.inject({ method: 'POST', url: '/api/session', headers: { 'content-type': 'application/json' }, payload: { key: 'gh_not_a_real_key_000000' } });
    expect(bad.statusCode).toBe(401);
    // A blank or clipped key gets a sentence, not a schema's words.
    const signIn400 = async (payload: unknown) => {
      const res = await h.gateway.app.inject({ method: 'POST', url: '/api/session', headers: { 'content-type': 'application/json' }, payload: payload as object });
      return [res.statusCode, (res.json() as { error: { message: string } }).error.message];
    };
    expect(await signIn400({ key: '' })).toEqual([400, 'Enter your Goodhart key (the gh_… key your tools use, or an admin key).']);
    expect(await signIn400({ key: '   ' })).toEqual([400, 'Enter your Goodhart key (the gh_… key your tools use, or an admin key).']);
    expect(await signIn400({})).toEqual([400, 'Enter your Goodhart key (the gh_… key your tools use, or an admin key).']);
    expect(await signIn400({ key: 'gh_ab' })).toEqual([400, 'That is too short to be a Goodhart key: paste the whole key (gh_ and 32 characters), or an admin key.']);
    // A form post (not JSON) or another origin cannot sign in or act.
    const form = await h.gateway.app.inject({ method: 'POST', url: '/api/session', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'key=x' });
    // (The body parser already refuses what is not JSON; the route would answer 415.)
    expect([400, 415]).toContain(form.statusCode);
    expect(form.headers['set-cookie']).toBeUndefined();
    const cross = await h.gateway.app.inject({ method: 'POST', url: '/api/session', headers: { 'content-type': 'application/json', origin: 'https://evil.example', host: 'localhost' }, payload: { key: keys['alice'] } });
    expect(cross.statusCode).toBe(403);
  });

  it('a member sees their own detail and their team in aggregate, and gets 403 on anyone else', async () => {
    const alice = await signIn('alice');
    const me = (await get(alice, '/api/me')).json();
    expect(me).toMatchObject({ user: 'alice', team: 'core', role: 'member', scope: 'self', can: { org: false, approve: false, teams: ['core'] } });
    const own = (await get(alice, '/api/users/me')).json();
    expect(own.spend.totals.costUsd).toBe(10);
    expect(own.spend.daily.values[1]).toBe(4); // 2 October
    expect(own.budgets.map((b: { scope: string; spent: number }) => [b.scope, b.spent])).toEqual([['user:alice', 10]]);
    expect((await get(alice, '/api/users/bob')).statusCode).toBe(403);
    expect((await get(alice, '/api/users/carol')).statusCode).toBe(403);
    expect((await get(alice, '/api/org')).statusCode).toBe(403);
    expect((await get(alice, '/api/teams/data')).statusCode).toBe(403);
    expect((await get(alice, '/api/findings?user=bob')).statusCode).toBe(403);
    // Only bob used core besides her this month: core's totals less her own would be bob's, so they are withheld
    // (dashboard.minGroupSize 3: her and two others). Its budgets she sees, as each request of hers is told them.
    const team = (await get(alice, '/api/teams/core')).json();
    expect(team).toMatchObject({ detail: false, spend: null, models: null, users: null, findings: null, outcomes: null, routing: null });
    // core has two people: no month will ever have two besides her, so the page does not suggest waiting for one.
    expect(team.withheld).toMatch(/^Your team has 2 people \(you included\), and a member sees a team's totals only in a month when at least 2 people besides them used its AI \(dashboard.minGroupSize 3\), so they stay withheld unless more people join the team/);
    expect(team.withheld).not.toMatch(/once|this month/);
    expect(team.budgets.map((b: { budget: string; scope: string }) => `${b.budget} ${b.scope}`)).toEqual(['core-month team:core', 'per-team team:core']);
    // ...as their standing only: core's $12 less her $10 would be bob's $2, and her requests are told her tighter
    // personal cap, not core's. Nor /api/budgets, where she gets core's too.
    const standing = (b: Record<string, unknown>) => [b['scope'], b['amount'], b['spent'], b['usedPercent'], b['projection'], b['standing'], b['windowEnd']];
    const reset = Date.parse('2026-11-01T00:00:00Z');
    expect(team.budgets.map(standing)).toEqual([['team:core', null, null, null, null, 'on track', reset], ['team:core', null, null, null, null, 'on track', reset]]);
    const all = (await get(alice, '/api/budgets')).json().data as Record<string, unknown>[];
    expect(all.filter((b) => b['scope'] === 'team:core').map(standing)).toEqual(team.budgets.map(standing));
    expect(all.find((b) => b['scope'] === 'user:alice')).toMatchObject({ spent: 10 });
    // bob leads core: he gets the amounts.
    expect((await get(await signIn('bob'), '/api/teams/core')).json().budgets.find((b: { budget: string }) => b.budget === 'core-month')).toMatchObject({ amount: 50, spent: 12 });
  });

  it("shows a member their team's totals only when at least two people besides them used it that month", async () => {
    // dave has not used data's AI; carol has: data's totals would be carol's $20, her requests and her model mix.
    const dave = await signIn('dave');
    const alone = (await get(dave, '/api/teams/data')).json();
    expect([alone.spend, alone.models, alone.routing, JSON.stringify(alone).includes('"costUsd":20')]).toEqual([null, null, null, false]);
    expect(alone.withheld).toContain('Your team has 2 people (you included)');
    expect(smallGroupNote([{ key: 'carol', costUsd: 20 }] as UsageAggregate[], 'dave', 3, monthRange('2026-10', NOW, 'UTC'), NOW)).toContain('fewer did this month');
    // September: nobody used it. The same rule, per month shown; on a team of three or more, waiting may help.
    expect(smallGroupNote([], 'dave', 3, monthRange('2026-09', NOW, 'UTC'), NOW, 0.85, new Set(['carol', 'dave', 'erin']))).toContain('fewer did in September 2026');
    const store = h.store as SqliteStore;
    // erin $5, carol $20: carol is 80% of what dave's colleagues spent, under dashboard.maxShare's 85%.
    const erin = [makeTestEvent({ id: 'erin1', source: 'claude-code', userId: 'erin', teamId: 'data', startedAt: at('2026-10-12T09:00:00Z'), costUsd: 5 })];
    await store.commitImportBatch({ events: erin, states: [] });
    try {
      // carol and erin besides him: the totals are of two people at least.
      const shown = (await get(dave, '/api/teams/data')).json();
      expect([shown.withheld, shown.spend.totals.costUsd, shown.users]).toEqual([null, 25, null]);
      // carol still does not: erin is the only other who used it (dave did not). With erin, data has three
      // people: a month in which dave uses it too would show the totals, so waiting is the advice.
      expect((await get(await signIn('carol'), '/api/teams/data')).json().withheld).toContain('fewer did this month');
    } finally {
      await store.commitImportBatch({ events: [], states: [], drop: erin.map((e) => e.id) });
    }
    // A lead and finance see the team whatever its size.
    expect((await get(await signIn('bob'), '/api/teams/core')).json()).toMatchObject({ withheld: null, spend: { totals: { costUsd: 12 } } });
    expect((await get(await signIn('fin'), '/api/teams/data')).json()).toMatchObject({ withheld: null, spend: { totals: { costUsd: 20 } } });
    // dashboard.minGroupSize sets the size: 2 lets a member see one colleague's figures, 1 turns the rule off.
    const oct = monthRange('2026-10', NOW, 'UTC');
    const rows = [{ key: 'carol', costUsd: 20 }, { key: '(none)', costUsd: 5 }] as UsageAggregate[];
    expect([3, 2, 1].map((n) => smallGroupNote(rows, 'dave', n, oct, NOW) === null)).toEqual([false, true, true]);
    // dashboard.maxShare: one of three others with 90% of their spend is as good as alone; 1 turns the rule off.
    const three = [{ key: 'carol', costUsd: 18 }, { key: 'erin', costUsd: 1 }, { key: 'fay', costUsd: 1 }] as UsageAggregate[];
    expect([0.85, 0.9, 1].map((share) => smallGroupNote(three, 'dave', 3, oct, NOW, share) === null)).toEqual([false, true, true]);
    expect(configSchema.parse({}).dashboard).toEqual({ minGroupSize: 3, maxShare: 0.85 });
    expect(() => configSchema.parse({ dashboard: { minGroupSize: 0 } })).toThrow();
  });

  it('says how much of the spend shown is imported, which budgets (gateway traffic) do not count', async () => {
    const store = h.store as SqliteStore;
    // erin's $1 (imported too) makes core a team of three this month, whose totals alice may see.
    const imported = [
      makeTestEvent({ id: 'imp1', source: 'claude-code', userId: 'alice', teamId: 'core', startedAt: at('2026-10-20T09:00:00Z'), costUsd: 40 }),
      makeTestEvent({ id: 'imp-erin', source: 'claude-code', userId: 'erin', teamId: 'core', startedAt: at('2026-10-20T09:30:00Z'), costUsd: 1 }),
    ];
    await store.commitImportBatch({ events: imported, states: [] });
    try {
      const alice = await signIn('alice');
      const team = (await get(await signIn('bob'), '/api/teams/core')).json();
      // $12 through the gateway and $41 imported: the spend is $53, the team's budgets stay at the gateway's $12.
      expect([team.spend.totals.costUsd, team.spend.importedUsd]).toEqual([53, 41]);
      expect(team.budgets.filter((b: { scope: string }) => b.scope === 'team:core').map((b: { budget: string; spent: number }) => [b.budget, b.spent])).toEqual([['core-month', 12], ['per-team', 12]]);
      // alice, a member: erin alone besides her imported ($41 less her $40), and bob alone used the gateway ($12 less
      // her $10). The split is left out, and the team's budgets (gateway spend) are shown as their standing only.
      const hers = (await get(alice, '/api/teams/core')).json();
      expect([hers.spend.totals.costUsd, hers.spend.importedUsd, hers.hidden.imported]).toEqual([53, null, true]);
      expect(hers.budgets.map((b: { budget: string; spent: number | null; standing?: string }) => [b.budget, b.spent, b.standing])).toEqual([['core-month', null, 'on track'], ['per-team', null, 'on track']]);
      const listed = (await get(alice, '/api/budgets')).json().data.filter((b: { scope: string }) => b.scope === 'team:core');
      expect(listed.map((b: { spent: number | null }) => b.spent)).toEqual([null, null]);
      expect((await get(alice, '/api/users/me')).json().spend).toMatchObject({ totals: { costUsd: 50 }, importedUsd: 40 });
      expect((await get(await signIn('fin'), '/api/org')).json().spend).toMatchObject({ totals: { costUsd: 73 }, importedUsd: 41 });
      expect((await get(await signIn('fin'), '/api/teams/data')).json().spend.importedUsd).toBe(0);
    } finally {
      await store.commitImportBatch({ events: [], states: [], drop: imported.map((e) => e.id) });
    }
  });

  it("a member gets their team's budgets as their standing only when the budget's spend less theirs is one colleague's", async () => {
    const alice = await signIn('alice');
    // A third person on core (imported usage: budgets count the gateway's alone), so core is not withheld from her;
    // but bob alone besides her used the gateway: the team budget's spend less hers would be his. (A member who may
    // see it sees the team's spend, not their own: small-team.test.ts.)
    const store = h.store as SqliteStore;
    const erin = [makeTestEvent({ id: 'erin-core', source: 'claude-code', userId: 'erin', teamId: 'core', startedAt: at('2026-10-12T09:00:00Z'), costUsd: 3 })];
    await store.commitImportBatch({ events: erin, states: [] });
    try {
      const listed = (await get(alice, '/api/budgets')).json();
      const spent = Object.fromEntries(listed.data.map((b: { scope: string; spent: number }) => [b.scope, b.spent]));
      // alice spent $10 of core's $12 through the gateway this month (bob $2).
      expect([spent['team:core'], spent['user:alice']]).toEqual([null, 10]);
      expect(listed.data.filter((b: { scope: string }) => b.scope === 'team:core').map((b: { budget: string; standing: string }) => [b.budget, b.standing]).sort()).toEqual([
        ['core-month', 'on track'],
        ['per-team', 'on track'],
      ]);
    } finally {
      await store.commitImportBatch({ events: [], states: [], drop: erin.map((e) => e.id) });
    }
  });

  it('a person who has not spent yet still sees the per-person budget that applies to them', async () => {
    const dave = await signIn('dave');
    const own = (await get(dave, '/api/users/me')).json();
    expect(own.budgets.map((b: { scope: string; spent: number; amount: number }) => [b.scope, b.spent, b.amount])).toEqual([['user:dave', 0, 30]]);
    const listed = (await get(dave, '/api/budgets')).json();
    expect(listed.data.map((b: { scope: string }) => b.scope)).toContain('user:dave');
  });

  it("a person's suggestions name the month the page shows, not the digest's week", async () => {
    const f = (id: string, day: string): Finding => ({
      id, rule: 'rephrase-loop', subject: { kind: 'user', id: 'alice' }, userId: 'alice', teamId: 'core', sessionId: 's1',
      start: at(`2026-09-${day}T09:00:00Z`), end: at(`2026-09-${day}T09:20:00Z`),
      evidence: { counts: { requests: 6 }, ratios: {}, requestIds: [] }, wastedUsd: 1, wasteMethod: 'repeats', confidence: 0.8,
      summary: 'Asked nearly the same question 6 times.', suggestion: 'Say what was wrong with the first answer.', detectedAt: NOW,
    });
    await (h.store as SqliteStore).findings.upsertFindings([f('s16', '16'), f('s24', '24'), f('s25', '25')]);
    const alice = await signIn('alice');
    const sept = (await get(alice, '/api/users/me?month=2026-09')).json();
    expect(sept.suggestions[0].text).toContain('(rephrase-loop: 3 times in September 2026, about $3.00 avoidable;');
    const oct = (await get(alice, '/api/users/me?month=2026-10')).json();
    expect(oct.suggestions[0].text).toBe('No waste patterns were detected in your usage this month: nothing to change on that front.');
  });

  it('a lead sees their team and its people, not another team', async () => {
    const bob = await signIn('bob');
    const team = (await get(bob, '/api/teams/core')).json();
    expect(team.users.map((u: { key: string; costUsd: number }) => [u.key, u.costUsd])).toEqual([
      ['alice', 10],
      ['bob', 2],
    ]);
    expect(team.budgets.map((b: { scope: string }) => b.scope).sort()).toEqual(['team:core', 'team:core', 'user:alice', 'user:bob']);
    expect((await get(bob, '/api/users/alice')).statusCode).toBe(200);
    expect((await get(bob, '/api/users/carol')).statusCode).toBe(403);
    // Alice's page, read by her lead, speaks of alice; her own speaks to her.
    const texts = (page: { suggestions: { text: string }[] }) => page.suggestions.map((x) => x.text).join(' ');
    const asLead = texts((await get(bob, '/api/users/alice')).json());
    expect(asLead).toMatch(/alice’s/);
    expect(asLead).not.toMatch(/\byour?\b/i);
    expect(texts((await get(await signIn('alice'), '/api/users/me')).json())).toMatch(/\byour\b/);
    // Someone known only by their imported events (an import's identities), listed on the team page, can be opened
    // from it; one on another team cannot. (Removed again: the other tests count this month's events.)
    const store = h.store as SqliteStore;
    const imported = [
      makeTestEvent({ id: 'i1', source: 'claude-code', userId: 'imported-ivy', teamId: 'core', startedAt: at('2026-10-20T10:00:00Z'), costUsd: 1 }),
      makeTestEvent({ id: 'i2', source: 'claude-code', userId: 'imported-olaf', teamId: 'data', startedAt: at('2026-10-20T10:00:00Z'), costUsd: 1 }),
    ];
    await store.commitImportBatch({ events: imported, states: [] });
    try {
      expect((await get(bob, '/api/teams/core')).json().users.map((u: { key: string }) => u.key)).toContain('imported-ivy');
      expect((await get(bob, '/api/users/imported-ivy')).statusCode).toBe(200);
      expect((await get(bob, '/api/users/imported-olaf')).statusCode).toBe(403);
    } finally {
      await store.commitImportBatch({ events: [], states: [], drop: imported.map((e) => e.id) });
    }
    expect((await get(bob, '/api/teams/data')).statusCode).toBe(403);
    expect((await get(bob, '/api/org')).statusCode).toBe(403);
  });

  it("follows the directory's team, not the team stamped on the key, for what a lead sees", async () => {
    // A key made with --team data for bob, whom the directory lists as core's lead (moved, or a typo at creation).
    keys['bob-old'] = await h.addKey('bob', 'data');
    const bob = await (async () => {
      const res = await h.gateway.app.inject({ method: 'POST', url: '/api/session', headers: { 'content-type': 'application/json' }, payload: { key: keys['bob-old'] } });
      expect(res.statusCode).toBe(200);
      return String(res.headers['set-cookie']).split(';')[0]!;
    })();
    expect((await get(bob, '/api/teams/core')).json().users.map((u: { key: string }) => u.key)).toEqual(['alice', 'bob']);
    expect((await get(bob, '/api/teams/data')).statusCode).toBe(403);
    expect((await get(bob, '/api/users/carol')).statusCode).toBe(403);
  });

  it('finance sees the organisation, with the forecast against the org budget', async () => {
    const fin = await signIn('fin');
    // The navigation offers every declared team, ops too (no member, no usage yet).
    expect((await get(fin, '/api/me')).json().can.teams).toEqual(['core', 'data', 'ops']);
    const org = (await get(fin, '/api/org?month=2026-10')).json();
    expect(org.spend.totals.costUsd).toBe(32);
    expect(org.teams.map((t: { key: string; costUsd: number }) => [t.key, t.costUsd])).toEqual([
      ['data', 20],
      ['core', 12],
    ]);
    expect(org.budgets).toMatchObject([{ budget: 'org-month', scope: 'org', spent: 32, amount: 1000 }]);
    expect(org.spend.forecast.projected).toBeGreaterThan(32);
    expect((await get(fin, '/api/users/carol')).statusCode).toBe(200);
    // Nobody by that name: a 404 that says so, not a page of zeros; a declared team with no usage yet is a page.
    for (const [url, message] of [
      ['/api/users/nosuch', 'Nobody called nosuch is in the directory, on a key or in the usage.'],
      ['/api/teams/nosuch', 'No team nosuch is declared, on a key or in the usage.'],
    ]) {
      const res = await get(fin, url!);
      expect([res.statusCode, res.json().error.message], url).toEqual([404, message]);
    }
    expect((await get(fin, '/api/teams/ops')).statusCode).toBe(200);
    const sept = (await get(fin, '/api/org?month=2026-09')).json();
    expect([sept.spend.totals.costUsd, sept.spend.forecast]).toEqual([100, null]);
    expect((await get(fin, '/api/org?month=October')).statusCode).toBe(400);
    // A month not begun has no data, nor a budget window of its own: it says so rather than show this month's.
    for (const url of ['/api/org?month=2026-11', '/api/teams/core?month=2027-01', '/api/users/carol?month=2027-01', '/api/findings?month=2027-01']) {
      const res = await get(fin, url);
      expect([res.statusCode, res.json().error.message], url).toEqual([404, `${url.slice(-7)} has not begun: there is no data for it yet. The latest month is 2026-10.`]);
    }
    // A month that is not one says so in the page's terms, not the command line's (--tz, YYYY-MM-DD).
    for (const bad of ['2026-13', '1969-12']) {
      const res = await get(fin, `/api/org?month=${bad}`);
      expect([res.statusCode, res.json().error.message]).toEqual([400, `month=${bad} is not a month: use YYYY-MM, e.g. 2026-10.`]);
    }
  });

  it('carries requests to models with no known price through the mix rows, not as $0 spend', async () => {
    // August: no other test reads it.
    await h.store.insertEvents([
      makeTestEvent({ id: 'u1', userId: 'alice', teamId: 'core', startedAt: at('2026-08-03T10:00:00Z'), costUsd: null, modelRequested: 'claude-future-9', modelServed: 'claude-future-9', provider: 'anthropic' }),
      makeTestEvent({ id: 'u2', userId: 'alice', teamId: 'core', startedAt: at('2026-08-04T10:00:00Z'), costUsd: 3 }),
    ]);
    const org = (await get(await signIn('fin'), '/api/org?month=2026-08')).json();
    expect(org.models.map((m: { key: string; requests: number; costUsd: number; unpricedRequests: number }) => [m.key, m.requests, m.costUsd, m.unpricedRequests]).sort()).toEqual([
      ['claude-future-9', 1, 0, 1],
      ['gpt-4o-2024-08-06', 1, 3, 0],
    ]);
    expect(org.teams).toEqual([{ key: 'core', requests: 2, costUsd: 3, unpricedRequests: 1 }]);
    expect([org.spend.totals.costUsd, org.spend.totals.requests, org.spend.totals.unpricedRequests]).toEqual([3, 2, 1]);
    const team = (await get(await signIn('bob'), '/api/teams/core?month=2026-08')).json();
    expect(team.users).toMatchObject([{ key: 'alice', requests: 2, costUsd: 3, unpricedRequests: 1 }]);
  });

  it('a lead approves a team member’s access request; a member cannot', async () => {
    const request = await h.gateway.app.inject({
      method: 'POST',
      url: '/admin/v1/access-requests',
      headers: { authorization: `Bearer ${keys['alice']}`, 'content-type': 'application/json' },
      payload: { tier: 'premium', justification: 'Refactoring the billing engine needs the big model' },
    });
    expect(request.statusCode, request.body).toBe(201);
    const id = request.json().id as string;
    const alice = await signIn('alice');
    const post = (cookie: string, url: string) => h.gateway.app.inject({ method: 'POST', url, headers: { cookie, 'content-type': 'application/json' }, payload: {} });
    expect((await post(alice, `/api/access-requests/${id}/approve`)).statusCode).toBe(403);
    const bob = await signIn('bob');
    const listed = (await get(bob, '/api/access-requests')).json();
    expect(listed.data.map((r: { id: string; status: string }) => [r.id, r.status])).toContainEqual([id, 'pending']);
    const approved = await post(bob, `/api/access-requests/${id}/approve`);
    expect(approved.statusCode, approved.body).toBe(200);
    expect(approved.json()).toMatchObject({ id, status: 'approved', decidedBy: 'user:bob' });
  });

  it('ends the session on sign-out and when the key is revoked', async () => {
    const carol = await signIn('carol');
    expect((await get(carol, '/api/me')).statusCode).toBe(200);
    expect((await get(carol, '/api/session')).json()).toMatchObject({ signedIn: true, me: { user: 'carol', team: 'data' } });
    await h.gateway.app.inject({ method: 'DELETE', url: '/api/session', headers: { cookie: carol } });
    expect((await get(carol, '/api/me')).statusCode).toBe(401);
    expect((await get(carol, '/api/session')).json()).toEqual({ signedIn: false });
    const again = await signIn('carol');
    const key = (await h.store.listKeys()).find((k) => k.userId === 'carol')!;
    await h.store.revokeKey(key.id, NOW);
    expect((await get(again, '/api/session')).json()).toEqual({ signedIn: false });
    expect((await get(again, '/api/me')).statusCode).toBe(401);
    // Nor can it sign in again, though the gateway's key cache has not heard of the revocation.
    const retry = await h.gateway.app.inject({ method: 'POST', url: '/api/session', headers: { 'content-type': 'application/json' }, payload: { key: keys['carol'] } });
    expect(retry.statusCode, retry.body).toBe(401);
    expect(retry.headers['set-cookie']).toBeUndefined();
  });

  it('keeps a session across a restart of the gateway (sessions live in the SQLite file)', async () => {
    const cookie = await signIn('bob');
    // A second gateway on the same file stands in for the restarted one (it has no memory of the first).
    const config = configSchema.parse({ providers: { openai: { type: 'openai', baseUrl: `${h.sim.url}/v1`, apiKey: 'sk-sim-openai' } } });
    const restarted = await createGateway({ config, store: h.store, events: new EventWriter(h.store), now: () => NOW + 3_600_000 });
    try {
      const me = await restarted.app.inject({ method: 'GET', url: '/api/me', headers: { cookie } });
      expect(me.statusCode, me.body).toBe(200);
      expect(me.json()).toMatchObject({ user: 'bob' });
      // Signed out through the new one, the session is gone for the old one too.
      expect((await restarted.app.inject({ method: 'DELETE', url: '/api/session', headers: { cookie } })).statusCode).toBe(204);
      expect((await get(cookie, '/api/me')).statusCode).toBe(401);
    } finally {
      await restarted.close();
    }
  });

  it('gives an admin key’s session the role the config gives the key now, not the one it signed in with', async () => {
    const ADMIN = 'gh_admin_test_0123456789abcdef0123456789';
    const gateway = (role: 'admin' | 'finance') =>
      createGateway({
        config: configSchema.parse({
          providers: { openai: { type: 'openai', baseUrl: `${h.sim.url}/v1`, apiKey: 'sk-sim-openai' } },
          users: [
            { id: 'alice', team: 'core', role: 'member' },
            { id: 'erin', team: 'core', role: 'member' },
          ],
          teams: [{ id: 'core' }],
          tiers: { standard: ['gpt-4o-mini*'], premium: ['gpt-4o', 'gpt-4o-2*'] },
          admin: { keys: [{ id: 'ops', key: ADMIN, role }] },
        }),
        store: h.store,
        events: new EventWriter(h.store),
        now: () => NOW,
      });
    const before = await gateway('admin');
    let cookie: string;
    try {
      const res = await before.app.inject({ method: 'POST', url: '/api/session', headers: { 'content-type': 'application/json' }, payload: { key: ADMIN } });
      expect(res.statusCode, res.body).toBe(200);
      cookie = String(res.headers['set-cookie']).split(';')[0]!;
      expect((await before.app.inject({ method: 'GET', url: '/api/me', headers: { cookie } })).json()).toMatchObject({ role: 'admin', can: { approve: true } });
    } finally {
      await before.close();
    }
    // The config demotes the key to finance; the gateway restarts (the session lives in the database).
    const after = await gateway('finance');
    // Someone who has not got premium yet (alice was granted it above: asking again is refused).
    keys['erin'] = await h.addKey('erin', 'core');
    try {
      const request = await after.app.inject({
        method: 'POST',
        url: '/admin/v1/access-requests',
        headers: { authorization: `Bearer ${keys['erin']}`, 'content-type': 'application/json' },
        payload: { tier: 'premium', justification: 'Evaluating the larger model for code review' },
      });
      expect(request.statusCode, request.body).toBe(201);
      expect((await after.app.inject({ method: 'GET', url: '/api/me', headers: { cookie } })).json()).toMatchObject({ actor: 'admin-key:ops', role: 'finance', can: { approve: false } });
      const approve = await after.app.inject({ method: 'POST', url: `/api/access-requests/${request.json().id}/approve`, headers: { cookie, 'content-type': 'application/json' }, payload: {} });
      expect([approve.statusCode, approve.json().error.message]).toEqual([403, expect.stringContaining('role "finance"')]);
    } finally {
      await after.close();
    }
  });

  it('marks the session cookie Secure behind a TLS proxy only when server.trustProxy trusts the proxy', async () => {
    const forwarded = { 'content-type': 'application/json', 'x-forwarded-proto': 'https' };
    // The harness's gateway trusts no proxy: any client could send the header.
    const untrusted = await h.gateway.app.inject({ method: 'POST', url: '/api/session', headers: forwarded, payload: { key: keys['dave'] } });
    expect(String(untrusted.headers['set-cookie'])).not.toContain('Secure');
    for (const [trustProxy, secure] of [[true, true], [['127.0.0.1'], true], [['10.0.0.0/8'], false]] as const) {
      const config = configSchema.parse({ server: { trustProxy }, providers: { openai: { type: 'openai', baseUrl: `${h.sim.url}/v1`, apiKey: 'sk-sim-openai' } } });
      const proxied = await createGateway({ config, store: h.store, events: new EventWriter(h.store), now: () => NOW });
      try {
        // inject() connects from 127.0.0.1, as nginx on the same host would.
        const res = await proxied.app.inject({ method: 'POST', url: '/api/session', headers: forwarded, payload: { key: keys['dave'] } });
        expect(res.statusCode, res.body).toBe(200);
        const cookie = String(res.headers['set-cookie']);
        expect([trustProxy, cookie.endsWith('; Secure')]).toEqual([trustProxy, secure]);
        const out = await proxied.app.inject({ method: 'DELETE', url: '/api/session', headers: { cookie: cookie.split(';')[0]!, 'x-forwarded-proto': 'https' } });
        expect([trustProxy, String(out.headers['set-cookie']).endsWith('; Secure')]).toEqual([trustProxy, secure]);
        // Plain HTTP through the same trusted proxy: not Secure (the browser would not send it back).
        const plain = await proxied.app.inject({ method: 'POST', url: '/api/session', headers: { 'content-type': 'application/json', 'x-forwarded-proto': 'http' }, payload: { key: keys['dave'] } });
        expect(String(plain.headers['set-cookie'])).not.toContain('Secure');
      } finally {
        await proxied.close();
      }
    }
    expect(() => configSchema.parse({ server: { trustProxy: ['10.0.0.300'] } })).toThrow(/CIDR range/);
    expect(() => configSchema.parse({ server: { trustProxy: ['10.0.0.0/33'] } })).toThrow(/CIDR range/);
  });

  it('serves the page with a strict content security policy', async () => {
    const page = await h.gateway.app.inject({ method: 'GET', url: '/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.body).toContain('/assets/app.js');
    const js = await h.gateway.app.inject({ method: 'GET', url: '/assets/app.js' });
    expect(js.statusCode).toBe(200);
    expect(js.body.length).toBeGreaterThan(50_000); // Chart.js is bundled in
  });
});
