/**
 * Reports and dashboard on 10 million events: how long the dashboard's main API calls and `goodhart report daily`
 * take when aggregates come from the hourly rollups.
 *
 *   npm run build && npm run bench:report [-- --events 10000000 --db /tmp/gh-report-bench.db]
 *
 * Generates the events through the store (rollups maintained as they arrive; an existing --db with enough events
 * is reused), then starts a real gateway on it, signs in as finance, a team lead and a member, and times each
 * API call over HTTP (first call, then the median and worst of 5), with the longest the gateway's event loop was
 * blocked meanwhile (the dashboard reads a SQLite file on a thread of its own; a request being proxied waits that
 * long). Routing decisions in shadow mode for a quarter of the requests feed the savings card. `goodhart report
 * daily` runs as a child process of the built CLI, cold each time (a new process). For comparison, the daily
 * report from raw events (no rollup).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import Table from 'cli-table3';
import { configSchema } from '../../src/config/schema.js';
import type { Finding } from '../../src/detect/types.js';
import { createGateway } from '../../src/gateway/server.js';
import { newKey } from '../../src/keys/keys.js';
import type { OutcomeEvent } from '../../src/outcomes/event.js';
import type { RouteDecision } from '../../src/route/decisions.js';
import { SqliteDecisionStore } from '../../src/route/sqlite-decisions.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { DAYS, FROM, TEAMS, USERS, eventsBatch, rng, teamOf, userName } from './data.js';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '10000000' },
    db: { type: 'string', default: '/tmp/gh-report-bench.db' },
    batch: { type: 'string', default: '5000' },
  },
});
const EVENTS = Number(args.events);
const DB = args.db!;
const BATCH = Number(args.batch);
const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const NOW = Date.parse('2026-10-20T12:00:00Z');
const log = (s: string) => process.stderr.write(`${s}\n`);

async function generate(store: SqliteStore): Promise<void> {
  const have = (await store.aggregate('month', {})).reduce((a, r) => a + r.requests, 0);
  if (have >= EVENTS) {
    log(`${DB}: ${have.toLocaleString('en-US')} events already there, reused.`);
    return;
  }
  const rand = rng(42);
  const t0 = performance.now();
  let last = t0;
  for (let i = have; i < EVENTS; i += BATCH) {
    await store.insertEvents(eventsBatch(i, Math.min(EVENTS, i + BATCH), EVENTS, rand));
    if ((i + BATCH) % 500_000 < BATCH) {
      const t = performance.now();
      log(`  ${(i + BATCH).toLocaleString('en-US')} events, ${Math.round(500_000 / ((t - last) / 1000)).toLocaleString('en-US')}/s`);
      last = t;
    }
  }
  log(`generated ${EVENTS.toLocaleString('en-US')} events in ${Math.round((performance.now() - t0) / 1000)} s (${Math.round(EVENTS / ((performance.now() - t0) / 1000)).toLocaleString('en-US')}/s, rollups maintained by the store)`);
  // Findings and outcomes, so the pages that show them have a realistic amount to read.
  const findings: Finding[] = [];
  const outcomes: OutcomeEvent[] = [];
  for (let i = 0; i < 5_000; i++) {
    const u = Math.floor(rand() * USERS);
    const start = FROM + Math.floor(rand() * DAYS * 86_400_000);
    findings.push({
      id: `f-${i}`, rule: (['rephrase-loop', 'context-bloat', 'premium-overkill', 'idle-loop'] as const)[i % 4]!,
      subject: { kind: 'user', id: userName(u) }, userId: userName(u), teamId: teamOf(u), sessionId: null, start, end: start + 600_000,
      evidence: { counts: { requests: 5 + (i % 20) }, ratios: { similarity: 0.9 }, requestIds: [] }, wastedUsd: Math.round(rand() * 500) / 100,
      wasteMethod: 'cost of the repeated requests', confidence: 0.8, summary: 'Repeated a similar prompt several times.', suggestion: 'Say what was wrong with the answer instead of asking again.', detectedAt: start,
    });
  }
  for (let i = 0; i < 50_000; i++) {
    const u = Math.floor(rand() * USERS);
    outcomes.push({ id: `o-${i}`, kind: i % 5 === 0 ? 'pull_request' : 'commit', userId: userName(u), teamId: teamOf(u), repo: null, sessionId: null, at: FROM + Math.floor(rand() * DAYS * 86_400_000), count: 1, source: 'otel', attrs: {} });
  }
  await store.findings.upsertFindings(findings);
  await store.insertOutcomes(outcomes);
}

/** Routing in shadow mode for a quarter of the requests: the decisions the savings card sums. */
async function generateDecisions(): Promise<void> {
  const decisions = new SqliteDecisionStore(DB);
  const want = Math.round(EVENTS / 4);
  const have = (await decisions.savingsGroups({})).reduce((a, g) => a + g.requests, 0);
  const rand = rng(7);
  for (let i = have; i < want; i += BATCH) {
    const batch: RouteDecision[] = [];
    for (let j = i; j < Math.min(want, i + BATCH); j++) {
      const u = Math.floor(rand() * USERS);
      const requested = rand() * 0.02;
      batch.push({
        id: `d-${j}`, at: FROM + Math.floor((j / want) * DAYS * 86_400_000), mode: 'shadow', applied: false, keyId: `k-${u}`, userId: userName(u),
        teamId: teamOf(u), projectId: null, provider: 'openai', endpoint: 'chat.completions', taskClass: j % 3 === 0 ? 'question' : 'chat', score: rand() * 0.3,
        modelRequested: j % 2 === 0 ? 'gpt-4o' : 'o3', modelRouted: 'gpt-4o-mini', requestedCostUsd: requested, routedCostUsd: requested / 16, missAt: null,
      });
    }
    await decisions.insertDecisions(batch);
  }
  if (have < want) log(`generated ${(want - have).toLocaleString('en-US')} routing decisions`);
  await decisions.close();
}

interface Timing { name: string; first: number; median: number; worst: number; note: string; stall: number | null }

/**
 * The longest the gateway's event loop was blocked while the calls ran (the gateway runs in this process): what a
 * request being proxied at that moment would have waited. Sampled every millisecond.
 */
const loop = monitorEventLoopDelay({ resolution: 1 });
loop.enable();

async function time(name: string, run: () => Promise<string>, times = 5, inGateway = true): Promise<Timing> {
  loop.reset();
  const t0 = performance.now();
  const note = await run();
  const first = performance.now() - t0;
  const runs: number[] = [];
  for (let i = 0; i < times; i++) {
    const t = performance.now();
    await run();
    runs.push(performance.now() - t);
  }
  runs.sort((a, b) => a - b);
  return { name, first, median: runs[Math.floor(runs.length / 2)]!, worst: runs.at(-1)!, note, stall: inGateway ? loop.max / 1e6 : null };
}

async function main(): Promise<void> {
  const store = new SqliteStore(DB);
  await generate(store);
  await generateDecisions();

  const users = Array.from({ length: USERS }, (_, u) => ({ id: userName(u), team: teamOf(u), role: u < TEAMS ? 'lead' : 'member' }));
  const config = configSchema.parse({
    timeZone: 'UTC',
    teams: Array.from({ length: TEAMS }, (_, t) => ({ id: teamOf(t) })),
    users: [...users, { id: 'fin', role: 'finance' }],
    budgets: [
      { id: 'org-month', scope: 'org', amount: 400_000, period: 'month' },
      { id: 'team-month', scope: 'team:*', amount: 35_000, period: 'month' },
      { id: 'person-month', scope: 'user:*', amount: 1_000, period: 'month' },
    ],
  });
  const gateway = await createGateway({ config, store, now: () => NOW });
  const url = await gateway.listen(0, '127.0.0.1');
  const key = async (userId: string, teamId: string | null) => {
    const made = newKey({ userId, teamId, projectId: null, name: 'bench' });
    await store.createKey(made.record);
    await gateway.keys.refresh();
    return made.key;
  };
  const signIn = async (k: string): Promise<string> => {
    const res = await fetch(`${url}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: k }) });
    if (!res.ok) throw new Error(`sign-in: ${res.status} ${await res.text()}`);
    return res.headers.get('set-cookie')!.split(';')[0]!;
  };
  const finance = await signIn(await key('fin', null));
  const lead = await signIn(await key(userName(0), teamOf(0)));
  const member = await signIn(await key(userName(12), teamOf(12)));
  const call = (cookie: string, path: string) => async (): Promise<string> => {
    const res = await fetch(`${url}${path}`, { headers: { cookie } });
    const body = await res.text();
    if (!res.ok) throw new Error(`${path}: ${res.status} ${body}`);
    return `${(body.length / 1024).toFixed(0)} KiB`;
  };

  const rows: Timing[] = [];
  rows.push(await time('finance GET /api/org (October to date)', call(finance, '/api/org')));
  rows.push(await time('finance GET /api/org?month=2026-09 (whole month)', call(finance, '/api/org?month=2026-09')));
  rows.push(await time('finance GET /api/teams/team-00', call(finance, '/api/teams/team-00')));
  rows.push(await time('finance GET /api/budgets (org, 12 teams, 400 people)', call(finance, '/api/budgets')));
  rows.push(await time('finance GET /api/findings', call(finance, '/api/findings')));
  rows.push(await time('lead GET /api/teams/team-00 (with people)', call(lead, '/api/teams/team-00')));
  rows.push(await time('member GET /api/users/me', call(member, '/api/users/me')));
  rows.push(await time('member GET /api/teams/team-00 (totals only)', call(member, '/api/teams/team-00')));
  rows.push(await time('member GET /api/me', call(member, '/api/me')));
  await gateway.close();

  if (existsSync(CLI)) {
    for (const extra of [[], ['--since', '2026-10-01'], ['--tz', 'Europe/Berlin'], ['--team', 'team-03']]) {
      rows.push(
        await time(`goodhart report daily ${extra.join(' ')} (child process, cold)`, async () => {
          const r = spawnSync(process.execPath, [CLI, 'report', 'daily', '--db', DB, ...extra], { encoding: 'utf8' });
          if (r.status !== 0) throw new Error(`report daily failed: ${r.stderr}`);
          return `${r.stdout.split('\n').length} lines`;
        }, 5, false),
      );
    }
  } else log(`${CLI} is missing: run \`npm run build\` first to time the CLI.`);
  const raw = new SqliteStore(DB, { rollups: false });
  rows.push(await time('daily aggregate from raw events (no rollup), in process', async () => `${(await raw.aggregate('day', {})).length} days`, 1, false));
  await raw.close();
  await store.close();

  const table = new Table({ head: ['Call', 'first ms', 'median ms', 'worst ms', 'gateway blocked ms', 'answer'], colAligns: ['left', 'right', 'right', 'right', 'right', 'left'], style: { head: [], border: [] } });
  for (const r of rows) table.push([r.name, r.first.toFixed(1), r.median.toFixed(1), r.worst.toFixed(1), r.stall === null ? '' : r.stall.toFixed(1), r.note]);
  process.stdout.write(`Reports on ${EVENTS.toLocaleString('en-US')} events (${DAYS} days, ${USERS} people, ${TEAMS} teams)\n${table.toString()}\n`);
}

await main();
