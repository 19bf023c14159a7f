import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../detect/types.js';
import type { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { makeTestEvent } from '../store/store-contract.js';
import { startHarness, type Harness } from '../testing/harness.js';

/**
 * A person moved to another team through the admin API, with the key they already had: new spend is booked to the
 * new team (and its budget), past spend stays with the old one, and each lead sees and opens exactly the people with
 * spend booked to their team that month, with only that spend.
 */
const ADMIN_KEY = 'admin-secret-key-0123456789';
const clock = { t: Date.parse('2026-10-20T10:00:00Z') };
let h: Harness;
const keys: Record<string, string> = {};
const cookies: Record<string, string> = {};

const chat = (who: string) =>
  new OpenAI({ baseURL: `${h.url}/v1`, apiKey: keys[who]!, maxRetries: 0 }).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
const admin = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${h.url}/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as any };
};
/** A commit recorded with alice's key, as a CI bridge or a script posts one. */
const commit = async (sha: string) => {
  const res = await fetch(`${h.url}/v1/outcomes`, {
    method: 'POST',
    headers: { authorization: `Bearer ${keys['alice']}`, 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'commit', repo: 'acme/app', sha }),
  });
  expect(res.status, await res.text()).toBeLessThan(300);
};
const get = (who: string, url: string) => h.gateway.app.inject({ method: 'GET', url, headers: { cookie: cookies[who]! } });

beforeAll(async () => {
  h = await startHarness({
    now: () => clock.t,
    config: () => ({
      timeZone: 'UTC',
      teams: [{ id: 'platform' }, { id: 'payments' }],
      users: [
        { id: 'alice', team: 'platform', role: 'member' },
        { id: 'lena', team: 'platform', role: 'lead' },
        { id: 'paul', team: 'payments', role: 'lead' },
      ],
      budgets: [
        { id: 'teams', scope: 'team:*', amount: 100, period: 'month' },
        { id: 'people', scope: 'user:*', amount: 50, period: 'month' },
      ],
      admin: { keys: [{ id: 'ops', key: ADMIN_KEY, role: 'admin' }] },
    }),
  });
  keys['alice'] = await h.addKey('alice', 'platform'); // made while she was on platform, naming it
  keys['lena'] = await h.addKey('lena', 'platform');
  keys['paul'] = await h.addKey('paul', 'payments');
  await chat('alice');
  await commit('a1a1a1a1');
  expect((await admin('PUT', '/users/alice', { id: 'alice', team: 'payments', role: 'member' })).status).toBe(200);
  clock.t = Date.parse('2026-10-20T11:00:00Z');
  await chat('alice');
  await commit('b2b2b2b2');
  clock.t = Date.parse('2026-10-20T12:00:00Z'); // pages show the month to date: up to now, exclusive
  await h.events();
  for (const who of ['alice', 'lena', 'paul']) {
    const res = await h.gateway.app.inject({ method: 'POST', url: '/api/session', headers: { 'content-type': 'application/json' }, payload: { key: keys[who] } });
    expect(res.statusCode, res.body).toBe(200);
    cookies[who] = String(res.headers['set-cookie']).split(';')[0]!;
  }
});
afterAll(async () => h.close());

describe('a person moved to another team', () => {
  it('books new spend on their old key to the new team and its budget; past spend stays where it was booked', async () => {
    const events = (await h.events()).filter((e) => e.userId === 'alice');
    expect(events.map((e) => e.teamId)).toEqual(['platform', 'payments']);
    const [before, after] = events.map((e) => e.costUsd!) as [number, number];
    expect(before).toBeGreaterThan(0);
    const status = (await admin('GET', '/status/budgets')).json.data as { scope: string; spent: number }[];
    const spent = (scope: string) => status.find((s) => s.scope === scope)?.spent;
    expect(spent('team:platform')).toBeCloseTo(before, 10);
    expect(spent('team:payments')).toBeCloseTo(after, 10);
    expect(spent('user:alice')).toBeCloseTo(before + after, 10);
  });

  it('refuses a new key naming a team other than the person’s: their usage would not go there', async () => {
    const res = await admin('POST', '/keys', { user: 'alice', team: 'platform' });
    expect(res.status).toBe(400);
    expect(res.json.error.message).toMatch(/^The directory puts alice in team payments, .*Leave out "team"/);
    expect((await admin('POST', '/keys', { user: 'alice', team: 'payments' })).status).toBe(201);
  });

  it('each lead sees and opens her for the spend booked to their team, and only that', async () => {
    const people = async (who: string, team: string) =>
      ((await get(who, `/api/teams/${team}?month=2026-10`)).json().users as { key: string; requests: number }[]).map((u) => [u.key, u.requests]);
    expect(await people('lena', 'platform')).toEqual([['alice', 1]]);
    expect(await people('paul', 'payments')).toEqual([['alice', 1]]);

    const lena = await get('lena', '/api/users/alice?month=2026-10');
    expect(lena.statusCode, lena.body).toBe(200);
    expect(lena.json()).toMatchObject({ team: 'platform', spend: { totals: { requests: 1 } } });
    // Her personal budget counts her spend on payments too: not for the lead she has left.
    expect(lena.json().budgets).toEqual([]);
    const paul = (await get('paul', '/api/users/alice?month=2026-10')).json();
    expect(paul).toMatchObject({ team: 'payments', spend: { totals: { requests: 1 } } });
    expect(paul.budgets.map((b: { scope: string }) => b.scope)).toEqual(['user:alice']);
    // She sees all of it.
    expect((await get('alice', '/api/users/me?month=2026-10')).json()).toMatchObject({ team: null, spend: { totals: { requests: 2 } } });
    // Her commits likewise: each lead's card counts the one made on their team.
    const outcomes = (body: any) => [body.outcomes.row.requests, body.outcomes.row.outcomes.commits];
    expect(outcomes(lena.json())).toEqual([1, 1]);
    expect(outcomes(paul)).toEqual([1, 1]);
    expect(outcomes((await get('alice', '/api/users/me?month=2026-10')).json())).toEqual([2, 2]);
    // A month with nothing booked to platform: not Lena's to open any more; Paul leads her now.
    expect((await get('lena', '/api/users/alice?month=2026-09')).statusCode).toBe(403);
    expect((await get('paul', '/api/users/alice?month=2026-09')).statusCode).toBe(200);
  });

  it("each lead gets her findings about her time on their team only", async () => {
    const f = (id: string, teamId: string): Finding => ({
      id, rule: 'rephrase-loop', subject: { kind: 'user', id: 'alice' }, userId: 'alice', teamId, sessionId: 's1',
      start: Date.parse('2026-10-20T09:00:00Z'), end: Date.parse('2026-10-20T09:20:00Z'),
      evidence: { counts: { requests: 6 }, ratios: {}, requestIds: [] }, wastedUsd: 1, wasteMethod: 'repeats', confidence: 0.8,
      summary: 'Asked nearly the same question 6 times.', suggestion: 'Say what was wrong with the first answer.', detectedAt: clock.t,
    });
    await (h.store as SqliteStore).findings.upsertFindings([f('f-platform', 'platform'), f('f-payments', 'payments')]);
    const ids = async (who: string, url: string) => {
      const body = (await get(who, url)).json();
      return ((body.findings.findings ?? body.findings) as { id: string }[]).map((x) => x.id).sort();
    };
    expect(await ids('lena', '/api/users/alice?month=2026-10')).toEqual(['f-platform']);
    expect(await ids('lena', '/api/findings?user=alice&month=2026-10')).toEqual(['f-platform']);
    expect((await get('lena', '/api/findings?user=alice&team=payments&month=2026-10')).statusCode).toBe(403);
    expect(await ids('paul', '/api/findings?user=alice&month=2026-10')).toEqual(['f-payments']);
    expect(await ids('alice', '/api/users/me?month=2026-10')).toEqual(['f-payments', 'f-platform']);
  });

  it("a lead's People table counts what she shipped on the lead's team, as her page does", async () => {
    const row = ((await get('lena', '/api/teams/platform?month=2026-10')).json().users as any[]).find((u) => u.key === 'alice');
    const page = (await get('lena', '/api/users/alice?month=2026-10')).json();
    expect(row.outcomes.commits).toBe(1);
    expect(row.outcomes.commits).toBe(page.outcomes.row.outcomes.commits);
    expect(row.costPerOutcome).toBe(page.outcomes.row.costPerOutcome);
  });

  it('a lead who gained her does not read her personal budget of a month before, spent on another team', async () => {
    await h.store.insertEvents([makeTestEvent({ id: 'sep-alice', userId: 'alice', teamId: 'platform', startedAt: Date.parse('2026-09-15T10:00:00Z'), costUsd: 12.34 })]);
    const paul = await get('paul', '/api/users/alice?month=2026-09');
    expect(paul.statusCode).toBe(200);
    expect(paul.json()).toMatchObject({ team: 'payments', spend: { totals: { requests: 0 } }, budgets: [] });
    // This month's, where she is now on his team, he still gets.
    expect((await get('paul', '/api/users/alice?month=2026-10')).json().budgets.map((b: { scope: string }) => b.scope)).toEqual(['user:alice']);
  });
});

describe('a lead on a past month of their team page', () => {
  it("gets no one's personal budget: alice's October was all on platform, before she joined payments", async () => {
    const lead = await startHarness({
      now: () => Date.parse('2026-11-20T12:00:00Z'),
      config: () => ({
        timeZone: 'UTC',
        teams: [{ id: 'platform' }, { id: 'payments' }],
        users: [
          { id: 'alice', team: 'payments', role: 'member' },
          { id: 'paul', team: 'payments', role: 'lead' },
        ],
        budgets: [
          { id: 'alice-cap', scope: 'user:alice', amount: 100, period: 'month' },
          { id: 'people', scope: 'user:*', amount: 50, period: 'month' },
        ],
      }),
    });
    try {
      const key = await lead.addKey('paul', 'payments');
      await lead.store.insertEvents([
        makeTestEvent({ id: 'oct', userId: 'alice', teamId: 'platform', startedAt: Date.parse('2026-10-10T10:00:00Z'), costUsd: 12.34 }),
        makeTestEvent({ id: 'nov', userId: 'alice', teamId: 'payments', startedAt: Date.parse('2026-11-10T10:00:00Z'), costUsd: 1 }),
      ]);
      const res = await lead.gateway.app.inject({ method: 'POST', url: '/api/session', headers: { 'content-type': 'application/json' }, payload: { key } });
      const cookie = String(res.headers['set-cookie']).split(';')[0]!;
      const page = async (url: string) => (await lead.gateway.app.inject({ method: 'GET', url, headers: { cookie } })).json() as Promise<{ budgets: { budget: string; spent: number | null }[] }>;
      // Her page for October gives none (she was not on payments then); nor does the team's.
      expect((await page('/api/users/alice?month=2026-10')).budgets).toEqual([]);
      expect((await page('/api/teams/payments?month=2026-10')).budgets).toEqual([]);
      // This month, while she is on payments: both, at her spend this month.
      expect((await page('/api/teams/payments')).budgets.map((b) => [b.budget, b.spent])).toEqual([['alice-cap', 1], ['people', 1]]);
    } finally {
      await lead.close();
    }
  });
});
