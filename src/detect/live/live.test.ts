import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configSchema, type GoodhartConfig } from '../../config/schema.js';
import { PostgresStore } from '../../store/postgres/postgres-store.js';
import { SqliteStore } from '../../store/sqlite/sqlite-store.js';
import type { Store } from '../../store/types.js';
import { createPricer } from '../../usage/pricing.js';
import { liveSourceOf } from '../store.js';
import { DAY, MIN, T0, event, prompt, step } from '../testing.js';
import type { DetectInput } from '../types.js';
import { LiveDetector } from './live.js';
import { openLive, type Live } from './setup.js';

/**
 * Live detection end to end, in-process, on SQLite and on Postgres: events stored the way the gateway stores them
 * become findings on the next ticks, stored once (a restart recomputes the same ids), sent once to a real local
 * webhook and Slack receiver, with a person's detail only where the sink allows; events that arrive days late are
 * re-detected with their day; one lease holder at a time; budget forecasts that cross their amount are sent once.
 */

interface Received {
  path: string;
  body: any;
}
let receiver: Server;
let receiverUrl = '';
const received: Received[] = [];

const PG_URL = process.env['GOODHART_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const RUN = `gh_live_${randomBytes(4).toString('hex')}`;
const schemas: string[] = [];
let admin: postgres.Sql;
let dir = '';

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
  dir = mkdtempSync(join(tmpdir(), 'goodhart-live-'));
  admin = postgres(PG_URL, { max: 2, connect_timeout: 5, onnotice: () => {} });
  await admin`SELECT 1`.catch((cause: unknown) => {
    throw new Error(`PostgreSQL is not reachable at ${PG_URL} (${String(cause)}): start it as .ci/run does, or set GOODHART_TEST_PG_URL.`);
  });
});
afterAll(async () => {
  await new Promise((resolve) => receiver.close(resolve));
  rmSync(dir, { recursive: true, force: true });
  for (const s of schemas) await admin`DROP SCHEMA IF EXISTS ${admin(s)} CASCADE`;
  await admin.end({ timeout: 5 });
});
beforeEach(() => {
  received.length = 0;
});

const STORES: [string, () => Promise<Store>][] = [
  ['sqlite', async () => new SqliteStore(join(dir, `live-${randomBytes(4).toString('hex')}.db`))],
  [
    'postgres',
    async () => {
      const schema = `${RUN}_${schemas.length + 1}`;
      schemas.push(schema);
      await admin`CREATE SCHEMA ${admin(schema)}`;
      return PostgresStore.open(PG_URL, { searchPath: schema, max: 4 });
    },
  ],
];

function configWith(extra: Record<string, unknown> = {}): GoodhartConfig {
  return configSchema.parse({
    timeZone: 'UTC',
    alerts: {
      sinks: [
        { type: 'webhook', url: `${receiverUrl}/hook` },
        { type: 'slack', url: `${receiverUrl}/slack` },
        { type: 'webhook', url: `${receiverUrl}/quiet`, findings: 'off' },
      ],
      initialBackoffMs: 10,
    },
    // Cents-sized test loops: send whatever is found.
    detect: { live: { alerts: { minWastedUsd: 0 } } },
    ...extra,
  });
}

const BASE = 'fix the failing ledger sync test in src/billing/ledger.ts so the retry does not loop forever on an empty batch';
const TRIES = [
  BASE,
  'please fix the failing ledger sync test in src/billing/ledger.ts, the retry still loops forever on an empty batch',
  'no, fix the ledger sync test in src/billing/ledger.ts: the retry loops forever when the batch is empty',
  'again: the ledger sync test in src/billing/ledger.ts fails because the retry loops forever on an empty batch, fix it',
  'fix the ledger sync retry in src/billing/ledger.ts so an empty batch does not loop forever and the test passes',
];

/** Five rewordings of one request, each followed by two agent steps: a rephrase loop ($0.60 superseded). */
function loop(user: string, team: string, at: number, texts = TRIES): DetectInput[] {
  const out: DetectInput[] = [];
  let t = at;
  for (const [i, text] of texts.entries()) {
    const who = { userId: user, teamId: team, sessionId: `${user}-s1` };
    out.push(prompt(text, { ...who, startedAt: t, endedAt: t + 5_000, costUsd: 0.1 }));
    out.push(step('Read {"file":"ledger.ts"}', `ok ${i}`, { ...who, startedAt: t + 10_000, endedAt: t + 14_000, costUsd: 0.05 }));
    out.push(step('Edit {"file":"ledger.ts"}', `edited ${i}`, { ...who, startedAt: t + 20_000, endedAt: t + 25_000, costUsd: 0.05 }));
    t += 25_000 + (60 + 40 * (i % 3)) * 1_000;
  }
  return out;
}

/** Stores requests as the gateway does: events by end time, in batches, fingerprints beside them. */
async function store(s: Store, inputs: readonly DetectInput[]): Promise<void> {
  const byEnd = [...inputs].sort((a, b) => a.event.endedAt - b.event.endedAt);
  for (let i = 0; i < byEnd.length; i += 4) {
    const batch = byEnd.slice(i, i + 4);
    await s.insertEvents(batch.map((x) => x.event));
    await liveSourceOf(s)!.insertFingerprints(batch.flatMap((x) => (x.fp ? [x.fp] : [])));
  }
}

const hooks = () => received.filter((r) => r.path === '/hook').map((r) => r.body);
const slack = () => received.filter((r) => r.path === '/slack').map((r) => r.body);

describe.each(STORES)('live detection on %s', (_name, makeStore) => {
  it('turns stored events into findings on the next ticks, stored and sent once, re-detects late days, one holder at a time', async () => {
    const s = await makeStore();
    const clock = { t: T0 - 60 * MIN };
    const config = configWith();
    const open = (holder: string): Promise<Live | null> =>
      openLive({ config, store: s, budgets: () => [], log: () => {}, now: () => clock.t, holder });
    let live = (await open('A'))!;
    await live.detector.tick();
    expect(live.detector.stats).toMatchObject({ leader: true, warmups: 1, warmupEvents: 0 });

    await store(s, loop('alice', 'core', T0));
    // Two tries and no more: honest iteration, no finding.
    await store(s, loop('bob', 'core', T0 + 2 * MIN, TRIES.slice(0, 2)));
    clock.t = T0 + 12 * MIN;
    await live.detector.tick();
    expect(live.detector.stats.events).toBe(21);
    // Held for the reorder window (and one tick at least): nothing reached the detectors yet.
    expect(await liveSourceOf(s)!.listFindings({})).toEqual([]);

    clock.t = T0 + 30 * MIN;
    await live.detector.tick();
    await live.dispatcher!.drain();
    const found = await liveSourceOf(s)!.listFindings({});
    expect(found.map((f) => [f.rule, f.userId, f.teamId])).toEqual([['rephrase-loop', 'alice', 'core']]);
    expect(found[0]!.wastedUsd).toBeCloseTo(0.6, 5);
    expect(found[0]!.evidence.counts['prompts']).toBe(5);

    // The webhook (person by default) names the person and the requests; no prompt text anywhere.
    expect(hooks()).toHaveLength(1);
    const hook = hooks()[0];
    expect(hook).toMatchObject({
      type: 'goodhart.finding',
      id: `finding|${found[0]!.id}`,
      detail: 'person',
      finding: { rule: 'rephrase-loop', title: 'Rephrase loops', subject: { kind: 'user', id: 'alice' }, userId: 'alice', teamId: 'core', wastedUsd: 0.6 },
    });
    expect(hook.finding.evidence.requestIds).toHaveLength(5);
    expect(hook.finding.suggestion).toMatch(/say what was wrong/);
    // The Slack channel (team by default) gets the dollars, never the person, session or requests; nor the team,
    // which two people used this month (fewer than dashboard.minGroupSize, 3): "team core" would be bob's colleague.
    expect(slack()).toHaveLength(1);
    const text: string = slack()[0].text;
    expect(text).toMatch(/^:mag: Rephrase loops: one person on a small team, \$0\.60 avoidable, 2026-09-07 09:00:00 to 2026-09-07 09:0\d:\d\d UTC\. 5 near-identical prompts/);
    expect(text).toMatch(/Suggestion: When an answer misses/);
    expect(text).not.toMatch(/alice|alice-s1|ev-|core/);
    for (const body of received) expect(JSON.stringify(body)).not.toMatch(/ledger|batch/);
    // A sink with `findings: off` gets nothing of detection.
    expect(received.filter((r) => r.path === '/quiet')).toEqual([]);

    // Nothing new: nothing sent again.
    clock.t += 2 * MIN;
    await live.detector.tick();
    await live.dispatcher!.drain();
    expect(received).toHaveLength(2);

    // Another process cannot run it while A holds the lease.
    const other = (await open('B'))!;
    await other.detector.tick();
    expect(other.detector.stats.leader).toBe(false);

    // A restart (A gives the lease up, B takes over): B rebuilds from history and finds the same finding, which
    // replaces itself in the store and is not sent again.
    await live.close();
    live = other;
    clock.t = T0 + 40 * MIN;
    await live.detector.tick();
    await live.dispatcher!.drain();
    expect(live.detector.stats).toMatchObject({ leader: true, warmups: 1, warmupEvents: 21 });
    expect((await liveSourceOf(s)!.listFindings({})).map((f) => f.id)).toEqual([found[0]!.id]);
    expect(live.dispatcher!.stats.duplicates).toBe(1);
    expect(received).toHaveLength(2);

    // An import of carol's logs from two days ago arrives: too late for the running state; her day is re-detected
    // once the arrivals pause (and at most every redetectMinutes). History is stored, not sent.
    await store(s, loop('carol', 'data', T0 - 2 * DAY));
    clock.t = T0 + 41 * MIN;
    await live.detector.tick();
    expect(live.detector.stats.tooLate).toBe(15);
    expect((await liveSourceOf(s)!.listFindings({ userId: 'carol' }))).toEqual([]);
    clock.t = T0 + 72 * MIN;
    await live.detector.tick();
    await live.dispatcher!.drain();
    expect(live.detector.stats.redetections).toBe(1);
    const carol = await liveSourceOf(s)!.listFindings({ userId: 'carol' });
    expect(carol.map((f) => [f.rule, f.start])).toEqual([['rephrase-loop', T0 - 2 * DAY]]);
    expect((await liveSourceOf(s)!.listFindings({})).map((f) => f.userId)).toEqual(['alice', 'carol']);
    expect(received).toHaveLength(2);

    await live.close();
    await s.close();
  });

  it('sends a budget forecast that crosses its amount once per budget instance and period', async () => {
    const s = await makeStore();
    const now = Date.UTC(2026, 8, 15, 12); // 15 September, noon: 14.5 days of 30 gone
    const clock = { t: now };
    const config = configWith({
      budgets: [
        { id: 'core-monthly', scope: 'team:core', amount: 200 },
        { id: 'per-person', scope: 'user:*', amount: 90 },
        { id: 'roomy', scope: 'team:core', amount: 1_000 },
      ],
    });
    // $6 a day on each of the first 14 days: $84 so far, about $177 by the month's end.
    const days = Array.from({ length: 14 }, (_, d) =>
      event({ startedAt: Date.UTC(2026, 8, 1 + d, 10), userId: 'alice', teamId: 'core', costUsd: 6 }),
    );
    await s.insertEvents(days);
    const live = (await openLive({ config, store: s, budgets: () => config.budgets, log: () => {}, now: () => clock.t, holder: 'A' }))!;
    await live.detector.tick();
    await live.dispatcher!.drain();
    // core-monthly (200) is not crossed by the trend ($177 ± 0: the days are equal); the per-person run rate is.
    expect(hooks().map((b) => [b.type, b.budget.id, b.budget.scope])).toEqual([['goodhart.budget.forecast', 'per-person', 'user:alice']]);
    const hook = hooks()[0];
    expect(hook.spent).toBeCloseTo(84, 6);
    expect(hook.projected).toBeCloseTo((84 / 14.5) * 30, 6);
    expect(hook.method).toBe('run-rate');
    expect(hook.periodStart).toBe('2026-09-01T00:00:00.000Z');
    expect(slack().map((b) => b.text)).toEqual([
      ":crystal_ball: A personal budget is projected to reach $173.79 this month against $90.00; $84.00 spent so far. At this rate it runs out around 2026-09-16.",
    ]);
    // A day later the same forecast is not sent again; a budget lowered below the trend is.
    clock.t += DAY;
    config.budgets[0]!.amount = 150;
    await live.detector.tick();
    await live.dispatcher!.drain();
    expect(hooks().map((b) => b.budget.id)).toEqual(['per-person', 'core-monthly']);
    expect(hooks()[1]).toMatchObject({ method: 'trend', budget: { scope: 'team:core', amount: 150 } });
    expect(hooks()[1].high).toBeGreaterThanOrEqual(150);
    await live.close();
    await s.close();
  });

  it('names the team in a team channel once it has dashboard.minGroupSize people this month', async () => {
    const s = await makeStore();
    const clock = { t: T0 - 60 * MIN };
    const live = (await openLive({ config: configWith({ dashboard: { minGroupSize: 2 } }), store: s, budgets: () => [], log: () => {}, now: () => clock.t, holder: 'A' }))!;
    await live.detector.tick();
    await store(s, loop('alice', 'core', T0));
    await store(s, loop('bob', 'core', T0 + 2 * MIN, TRIES.slice(0, 2)));
    // A team of one: its finding names no team.
    await store(s, loop('dana', 'solo', T0 + 3 * MIN));
    clock.t = T0 + 12 * MIN;
    await live.detector.tick();
    clock.t = T0 + 30 * MIN;
    await live.detector.tick();
    await live.dispatcher!.drain();
    const texts: string[] = slack().map((b) => b.text).sort();
    expect(texts).toHaveLength(2);
    expect(texts[0]).toMatch(/^:mag: Rephrase loops: one person on a small team, /);
    expect(texts[0]).not.toMatch(/solo|dana/);
    expect(texts[1]).toMatch(/^:mag: Rephrase loops: one person on team core, /);
    // The webhook takes people's detail: the team, whatever its size.
    expect(hooks().map((h) => h.finding.teamId).sort()).toEqual(['core', 'solo']);
    await live.close();
    await s.close();
  });

  it('reads and releases at most maxPerTick events a tick, and catches up in ticks that follow at once', async () => {
    const s = await makeStore();
    const clock = { t: T0 - 60 * MIN };
    const live = (await openLive({ config: configWith(), store: s, budgets: () => [], log: () => {}, now: () => clock.t, holder: 'A', maxPerTick: 50 }))!;
    await live.detector.tick();
    // 120 requests over two minutes, stored as they end.
    const events = Array.from({ length: 120 }, (_, i) => event({ userId: 'carol', teamId: 'core', startedAt: T0 + i * 1_000 }));
    for (let i = 0; i < events.length; i += 10) await s.insertEvents(events.slice(i, i + 10));

    clock.t = T0 + 10 * MIN;
    const rounds: [number, boolean][] = [];
    await live.detector.catchUp(() => rounds.push([live.detector.stats.events, live.detector.stats.backlog]));
    expect(rounds).toEqual([[50, true], [100, true], [120, false]]);
    // Read in this round: held to the next scheduled tick, however many ticks the round took.
    expect(live.detector.stats.watermark).toBe(T0);

    // The next round releases them, 50 a tick, in start order: the clock stops at the first one still held.
    clock.t = T0 + 20 * MIN;
    const clocks: number[] = [];
    await live.detector.catchUp(() => clocks.push(live.detector.stats.watermark!));
    expect(clocks).toEqual([T0 + 50_000, T0 + 100_000, clock.t - 300_000]);
    expect(live.detector.stats).toMatchObject({ events: 120, backlog: false, buffered: 0 });
    await live.close();
    await s.close();
  });

  it('stops catching up when the lease is lost: the next scheduled tick goes on', async () => {
    const s = await makeStore();
    const clock = { t: T0 - 60 * MIN };
    const config = configWith();
    const source = liveSourceOf(s)!;
    let keepLease = true;
    // The store's own source, but the lease can be taken away (another replica took it over).
    const lossy = Object.assign(Object.create(source) as typeof source, {
      saveCursor: (...a: Parameters<typeof source.saveCursor>) => (keepLease ? source.saveCursor(...a) : Promise.resolve(false)),
    });
    const live = new LiveDetector({
      store: s, source: lossy, detect: config.detect, pricer: createPricer(), timeZone: 'UTC', budgets: () => [], publish: null,
      now: () => clock.t, holder: 'A', log: () => {}, maxPerTick: 50,
    });
    await live.tick();
    await s.insertEvents(Array.from({ length: 120 }, (_, i) => event({ userId: 'dan', teamId: 'core', startedAt: T0 + i * 1_000 })));
    clock.t = T0 + 10 * MIN;
    keepLease = false;
    let ticks = 0;
    await live.catchUp(() => ticks++);
    expect(ticks).toBe(1);
    expect(live.stats).toMatchObject({ leader: false, backlog: false, events: 50 });
    await live.close();
    await s.close();
  });
});
