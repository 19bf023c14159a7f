/**
 * The shared budget state, rate limits and alert claims against the machine's real Redis (.ci/run starts it), with
 * a real SQLite store as the spend history. Two RedisBudgetState objects on two connections stand for two
 * replicas. Every key is under a prefix of its own, deleted at the end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.js';
import { GoodhartError } from '../../errors.js';
import { openStore } from '../../store/open.js';
import { startRelay } from '../../testing/relay.js';
import { SqliteGovernanceStore } from '../../store/sqlite/governance-store.js';
import { makeTestEvent } from '../../store/store-contract.js';
import type { KeyRecord, Store } from '../../store/types.js';
import { createPricer } from '../../usage/pricing.js';
import { Directory } from '../directory.js';
import { GovernanceEngine, type BudgetAlert } from '../engine.js';
import { periodWindow } from '../period.js';
import type { RateLine } from '../rate-limit.js';
import type { BudgetLine, Reservation } from '../state.js';
import type { SpendHistory } from './budget-state.js';
import { RedisBudgetState } from './budget-state.js';
import { claimAlertInRedis, connectRedis, type SharedRedis } from './connection.js';
import { RedisRateState } from './rate-state.js';

const URL = process.env['GOODHART_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const PREFIX = `ghtest:${randomBytes(4).toString('hex')}:`;
const TZ = 'America/New_York';
const clock = { t: Date.parse('2025-03-12T15:00:00Z') };
const now = () => clock.t;
const TTL = 60_000;

let admin: Redis;
let dir: string;
let store: Store;
let history: SqliteGovernanceStore;
const shared: SharedRedis[] = [];

async function replica(): Promise<RedisBudgetState> {
  const s = await connectRedis(URL, PREFIX, () => {});
  shared.push(s);
  return new RedisBudgetState({ shared: s, url: URL, timeZone: TZ, history, now, reservationTtlMs: TTL });
}

async function keys(pattern = '*'): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await admin.scan(cursor, 'MATCH', `${PREFIX}${pattern}`, 'COUNT', 1000);
    cursor = next;
    out.push(...batch);
  } while (cursor !== '0');
  return out;
}

async function wipe(pattern = '*'): Promise<void> {
  const found = await keys(pattern);
  if (found.length > 0) await admin.del(...found);
}

const line = (scopeKey: string, limit: number, period: 'day' | 'month' = 'day', unit: 'usd' | 'tokens' = 'usd'): BudgetLine => ({
  instance: `b-${scopeKey}-${period}`,
  fingerprint: 'f',
  scopeKey,
  unit,
  window: periodWindow(period, now(), TZ),
  limit,
});

beforeAll(async () => {
  admin = new Redis(URL, { lazyConnect: true });
  try {
    await admin.connect();
  } catch (cause) {
    throw new Error(`Redis is not reachable at ${URL} (${String(cause)}). Start it (as .ci/run does) or set GOODHART_TEST_REDIS_URL.`);
  }
  dir = mkdtempSync(join(tmpdir(), 'goodhart-redis-'));
  store = await openStore(join(dir, 'goodhart.db'));
  // Today in New York: $1 by alice, $2 by bob (team core). Earlier this month: $4 by alice.
  await store.insertEvents([
    makeTestEvent({ startedAt: Date.parse('2025-03-12T05:00:00Z'), userId: 'alice', costUsd: 1, inputTokens: 100, outputTokens: 50 }),
    makeTestEvent({ startedAt: Date.parse('2025-03-12T09:00:00Z'), userId: 'bob', costUsd: 2 }),
    makeTestEvent({ startedAt: Date.parse('2025-03-03T12:00:00Z'), userId: 'alice', costUsd: 4 }),
  ]);
  history = new SqliteGovernanceStore(join(dir, 'goodhart.db'));
});

afterAll(async () => {
  if (admin === undefined) return;
  await wipe();
  await Promise.all(shared.map((s) => s.close()));
  await admin.quit();
  await history?.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('RedisBudgetState', () => {
  it('starts each window from the spend in the store, and re-seeding never counts it twice', async () => {
    const [a, b] = [await replica(), await replica()];
    const lines = [line('team:core', 100), line('user:alice', 100, 'month'), line('user:alice', 1000, 'day', 'tokens')];
    // Both replicas build the same counters at once: one seeds, the other finds the day seeded.
    const [pa, pb] = await Promise.all([a.peek(lines), b.peek(lines)]);
    expect(pa).toEqual([{ spent: 3, reserved: 0 }, { spent: 5, reserved: 0 }, { spent: 150, reserved: 0 }]);
    expect(pb).toEqual(pa);
    // A settlement is booked once, in every window of every scope it belongs to.
    const r = await a.reserve(lines, { usd: 0.5, tokens: 60 }, ['org', 'team:core', 'user:alice'], now());
    expect(r.ok).toBe(true);
    await a.settle((r as { reservation: Reservation }).reservation, { usd: 0.25, tokens: 40 });
    expect(await b.peek(lines)).toEqual([{ spent: 3.25, reserved: 0 }, { spent: 5.25, reserved: 0 }, { spent: 190, reserved: 0 }]);
    // Counters lost: rebuilt from the ledger days (not re-read from the store), same numbers.
    await wipe('w:*');
    expect(await b.peek(lines)).toEqual([{ spent: 3.25, reserved: 0 }, { spent: 5.25, reserved: 0 }, { spent: 190, reserved: 0 }]);
    // Redis emptied, the settled request's event now written: everything re-derived from the store, once.
    await store.insertEvents([makeTestEvent({ startedAt: now() - 1000, userId: 'alice', costUsd: 0.25, inputTokens: 30, outputTokens: 10 })]);
    await wipe();
    const [again, twice] = await Promise.all([a.peek(lines), b.peek(lines)]);
    expect(again).toEqual([{ spent: 3.25, reserved: 0 }, { spent: 5.25, reserved: 0 }, { spent: 190, reserved: 0 }]);
    expect(twice).toEqual(again);
    expect(await a.peek(lines)).toEqual(again);
  });

  it('reserves all budgets of a request or none, and two replicas together never pass a limit', async () => {
    const [a, b] = [await replica(), await replica()];
    const tight = line('team:tight', 10);
    const roomy = line('user:carol', 1000);
    const attempts = await Promise.all(
      Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? a : b).reserve([roomy, tight], { usd: 0.5, tokens: 0 }, ['team:tight', 'user:carol'], now())),
    );
    expect(attempts.filter((o) => o.ok)).toHaveLength(20);
    const refused = attempts.find((o) => !o.ok);
    expect(refused).toMatchObject({ ok: false, failed: 1 });
    // The roomy budget holds only what was admitted: a refusal reserves nothing anywhere.
    expect(await a.peek([roomy, tight])).toEqual([{ spent: 0, reserved: 10 }, { spent: 0, reserved: 10 }]);
    expect(a.inFlight() + b.inFlight()).toBe(20);
    for (const [i, o] of attempts.entries()) if (o.ok) await (i % 2 === 0 ? a : b).settle(o.reservation, { usd: 0.1, tokens: 0 });
    expect(await b.peek([roomy, tight])).toEqual([{ spent: expect.closeTo(2, 12), reserved: 0 }, { spent: expect.closeTo(2, 12), reserved: 0 }]);
    expect(a.inFlight() + b.inFlight()).toBe(0);
  });

  it('releases the reservations of a replica that died once they are older than the upstream timeout', async () => {
    const [dead, alive] = [await replica(), await replica()];
    const l = line('user:dora', 1);
    for (let i = 0; i < 4; i++) expect((await dead.reserve([l], { usd: 0.25, tokens: 0 }, ['user:dora'], now())).ok).toBe(true);
    expect((await alive.reserve([l], { usd: 0.25, tokens: 0 }, ['user:dora'], now())).ok).toBe(false);
    clock.t += TTL + 1;
    const o = await alive.reserve([l], { usd: 0.25, tokens: 0 }, ['user:dora'], now());
    expect(o.ok).toBe(true);
    expect(o.snapshots).toEqual([{ spent: 0, reserved: 0.25 }]);
    // The sweeper releases what no request touches; a late settlement books its spend but releases nothing twice.
    clock.t += TTL + 1;
    expect(await alive.expire(now() - TTL)).toBe(1);
    expect(await alive.peek([l])).toEqual([{ spent: 0, reserved: 0 }]);
    await alive.settle((o as { reservation: Reservation }).reservation, { usd: 0.2, tokens: 0 });
    expect(await alive.peek([l])).toEqual([{ spent: 0.2, reserved: 0 }]);
  });

  it('keeps the reservations its replica refreshes past the TTL, on every replica, and releases them a TTL after the last refresh', async () => {
    const [streaming, other] = [await replica(), await replica()];
    const l = line('user:sven', 1);
    const month = line('user:sven', 100, 'month');
    const o = await streaming.reserve([l, month], { usd: 0.75, tokens: 0 }, ['user:sven'], now());
    expect(o.ok).toBe(true);
    const r = (o as { reservation: Reservation }).reservation;
    // A stream running for three TTLs, refreshed every quarter of one (the engine's sweeper).
    const start = now();
    for (let t = start + TTL / 4; t <= start + 3 * TTL; t += TTL / 4) {
      clock.t = t;
      await streaming.refresh([r], now());
      expect(await other.expire(now() - TTL)).toBe(0);
      expect(await other.reserve([l], { usd: 0.5, tokens: 0 }, ['user:sven'], now())).toMatchObject({ ok: false, snapshots: [{ spent: 0, reserved: 0.75 }] });
    }
    expect(await other.peek([l, month])).toEqual([{ spent: 0, reserved: 0.75 }, { spent: 0, reserved: 0.75 }]);
    // Its replica dies: nothing refreshes it any more.
    const last = now();
    clock.t = last + TTL - 1;
    expect(await other.reserve([l], { usd: 0.5, tokens: 0 }, ['user:sven'], now())).toMatchObject({ ok: false });
    clock.t = last + TTL + 1;
    const after = await other.reserve([l], { usd: 0.5, tokens: 0 }, ['user:sven'], now());
    expect(after).toMatchObject({ ok: true, snapshots: [{ spent: 0, reserved: 0.5 }] });
    // A refresh after the release (it missed its TTL) never brings it back: it is released from its other windows too.
    await streaming.refresh([r], now());
    expect(await other.peek([l, month])).toEqual([{ spent: 0, reserved: 0.5 }, { spent: 0, reserved: 0 }]);
    await other.settle((after as { reservation: Reservation }).reservation, { usd: 0, tokens: 0 });
    await other.refresh([(after as { reservation: Reservation }).reservation], now());
    expect(await other.peek([l, month])).toEqual([{ spent: 0, reserved: 0 }, { spent: 0, reserved: 0 }]);
  });

  it('counts a reservation from when it was made, not from when its request started waiting', async () => {
    const s = await replica();
    const l = line('user:fred', 1);
    // Requests that started almost a TTL ago (they waited near the limit) reserve now: the reservations hold.
    for (let i = 0; i < 4; i++) expect((await s.reserve([l], { usd: 0.25, tokens: 0 }, ['user:fred'], now() - TTL + 10)).ok).toBe(true);
    clock.t += 100;
    expect(await s.reserve([l], { usd: 0.25, tokens: 0 }, ['user:fred'], now())).toMatchObject({ ok: false, snapshots: [{ spent: 0, reserved: 1 }] });
  });
});

/**
 * A replica whose Redis connection goes through a relay the test cuts: three $1 reservations of `user` made, then
 * Redis out of reach, the requests settled at $0.25 each during the outage (held).
 */
async function outage(user: string) {
  const target = new globalThis.URL(URL);
  const relay = await startRelay(target.hostname, Number(target.port || 6379));
  const url = `redis://${relay.host}:${relay.port}${target.pathname}`; // the same database
  const logged: string[] = [];
  const s = await connectRedis(url, PREFIX, () => {});
  let booked = (): void => {};
  const state = new RedisBudgetState({ shared: s, url, timeZone: TZ, history, now, reservationTtlMs: TTL, log: (m) => logged.push(m), onHeldBooked: () => booked() });
  const l = line(`user:${user}`, 10);
  const rs: Reservation[] = [];
  for (let i = 0; i < 3; i++) {
    const o = await state.reserve([l], { usd: 1, tokens: 0 }, [`user:${user}`], now());
    expect(o.ok).toBe(true);
    rs.push((o as { reservation: Reservation }).reservation);
  }
  await relay.cut();
  while (s.redis.status === 'ready') await new Promise((r) => setTimeout(r, 10));
  // The requests finish during the outage: their settlements cannot reach Redis.
  for (const r of rs) expect(await state.settle(r, { usd: 0.25, tokens: 0 })).toEqual([]);
  return {
    s, url, state, l, rs, logged,
    /** Puts Redis back and waits until it answers; `retried` resolves once the held settlements were retried. */
    async restore(): Promise<{ retried: Promise<void> }> {
      const retried = new Promise<void>((resolve) => (booked = resolve));
      await relay.restore();
      while ((s.redis.status as string) !== 'ready') await new Promise((r) => setTimeout(r, 10));
      return { retried };
    },
    async close(): Promise<void> {
      await s.close();
      await relay.close();
    },
  };
}

describe('RedisBudgetState during a Redis outage', () => {
  it('holds the settlements of requests that finish while Redis is down and books them once it answers', async () => {
    const o = await outage('gina');
    try {
      // A rate limit's token correction is dropped quietly (its minute is soon over), not an error per request.
      const rates = new RedisRateState(o.s, o.url);
      await expect(rates.settle([{ counter: 'tpm|user:gina', rule: { id: 'tpm', tpm: 1000 }, scope: 'user:gina' }], 10, 50, now(), now())).resolves.toBeUndefined();
      expect(o.state.heldSettlements()).toBe(3);
      expect(o.logged).toEqual(['goodhart: Redis does not answer: budget settlements are held and booked when it answers again.']);
      await (await o.restore()).retried;
      expect(o.state.heldSettlements()).toBe(0);
      // Their spend is booked and their reservations released, once.
      expect(await o.state.peek([o.l])).toEqual([{ spent: 0.75, reserved: 0 }]);
      expect(o.logged.at(-1)).toBe('goodhart: Redis answers again: 3 held budget settlement(s) booked.');
    } finally {
      await o.close();
    }
  });

  it('does not book held settlements on a day read again from the store, which holds their events', async () => {
    const o = await outage('hana');
    try {
      // Their events are written meanwhile; Redis restarts empty, and a new request seeds the day from the store.
      await store.insertEvents(o.rs.map((_, i) => makeTestEvent({ startedAt: now() + i, userId: 'hana', costUsd: 0.25 })));
      await wipe();
      clock.t += 5_000;
      const { retried } = await o.restore();
      // The next request, before the held retry (a second later), seeds the day.
      expect(await o.state.peek([o.l])).toEqual([{ spent: 0.75, reserved: 0 }]);
      await retried;
      // The held settlements are not booked on top of what the store already says.
      expect(o.state.heldSettlements()).toBe(0);
      expect(await o.state.peek([o.l])).toEqual([{ spent: 0.75, reserved: 0 }]);
      expect(o.logged.at(-1)).toBe('goodhart: Redis answers again: 0 held budget settlement(s) booked, 3 not booked (Redis restarted empty: their days were read from the store again).');
    } finally {
      await o.close();
    }
  });
});

describe('RedisRateState', () => {
  it('counts requests per minute across replicas', async () => {
    const a = new RedisRateState(shared[0]!, URL);
    const b = new RedisRateState(shared[1]!, URL);
    const lines: RateLine[] = [{ counter: 'rpm|user:erin', rule: { id: 'rpm', rpm: 5, tpm: 1000 }, scope: 'user:erin' }];
    const t = Math.floor(now() / 60_000) * 60_000 + 1000;
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).admit(lines, 10, t)));
    expect(results.filter((r) => r === null)).toHaveLength(5);
    // 59 s to the next minute, then 12 s more until 5 × (1 − 12/60) + 1 fits.
    expect(results.find((r) => r !== null)).toMatchObject({ what: 'rpm', used: 5, limit: 5, retryAfterS: 71 });
    expect(await a.admit(lines, 10, t + 60_000)).toMatchObject({ what: 'rpm' }); // the previous minute still weighs
    expect(await a.admit(lines, 2000, t + 120_000)).toMatchObject({ what: 'tpm', tooLarge: true });
    expect(await a.admit(lines, 10, t + 120_000)).toBeNull();
    // Two limits refusing at once: the wait is until both clear (requests at 6 s, tokens at 24 s into the minute).
    const both: RateLine[] = [{ counter: 'both|user:erin', rule: { id: 'both', rpm: 5, tpm: 1000 }, scope: 'user:erin' }];
    const m = Math.floor(now() / 60_000) * 60_000 + 5 * 60_000;
    for (let i = 0; i < 5; i++) expect(await b.admit(both, 200, m)).toBeNull();
    expect(await a.admit(both, 500, m + 66_000)).toMatchObject({ what: 'rpm', retryAfterS: 24 });
  });
});

describe('alert de-duplication', () => {
  it('lets one replica claim an alert until its period ends', async () => {
    const end = now() + 3_600_000;
    const claims = await Promise.all(shared.map((s) => claimAlertInRedis(s, 'b|team:x|0|10|80', now(), end)));
    expect(claims.filter(Boolean)).toHaveLength(1);
    const ttl = await admin.pttl(`${PREFIX}alert:b|team:x|0|10|80`);
    expect(ttl).toBeGreaterThan(3_600_000);
    expect(ttl).toBeLessThanOrEqual(3_600_000 + 86_400_000);
  });
});

describe('GovernanceEngine on the shared state', () => {
  it('checks a hybrid budget against its full amount from the first request, and keeps it across rules reloads', async () => {
    // $0.01 on each of the three days before today (New York): p90 of 3 days adds $0.01 to the $0.001 baseline.
    await store.insertEvents(
      ['2025-03-09', '2025-03-10', '2025-03-11'].map((d) => makeTestEvent({ startedAt: Date.parse(`${d}T15:00:00Z`), userId: 'dora', teamId: 'hyb', costUsd: 0.01 })),
    );
    const config = configSchema.parse({
      timeZone: TZ,
      budgets: [{ id: 'hyb', scope: 'user:dora', amount: 0.001, period: 'day', hybrid: { percentile: 90, lookback: 3 } }],
    });
    const spec = new Directory(config).spec();
    const alerts: BudgetAlert[] = [];
    const state = await replica();
    const e = new GovernanceEngine({ spec, pricer: createPricer({ flat: { input: 1, output: 1 } }), now, state, reservationTtlMs: TTL, onAlert: (a) => alerts.push(a), maxWaitMs: 0 });
    const key: KeyRecord = { id: 'kd', hash: 'h', prefix: 'gh_d', userId: 'dora', teamId: 'hyb', projectId: null, name: null, createdAt: 0, revokedAt: null };
    // About $0.005 at $1 per million tokens: more than the baseline, well within $0.011.
    const request = (maxTokens: number) => {
      const body = { model: 'flat', max_tokens: maxTokens, messages: [{ role: 'user', content: 'hi' }] };
      return e.admit({ key, endpoint: 'chat.completions', model: 'flat', provider: 'openai', providerType: 'openai', tags: [], body, bodyBytes: 80, headers: {}, now: now() });
    };
    const first = await request(5000);
    expect(Number(first.headers['x-goodhart-budget-remaining'])).toBeGreaterThan(0.005);
    first.settle({ usage: { input: { total: 10, noCache: 10, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 0 }, output: { total: 0, text: 0, reasoning: 0 }, raw: null }, costUsd: 0.006, model: 'flat' });
    await new Promise((r) => setTimeout(r, 50));
    // The periodic reload (service.reload) applies the same rules again: the amount is not the baseline meanwhile.
    e.setSpec(new Directory(config).spec());
    const [standing] = await e.status(now());
    expect(standing!.amount).toBeCloseTo(0.011, 9);
    const second = await request(2000); // $0.002 more: past the baseline long ago
    expect(Number(second.headers['x-goodhart-budget-remaining'])).toBeCloseTo(0.011 - 0.006 - (2000 + 80 + 64) / 1e6, 9); // max_tokens + bytes + framing
    second.settle({ usage: { input: { total: 10, noCache: 10, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 0 }, output: { total: 0, text: 0, reasoning: 0 }, raw: null }, costUsd: 0, model: 'flat' });
    await new Promise((r) => setTimeout(r, 50));
    // $0.006 of $0.011 is 54%: one alert, at 50%, of the full amount (no "100% of $0.00100").
    expect(alerts.map((a) => [a.threshold, a.amount])).toEqual([[50, 0.011]]);
  });
  it('keeps the reservation of a request in flight past the TTL across replicas (the sweeper refreshes it)', async () => {
    const config = configSchema.parse({ timeZone: TZ, budgets: [{ id: 'long', scope: 'user:lena', amount: 0.01, period: 'day' }] });
    const engines = [await replica(), await replica()].map(
      (state) => new GovernanceEngine({ spec: new Directory(config).spec(), pricer: createPricer({ flat: { input: 1, output: 1 } }), now, state, reservationTtlMs: TTL, maxWaitMs: 0 }),
    );
    const key: KeyRecord = { id: 'kl', hash: 'h', prefix: 'gh_l', userId: 'lena', teamId: 'long', projectId: null, name: null, createdAt: 0, revokedAt: null };
    const stream = { open: true };
    const request = (e: GovernanceEngine, inFlight?: () => boolean, maxTokens = 6000) => {
      const body = { model: 'flat', max_tokens: maxTokens, messages: [{ role: 'user', content: 'tell a long story' }] };
      return e.admit({ key, endpoint: 'chat.completions', model: 'flat', provider: 'openai', providerType: 'openai', tags: [], body, bodyBytes: 100, headers: {}, now: now(), ...(inFlight ? { inFlight } : {}) });
    };
    const [a, b] = engines as [GovernanceEngine, GovernanceEngine];
    const long = await request(a, () => stream.open);
    // The stream goes on for two TTLs; both replicas sweep every quarter of one.
    for (let i = 1; i <= 8; i++) {
      clock.t += TTL / 4;
      await a.sweep(now());
      await b.sweep(now());
      await expect(Promise.resolve().then(() => request(b))).rejects.toMatchObject({ code: 'budget_exceeded' });
    }
    long.settle({ usage: null, costUsd: 0.005, model: 'flat' });
    await new Promise((r) => setTimeout(r, 50));
    const [standing] = await b.status(now());
    expect([standing!.spent, standing!.reserved]).toEqual([0.005, 0]);
    // A replica that stops (its sweeper with it) leaves its request's reservation to expire a TTL later.
    await request(a, () => stream.open, 4000);
    const [held] = await b.status(now());
    expect(held!.reserved).toBeGreaterThan(0.004);
    clock.t += TTL + 1;
    await b.sweep(now());
    const [after] = await b.status(now());
    expect(after!.reserved).toBe(0);
  });

  /** A per-person hybrid budget on its own state, over a store whose reads of past days are counted and held at will. */
  async function perPerson(people: string[]) {
    // Three days before today (New York): the Nth person spent $0.001 * (N + 1) each day, so their p90 adds that.
    await store.insertEvents(
      ['2025-03-09', '2025-03-10', '2025-03-11'].flatMap((d) =>
        people.map((u, i) => makeTestEvent({ startedAt: Date.parse(`${d}T15:00:00Z`), userId: u, teamId: 'fan', costUsd: 0.001 * (i + 1) })),
      ),
    );
    const today = periodWindow('day', now(), TZ).start;
    const h = { lookups: 0, gate: Promise.resolve() };
    const counted: SpendHistory = {
      firstGatewayEventAt: () => history.firstGatewayEventAt(),
      spendByDay: async (days, until) => {
        // The hybrid lookups, not the seeding of today.
        if (days.some((d) => d.start < today)) {
          h.lookups++;
          await h.gate;
        }
        return history.spendByDay(days, until);
      },
    };
    const s = await connectRedis(URL, PREFIX, () => {});
    shared.push(s);
    const state = new RedisBudgetState({ shared: s, url: URL, timeZone: TZ, history: counted, now, reservationTtlMs: TTL });
    const config = configSchema.parse({
      timeZone: TZ,
      budgets: [{ id: 'fan', scope: 'user:*', amount: 0.001, period: 'day', hybrid: { percentile: 90, lookback: 3 } }],
    });
    const e = new GovernanceEngine({ spec: new Directory(config).spec(), pricer: createPricer({ flat: { input: 1, output: 1 } }), now, state, reservationTtlMs: TTL, maxWaitMs: 0, hybridWaitMs: 300 });
    const request = (userId: string) => {
      const key: KeyRecord = { id: `k-${userId}`, hash: 'h', prefix: 'gh_f', userId, teamId: 'fan', projectId: null, name: null, createdAt: 0, revokedAt: null };
      const body = { model: 'flat', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] };
      return e.admit({ key, endpoint: 'chat.completions', model: 'flat', provider: 'openai', providerType: 'openai', tags: [], body, bodyBytes: 80, headers: {}, now: now() });
    };
    return { e, h, request };
  }

  it("reads a per-person hybrid budget's past spend once for everyone's first requests, each with their own amount", async () => {
    const people = Array.from({ length: 20 }, (_, i) => `fan${i}`);
    const { e, h, request } = await perPerson(people);
    const admitted = await Promise.all(people.map(request));
    expect(h.lookups).toBe(1);
    for (const a of admitted) a.settle({ usage: null, costUsd: 0, model: 'flat' });
    await request('newcomer'); // no past spend: the baseline, from the same read
    expect(h.lookups).toBe(1);
    const amounts = Object.fromEntries((await e.status(now())).map((st) => [st.instance, st.amount]));
    expect(amounts['fan|user:fan0']).toBeCloseTo(0.001 + 0.001, 9);
    expect(amounts['fan|user:fan19']).toBeCloseTo(0.001 + 0.02, 9);
    expect(amounts['fan|user:newcomer']).toBeCloseTo(0.001, 9);
  });

  it('refuses with a retryable 503 when the past spend is not read within hybridWaitMs, and uses the read once it answers', async () => {
    const { h, request } = await perPerson(['held0', 'held1']);
    // The store is held up (another session locks the events table): both first requests share one lookup.
    let release!: () => void;
    h.gate = new Promise<void>((r) => (release = r));
    const t0 = Date.now();
    const waited = await Promise.race([
      Promise.allSettled([request('held0'), request('held1')]),
      new Promise<'still waiting'>((r) => setTimeout(() => r('still waiting'), 2000)),
    ]);
    expect(waited).not.toBe('still waiting');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    for (const w of waited as PromiseSettledResult<unknown>[]) {
      expect(w.status).toBe('rejected');
      const err = (w as PromiseRejectedResult).reason as GoodhartError;
      expect([err.code, err.httpStatus, err.retryable]).toEqual(['unavailable', 503, true]);
      expect(err.message).toContain('did not answer within 0.3 s');
    }
    expect(h.lookups).toBe(1);
    release();
    await new Promise((r) => setTimeout(r, 50));
    const after = await request('held1'); // $0.001 + $0.002: its full amount, not the baseline
    expect(Number(after.headers['x-goodhart-budget-remaining'])).toBeCloseTo(0.003 - (10 + 80 + 64) / 1e6, 9);
    expect(h.lookups).toBe(1);
  });
});
