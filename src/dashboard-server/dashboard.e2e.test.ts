import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../detect/types.js';
import { startHarness, type Harness } from '../testing/harness.js';
import { makeTestEvent } from '../store/store-contract.js';
import type { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { roundUsd } from '../report/format.js';
import { runAuditReport } from '../cli/commands/audit-report.js';
import type { RouteDecision } from '../route/decisions.js';
import { summariseSavings, type SavingsReport } from '../route/savings.js';
import { SqliteDecisionStore } from '../route/sqlite-decisions.js';

/**
 * The dashboard in a real browser (Debian's chromium, driven by playwright-core): sign in as a member, a lead and
 * finance, check what each sees and may not see, approve an access request, and read a chart's numbers against
 * the store. Screenshots of the main pages go to test-artifacts/ (kept by CI as artefacts, ignored by git).
 */
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const ARTIFACTS = join(process.cwd(), 'test-artifacts');
const NOW = Date.parse('2026-10-20T12:00:00Z');
const at = (iso: string): number => Date.parse(iso);
const OCT = { since: at('2026-10-01T00:00:00Z'), until: NOW };

let h: Harness;
let browser: Browser;
const keys: Record<string, string> = {};
let requestId = '';
const consoleErrors: string[] = [];

const finding = (id: string, userId: string, teamId: string, day: string, wastedUsd: number): Finding => ({
  id, rule: 'rephrase-loop', subject: { kind: 'user', id: userId }, userId, teamId, sessionId: 's1',
  start: at(`2026-10-${day}T09:00:00Z`), end: at(`2026-10-${day}T09:20:00Z`),
  evidence: { counts: { requests: 6, repeats: 5 }, ratios: { similarity: 0.93 }, requestIds: ['r1', 'r2'] },
  wastedUsd, wasteMethod: 'the cost of the 5 repeats', confidence: 0.85,
  summary: 'Asked nearly the same question 6 times in 20 minutes.', suggestion: 'Say what was wrong with the first answer instead of asking again.', detectedAt: NOW,
});

/** Routing decisions as the gateway stores them: core routes (on) and shadows, data only shadows; one in September. */
const decision = (id: string, over: Partial<RouteDecision>): RouteDecision => ({
  id, at: at('2026-10-05T10:00:00Z'), mode: 'on', applied: true, keyId: 'k', userId: 'alice', teamId: 'core', projectId: null,
  provider: 'openai', endpoint: 'chat.completions', taskClass: 'chat', score: 0.1, modelRequested: 'gpt-4o', modelRouted: 'gpt-4o-mini',
  requestedCostUsd: 0.05, routedCostUsd: 0.003, missAt: null, ...over,
});
const DECISIONS: RouteDecision[] = [
  decision('rd1', {}),
  decision('rd2', { at: at('2026-10-06T10:00:00Z'), requestedCostUsd: 0.125, routedCostUsd: 0.0075, missAt: at('2026-10-06T10:04:00Z') }),
  decision('rd3', { at: at('2026-10-07T10:00:00Z'), userId: 'bob', mode: 'shadow', applied: false, modelRequested: 'claude-sonnet-4-20250514', modelRouted: 'claude-haiku-4-5', provider: 'anthropic', requestedCostUsd: 0.3, routedCostUsd: 0.1 }),
  decision('rd4', { at: at('2026-10-08T10:00:00Z'), userId: 'carol', teamId: 'data', mode: 'shadow', applied: false, requestedCostUsd: 1.5, routedCostUsd: 0.09 }),
  decision('rd5', { at: at('2026-10-09T10:00:00Z'), userId: 'carol', teamId: 'data', mode: 'shadow', applied: false, requestedCostUsd: 2.25, routedCostUsd: 0.135 }),
  decision('rd-sep', { at: at('2026-09-29T10:00:00Z'), requestedCostUsd: 40, routedCostUsd: 1 }),
];
/** The page's money format for savings (pages.ts usdFine). */
const usdFine = (n: number): string => (Math.abs(n) < 10 ? `$${n.toFixed(4)}` : `$${n.toFixed(2)}`);
let savingsOct: SavingsReport;

beforeAll(async () => {
  h = await startHarness({
    now: () => NOW,
    config: () => ({
      timeZone: 'UTC',
      teams: [{ id: 'core' }, { id: 'data' }],
      users: [
        { id: 'alice', team: 'core', role: 'member' },
        { id: 'bob', team: 'core', role: 'lead' },
        { id: 'dan', team: 'core', role: 'member' },
        { id: 'carol', team: 'data', role: 'member' },
        { id: 'fin', role: 'finance' },
      ],
      budgets: [
        { id: 'org-month', scope: 'org', amount: 600, period: 'month' },
        { id: 'core-month', scope: 'team:core', amount: 150, period: 'month' },
      ],
      tiers: { standard: ['gpt-4o-mini*'], premium: ['gpt-4o', 'gpt-4o-2*', 'claude-sonnet-4*'] },
    }),
  });
  for (const [user, team] of [['alice', 'core'], ['bob', 'core'], ['carol', 'data'], ['fin', null]] as const) keys[user] = await h.addKey(user, team ?? undefined);
  const events = [];
  for (let d = 1; d <= 20; d++) {
    const day = String(d).padStart(2, '0');
    events.push(
      makeTestEvent({ id: `a-${day}`, userId: 'alice', teamId: 'core', startedAt: at(`2026-10-${day}T10:00:00Z`), costUsd: 1 + (d % 4) }),
      makeTestEvent({ id: `b-${day}`, userId: 'bob', teamId: 'core', startedAt: at(`2026-10-${day}T11:00:00Z`), costUsd: 0.5, modelRequested: 'claude-sonnet-4', modelServed: 'claude-sonnet-4-20250514', provider: 'anthropic' }),
      makeTestEvent({ id: `c-${day}`, userId: 'carol', teamId: 'data', startedAt: at(`2026-10-${day}T12:00:00Z`), costUsd: 10 + d, modelRequested: 'gpt-4o-mini', modelServed: 'gpt-4o-mini-2024-07-18' }),
    );
    // A third person on core, so that alice (a member) may see core's totals in October: two people besides her.
    // dan spends the most and ships: the lead's People table must not put him on top for it. Not above 85% of what
    // alice's colleagues spent (dashboard.maxShare), or core's totals less hers would be his within 15%.
    if (d % 5 === 0) events.push(makeTestEvent({ id: `d-${day}`, userId: 'dan', teamId: 'core', startedAt: at(`2026-10-${day}T13:00:00Z`), costUsd: 18 }));
  }
  // In September only bob used core: its totals less alice's (none) would be his.
  events.push(makeTestEvent({ id: 'b-sep', userId: 'bob', teamId: 'core', startedAt: at('2026-09-14T11:00:00Z'), costUsd: 7 }));
  await h.store.insertEvents(events);
  const sqlite = h.store as SqliteStore;
  await sqlite.findings.upsertFindings([finding('f-alice', 'alice', 'core', '07', 4.5), finding('f-carol', 'carol', 'data', '09', 12)]);
  await sqlite.insertOutcomes([
    { id: 'o1', kind: 'commit', userId: 'alice', teamId: 'core', repo: null, sessionId: null, at: at('2026-10-08T12:00:00Z'), count: 12, source: 'otel', attrs: {} },
    { id: 'o2', kind: 'pull_request', userId: 'alice', teamId: 'core', repo: null, sessionId: null, at: at('2026-10-09T12:00:00Z'), count: 3, source: 'otel', attrs: {} },
    { id: 'o3', kind: 'commit', userId: 'dan', teamId: 'core', repo: null, sessionId: null, at: at('2026-10-16T12:00:00Z'), count: 9, source: 'otel', attrs: {} },
  ]);
  const decisions = new SqliteDecisionStore(sqlite.path);
  await decisions.insertDecisions(DECISIONS);
  // What the store holds for October, summed in memory from the raw rows (the page's figures come from SQL).
  savingsOct = summariseSavings(await decisions.listDecisions(OCT));
  await decisions.close();
  const res = await h.gateway.app.inject({
    method: 'POST',
    url: '/admin/v1/access-requests',
    headers: { authorization: `Bearer ${keys['alice']}`, 'content-type': 'application/json' },
    payload: { tier: 'premium', justification: 'Migrating the billing engine needs the larger model for a week' },
  });
  requestId = res.json().id as string;
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 60_000);

afterAll(async () => {
  expect(consoleErrors).toEqual([]);
  await browser?.close();
  await h?.close();
});

async function signIn(user: string, viewport = { width: 1280, height: 900 }): Promise<Page> {
  const context = await browser.newContext({ viewport });
  // Under the test's own 20 s: a step that hangs fails naming its selector, not as a bare test timeout.
  context.setDefaultTimeout(8_000);
  const page = await context.newPage();
  // Script errors, CSP violations and failed requests show up here. Expected: the refusals the tests provoke (403),
  // and the 401 of /api/org once the tests have ended the session; nothing else, above all not on first load.
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    errors.push(m.text());
    const provoked = /status of 403/.test(m.text()) || (/status of 401/.test(m.text()) && new URL(m.location().url).pathname === '/api/org');
    if (!provoked) consoleErrors.push(`${user}: ${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => consoleErrors.push(`${user}: ${e.message}`));
  await page.goto(h.url);
  await page.waitForSelector('form.login');
  // Not signed in yet is not an error: the page asks without a failing request.
  expect(errors).toEqual([]);
  await page.fill('input[name=key]', keys[user]!);
  await page.click('button[type=submit]');
  await page.waitForSelector('#who button');
  return page;
}

/** The numbers a chart draws (its first dataset), straight from the Chart.js instance. */
async function chartData(page: Page, id: string): Promise<{ labels: string[]; values: (number | null)[] }> {
  const canvas = page.locator(`canvas[data-chart="${id}"]`);
  await canvas.waitFor();
  await page.waitForFunction(`document.querySelector('canvas[data-chart="${id}"]')?.ghChart !== undefined`);
  return canvas.evaluate((el) => {
    const chart = (el as unknown as { ghChart: { data: { labels: string[]; datasets: { data: (number | null)[] }[] } } }).ghChart;
    return { labels: chart.data.labels, values: chart.data.datasets[0]!.data };
  });
}

/**
 * How a chart's horizontal axis lays out its labels: the rotation, and each pair of neighbours whose text would
 * touch (less than 8 px between them, measured in the canvas's own tick font).
 */
async function axisLabels(page: Page, id: string, axis: 'x' | 'y'): Promise<{ rotation: number; labels: string[]; touching: string[] }> {
  await page.waitForFunction(`document.querySelector('canvas[data-chart="${id}"]')?.ghChart !== undefined`);
  return page.locator(`canvas[data-chart="${id}"]`).evaluate((el, a) => {
    type Scale = { labelRotation: number; ticks: { label: string }[]; getPixelForTick(i: number): number; _resolveTickFontOptions(i: number): { string: string } };
    const chart = (el as unknown as { ghChart: { ctx: { font: string; save(): void; restore(): void; measureText(t: string): { width: number } }; scales: Record<string, Scale> } }).ghChart;
    const scale = chart.scales[a]!;
    chart.ctx.save();
    chart.ctx.font = scale._resolveTickFontOptions(0).string; // Chart.js's own resolution of the tick font
    const items = scale.ticks.map((t, i) => ({ label: String(t.label), at: scale.getPixelForTick(i), width: chart.ctx.measureText(String(t.label)).width }));
    chart.ctx.restore();
    const touching: string[] = [];
    for (let i = 1; i < items.length; i++) {
      const [l, r] = [items[i - 1]!, items[i]!];
      if (r.at - l.at - (l.width + r.width) / 2 < 8) touching.push(`${l.label}|${r.label}`);
    }
    return { rotation: scale.labelRotation, labels: items.map((x) => x.label), touching };
  }, axis);
}

/** The cells of the routing card's per-model-pair table. */
const routingRows = async (page: Page): Promise<string[][]> => {
  await page.waitForSelector('[data-routing="models"] tbody tr');
  return page.locator('[data-routing="models"] tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
};
const kpiValue = (page: Page, label: string) => page.locator(`.kpi:has(.label:text-is("${label}")) .value`).textContent();

const shot = (page: Page, name: string) => page.screenshot({ path: join(ARTIFACTS, `dashboard-${name}.png`), fullPage: true });
const navLinks = (page: Page) => page.locator('#nav a').allTextContents();

describe('dashboard in Chromium', () => {
  it('a member sees their own usage, their findings and suggestions, and is refused anyone else', async () => {
    const page = await signIn('alice');
    await page.waitForSelector('h1:has-text("My usage")');
    expect(await navLinks(page)).toEqual(['Team core', 'My usage', 'Findings', 'Budgets & access']);
    const daily = await chartData(page, 'user-daily');
    const stored = await h.store.aggregate('day', { ...OCT, userId: 'alice' });
    expect(daily.values.slice(0, 20)).toEqual(stored.map((r) => roundUsd(r.costUsd)));
    // Her own finding (with its evidence), not carol's.
    await expect(page.locator('[data-findings]').getAttribute('data-findings')).resolves.toBe('1');
    await expect(page.locator('text=similarity: 0.93').count()).resolves.toBe(1);
    await expect(page.locator('text=Say what was wrong with the first answer').count()).resolves.toBeGreaterThan(0);
    await shot(page, 'member-my-usage');
    expect(await page.locator('.kpi:has(.label:text-is("Spend this month")) .sub').textContent()).toBe('20 requests');
    // Her Outcomes card counts what `goodhart outcomes report` counts: Claude Code's 12 commits (no git history
    // reported hers), and no merged pull request (the 3 it opened are not merged ones).
    const outcomeRows = await page.locator('section.card:has(h2:text-is("Outcomes")) tbody tr')
      .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].slice(0, 2).map((td) => td.textContent ?? '')));
    expect(outcomeRows).toEqual([['Commits', '12'], ['Merged pull requests', '0'], ['Tickets closed', '0'], ['Deployments', '0'], ['All outcomes', '12']]);

    // The page asks the API, which refuses (403); the page shows the refusal.
    await page.goto(`${h.url}/#/users/carol`);
    await page.waitForSelector('p.error[data-status="403"]:has-text("You may not see carol’s usage")');
    await page.goto(`${h.url}/#/org`);
    await page.waitForSelector('p.error[data-status="403"]:has-text("may not see the organisation overview")');
    await page.goto(`${h.url}/#/teams/core`);
    await page.waitForSelector('h1:has-text("Team core")');
    await expect(page.locator('text=Per-person figures are for the team lead').count()).resolves.toBe(1);
    // bob alone besides her on most days, and on claude-sonnet-4; dan alone on the model she does not use, and
    // nearly all of the others' spend on the days he used it (maxShare, day by day): those cells are left out, each of
    // the 20 days (together they are the month's, which may be shown), and the page says so.
    expect(await page.locator('[data-hidden]').innerText()).toMatch(/^Not shown: 20 days of the daily spend, 2 models \(summed as “\(other models\)”\), the projection\./);
    expect((await chartData(page, 'team-models')).labels).toEqual(['(other models)']);
    // Routing savings per model pair are not counted per person: not for a member.
    await expect(page.locator('[data-routing="models"]').count()).resolves.toBe(0);
    await expect(page.locator('text=Routing savings per model pair are for the team lead').count()).resolves.toBe(1);
    await expect(page.locator('a[href="#/users/bob"]').count()).resolves.toBe(0);
    // September: bob alone used core. The page says why there are no totals, and draws none of his figures.
    await page.goto(`${h.url}/#/teams/core?month=2026-09`);
    await page.waitForSelector('h1:has-text("Team core, 2026-09")');
    expect(await page.locator('[data-withheld]').innerText()).toMatch(/^Your team's totals are shown once at least 2 people besides you used the team's AI in the month; fewer did in September 2026/);
    expect([await page.locator('canvas').count(), await page.locator('.kpi').count()]).toEqual([0, 0]);
    // Not even as the team budget's spend: its budgets show only where they stand and when they reset.
    expect(await page.locator('text=$7.00').count()).toBe(0);
    expect(await page.locator('section.card:has(h2:text-is("Budgets")) .pill').count()).toBeGreaterThan(0);
    await shot(page, 'member-team-withheld');
    // The API itself refuses, whatever the page shows.
    const status = await page.evaluate(async () => (await fetch('/api/users/bob')).status);
    expect(status).toBe(403);
    // A month that has ended is not "this month".
    await page.goto(`${h.url}/#/me?month=2026-09`);
    await page.waitForSelector('h1:has-text("My usage, 2026-09")');
    expect(await kpiValue(page, 'Spend in 2026-09')).toBe('$0.00');
    await expect(page.locator('.kpi .label:text-is("Spend this month")').count()).resolves.toBe(0);
    await page.context().close();
  });

  it('a lead sees their team and its people, and approves an access request', async () => {
    const page = await signIn('bob');
    await page.goto(`${h.url}/#/teams/core`);
    await page.waitForSelector('h1:has-text("Team core")');
    await expect(page.locator('a[href="#/users/alice"]').count()).resolves.toBe(1);
    const mix = await chartData(page, 'team-models');
    const models = await h.store.aggregate('model', { ...OCT, teamId: 'core' });
    expect(mix.labels).toEqual(models.map((m) => m.key));
    expect(mix.values).toEqual(models.map((m) => roundUsd(m.costUsd)));
    expect(await page.locator('[data-imported]').count()).toBe(0);
    // People by name, not by spend (dan spent the most), with what each shipped beside it.
    const peopleRows = () => page.locator('[data-people] tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
    expect(await peopleRows()).toEqual([
      ['alice', '20', '$50.00', '12 commits', '$4.17'],
      ['bob', '20', '$10.00', 'none counted', '—'],
      ['dan', '3', '$54.00', '9 commits', '$6.00'],
    ]);
    expect(((await page.evaluate(async () => (await fetch('/api/teams/core')).json())) as { users: { key: string }[] }).users.map((u) => u.key)).toEqual(['alice', 'bob', 'dan']);
    await shot(page, 'lead-team');
    // The lead may sort by a column, when they ask: a click on Spend (largest first), again (smallest first).
    const spendHeader = page.locator('[data-people] th:has(button:text-is("Spend"))');
    await spendHeader.locator('button').click();
    expect([(await peopleRows()).map((r) => r[0]), await spendHeader.getAttribute('aria-sort')]).toEqual([['dan', 'alice', 'bob'], 'descending']);
    await spendHeader.locator('button').click();
    expect([(await peopleRows()).map((r) => r[0]), await spendHeader.getAttribute('aria-sort')]).toEqual([['bob', 'alice', 'dan'], 'ascending']);

    // Usage imported from a coding agent's logs: in the team's spend, not in its budget (the gateway's traffic). The
    // page says how much was imported, and the budget chart draws the budget's own figures, not the month's spend.
    const store = h.store as SqliteStore;
    const imported = [makeTestEvent({ id: 'imp-core', source: 'claude-code', userId: 'alice', teamId: 'core', startedAt: at('2026-10-19T09:00:00Z'), costUsd: 900 })];
    await store.commitImportBatch({ events: imported, states: [] });
    try {
      await page.reload();
      await page.waitForSelector('h1:has-text("Team core")');
      const gateway = roundUsd((await h.store.aggregate('month', { ...OCT, teamId: 'core', source: 'gateway' }))[0]!.costUsd);
      const all = roundUsd((await h.store.aggregate('month', { ...OCT, teamId: 'core' }))[0]!.costUsd);
      expect(await kpiValue(page, 'Spend this month')).toBe(`$${all.toLocaleString('en-US', { minimumFractionDigits: 2 })}`);
      const notes = await page.locator('[data-imported]').allTextContents();
      expect(notes).toHaveLength(2); // the budget chart's card and the budgets table's
      expect(notes[0]).toBe(`Budgets count gateway traffic only (what the gateway enforces): $900.00 of the $${all.toLocaleString('en-US', { minimumFractionDigits: 2 })} spent in 2026-10 was imported (coding-agent logs, provider usage APIs, OTLP) and is not counted against them.`);
      const bars = await chartData(page, 'team-budget');
      expect(bars.labels).toEqual(['Budget', 'Spent (gateway)', 'Projected (gateway)']);
      expect(bars.values.slice(0, 2)).toEqual([150, gateway]);
      await shot(page, 'lead-team-imported');
      // The model mix names each model in full (Chart.js's own legend cut them at the canvas's edge), and the budget
      // chart's dollar labels stand apart, level, at a desktop width and in a narrow card ("$500.00$1,000.00$1,500.00").
      expect(await page.locator('[data-legend="team-models"] li').allTextContents()).toEqual(models.map((m) => m.key));
      for (const width of [1280, 820]) {
        await page.setViewportSize({ width, height: 900 });
        await page.waitForTimeout(200);
        const x = await axisLabels(page, 'team-budget', 'x');
        expect([width, x.rotation, x.touching], x.labels.join(' ')).toEqual([width, 0, []]);
      }
      await page.setViewportSize({ width: 1280, height: 900 });
    } finally {
      await store.commitImportBatch({ events: [], states: [], drop: imported.map((e) => e.id) });
    }
    const other = await page.evaluate(async () => (await fetch('/api/teams/data')).status);
    expect(other).toBe(403);

    await page.goto(`${h.url}/#/budgets`);
    await page.waitForSelector(`button[data-approve="${requestId}"]`);
    await shot(page, 'lead-budgets-access');
    await page.click(`button[data-approve="${requestId}"]`);
    await page.waitForSelector('span[data-status="approved"]');
    const decided = await h.gateway.governance!.service.listAccess({ id: 'test', userId: null, teamId: null, roleId: 'admin', permissions: new Set(['manage']) });
    expect(decided.find((r) => r.id === requestId)).toMatchObject({ status: 'approved', decidedBy: 'user:bob' });
    // A grant revoked later shows as revoked, not approved.
    const grantId = decided.find((r) => r.id === requestId)!.grantId!;
    await h.gateway.governance!.service.revokeGrant({ id: 'test', userId: null, teamId: null, roleId: 'admin', permissions: new Set(['manage']) }, grantId);
    await page.reload();
    await page.waitForSelector('span[data-status="revoked"]');
    await page.context().close();
  });

  it('finance sees the organisation; the daily chart draws what the store holds', async () => {
    const page = await signIn('fin');
    await page.waitForSelector('h1:has-text("Organisation")');
    expect(await navLinks(page)).toEqual(['Organisation', 'Team core', 'Team data', 'My usage', 'Findings', 'Budgets & access']);
    const daily = await chartData(page, 'org-daily');
    const stored = await h.store.aggregate('day', OCT);
    expect(daily.labels.length).toBe(31);
    expect(daily.values.slice(0, 20)).toEqual(stored.map((r) => roundUsd(r.costUsd)));
    expect(daily.values.slice(20)).toEqual(Array(11).fill(0));
    const forecast = await chartData(page, 'org-forecast');
    const total = stored.reduce((a, r) => a + r.costUsd, 0);
    expect(forecast.values[19]).toBeCloseTo(total, 2);

    // Routing savings: the October decisions of both teams (September's is outside the month), as the store holds them.
    expect(savingsOct.total).toMatchObject({ realised: { requests: 2 }, potential: { requests: 3 }, misses: 1 });
    expect(await routingRows(page)).toEqual(savingsOct.rows.map((r) => [r.teamId ?? '(none)', `${r.modelRequested} → ${r.modelRouted}`, String(r.realised.requests), r.realised.requests ? usdFine(r.realised.savedUsd) : '—', String(r.potential.requests), r.potential.requests ? usdFine(r.potential.savedUsd) : '—', String(r.misses)]));
    expect(await kpiValue(page, 'Saved by routing')).toBe(usdFine(savingsOct.total.realised.savedUsd));
    expect(await kpiValue(page, 'Shadow: would save')).toBe(usdFine(savingsOct.total.potential.savedUsd));
    const exact = await page.locator('[data-routing="models"] [data-usd]').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-usd'))));
    expect(exact).toEqual(savingsOct.rows.flatMap((r) => [r.realised.savedUsd, r.potential.savedUsd]));
    await shot(page, 'finance-org');
    await page.goto(`${h.url}/#/findings`);
    await page.waitForSelector('[data-findings="2"]');
    await shot(page, 'finance-findings');
    await page.click('#who button');
    await page.waitForSelector('form.login');
    expect(await page.evaluate(async () => (await fetch('/api/org')).status)).toBe(401);
    await page.context().close();
  });

  it('draws the page the person is on, not a slower one they left; an ended session clears who was signed in', async () => {
    const page = await signIn('fin');
    await page.waitForSelector('h1:has-text("Organisation")');
    // For screen readers: the page in the nav, and what a chart shows.
    expect(await page.locator('nav a[aria-current=page]').innerText()).toBe('Organisation');
    expect(await page.locator('canvas[data-chart="org-daily"]').getAttribute('aria-label')).toBe('Spend per day this month: see the numbers below');
    // The organisation's data arrives late; the person has moved on to the findings by then.
    await page.route('**/api/org*', async (route) => {
      await new Promise((r) => setTimeout(r, 600));
      await route.continue();
    });
    await page.evaluate("location.hash = '#/org?month=2026-09'");
    await page.evaluate("location.hash = '#/findings'");
    await page.waitForSelector('[data-findings="2"]');
    await page.waitForTimeout(900); // past the late answer
    expect(await page.locator('#app').getAttribute('data-page')).toBe('#/findings');
    expect(await page.locator('h1:has-text("Organisation")').count()).toBe(0);
    await page.unroute('**/api/org*');
    // The session ends elsewhere: the next page shows the sign-in, and nobody in the header.
    await page.evaluate(async () => {
      await fetch('/api/session', { method: 'DELETE' });
    });
    await page.evaluate("location.hash = '#/org'");
    await page.waitForSelector('form.login');
    expect(await page.locator('#who').innerText()).toBe('');
    expect(await page.locator('nav a').count()).toBe(0);
    await page.context().close();
  });

  it('moves between months from the page: back to September and forward again, never past the current month', async () => {
    const page = await signIn('fin');
    await page.waitForSelector('h1:has-text("Organisation, 2026-10")');
    expect(await page.locator('nav.months a').allTextContents()).toEqual(['‹ 2026-09']);
    await page.click('nav.months a[rel=prev]');
    await page.waitForSelector('h1:has-text("Organisation, 2026-09")');
    expect(await kpiValue(page, 'Spend in 2026-09')).toBe('$7.00');
    expect(await page.locator('nav.months a').allTextContents()).toEqual(['‹ 2026-08', '2026-10 ›', 'this month']);
    // The month carries over to the findings, which say which month they are.
    await page.evaluate("location.hash = '#/findings?month=2026-09'");
    await page.waitForSelector('h1:has-text("Findings, 2026-09")');
    await page.click('nav.months a[rel=next]');
    await page.waitForSelector('h1:has-text("Findings, 2026-10")');
    expect(await page.locator('nav.months a[rel=next]').count()).toBe(0);
    await page.context().close();
  });

  it('shows spend on a model with no known price as n/a, not $0.00, and marks estimated tokens', async () => {
    // July: no other test reads it.
    await h.store.insertEvents([
      makeTestEvent({ id: 'jul-priced', userId: 'carol', teamId: 'data', startedAt: at('2026-07-07T10:00:00Z'), costUsd: 4, usageEstimated: true }),
      makeTestEvent({ id: 'jul-unpriced', userId: 'carol', teamId: 'data', startedAt: at('2026-07-08T10:00:00Z'), costUsd: null, modelRequested: 'claude-future-9', modelServed: 'claude-future-9', provider: 'anthropic' }),
    ]);
    const page = await signIn('fin');
    await page.evaluate("location.hash = '#/org?month=2026-07'");
    await page.waitForSelector('h1:has-text("Organisation, 2026-07")');
    const sub = (label: string) => page.locator(`.kpi:has(.label:text-is("${label}")) .sub`).textContent();
    expect([await kpiValue(page, 'Spend in 2026-07'), await sub('Spend in 2026-07')]).toEqual(['$4.00', '2 requests, 1 of them unpriced (not in the dollars)']);
    expect(await kpiValue(page, 'Tokens')).toMatch(/^~/);
    expect(await sub('Tokens')).toContain('~ 1 request estimated (no usage reported)');
    const cells = (selector: string) => page.locator(`${selector} tr`).evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
    expect(await cells('[data-chart-table="org-models"]')).toEqual([['gpt-4o-2024-08-06', '$4.00'], ['claude-future-9', 'n/a']]);
    expect(await cells('section.card:has(h2:text-is("Spend by team")) tbody')).toEqual([['data', '2', '$4.00 + 1 unpriced']]);
    // A day whose every request had no price draws no bar and reads n/a; a day with no requests is $0.00.
    const daily = await chartData(page, 'org-daily');
    expect(daily.values.slice(5, 9)).toEqual([0, 4, null, 0]);
    expect((await cells('[data-chart-table="org-daily"]')).slice(5, 9)).toEqual([['2026-07-06', '$0.00'], ['2026-07-07', '$4.00'], ['2026-07-08', 'n/a'], ['2026-07-09', '$0.00']]);
    await page.context().close();
  });

  it('on a phone (375 px wide) no page scrolls sideways: wide tables scroll inside their card', async () => {
    for (const user of ['fin', 'bob'] as const) {
      const page = await signIn(user, { width: 375, height: 800 });
      await page.waitForSelector('#nav a');
      const hrefs = await page.locator('#nav a').evaluateAll((as) => as.map((a) => a.getAttribute('href') ?? ''));
      expect(hrefs.length).toBeGreaterThan(3);
      for (const href of [...hrefs, '#/users/alice']) {
        await page.evaluate(`location.hash = ${JSON.stringify(href)}`);
        await page.waitForSelector(`#app[data-page=${JSON.stringify(href)}] h1`);
        await page.waitForTimeout(150); // charts lay out
        const width = (await page.evaluate('document.documentElement.scrollWidth')) as number;
        expect(width, `${user} ${href}`).toBeLessThanOrEqual(375);
        // Signing out stays on screen.
        const out = await page.locator('#who button').boundingBox();
        expect(out !== null && out.x + out.width <= 375, `${user} ${href}: sign out on screen`).toBe(true);
      }
      await shot(page, `${user}-phone`);
      await page.context().close();
    }
  });

  it('the HTML audit is one file that renders its charts with no network', async () => {
    const config = join(ARTIFACTS, 'audit-config.yaml');
    writeFileSync(config, 'timeZone: UTC\nteams: [{ id: core }, { id: data }]\nbudgets:\n  - { id: org-month, scope: org, amount: 600, period: month }\n');
    const html = await runAuditReport({ period: '2026-10', db: (h.store as SqliteStore).path, config, format: 'html', now: NOW });
    writeFileSync(join(ARTIFACTS, 'audit-2026-10.html'), html);
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 }, offline: true });
    const page = await context.newPage();
    await page.setContent(html);
    expect(await page.locator('svg').count()).toBe(3);
    const bars = await page.locator('svg rect[data-value]').evaluateAll((els) => els.slice(0, 20).map((e) => Number(e.getAttribute('data-value'))));
    const stored = await h.store.aggregate('day', OCT);
    expect(bars).toEqual(stored.map((r) => r.costUsd));
    await page.screenshot({ path: join(ARTIFACTS, 'audit-html.png'), fullPage: true });
    await context.close();
  });
});
