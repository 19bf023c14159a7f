/**
 * Scale-out benchmark: two gateway replicas on Postgres + Redis (requests alternated between them, as a load
 * balancer would) next to one gateway process on SQLite (and one of the replicas alone, to separate the cost of
 * the shared state from that of running two processes on the same cores), in front of the same simulated provider, with the same
 * governance config (budgets on org, every team and every user, a per-key rate limit: every request reserves and
 * settles). Each process runs on its own, as in production.
 *
 *   npm run bench:replicas -- [--seconds 8] [--concurrency 1,32,64] [--only chat]
 *
 * Prints latency added over calling the provider directly (p50, p99), throughput, and CPU per request of the
 * gateways, Redis and Postgres (from /proc: robust to other load on the machine, unlike latency).
 * Needs PostgreSQL and Redis on the machine (GOODHART_TEST_PG_URL, GOODHART_TEST_REDIS_URL; `.ci/run` starts them).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as hdr from 'hdr-histogram-js';
import { Pool } from 'undici';
import { newKey } from '../../src/keys/keys.js';
import { openStore } from '../../src/store/open.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { cpuMs, pgSchema, redisPrefix, spawnGoodhart, type Proc } from '../../src/testing/replicas.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '8' },
    concurrency: { type: 'string', default: '1,32,64' },
    only: { type: 'string' },
  },
});
const SECONDS = Number(args.seconds);
const CONCURRENCY = args.concurrency!.split(',').map(Number);
const PG_URL = process.env['GOODHART_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env['GOODHART_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

const POLICY = `
budgets:
  - { id: org-month, scope: org, amount: 1000000, period: month }
  - { id: per-team-day, scope: "team:*", amount: 100000, period: day }
  - { id: per-user-day, scope: "user:*", amount: 10000, period: day }
rateLimits:
  - { id: per-key, scope: "key:*", rpm: 100000000, tpm: 100000000000 }
`;

const SCENARIOS = [
  { name: 'chat', body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say something short. [[sim:tokens=40]]' }] } },
  { name: 'chat-stream', body: { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'Say something short. [[sim:tokens=40]]' }] } },
];

interface Result {
  total: number;
  p50: number;
  p99: number;
  rps: number;
  errors: number;
}

/** Closed-loop load, `concurrency` requests in flight, spread round-robin over `origins`. */
async function load(origins: readonly string[], key: string, body: object, concurrency: number, seconds: number): Promise<Result> {
  const pools = origins.map((o) => new Pool(o, { connections: Math.ceil(concurrency / origins.length), pipelining: 1 }));
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${key}` };
  const text = JSON.stringify(body);
  const hist = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  let total = 0;
  let counted = 0;
  let errors = 0;
  const run = async (until: number, record: boolean) => {
    await Promise.all(
      Array.from({ length: concurrency }, async (_, worker) => {
        for (let i = worker; performance.now() < until; i++) {
          const t0 = performance.now();
          const res = await pools[i % pools.length]!.request({ path: '/v1/chat/completions', method: 'POST', headers, body: text });
          await res.body.dump({ limit: Infinity });
          total++;
          if (res.statusCode !== 200) errors++;
          if (record) {
            hist.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)));
            counted++;
          }
        }
      }),
    );
  };
  await run(performance.now() + 1500, false);
  const start = performance.now();
  await run(start + seconds * 1000, true);
  const elapsed = (performance.now() - start) / 1000;
  await Promise.all(pools.map((p) => p.close()));
  return { total, p50: hist.getValueAtPercentile(50) / 1000, p99: hist.getValueAtPercentile(99) / 1000, rps: counted / elapsed, errors };
}

/** Every process whose command is `postgres` (the server and its backends: they all work for the gateways). */
function postgresCpuMs(): number {
  let ms = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres') ms += cpuMs(Number(pid));
    } catch {
      /* gone meanwhile */
    }
  }
  return ms;
}

function redisPid(): number | null {
  try {
    const info = execFileSync('redis-cli', ['-u', REDIS_URL, 'info', 'server'], { encoding: 'utf8' });
    return Number(/process_id:(\d+)/.exec(info)?.[1]) || null;
  } catch {
    return null;
  }
}

const f = (n: number, d = 2, w = 8) => n.toFixed(d).padStart(w);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'goodhart-bench-replicas-'));
  const procs: Proc[] = [];
  const pg = await pgSchema(PG_URL, 'bench');
  const rd = await redisPrefix(REDIS_URL, 'bench');
  try {
    const sim = await spawnGoodhart(['sim', '--port', '0']);
    procs.push(sim);
    const cfg = join(dir, 'goodhart.yaml');
    writeFileSync(cfg, `providers: { openai: { type: openai, baseUrl: "${sim.url}/v1", apiKey: sk-sim-openai } }\n${POLICY}`);
    const cfgRedis = join(dir, 'goodhart-redis.yaml');
    writeFileSync(cfgRedis, `${readFileSync(cfg, 'utf8')}redis: { url: "${REDIS_URL}", keyPrefix: "${rd.prefix}" }\n`);
    const made = newKey({ userId: 'bench', teamId: 'perf' });
    const sqlitePath = join(dir, 'bench.db');
    const sqlite = await openStore(sqlitePath);
    await sqlite.createKey(made.record);
    await sqlite.close();
    const postgresStore = await PostgresStore.open(pg.url);
    await postgresStore.createKey(made.record);
    await postgresStore.close();

    const single = await spawnGoodhart(['serve', '--config', cfg, '--db', sqlitePath, '--port', '0']);
    const replicas = await Promise.all([1, 2].map(() => spawnGoodhart(['serve', '--config', cfgRedis, '--db', pg.url, '--port', '0'])));
    procs.push(single, ...replicas);
    const redis = redisPid();

    console.log(`\nGoodhart scale-out benchmark: ${SECONDS}s per run after 1.5s warm-up; node ${process.version}; ${new Date().toISOString()}`);
    console.log('Same simulated provider and governance config; "added" = through the gateway(s) − straight to the provider.');
    console.log('CPU per request: gateways (both replicas summed), Redis server, all postgres processes (µs).\n');
    console.log('scenario     conc | setup              |  p50 ms | added p50 |  p99 ms | added p99 |     rps | gw CPU/req | redis CPU/req | pg CPU/req');
    console.log('------------------+--------------------+---------+-----------+---------+-----------+---------+------------+---------------+-----------');
    for (const s of SCENARIOS) {
      if (args.only && s.name !== args.only) continue;
      for (const c of CONCURRENCY) {
        const direct = await load([sim.url], 'sk-sim-openai', s.body, c, SECONDS);
        const rows: [string, Result, number, number, number][] = [];
        const setups: [string, Proc[]][] = [
          ['1× SQLite', [single]],
          ['1× Postgres+Redis', [replicas[0]!]],
          ['2× Postgres+Redis', replicas],
        ];
        for (const [label, gws] of setups) {
          const gwCpu = () => gws.map((p) => cpuMs(p.pid)).reduce((a, b) => a + b, 0);
          const gw0 = gwCpu();
          const r0 = redis ? cpuMs(redis) : 0;
          const pg0 = postgresCpuMs();
          const res = await load(
            gws.map((p) => p.url),
            made.key,
            s.body,
            c,
            SECONDS,
          );
          const per = (ms: number) => (ms * 1000) / res.total;
          rows.push([label, res, per(gwCpu() - gw0), redis ? per(cpuMs(redis) - r0) : Number.NaN, per(postgresCpuMs() - pg0)]);
        }
        console.log(`${s.name.padEnd(12)} ${String(c).padStart(4)} | direct             | ${f(direct.p50)}|           | ${f(direct.p99)}|           | ${f(direct.rps, 0)}|            |               |`);
        for (const [label, r, gw, rcpu, pcpu] of rows) {
          if (r.errors) console.log(`  (${r.errors} non-200 responses)`);
          console.log(
            `${''.padEnd(17)} | ${label.padEnd(18)} | ${f(r.p50)}| ${f(r.p50 - direct.p50, 3, 9)} | ${f(r.p99)}| ${f(r.p99 - direct.p99, 3, 9)} | ${f(r.rps, 0)}| ${f(gw, 0, 7)} µs | ${f(rcpu, 0, 10)} µs | ${f(pcpu, 0, 6)} µs`,
          );
        }
      }
    }
  } finally {
    await Promise.all(procs.map((p) => p.stop('SIGTERM')));
    await rd.drop();
    await pg.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
