import { afterEach, expect, it } from 'vitest';
import { startHarness, type Harness } from '../testing/harness.js';
import { makeTestEvent } from '../store/store-contract.js';
import type { UsageEvent } from '../usage/event.js';

/**
 * dashboard.minGroupSize and dashboard.maxShare: what a member of a small team can subtract their way to. Each
 * case is a team where alice (member, the viewer) and bob used the AI, and carol next to nothing.
 */
const open: Harness[] = [];
afterEach(async () => {
  for (const h of open.splice(0)) await h.close();
});

async function member(now: number, events: Parameters<Harness['store']['insertEvents']>[0], more: { budgets?: { id: string; scope: string; amount: number; period: 'day' | 'week' | 'month' }[]; users?: string[] } = {}) {
  const users = more.users ?? ['alice', 'bob', 'carol'];
  const h = await startHarness({
    now: () => now,
    config: () => ({ timeZone: 'UTC', teams: [{ id: 'core' }], users: users.map((id) => ({ id, team: 'core', role: 'member' })), ...(more.budgets ? { budgets: more.budgets } : {}) }),
  });
  open.push(h);
  const key = await h.addKey('alice', 'core');
  await h.store.insertEvents(events);
  const res = await h.gateway.app.inject({ method: 'POST', url: '/api/session', headers: { 'content-type': 'application/json' }, payload: { key } });
  expect(res.statusCode, res.body).toBe(200);
  const cookie = String(res.headers['set-cookie']).split(';')[0]!;
  return (url: string) => h.gateway.app.inject({ method: 'GET', url, headers: { cookie } }).then((r) => r.json());
}

const ev = (id: string, userId: string, iso: string, costUsd: number, more: Partial<UsageEvent> = {}) =>
  makeTestEvent({ id, userId, teamId: 'core', startedAt: Date.parse(iso), costUsd, ...more });

/** alice $1 a day on gpt-4o, bob $3-$7 a day on claude-sonnet-4, 2-19 October; and carol's one event on the 1st. */
function october(carol: ReturnType<typeof ev>) {
  const bob: Record<string, number> = {};
  const events = [carol];
  for (let d = 2; d <= 19; d++) {
    const day = `2026-10-${String(d).padStart(2, '0')}`;
    bob[day] = Math.round(100 * (3 + ((d * 7) % 5))) / 100;
    events.push(ev(`b-${day}`, 'bob', `${day}T10:00:00Z`, bob[day], { modelServed: 'claude-sonnet-4', provider: 'anthropic' }));
    events.push(ev(`a-${day}`, 'alice', `${day}T11:00:00Z`, 1, { modelServed: 'gpt-4o-2024-08-06' }));
  }
  return events;
}

it("withholds the totals when the third person's only request cost $0.01: bob spent nearly all the others did", async () => {
  const get = await member(Date.parse('2026-10-20T12:00:00Z'), october(ev('c1', 'carol', '2026-10-01T09:00:00Z', 0.01, { modelServed: 'gpt-4o-mini' })));
  const team = await get('/api/teams/core');
  expect(team.withheld).toMatch(/^Your team's totals are shown when no one besides you accounts for more than 85% of what the others spent; one did this month/);
  expect([team.spend, team.models]).toEqual([null, null]);
});

it('counts nobody for a refused request ($0, 403): two people, withheld', async () => {
  const get = await member(Date.parse('2026-10-20T12:00:00Z'), october(ev('c1', 'carol', '2026-10-01T09:00:00Z', 0, { status: 403, errorClass: 'forbidden', modelServed: null, inputTokens: 0, outputTokens: 0 })));
  const team = await get('/api/teams/core');
  expect(team.withheld).toMatch(/^Your team's totals are shown once at least 2 people besides you used the team's AI in the month; fewer did this month/);
});

/** october() with carol's `first` USD on the 1st and $5 a day on 2-10 October, on gpt-4o-mini. */
function carolTo10th(first: number) {
  const events = october(ev('c0', 'carol', '2026-10-01T09:00:00Z', first, { modelServed: 'gpt-4o-mini' }));
  for (let d = 2; d <= 10; d++) events.push(ev(`c-${d}`, 'carol', `2026-10-${String(d).padStart(2, '0')}T12:00:00Z`, 5, { modelServed: 'gpt-4o-mini' }));
  return events;
}

it('leaves out the days and models fewer than two others spent on, when the month as a whole may be shown', async () => {
  // carol spends like bob, but only on 2-10 October and on gpt-4o-mini: the 11th-19th are bob's alone besides alice.
  // The days left out add up to bob's $47 and carol's $10: bob has 82% of them, under maxShare.
  const get = await member(Date.parse('2026-10-20T12:00:00Z'), carolTo10th(10));
  const team = await get('/api/teams/core');
  expect(team.withheld).toBeNull();
  const day = (l: string) => team.spend.daily.values[team.spend.daily.labels.indexOf(l)];
  // Both others on the 2nd-10th; bob alone on the 11th-19th, carol alone on the 1st; nobody but alice after.
  expect([day('2026-10-02'), day('2026-10-10')]).toEqual([1 + 5 + (3 + 14 % 5), 1 + 5 + (3 + 70 % 5)]);
  expect([day('2026-10-01'), day('2026-10-11'), day('2026-10-19'), day('2026-10-20')]).toEqual([null, null, null, 0]);
  expect(team.spend.forecast).toBeNull();
  // gpt-4o is alice's alone, claude-sonnet-4 bob's and gpt-4o-mini carol's: each one other person's. Together two.
  expect(team.models.map((m: { key: string }) => m.key)).toEqual(['gpt-4o-2024-08-06', '(other models)']);
  expect(team.hidden).toMatchObject({ models: ['claude-sonnet-4', 'gpt-4o-mini'], allDays: false, allModels: false, imported: false });
  expect(team.routing).toMatchObject({ available: false, savings: null });
});

it('leaves out a model only a colleague asked for, at $0, and the times of the first and last request', async () => {
  // As above (claude-sonnet-4 bob's, gpt-4o-mini carol's: left out), and bob asked for a model the gateway refused ($0).
  const refused = ev('b-refused', 'bob', '2026-10-19T23:58:00Z', 0, { status: 403, errorClass: 'forbidden', modelServed: null, modelRequested: 'gpt-bobs-side-project', inputTokens: 0, outputTokens: 0 });
  const team = await (await member(Date.parse('2026-10-20T12:00:00Z'), [...carolTo10th(10), refused]))('/api/teams/core');
  expect(team.withheld).toBeNull();
  expect(team.hidden).toMatchObject({ models: ['claude-sonnet-4', 'gpt-4o-mini', 'gpt-bobs-side-project'], allModels: false });
  // The refused request is in (other models), with the models left out, not a row of bob's one request.
  expect(team.models.map((m: { key: string }) => m.key)).toEqual(['gpt-4o-2024-08-06', '(other models)']);
  expect(team.models[1]).toMatchObject({ requests: 9 + 18 + 1 + 1 });
  // The last request of the month is bob's refused one, at 23:58 on the 19th, a day left out.
  expect([team.spend.totals.firstAt, team.spend.totals.lastAt]).toEqual([null, null]);
});

it('leaves out the weekly spend of the outcomes row when days are left out: a week of them less the days shown is theirs', async () => {
  // carolTo10th: the 12th-18th (a Monday to Sunday) are bob's alone besides alice's $1 a day.
  const team = await (await member(Date.parse('2026-10-20T12:00:00Z'), carolTo10th(10)))('/api/teams/core');
  expect(team.hidden.days).toContain('2026-10-12');
  expect(team.outcomes.row).toMatchObject({ weekly: [], spendOutcomeCorrelation: null, trend: { change: null, direction: 'unknown' } });
  // The month's figures stay: they pass both rules.
  expect(team.outcomes.row.spendUsd).toBe(team.spend.totals.costUsd);
});

it("gives a team budget of a day or a week as its standing only when too few others spent in its window: that day's spend less hers is bob's", async () => {
  // carolTo10th, on the 18th: bob alone besides alice that day and that week (the 12th-18th); the month may be shown.
  const budgets = [
    { id: 'core-day', scope: 'team:core', amount: 100, period: 'day' as const },
    { id: 'core-week', scope: 'team:core', amount: 500, period: 'week' as const },
    { id: 'core-month', scope: 'team:core', amount: 1000, period: 'month' as const },
  ];
  const get = await member(Date.parse('2026-10-18T18:00:00Z'), carolTo10th(10), { budgets });
  const team = await get('/api/teams/core');
  expect(team.withheld).toBeNull();
  const byId = (list: { budget: string; spent: number | null }[]) => Object.fromEntries(list.map((b) => [b.budget, b]));
  for (const list of [team.budgets, (await get('/api/budgets')).data]) {
    const b = byId(list);
    expect(b['core-day']).toMatchObject({ amount: null, spent: null, projection: null, standing: 'on track' });
    expect(b['core-week']).toMatchObject({ amount: null, spent: null, projection: null, standing: 'on track' });
    // The month: bob and carol both spent in it, neither most of it.
    expect(b['core-month']).toMatchObject({ amount: 1000, projection: null });
    expect(b['core-month']?.spent).toBeGreaterThan(0);
  }
});

it("leaves out all days when one colleague spent more than maxShare of the days left out: the total less the days shown is theirs", async () => {
  // As above, carol's 1st $4: the days left out are bob's $47 and carol's $4, 92% bob's.
  const team = await (await member(Date.parse('2026-10-20T12:00:00Z'), carolTo10th(4)))('/api/teams/core');
  expect(team.withheld).toBeNull();
  expect(team.hidden).toMatchObject({ allDays: true, allModels: false });
  expect(team.spend.daily.values.every((v: number | null) => v === null)).toBe(true);
});

it("leaves out a day one colleague spent more than maxShare of the others' spend on (carol $0.01, bob $42.42)", async () => {
  const events: UsageEvent[] = [];
  for (let d = 2; d <= 10; d++) {
    const day = `2026-10-${String(d).padStart(2, '0')}`;
    events.push(ev(`a-${day}`, 'alice', `${day}T10:00:00Z`, 1, { modelServed: 'gpt-4o' }));
    events.push(ev(`b-${day}`, 'bob', `${day}T10:00:00Z`, 5, { modelServed: 'gpt-4o' }));
    events.push(ev(`c-${day}`, 'carol', `${day}T10:00:00Z`, d === 10 ? 0.01 : 5, { modelServed: 'gpt-4o' }));
  }
  events.push(ev('b-big', 'bob', '2026-10-10T15:00:00Z', 37.42, { modelServed: 'gpt-4o' }));
  // carol alone on the 11th: left out too, and with it the days left out are bob's $42.42 and carol's $10.01.
  const team = await (await member(Date.parse('2026-10-20T12:00:00Z'), [...events, ev('c-11', 'carol', '2026-10-11T10:00:00Z', 10, { modelServed: 'gpt-4o' })]))('/api/teams/core');
  expect(team.withheld).toBeNull();
  const day = (l: string) => team.spend.daily.values[team.spend.daily.labels.indexOf(l)];
  // The 10th less alice's $1 would be bob's $42.42 within a cent.
  expect([day('2026-10-09'), day('2026-10-10'), day('2026-10-11')]).toEqual([11, null, null]);
  expect(team.hidden).toMatchObject({ days: ['2026-10-10', '2026-10-11'], allDays: false });
  // Without the 11th, the 10th left out alone is still bob's (carol's cent beside it): all days are left out.
  const alone = await (await member(Date.parse('2026-10-20T12:00:00Z'), events))('/api/teams/core');
  expect(alone.hidden).toMatchObject({ days: ['2026-10-10'], allDays: true });
});

it('leaves out a model one colleague spent more than maxShare of the others\' spend on', async () => {
  const events: UsageEvent[] = [];
  for (let d = 2; d <= 10; d++) {
    const day = `2026-10-${String(d).padStart(2, '0')}`;
    for (const [u, c] of [['alice', 1], ['bob', 5], ['carol', 5]] as const) events.push(ev(`${u}-${day}`, u, `${day}T10:00:00Z`, c, { modelServed: 'gpt-4o' }));
  }
  events.push(ev('b-o3', 'bob', '2026-10-05T12:00:00Z', 20, { modelServed: 'o3' }), ev('c-o3', 'carol', '2026-10-05T12:30:00Z', 0.02, { modelServed: 'o3' }));
  const team = await (await member(Date.parse('2026-10-20T12:00:00Z'), events))('/api/teams/core');
  expect(team.withheld).toBeNull();
  expect(team.hidden).toMatchObject({ models: ['o3'], allModels: true });
  expect(team.models).toBeNull();
});

/** alice, bob and carol $1, $2, $2 a day through the gateway, 2-10 October, and `imported` on the 5th (Claude Code logs). */
function gatewayAndImported(imported: [string, number][]) {
  const events: UsageEvent[] = [];
  for (let d = 2; d <= 10; d++) {
    const day = `2026-10-${String(d).padStart(2, '0')}`;
    for (const [u, c] of [['alice', 1], ['bob', 2], ['carol', 2]] as const) events.push(ev(`${u}-${day}`, u, `${day}T10:00:00Z`, c, { modelServed: 'gpt-4o', source: 'gateway' }));
  }
  for (const [u, c] of imported) events.push(ev(`${u}-cc`, u, '2026-10-05T12:00:00Z', c, { modelServed: 'gpt-4o', source: 'claude-code' as UsageEvent['source'] }));
  return events;
}

it("leaves out the imported spend when one colleague alone imported: it would be theirs exactly", async () => {
  const budgets = [{ id: 'teams', scope: 'team:*', amount: 100, period: 'month' as const }];
  const get = await member(Date.parse('2026-10-20T12:00:00Z'), gatewayAndImported([['bob', 4.37], ['alice', 3]]), { budgets });
  const team = await get('/api/teams/core');
  expect(team.withheld).toBeNull();
  expect(team.spend.importedUsd).toBeNull();
  expect(team.hidden).toMatchObject({ imported: true, days: [], models: [] });
  // The team budget counts gateway spend: the month's total less its spend would be the imported spend again.
  const b = team.budgets.find((x: { scope: string }) => x.scope === 'team:core');
  expect(b).toMatchObject({ amount: null, spent: null, usedPercent: null, standing: 'on track' });
  expect((await get('/api/budgets')).data.find((x: { scope: string }) => x.scope === 'team:core')).toMatchObject({ amount: null, spent: null });
});

it('leaves out the imported spend when one colleague has nearly all of it, and shows it when two imported alike', async () => {
  const skewed = await (await member(Date.parse('2026-10-20T12:00:00Z'), gatewayAndImported([['bob', 4.37], ['carol', 0.01]])))('/api/teams/core');
  expect([skewed.spend.importedUsd, skewed.hidden.imported]).toEqual([null, true]);
  const budgets = [{ id: 'teams', scope: 'team:*', amount: 100, period: 'month' as const }];
  const get = await member(Date.parse('2026-10-20T12:00:00Z'), gatewayAndImported([['bob', 4.37], ['carol', 3]]), { budgets });
  const even = await get('/api/teams/core');
  expect([even.spend.importedUsd, even.hidden.imported]).toEqual([7.37, false]);
  // The team's gateway spend, not alice's own $9, here and in /api/budgets.
  expect(even.budgets.find((x: { scope: string }) => x.scope === 'team:core')).toMatchObject({ amount: 100, spent: 45 });
  expect((await get('/api/budgets')).data.find((x: { scope: string }) => x.scope === 'team:core')).toMatchObject({ amount: 100, spent: 45 });
});

it("takes a member's forecast from the month's own days, not a withheld month's last 14", async () => {
  // September: alice and bob only (withheld from alice). 1 October: carol's $0.60 and bob's $3 make three.
  const events = [];
  for (let d = 1; d <= 30; d++) {
    const day = `2026-09-${String(d).padStart(2, '0')}`;
    events.push(ev(`b-${day}`, 'bob', `${day}T10:00:00Z`, 7.13), ev(`a-${day}`, 'alice', `${day}T11:00:00Z`, 1));
  }
  events.push(ev('a-oct', 'alice', '2026-10-01T08:00:00Z', 2), ev('b-oct', 'bob', '2026-10-01T08:30:00Z', 3), ev('c-oct', 'carol', '2026-10-01T09:00:00Z', 0.6));
  const get = await member(Date.parse('2026-10-01T12:00:00Z'), events);
  expect((await get('/api/teams/core?month=2026-09')).withheld).toMatch(/fewer did in September 2026/);
  const oct = await get('/api/teams/core?month=2026-10');
  expect(oct.withheld).toBeNull();
  // The day so far alone: $5.60 in half a day.
  const { totals, forecast } = oct.spend;
  expect(totals.costUsd).toBe(5.6);
  const rate = (forecast.projected - totals.costUsd) / 30.5;
  expect(rate).toBeCloseTo(5.6 / 0.5, 1);
});
