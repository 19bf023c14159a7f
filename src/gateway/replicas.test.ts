/**
 * Scale-out, end to end: gateway replicas as separate processes (`goodhart serve`), sharing one Postgres schema
 * and one Redis key prefix of their own (both removed at the end), in front of the simulated provider (`goodhart
 * sim`, a process too). Clients are plain HTTP; what is asserted comes from Postgres, Redis and the responses.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newKey } from '../keys/keys.js';
import { PostgresStore } from '../store/postgres/postgres-store.js';
import { pgSchema, redisPrefix, spawnGoodhart, type Proc } from '../testing/replicas.js';

const PG_URL = process.env['GOODHART_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env['GOODHART_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
/** Reservation TTL = the upstream timeout: short, so the SIGKILL test sees leaked reservations expire. */
const UPSTREAM_TIMEOUT_MS = 5_000;
const OUT_TOKENS = 1000;

let dir: string;
let pg: Awaited<ReturnType<typeof pgSchema>>;
let rd: Awaited<ReturnType<typeof redisPrefix>>;
let sim: Proc;
let cfg: string;
const procs: Proc[] = [];
const keys: Record<string, string> = {};
let oneRequest = 0;
let worstCase = 0;
const AFFORDS = { bob: 50.5, carol: 20.5 };
const ADMIN_KEY = 'adm-replicas-test-0123456789';

const body = (ttft: number, stream = false) =>
  JSON.stringify({
    model: 'gpt-4o-mini',
    max_tokens: OUT_TOKENS,
    ...(stream ? { stream: true } : {}),
    messages: [{ role: 'user', content: `Count the sheep. [[sim:tokens=${OUT_TOKENS},ttft=${ttft}]]` }],
  });

interface Outcome {
  status: number;
  id: string | null;
  ms: number;
}

async function ask(base: string, user: string, ttft: number, stream = false): Promise<Outcome> {
  const t0 = performance.now();
  try {
    const res = await request(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys[user]}`, 'content-type': 'application/json' },
      body: body(ttft, stream),
    });
    const text = await res.body.text();
    // A stream is acknowledged once it ends with its [DONE]; a cut stream is not.
    const complete = !stream || text.includes('[DONE]');
    const id = res.headers['x-goodhart-request-id'];
    return { status: complete ? res.statusCode : 0, id: typeof id === 'string' ? id : null, ms: performance.now() - t0 };
  } catch {
    return { status: 0, id: null, ms: performance.now() - t0 };
  }
}

async function replica(): Promise<Proc> {
  const p = await spawnGoodhart(['serve', '--config', cfg, '--db', pg.url, '--port', '0'], { GOODHART_REDIS_URL: REDIS_URL });
  procs.push(p);
  return p;
}

/** Gateway events of a user in Postgres, once `n` are there (writers flush every 200 ms). */
async function events(user: string, n: number): Promise<{ id: string; status: number; cost_usd: number | null }[]> {
  for (let i = 0; ; i++) {
    const rows = await pg.sql<{ id: string; status: number; cost_usd: number | null }[]>`
      SELECT id, status, cost_usd FROM ${pg.sql(pg.schema)}.events WHERE user_id = ${user}`;
    if (rows.length >= n || i > 50) return rows;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Spent and reserved of a user's daily window, read from Redis. */
async function redisWindow(user: string): Promise<{ spent: number; reserved: number; inFlight: number }> {
  const [win] = await rd.redis.keys(`${rd.prefix}w:user:${user}|*`);
  const [su, ru] = await rd.redis.hmget(win!, 'su', 'ru');
  const inFlight = await rd.redis.zcard(win!.replace(`${rd.prefix}w:`, `${rd.prefix}r:`));
  return { spent: Number(su), reserved: Number(ru), inFlight };
}

const sum = (rows: { cost_usd: number | null }[]) => rows.reduce((a, r) => a + (r.cost_usd ?? 0), 0);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'goodhart-replicas-'));
  pg = await pgSchema(PG_URL, 'replicas');
  rd = await redisPrefix(REDIS_URL, 'replicas');
  sim = await spawnGoodhart(['sim', '--port', '0']);
  procs.push(sim);
  // Price one request as the gateway will (gpt-4o-mini: $0.15 / $0.60 per million tokens), straight from the sim.
  const probe = await request(`${sim.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: 'Bearer sk-sim-openai', 'content-type': 'application/json' },
    body: body(0),
  });
  const usage = ((await probe.body.json()) as { usage: { prompt_tokens: number; completion_tokens: number } }).usage;
  oneRequest = (usage.prompt_tokens * 0.15 + usage.completion_tokens * 0.6) / 1e6;
  worstCase = ((usage.prompt_tokens + 10 + 64) * 0.15 + OUT_TOKENS * 0.6) / 1e6;
  const store = await PostgresStore.open(pg.url);
  for (const user of ['bob', 'carol', 'dave', 'eve', 'frank', 'gail']) {
    const k = newKey({ userId: user, teamId: 'platform' });
    await store.createKey(k.record);
    keys[user] = k.key;
  }
  await store.close();
  cfg = join(dir, 'goodhart.yaml');
  writeFileSync(
    cfg,
    [
      `providers: { openai: { type: openai, baseUrl: "${sim.url}/v1", apiKey: sk-sim-openai } }`,
      `server: { upstreamTimeoutMs: ${UPSTREAM_TIMEOUT_MS} }`,
      `admin: { keys: [{ id: ops, key: "${ADMIN_KEY}", role: admin }] }`,
      `redis: { url: "${REDIS_URL}", keyPrefix: "${rd.prefix}" }`,
      'budgets:',
      `  - { id: bob-daily, scope: "user:bob", amount: ${oneRequest * AFFORDS.bob}, period: day, thresholds: [] }`,
      `  - { id: carol-daily, scope: "user:carol", amount: ${oneRequest * AFFORDS.carol}, period: day, thresholds: [] }`,
      `  - { id: gail-daily, scope: "user:gail", amount: ${worstCase * 1.5}, period: day, thresholds: [] }`,
      '',
    ].join('\n'),
  );
}, 60_000);

afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop('SIGKILL')));
  await rd?.drop();
  await pg?.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe('two gateway processes on Postgres and Redis', () => {
  let a: Proc;
  let b: Proc;

  it('share one budget under 200 concurrent requests: never overspent, and used to what it affords', async () => {
    [a, b] = await Promise.all([replica(), replica()]);
    // Both replicas warm (JIT, pools) before the burst, so neither takes the whole budget just by being first.
    for (const r of [a, b]) await Promise.all(Array.from({ length: 10 }, () => ask(r.url, 'frank', 0)));
    const budget = oneRequest * AFFORDS.bob;
    const outcomes = await Promise.all(Array.from({ length: 200 }, (_, i) => ask((i % 2 ? a : b).url, 'bob', 1500)));
    const served = outcomes.filter((o) => o.status === 200).length;
    expect(outcomes.filter((o) => o.status !== 200 && o.status !== 429)).toEqual([]);
    // Both replicas served part of it.
    expect(outcomes.filter((o, i) => i % 2 === 1 && o.status === 200).length).toBeGreaterThan(0);
    expect(outcomes.filter((o, i) => i % 2 === 0 && o.status === 200).length).toBeGreaterThan(0);

    const rows = await events('bob', 200);
    expect(rows).toHaveLength(200);
    expect(rows.filter((r) => r.status === 200)).toHaveLength(served);
    const spent = sum(rows);
    expect(spent).toBeLessThanOrEqual(budget);
    expect(budget - spent).toBeLessThan(worstCase);
    expect(served).toBe(Math.floor((budget - worstCase) / oneRequest) + 1);
    // Redis agrees with the ledger in Postgres, and holds no reservation.
    const w = await redisWindow('bob');
    expect(w.spent).toBeCloseTo(spent, 12);
    expect(w).toMatchObject({ reserved: 0, inFlight: 0 });
    // Each replica counts its own refusals.
    const blocks = await Promise.all(
      [a, b].map(async (p) => {
        const text = await (await request(`${p.url}/metrics`)).body.text();
        expect(text).toMatch(/^goodhart_event_queue_depth \d+$/m);
        return Number(/goodhart_refused_total\{reason="budget_exceeded"\} (\d+)/.exec(text)?.[1] ?? 0);
      }),
    );
    expect(blocks[0]! + blocks[1]!).toBe(200 - served);
  }, 60_000);

  it('apply a budget set through one replica on the other at once', async () => {
    expect((await ask(b.url, 'eve', 0)).status).toBe(200);
    const put = await request(`${a.url}/admin/v1/budgets/eve-daily`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ scope: 'user:eve', amount: oneRequest * 1.5, period: 'day', thresholds: [] }),
    });
    expect(put.statusCode).toBe(200);
    await put.body.dump();
    // B hears of it through Redis and counts eve's request made before the budget existed.
    await new Promise((r) => setTimeout(r, 300));
    expect((await ask(b.url, 'eve', 0)).status).toBe(429);
  }, 30_000);

  it('keep a dashboard session across replicas: signed in on one, served by the other, signed out everywhere', async () => {
    const signIn = await request(`${a.url}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key: keys['eve'] }),
    });
    expect(signIn.statusCode).toBe(200);
    await signIn.body.dump();
    const cookie = String(signIn.headers['set-cookie']).split(';')[0]!;
    expect(cookie).toMatch(/^gh_session=/);
    const me = async (p: Proc) => {
      const res = await request(`${p.url}/api/me`, { headers: { cookie } });
      return { status: res.statusCode, body: (await res.body.json()) as { user?: string } };
    };
    // A load balancer sends the next calls to B.
    expect(await me(b)).toMatchObject({ status: 200, body: { user: 'eve' } });
    const out = await request(`${b.url}/api/session`, { method: 'DELETE', headers: { cookie } });
    expect(out.statusCode).toBe(204);
    await out.body.dump();
    expect((await me(a)).status).toBe(401);
  }, 30_000);

  it('keep the reservation of a stream running past the upstream timeout: the other replica does not spend it again', async () => {
    // gail's budget affords one request at a time. A streams one for about 8 s (400 chunks, 20 ms apart) against
    // an upstream timeout (the reservation TTL) of 5 s.
    const streamBody = JSON.stringify({
      model: 'gpt-4o-mini',
      max_tokens: OUT_TOKENS,
      stream: true,
      messages: [{ role: 'user', content: `Count the sheep. [[sim:tokens=${OUT_TOKENS},itl=20]]` }],
    });
    const t0 = performance.now();
    const long = request(`${a.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys['gail']}`, 'content-type': 'application/json' },
      body: streamBody,
    }).then(async (res) => ({ status: res.statusCode, text: await res.body.text(), ms: performance.now() - t0 }));
    await new Promise((r) => setTimeout(r, UPSTREAM_TIMEOUT_MS + 1_500));
    // Still reserved in Redis, past the TTL.
    const held = await redisWindow('gail');
    expect(held.inFlight).toBe(1);
    expect(held.reserved).toBeGreaterThanOrEqual(worstCase);
    const second = await ask(b.url, 'gail', 0);
    const streamed = await long;
    expect([streamed.status, streamed.text.includes('[DONE]'), streamed.ms > UPSTREAM_TIMEOUT_MS + 1_500]).toEqual([200, true, true]);
    // B waited for the stream to settle, then could not afford a second request next to it.
    expect(second.status).toBe(429);
    expect(sum(await events('gail', 2))).toBeLessThanOrEqual(worstCase * 1.5);
  }, 30_000);

  it('lose no reservation to a replica killed mid-request: it expires, and the other replica keeps serving', async () => {
    const budget = oneRequest * AFFORDS.carol;
    // Eight slow requests in flight on A (reserved), then A is killed.
    const doomed = Array.from({ length: 8 }, () => ask(a.url, 'carol', 4_000));
    await new Promise((r) => setTimeout(r, 800));
    expect((await redisWindow('carol')).inFlight).toBe(8);
    expect(await a.stop('SIGKILL')).toBeNull();
    expect((await Promise.all(doomed)).every((o) => o.status === 0)).toBe(true);
    // B takes all the traffic: the leaked reservations hold part of the budget until they expire, then free it.
    const outcomes = await Promise.all(Array.from({ length: 30 }, () => ask(b.url, 'carol', 0)));
    expect(outcomes.filter((o) => o.status !== 200 && o.status !== 429)).toEqual([]);
    const served = outcomes.filter((o) => o.status === 200);
    // Some of them were served only once the dead replica's reservations expired (they waited seconds for it).
    expect(Math.max(...served.map((o) => o.ms))).toBeGreaterThan(2_000);
    const rows = (await events('carol', 30)).filter((r) => r.status === 200 || r.status === 429);
    const spent = sum(rows);
    expect(spent).toBeLessThanOrEqual(budget);
    // The whole budget was usable again: what is left cannot pay for one more request.
    expect(budget - spent).toBeLessThan(worstCase);
    expect(served.length).toBe(Math.floor((budget - worstCase) / oneRequest) + 1);
    expect(await redisWindow('carol')).toMatchObject({ reserved: 0, inFlight: 0 });
    const ready = await request(`${b.url}/readyz`);
    expect(await ready.body.json()).toMatchObject({ status: 'ready', store: 'postgres', checks: { store: 'ok', redis: 'ok' } });
  }, 60_000);

  it('lose no acknowledged event across SIGTERM restarts', async () => {
    let targets: Proc[] = [b, await replica()];
    const acked: string[] = [];
    let stop = false;
    const load = async (n: number) => {
      for (let i = 0; !stop; i++) {
        const live = targets.filter((p) => p.proc.exitCode === null);
        const o = await ask(live[(i + n) % live.length]!.url, 'dave', 20, i % 2 === 0);
        if (o.status === 200 && o.id !== null) acked.push(o.id);
      }
    };
    const workers = Array.from({ length: 12 }, (_, n) => load(n));
    await new Promise((r) => setTimeout(r, 1_500));
    // Restart each replica in turn while the load runs: SIGTERM, wait for its clean exit, start a new one.
    for (const old of [...targets]) {
      const fresh = await replica();
      targets = [...targets, fresh];
      expect(await old.stop('SIGTERM')).toBe(0);
      targets = targets.filter((p) => p !== old);
      await new Promise((r) => setTimeout(r, 1_000));
    }
    stop = true;
    await Promise.all(workers);
    for (const p of targets) expect(await p.stop('SIGTERM')).toBe(0);
    expect(acked.length).toBeGreaterThan(100);
    const rows = await pg.sql<{ id: string }[]>`SELECT id FROM ${pg.sql(pg.schema)}.events WHERE user_id = 'dave' AND status = 200`;
    const stored = new Set(rows.map((r) => r.id));
    expect(acked.filter((id) => !stored.has(id))).toEqual([]);
    expect(stored.size).toBe(acked.length);
  }, 90_000);
});
