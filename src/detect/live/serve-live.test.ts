import Anthropic from '@anthropic-ai/sdk';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGateway, type Running } from '../../cli/commands/serve.js';
import { configSchema } from '../../config/schema.js';
import { newKey } from '../../keys/keys.js';
import { startSimProvider, type SimProvider } from '../../sim/index.js';
import { openStore } from '../../store/open.js';
import { liveSourceOf } from '../store.js';
import { MIN, prompt, step } from '../testing.js';
import type { DetectInput } from '../types.js';
import { openLive } from './setup.js';

/**
 * `goodhart serve` detects as traffic arrives: a worker thread with its own connection warms up from the stored
 * history, then reads what the gateway stores, and an agent looping through the gateway (official Anthropic SDK,
 * simulated provider) becomes a finding and a webhook call within seconds. A second process on the same database
 * stands by until serve stops and gives the lease up. On a SQLite file and on Postgres.
 */

let receiver: Server;
let receiverUrl = '';
const received: { path: string; body: any }[] = [];
let sim: SimProvider;
let dir = '';
let running: Running | undefined;
const key = newKey({ userId: 'alice', teamId: 'core' });
const PG_URL = process.env['GOODHART_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = `gh_serve_live_${randomBytes(4).toString('hex')}`;
let admin: postgres.Sql;

const TRIES = [
  'fix the failing ledger sync test in src/billing/ledger.ts so the retry does not loop forever on an empty batch',
  'please fix the failing ledger sync test in src/billing/ledger.ts, the retry still loops forever on an empty batch',
  'no, fix the ledger sync test in src/billing/ledger.ts: the retry loops forever when the batch is empty',
  'again: the ledger sync test in src/billing/ledger.ts fails because the retry loops forever on an empty batch, fix it',
  'fix the ledger sync retry in src/billing/ledger.ts so an empty batch does not loop forever and the test passes',
];

/** Bob's rephrase loop two hours ago, stored before serve starts (as an earlier run or an import left it). */
function history(at: number): DetectInput[] {
  const out: DetectInput[] = [];
  let t = at;
  for (const [i, text] of TRIES.entries()) {
    const who = { userId: 'bob', teamId: 'core', sessionId: 'bob-s1' };
    out.push(prompt(text, { ...who, startedAt: t, endedAt: t + 5_000, costUsd: 0.1 }));
    out.push(step('Read {"file":"ledger.ts"}', `ok ${i}`, { ...who, startedAt: t + 10_000, endedAt: t + 14_000, costUsd: 0.05 }));
    t += 14_000 + (60 + 40 * (i % 3)) * 1_000;
  }
  return out;
}

const waitFor = async (what: string, ok: () => boolean, ms = 15_000): Promise<void> => {
  const until = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}; received: ${JSON.stringify(received.map((r) => r.body.type ?? r.body.text))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString()));
    req.on('end', () => {
      received.push({ path: req.url ?? '', body: JSON.parse(text) });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  sim = await startSimProvider();
  dir = mkdtempSync(join(tmpdir(), 'goodhart-serve-live-'));
  admin = postgres(PG_URL, { max: 1, connect_timeout: 5, onnotice: () => {} });
  await admin`CREATE SCHEMA ${admin(SCHEMA)}`.catch((cause: unknown) => {
    throw new Error(`PostgreSQL is not reachable at ${PG_URL} (${String(cause)}): start it as .ci/run does, or set GOODHART_TEST_PG_URL.`);
  });
});
beforeEach(() => {
  received.length = 0;
});
afterAll(async () => {
  await running?.stop().catch(() => {});
  await sim.close();
  await new Promise((resolve) => receiver.close(resolve));
  rmSync(dir, { recursive: true, force: true });
  await admin`DROP SCHEMA IF EXISTS ${admin(SCHEMA)} CASCADE`;
  await admin.end({ timeout: 5 });
});

/** The key, and bob's loop of two hours ago, in a new database. */
async function seed(db: string): Promise<void> {
  const store = await openStore(db);
  await store.createKey(key.record);
  const past = history(Date.now() - 2 * 60 * MIN);
  await store.insertEvents(past.map((x) => x.event));
  await liveSourceOf(store)!.insertFingerprints(past.flatMap((x) => (x.fp ? [x.fp] : [])));
  await store.close();
}

const DBS: [string, () => string][] = [
  ['a SQLite file', () => join(dir, 'goodhart.db')],
  ['Postgres', () => `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}search_path=${SCHEMA}`],
];

describe.each(DBS)('serve with live detection on %s', (_name, location) => {
  it('warms up from history, then finds an agent loop made through the gateway within seconds', async () => {
    const db = location();
    await seed(db);
    const config = configSchema.parse({
      providers: { anthropic: { type: 'anthropic', baseUrl: sim.url, apiKey: 'sk-ant-sim' } },
      alerts: { sinks: [{ type: 'webhook', url: `${receiverUrl}/hook` }, { type: 'slack', url: `${receiverUrl}/slack` }], initialBackoffMs: 10 },
      detect: { live: { intervalSeconds: 1, reorderSeconds: 1, alerts: { minWastedUsd: 0 } } },
      // Team core is bob and alice: the team channel names it only with the small-group rule off.
      dashboard: { minGroupSize: 1 },
    });
    running = await startGateway(config, db, 0, '127.0.0.1');
    expect(running.live?.mode).toBe('worker');
    const warm = await running.live!.tickNow();
    expect(warm).toMatchObject({ leader: true, warmups: 1, warmupEvents: 10 });
    // Each sink delivers on its own: wait for both, so a late delivery is neither missed nor left for the next test.
    const slackSays = (what: string) => received.some((r) => r.path === '/slack' && String(r.body.text).includes(what));
    await waitFor('the rephrase loop from history, on both sinks', () => received.some((r) => r.path === '/hook') && slackSays('Rephrase loops'));
    expect(received.find((r) => r.path === '/hook')!.body.finding).toMatchObject({ rule: 'rephrase-loop', userId: 'bob' });
    expect(received.find((r) => r.path === '/slack')!.body.text).toMatch(/^:mag: Rephrase loops: one person on team core/);

    // An agent session: a prompt, then the same tool call with the same (long) result five times, then the person
    // interrupts with a new prompt.
    const client = new Anthropic({ baseURL: running.url, apiKey: key.key, maxRetries: 0, defaultHeaders: { 'x-goodhart-session': 'agent-1' } });
    const output = Array.from({ length: 1500 }, (_, i) => `FAIL migrations/00${i % 9}.sql: relation "orders_${i}" does not exist`).join('\n');
    const tools = [{ name: 'Bash', description: 'Run a shell command', input_schema: { type: 'object' as const, properties: { command: { type: 'string' } } } }];
    const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'run the migration check and fix what fails' }];
    await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 50, tools, messages });
    for (let i = 0; i < 5; i++) {
      messages.push({ role: 'assistant', content: [{ type: 'tool_use', id: `tu_${i}`, name: 'Bash', input: { command: 'npm run migrate:check' } }] });
      messages.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: `tu_${i}`, content: output }] });
      await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 50, tools, messages });
    }
    messages.push({ role: 'assistant', content: 'The check still fails.' });
    messages.push({ role: 'user', content: 'stop running the same check, read the migration file and tell me what is missing' });
    await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 50, tools, messages });

    await waitFor('the agent circle, on both sinks', () => received.some((r) => r.body.finding?.rule === 'agent-circle') && slackSays('Agent circles'), 20_000);
    const hook = received.find((r) => r.body.finding?.rule === 'agent-circle')!.body;
    expect(hook.finding).toMatchObject({ userId: 'alice', teamId: 'core', sessionId: 'agent-1', subject: { kind: 'session', id: 'agent-1' } });
    expect(hook.finding.evidence.counts).toEqual({ agentSteps: 5, maxIdenticalSteps: 5, repeatedSteps: 4 });
    for (const r of received) expect(JSON.stringify(r.body)).not.toMatch(/migrat|orders_/);
    expect(received.filter((r) => r.path === '/slack').map((r) => r.body.text).find((t: string) => t.includes('Agent circles'))).toMatch(
      /^:mag: Agent circles: one person on team core, \$\d+\.\d\d avoidable/,
    );
    // Every request passed through the feed (7 now, 10 from history in the warm-up), each finding sent once.
    const stats = running.live!.stats()!;
    expect(stats.events).toBe(7);
    expect(received.filter((r) => r.path === '/hook').map((r) => r.body.finding.rule).sort()).toEqual(['agent-circle', 'rephrase-loop']);

    // A second process on the same database stands by while serve holds the lease, and takes over once it stops.
    const other = await openStore(db);
    const standby = (await openLive({ config, store: other, budgets: () => [], log: () => {}, holder: 'standby' }))!;
    await standby.detector.tick();
    expect(standby.detector.stats.leader).toBe(false);
    await running.stop();
    running = undefined;
    await standby.detector.tick();
    expect(standby.detector.stats).toMatchObject({ leader: true, warmupEvents: 17 });
    await standby.close();
    await other.close();
  });
});
