import { createServer, type IncomingMessage } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAuditReport } from '../cli/commands/audit-report.js';
import { runDigest } from '../cli/commands/digest.js';
import type { Finding } from '../detect/types.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { makeTestEvent } from '../store/store-contract.js';
import { digestSuggestions } from './suggestions.js';
import type { RouteDecision } from '../route/decisions.js';
import { SqliteDecisionStore } from '../route/sqlite-decisions.js';

const at = (iso: string): number => Date.parse(iso);
const dir = mkdtempSync(join(tmpdir(), 'goodhart-audit-'));
const db = join(dir, 'goodhart.db');
const configFile = join(dir, 'goodhart.yaml');
const NOW = at('2026-11-03T09:00:00Z');

const finding = (id: string, userId: string, rule: Finding['rule'], day: string, wastedUsd: number, suggestion: string): Finding => ({
  id, rule, subject: { kind: 'user', id: userId }, userId, teamId: 'core', sessionId: null,
  start: at(`2026-10-${day}T09:00:00Z`), end: at(`2026-10-${day}T10:00:00Z`),
  evidence: { counts: { requests: 4 }, ratios: {}, requestIds: [] }, wastedUsd, wasteMethod: 'repeats', confidence: 0.9,
  summary: `${rule} on ${day}`, suggestion, detectedAt: NOW,
});

beforeAll(async () => {
  writeFileSync(
    configFile,
    `timeZone: UTC
teams: [{ id: core }, { id: data }]
users:
  - { id: alice, team: core, email: alice@example.com }
budgets:
  - { id: org-month, scope: org, amount: 100, period: month }
  - { id: core-month, scope: team:core, amount: 40, period: month }
`,
  );
  const store = new SqliteStore(db);
  const events = [];
  for (let d = 1; d <= 30; d++) {
    const day = String(d).padStart(2, '0');
    events.push(makeTestEvent({ id: `oct-${day}`, userId: 'alice', teamId: 'core', startedAt: at(`2026-10-${day}T10:00:00Z`), costUsd: 1 }));
    events.push(makeTestEvent({ id: `oct-c-${day}`, userId: 'carol', teamId: 'data', startedAt: at(`2026-10-${day}T11:00:00Z`), costUsd: 2, modelRequested: 'claude-sonnet-4', modelServed: 'claude-sonnet-4-20250514', provider: 'anthropic' }));
    events.push(makeTestEvent({ id: `sep-${day}`, userId: 'alice', teamId: 'core', startedAt: at(`2026-09-${day}T10:00:00Z`), costUsd: 2 }));
  }
  // August: usage imported from Claude Code's logs only, which budgets (gateway traffic) do not count.
  events.push(makeTestEvent({ id: 'aug-imported', source: 'claude-code', userId: 'alice', teamId: 'core', startedAt: at('2026-08-12T10:00:00Z'), costUsd: 5 }));
  // July: requests to a model with no known price (costUsd null), beside a priced one; a hundredth of a cent the
  // week and month before.
  events.push(makeTestEvent({ id: 'jun-tiny', userId: 'alice', teamId: 'core', startedAt: at('2026-06-30T10:00:00Z'), costUsd: 0.0001 }));
  events.push(makeTestEvent({ id: 'jul-a', userId: 'alice', teamId: 'core', startedAt: at('2026-07-07T10:00:00Z'), costUsd: 4 }));
  for (const [id, userId, teamId] of [['jul-u1', 'alice', 'core'], ['jul-u2', 'carol', 'data']] as const) {
    events.push(makeTestEvent({ id, userId, teamId, startedAt: at('2026-07-08T10:00:00Z'), costUsd: null, modelRequested: 'claude-future-9', modelServed: 'claude-future-9', provider: 'anthropic' }));
  }
  // The digest's week (Mon 26 Oct – Sun 1 Nov): two more for alice.
  events.push(makeTestEvent({ id: 'nov-01', userId: 'alice', teamId: 'core', startedAt: at('2026-11-01T10:00:00Z'), costUsd: 3 }));
  await store.insertEvents(events);
  await store.findings.upsertFindings([
    finding('f1', 'alice', 'rephrase-loop', '27', 2.5, 'Say what was wrong instead of asking again.'),
    finding('f2', 'alice', 'rephrase-loop', '28', 1.5, 'Say what was wrong instead of asking again.'),
    finding('f3', 'alice', 'context-bloat', '29', 0.75, 'Start a new session when the task changes.'),
    finding('f4', 'carol', 'premium-overkill', '10', 9, 'Use a smaller model for short lookups.'),
  ]);
  await store.insertOutcomes([
    { id: 'o1', kind: 'commit', userId: 'alice', teamId: 'core', repo: null, sessionId: null, at: at('2026-10-20T12:00:00Z'), count: 30, source: 'otel', attrs: {} },
    // carol's commit, reverted the next day: neither counts, as in `goodhart outcomes report`.
    { id: 'o2', kind: 'commit', userId: 'carol', teamId: 'data', repo: 'acme/api', sha: 'c0ffee1234567', sessionId: null, at: at('2026-10-21T12:00:00Z'), count: 1, source: 'git', attrs: {} },
    { id: 'o3', kind: 'commit', userId: 'carol', teamId: 'data', repo: 'acme/api', sha: 'badf00d765432', revertsSha: 'c0ffee1234567', sessionId: null, at: at('2026-10-22T12:00:00Z'), count: 1, source: 'git', attrs: {} },
  ]);
  await store.close();
  // Routing in November: team core routes (on), team data only shadows; one routed answer was asked again.
  const decision = (id: string, over: Partial<RouteDecision>): RouteDecision => ({
    id, at: at('2026-11-02T10:00:00Z'), mode: 'on', applied: true, keyId: 'k', userId: 'alice', teamId: 'core', projectId: null,
    provider: 'openai', endpoint: 'chat.completions', taskClass: 'chat', score: 0.1, modelRequested: 'gpt-5', modelRouted: 'gpt-5-mini',
    requestedCostUsd: 12.5, routedCostUsd: 2.5, missAt: null, ...over,
  });
  const decisions = new SqliteDecisionStore(db);
  await decisions.insertDecisions([
    decision('d1', {}),
    decision('d2', { missAt: at('2026-11-02T10:05:00Z') }),
    decision('d3', { teamId: 'data', userId: 'carol', mode: 'shadow', applied: false, requestedCostUsd: 8, routedCostUsd: 1.75 }),
    decision('d-oct', { at: at('2026-10-31T23:59:00Z'), requestedCostUsd: 1000, routedCostUsd: 1 }),
  ]);
  await decisions.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('goodhart audit', () => {
  it('reports spend and trend, budgets with forecasts, findings, cost per outcome and model mix; says what is missing', async () => {
    const md = await runAuditReport({ period: '2026-10', db, config: configFile, now: NOW });
    expect(md).toContain('# AI spend audit: 2026-10');
    expect(md).toContain('Spend $90.00 over 60 requests; previous month $60.00 (+50%).');
    expect(md).toContain('| org-month | org | month | $100.00 | $90.00 | 90% |');
    expect(md).toContain('| core-month | team:core | month | $40.00 | $30.00 | 75% |');
    expect(md).toContain('| data | 30 | $60.00 | 66.7% |');
    expect(md).toContain('4 findings, $13.75 estimated avoidable.');
    expect(md).toMatch(/\| Commits \| 30 \| \$3\.00 \|/);
    expect(md).toContain('| core | gpt-5 → gpt-5-mini | 1 | $999.00 | 0 | $0.00 | 0 |');
    expect(md).toContain('| claude-sonnet-4-20250514 | 30 | $60.00 | 66.7% |');
  });

  it('shows spend on models with no known price as n/a or beside the dollars, never as $0.00', async () => {
    const md = await runAuditReport({ period: '2026-07', db, config: configFile, now: NOW });
    expect(md).toContain('Spend $4.00 over 3 requests; previous month $0.0001 (>+999%). 2 requests used models with no known price and are not in the dollars.');
    expect(md).toContain('| core | 2 | $4.00 + 1 unpriced | 100% |');
    expect(md).toContain('| data | 1 | n/a | n/a |');
    expect(md).toContain('| claude-future-9 | 2 | n/a | n/a |');
    expect(md).toContain('| gpt-4o-2024-08-06 | 1 | $4.00 | 100% |');
    expect(md).not.toMatch(/claude-future-9 \| 2 \| \$0\.00/);
    const html = await runAuditReport({ period: '2026-07', db, config: configFile, format: 'html', now: NOW });
    expect(html).toContain('<title>claude-future-9: n/a</title>');
    // The daily chart: the 8th (both requests unpriced) has no bar and reads n/a; the 7th is $4.00, the 9th $0.00.
    expect(html).toContain('data-label="08" data-value="n/a">n/a<title>08: n/a</title>');
    expect(html).not.toMatch(/<rect [^>]*data-label="08"/);
    expect(html).toMatch(/<rect [^>]*data-label="07" data-value="4">/);
    expect(html).toMatch(/<rect [^>]*data-label="09" data-value="0">/);
    const { markdown } = await runDigest({ user: 'alice', week: '2026-07-06', db, config: configFile, now: NOW });
    expect(markdown).toContain('2 requests, $4.00 (>+999% on the week before). 1 of them used a model with no known price: its cost is not in the dollars.');
    expect(markdown).toContain('| claude-future-9 | 1 | n/a |');
  });

  it('shows realised and potential routing savings per team and model pair, and the misses', async () => {
    const md = await runAuditReport({ period: '2026-11', db, config: configFile, now: NOW });
    expect(md).toContain('## Routing savings');
    expect(md).toContain('| core | gpt-5 → gpt-5-mini | 2 | $20.00 | 0 | $0.00 | 1 |');
    expect(md).toContain('| data | gpt-5 → gpt-5-mini | 0 | $0.00 | 1 | $6.25 | 0 |');
    expect(md).toContain('Total saved $20.00 on 2 routed requests; shadow mode says $6.25 more was possible on 1. 1 routed answer was asked again');
    // November is two days and nine hours old: compared with October to the same point (alice's $1 on the 1st and
    // 2nd, carol's $2), not with all of October's $90.
    expect(md).toContain('Spend $3.00 over 1 request; previous month to the same point $6.00 (-50%), all of it $90.00.');
    const august = await runAuditReport({ period: '2026-08', db, config: configFile, now: NOW });
    expect(august).toContain('| org-month | org | month | $100.00 | $0.00 | 0% |');
    expect(august).toContain('Budgets count gateway traffic only (what the gateway enforces): $5.00 of the $5.00 spent in 2026-08 was imported');
    expect(md).not.toContain('Budgets count gateway traffic only');
    const none = await runAuditReport({ period: '2026-09', db, config: configFile, now: NOW });
    expect(none).toContain('> No routing decisions in this period');
  });

  it('splits spend by source with --source, as `goodhart report --source` does', async () => {
    // August holds only $5 imported from Claude Code's logs; October only gateway traffic.
    const imported = await runAuditReport({ period: '2026-08', db, config: configFile, now: NOW, source: 'claude-code' });
    expect(imported).toContain('Spend of source claude-code only (--source).');
    expect(imported).toContain('Spend $5.00 over 1 request;');
    expect(imported).toContain('$5.00 of the $5.00 spent in 2026-08 was imported');
    const gateway = await runAuditReport({ period: '2026-08', db, config: configFile, now: NOW, source: 'gateway' });
    expect(gateway).toContain('Spend $0.00 over 0 requests;');
    expect(gateway).not.toContain('Budgets count gateway traffic only');
    const october = await runAuditReport({ period: '2026-10', db, config: configFile, now: NOW, source: 'claude-code' });
    expect(october).toContain('Spend $0.00 over 0 requests; previous month $0.00');
    expect(october).toContain('| 2026-08 | $5.00 |');
    expect(october).toContain('| 2026-09 | $0.00 |');
    expect(await runAuditReport({ period: '2026-10', db, config: configFile, now: NOW, source: 'gateway' })).toContain('Spend $90.00 over 60 requests; previous month $60.00 (+50%).');
    await expect(runAuditReport({ period: '2026-10', db, config: configFile, now: NOW, source: 'cursor' })).rejects.toThrow(/--source: unknown source "cursor"\. Use one of: gateway/);
  });

  it('writes one self-contained HTML file with SVG charts of the same numbers', async () => {
    const html = await runAuditReport({ period: '2026-10', db, config: configFile, format: 'html', now: NOW });
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/<script|<link|src=|href="http/);
    expect((html.match(/<svg /g) ?? []).length).toBe(3);
    const bars = [...html.matchAll(/data-label="(\d\d)" data-value="([\d.]+)"/g)].map((m) => [m[1], Number(m[2])]);
    expect(bars.slice(0, 2)).toEqual([['01', 3], ['02', 3]]);
    // A month, not a day: it asked for YYYY-MM-DD.
    await expect(runAuditReport({ period: '2026-13', db, config: configFile })).rejects.toThrow('--period: expected a month as YYYY-MM with the month 01 to 12 (e.g. 2026-10), got "2026-13".');
    await expect(runAuditReport({ period: '2026-10', db, config: configFile, format: 'pdf' })).rejects.toThrow(/--format: use md or html/);
  });
});

describe('goodhart digest', () => {
  it('writes a person’s week with suggestions from their own findings, and delivers it to a webhook', async () => {
    const received: { body: unknown; headers: IncomingMessage['headers'] }[] = [];
    const server = createServer((req, res) => {
      let data = '';
      req.on('data', (c: Buffer) => (data += c.toString()));
      req.on('end', () => {
        received.push({ body: JSON.parse(data), headers: req.headers });
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const { markdown, sent } = await runDigest({ user: 'alice', db, config: configFile, now: NOW, to: `http://127.0.0.1:${port}/digest` });
    server.close();
    expect(markdown).toContain('# Your AI usage, week of 2026-10-26');
    expect(markdown).toContain('6 requests, $8.00 (+14.3% on the week before).');
    expect(markdown).toContain('1. Say what was wrong instead of asking again. (rephrase-loop: 2 times this week, about $4.00 avoidable');
    expect(markdown).toContain('2. Start a new session when the task changes.');
    expect(markdown).not.toContain('carol');
    expect(sent).toEqual([`http://127.0.0.1:${port}`]);
    expect(received[0]?.body).toMatchObject({ type: 'goodhart.digest.weekly', recipient: { user: 'alice', email: 'alice@example.com' }, weekOf: '2026-10-26', costUsd: 8 });
  });

  it('reads one source with --source', async () => {
    const gateway = await runDigest({ user: 'alice', db, config: configFile, now: NOW, source: 'gateway' });
    expect(gateway.markdown).toContain('_Usage recorded by source gateway only._');
    expect(gateway.markdown).toContain('6 requests, $8.00 (+14.3% on the week before).');
    const imported = await runDigest({ user: 'alice', db, config: configFile, now: NOW, source: 'openai-usage' });
    expect(imported.markdown).toContain('No requests were recorded for you this week.');
    await expect(runDigest({ user: 'alice', db, config: configFile, now: NOW, source: 'nope' })).rejects.toThrow(/--source: unknown source "nope"/);
  });

  it('refuses to send without a webhook sink', async () => {
    await expect(runDigest({ user: 'alice', db, config: configFile, now: NOW, send: true })).rejects.toThrow(/No webhook sink/);
  });

  it('never sends to a webhook that takes no person’s detail (findings: team or off)', async () => {
    let received = 0;
    const server = createServer((req, res) => {
      received++;
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const teamSinks = join(dir, 'team-sinks.yaml');
    writeFileSync(teamSinks, `timeZone: UTC\nteams: [{ id: core }]\nusers: [{ id: alice, team: core }]\nalerts:\n  sinks:\n    - { type: webhook, url: "${url}/team", findings: team }\n    - { type: webhook, url: "${url}/off", findings: off }\n    - { type: slack, url: "${url}/channel", findings: person }\n`);
    try {
      await expect(runDigest({ user: 'alice', db, config: teamSinks, now: NOW, send: true })).rejects.toThrow(/No webhook sink/);
      expect(received).toBe(0);
    } finally {
      server.close();
    }
  });
});

describe('digest suggestions', () => {
  it('are honest and general when there are no findings', () => {
    const s = digestSuggestions([], { costUsd: 10, requests: 40, cacheShare: 0.05 });
    expect(s.map((x) => x.text)).toEqual([
      'No waste patterns were detected in your usage this week: nothing to change on that front.',
      'Only 5% of your input was read from the prompt cache. Long-running sessions with a stable start (system prompt, files) are cheaper than many fresh ones.',
    ]);
  });

  it('do not tell someone whose spend went to one model to try a smaller one without evidence', () => {
    // All of it on gpt-4o-mini, or on claude-opus-4-1 by a heavy user who ships: no finding, so no such advice.
    for (const costUsd of [0.0004, 410]) {
      const texts = digestSuggestions([], { costUsd, requests: 320, cacheShare: 0.9 }, { when: 'in November 2026' }).map((x) => x.text);
      expect(texts).toEqual(['No waste patterns were detected in your usage in November 2026: nothing to change on that front.']);
    }
  });

  it('say there is no usage yet, not that none of it was waste', () => {
    expect(digestSuggestions([], { costUsd: 0, requests: 0, cacheShare: null }, { when: 'this month' }).map((x) => x.text)).toEqual([
      'No usage was recorded for you this month, so there is nothing to suggest yet.',
    ]);
  });
});

describe('goodhart audit: cost per outcome of spend recorded twice', () => {
  it("weighs each person's week once, from the gateway's metering, not adding Claude Code's telemetry of the same requests", async () => {
    const twiceDir = mkdtempSync(join(tmpdir(), 'goodhart-audit-twice-'));
    try {
      const twiceDb = join(twiceDir, 'goodhart.db');
      const store = new SqliteStore(twiceDb);
      const events = [];
      for (let d = 1; d <= 10; d++) {
        const startedAt = at(`2026-10-${String(d).padStart(2, '0')}T10:00:00Z`);
        events.push(makeTestEvent({ id: `gw-${d}`, userId: 'alice', teamId: 'core', provider: 'anthropic', endpoint: 'messages', startedAt, costUsd: 1 }));
        events.push(makeTestEvent({ id: `ot-${d}`, source: 'otel', tags: ['claude-code', 'otel-log'], userId: 'alice', teamId: 'core', provider: 'anthropic', endpoint: 'messages', startedAt: startedAt + 1000, costUsd: 1 }));
      }
      await store.insertEvents(events);
      await store.insertOutcomes([{ id: 'c', kind: 'commit', userId: 'alice', teamId: 'core', repo: null, sessionId: null, at: at('2026-10-05T12:00:00Z'), count: 5, source: 'otel', attrs: {} }]);
      await store.close();
      const md = await runAuditReport({ period: '2026-10', db: twiceDb, config: configFile, now: NOW });
      expect(md).toMatch(/\| Commits \| 5 \| \$2\.00 \|/);
      expect(md).toContain("The period's spend ($10.00: each person's week counted once");
    } finally {
      rmSync(twiceDir, { recursive: true, force: true });
    }
  });
});
