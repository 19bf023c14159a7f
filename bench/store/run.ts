/**
 * Store benchmark: inserts generated events in batches into SQLite and into Postgres, then times the daily
 * report over all of them.
 *
 *   npx tsx bench/store/run.ts [--events 1000000] [--batch 500] [--pg postgres://postgres@127.0.0.1:5432/test]
 *
 * SQLite writes a temporary file (WAL, as `goodhart serve` does); Postgres gets a new schema `gh_bench_<random>`,
 * dropped at the end. Prints insert throughput and aggregate latency (first run, then the median of 5) for both,
 * and for Postgres also with the hourly rollup switched off.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Table from 'cli-table3';
import postgres from 'postgres';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/types.js';
import type { EventSource, UsageEvent } from '../../src/usage/event.js';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    batch: { type: 'string', default: '500' },
    pg: { type: 'string', default: process.env['GOODHART_BENCH_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test' },
    /** Keep the Postgres schema (its name is printed) to look at plans afterwards. */
    keep: { type: 'boolean', default: false },
  },
});
const EVENTS = Number(args.events);
const BATCH = Number(args.batch);
const PG_URL = args.pg!;

/**
 * A busy organisation's month (1M requests is about 23 a minute), across two monthly partitions: 50 people in 8
 * teams, each working on 2 of 20 projects.
 */
const FROM = Date.parse('2025-01-15T00:00:00Z');
const SPAN = 31 * 24 * 3_600_000;
const USERS = 50;
const TEAMS = 8;
const PROJECTS = 20;
const MODELS = [
  ['openai', 'gpt-4o', 'gpt-4o-2024-08-06'],
  ['openai', 'gpt-4o-mini', 'gpt-4o-mini-2024-07-18'],
  ['anthropic', 'claude-sonnet-4', 'claude-sonnet-4-20250514'],
  ['anthropic', 'claude-haiku-3-5', 'claude-3-5-haiku-20241022'],
] as const;
const SOURCES: EventSource[] = ['gateway', 'gateway', 'gateway', 'claude-code', 'codex'];

/** Deterministic pseudo-random numbers (mulberry32): both stores get the same events. */
function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function* batches(): Generator<UsageEvent[]> {
  const rand = rng(7);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  for (let start = 0; start < EVENTS; start += BATCH) {
    const batch: UsageEvent[] = [];
    for (let i = start; i < Math.min(EVENTS, start + BATCH); i++) {
      // Roughly time ordered, as a gateway's flushes are, with some jitter.
      const startedAt = FROM + Math.floor((i / EVENTS) * SPAN + rand() * 60_000);
      const [provider, requested, served] = pick(MODELS);
      const user = Math.floor(rand() * USERS);
      const input = Math.floor(rand() * 8000);
      const output = Math.floor(rand() * 1000);
      batch.push({
        id: `bench-${String(i).padStart(8, '0')}`,
        source: pick(SOURCES),
        providerRequestId: `req_${i}`,
        startedAt,
        firstTokenAt: startedAt + 300,
        endedAt: startedAt + 2_000,
        userId: `user-${user}`,
        teamId: `team-${user % TEAMS}`,
        projectId: rand() < 0.1 ? null : `project-${(user + (rand() < 0.5 ? 0 : 7)) % PROJECTS}`,
        keyId: null,
        sessionId: `sess-${Math.floor(i / 40)}`,
        tags: [],
        repo: null,
        branch: null,
        provider,
        endpoint: provider === 'openai' ? 'chat.completions' : 'messages',
        modelRequested: requested,
        modelServed: served,
        inputTokens: input,
        cacheReadTokens: Math.floor(input * rand() * 0.5),
        cacheWrite5mTokens: 0,
        cacheWrite1hTokens: 0,
        outputTokens: output,
        reasoningTokens: 0,
        costUsd: rand() < 0.02 ? null : (input * 2.5 + output * 10) / 1e6,
        usageEstimated: rand() < 0.01,
        status: 200,
        errorClass: null,
        streamed: rand() < 0.7,
        clientAborted: false,
        rawUsage: `{"prompt_tokens":${input},"completion_tokens":${output}}`,
      });
    }
    yield batch;
  }
}

async function insertAll(store: Store): Promise<number> {
  let busyMs = 0;
  let done = 0;
  for (const batch of batches()) {
    const t0 = performance.now();
    done += await store.insertEvents(batch);
    busyMs += performance.now() - t0;
    if (done % 100_000 === 0) process.stderr.write(`  ${store.kind}: ${done} events\n`);
  }
  if (done !== EVENTS) throw new Error(`${store.kind} inserted ${done} of ${EVENTS} events`);
  return done / (busyMs / 1000);
}

/** First run (cold-ish caches), then the median of 5. */
async function timeAggregate(store: Store, timeZone: string): Promise<{ first: number; median: number; days: number }> {
  const times: number[] = [];
  let days = 0;
  for (let i = 0; i < 6; i++) {
    const t0 = performance.now();
    const rows = await store.aggregate('day', {}, { timeZone });
    times.push(performance.now() - t0);
    days = rows.length;
    const total = rows.reduce((n, r) => n + r.requests, 0);
    if (total !== EVENTS) throw new Error(`${store.kind} aggregate counted ${total} of ${EVENTS} events`);
  }
  const rest = times.slice(1).sort((a, b) => a - b);
  return { first: times[0]!, median: rest[Math.floor(rest.length / 2)]!, days };
}

const ms = (x: number): string => x.toFixed(1);

async function main(): Promise<void> {
  const table = new Table({
    head: ['store', 'insert events/s', 'day report UTC ms (first / median)', 'day report Asia/Kolkata ms (first / median)'],
  });
  process.stderr.write(`${EVENTS} events in batches of ${BATCH}\n`);

  const dir = mkdtempSync(join(tmpdir(), 'goodhart-bench-'));
  try {
    const sqlite = new SqliteStore(join(dir, 'bench.db'));
    const rate = await insertAll(sqlite);
    const utc = await timeAggregate(sqlite, 'UTC');
    const kol = await timeAggregate(sqlite, 'Asia/Kolkata');
    table.push(['SQLite (file, WAL)', Math.round(rate).toLocaleString('en-US'), `${ms(utc.first)} / ${ms(utc.median)}`, `${ms(kol.first)} / ${ms(kol.median)}`]);
    await sqlite.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const admin = postgres(PG_URL, { max: 1, onnotice: () => {} });
  const schema = `gh_bench_${randomBytes(4).toString('hex')}`;
  await admin`CREATE SCHEMA ${admin(schema)}`;
  try {
    const pg = await PostgresStore.open(PG_URL, { searchPath: schema });
    const rate = await insertAll(pg);
    await admin.unsafe(`ANALYZE ${schema}.events, ${schema}.usage_hourly`);
    const utc = await timeAggregate(pg, 'UTC');
    const kol = await timeAggregate(pg, 'Asia/Kolkata');
    table.push(['Postgres (rollup)', Math.round(rate).toLocaleString('en-US'), `${ms(utc.first)} / ${ms(utc.median)}`, `${ms(kol.first)} / ${ms(kol.median)}`]);
    await pg.close();
    const raw = await PostgresStore.open(PG_URL, { searchPath: schema, rollups: false });
    const rawUtc = await timeAggregate(raw, 'UTC');
    const rawKol = await timeAggregate(raw, 'Asia/Kolkata');
    table.push(['Postgres (raw events)', '(same)', `${ms(rawUtc.first)} / ${ms(rawUtc.median)}`, `${ms(rawKol.first)} / ${ms(rawKol.median)}`]);
    await raw.close();
    const [sizes] = await admin<{ events: string; rollup: string }[]>`
      SELECT (SELECT count(*) FROM ${admin(schema)}.events) AS events, (SELECT count(*) FROM ${admin(schema)}.usage_hourly) AS rollup`;
    process.stderr.write(`Postgres rows: ${sizes?.events} events, ${sizes?.rollup} rollup rows\n`);
  } finally {
    if (args.keep === true) process.stderr.write(`kept schema ${schema}\n`);
    else await admin`DROP SCHEMA ${admin(schema)} CASCADE`;
    await admin.end();
  }
  console.log(table.toString());
}

await main();
