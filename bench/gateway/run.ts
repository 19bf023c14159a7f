/**
 * Gateway overhead benchmark: the simulated provider, the gateway and this load generator each run in their own
 * process (as in production), and every scenario is measured straight against the provider and through the
 * gateway, side by side in the same run.
 *
 *   npm run bench:gateway -- [--seconds 10] [--soak 600] [--only chat] [--policy] [--client wrk|node] [--no-live]
 *
 * The load comes from wrk (Debian package `wrk`: C, one thread) when it is installed, else from an undici client in
 * this process (`--client node` forces it). On a 2-core machine the load generator shares the cores with the
 * gateway and the simulator, so its own cost per request moves the ratio: undici spends about as much CPU per
 * request as the simulator does, wrk a fraction of it.
 *
 * Prints added latency (p50, p99) and throughput at concurrency 1 and 32, and with --soak N the gateway's memory
 * every 10 s over N seconds of load. With --policy a second gateway runs with governance configured (budgets on
 * org, every team and every user, a per-key rate limit, model tiers) and each scenario gets a "+policy" row.
 * --no-live serves with live waste detection off (`detect.live.enabled: false`): what its thread costs the gateway.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as hdr from 'hdr-histogram-js';
import { Pool } from 'undici';
import { newKey } from '../../src/keys/keys.js';
import { openStore } from '../../src/store/open.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '8' },
    soak: { type: 'string', default: '0' },
    only: { type: 'string' },
    concurrency: { type: 'string', default: '1,32' },
    policy: { type: 'boolean', default: false },
    client: { type: 'string' },
    'no-live': { type: 'boolean', default: false },
  },
});

function hasWrk(): boolean {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (err) {
    // wrk --version prints its usage and exits 1: it is there.
    return (err as { status?: number }).status === 1;
  }
}
const CLIENT = args.client ?? (hasWrk() ? 'wrk' : 'node');
if (CLIENT !== 'wrk' && CLIENT !== 'node') throw new Error('--client must be wrk or node');

/**
 * Governance as a deployment would have it, far from every limit (the common case): three budgets and a rate
 * limit apply to each request, and the model is checked against the tiers.
 */
const POLICY_CONFIG = `
budgets:
  - { id: org-month, scope: org, amount: 1000000, period: month }
  - { id: per-team-day, scope: "team:*", amount: 100000, period: day }
  - { id: per-user-day, scope: "user:*", amount: 10000, period: day, action: downgrade, downgradeTo: gpt-4o-mini }
rateLimits:
  - { id: per-key, scope: "key:*", rpm: 100000000, tpm: 100000000000 }
tiers:
  economy: [gpt-4o-mini, "claude-haiku-*"]
  standard: ["gpt-*", "claude-*"]
`;
const SECONDS = Number(args.seconds);
const SOAK = Number(args.soak);
const CONCURRENCY = args.concurrency!.split(',').map(Number);
const ROOT = new URL('../../', import.meta.url).pathname;

function startProcess(argv: string[], readyLine: RegExp): Promise<{ proc: ChildProcess; line: string }> {
  return new Promise((resolve, reject) => {
    // The built CLI, as deployed (`npm run bench:gateway` builds first): no tsx loader in the measured processes.
    const proc = spawn(process.execPath, [join(ROOT, 'dist/cli/main.js'), ...argv], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = out.match(readyLine);
      if (m) resolve({ proc, line: m[0] });
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`process exited (${code}): ${out}`)));
  });
}

interface Scenario {
  name: string;
  path: string;
  anthropic: boolean;
  body: object;
}

const SCENARIOS: Scenario[] = [
  {
    name: 'chat',
    path: '/v1/chat/completions',
    anthropic: false,
    body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say something short. [[sim:tokens=40]]' }] },
  },
  {
    name: 'chat-stream',
    path: '/v1/chat/completions',
    anthropic: false,
    body: {
      model: 'gpt-4o-mini',
      stream: true,
      messages: [{ role: 'user', content: 'Say something short. [[sim:tokens=40]]' }],
    },
  },
  {
    name: 'messages-stream',
    path: '/v1/messages',
    anthropic: true,
    body: {
      model: 'claude-haiku-4-5',
      max_tokens: 256,
      stream: true,
      messages: [{ role: 'user', content: 'Say something short. [[sim:tokens=40]]' }],
    },
  },
];

interface Result {
  /** Requests sent, warm-up included (for CPU per request). */
  total: number;
  p50: number;
  p99: number;
  rps: number;
  errors: number;
}

async function load(origin: string, s: Scenario, key: string, concurrency: number, seconds: number): Promise<Result> {
  const pool = new Pool(origin, { connections: concurrency, pipelining: 1 });
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (s.anthropic) {
    headers['x-api-key'] = key;
    headers['anthropic-version'] = '2023-06-01';
  } else headers.authorization = `Bearer ${key}`;
  const body = JSON.stringify(s.body);
  const hist = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  let count = 0;
  let total = 0;
  let errors = 0;
  const run = async (until: number, record: boolean) => {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < until) {
          const t0 = performance.now();
          const res = await pool.request({ path: s.path, method: 'POST', headers, body });
          await res.body.dump({ limit: Infinity });
          total++;
          if (res.statusCode !== 200) errors++;
          if (record) {
            hist.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)));
            count++;
          }
        }
      }),
    );
  };
  await run(performance.now() + 1500, false); // warm-up: JIT, connection pools, SQLite pages
  const start = performance.now();
  await run(start + seconds * 1000, true);
  const elapsed = (performance.now() - start) / 1000;
  await pool.close();
  return { total, p50: hist.getValueAtPercentile(50) / 1000, p99: hist.getValueAtPercentile(99) / 1000, rps: count / elapsed, errors };
}

/** One wrk run: `seconds` of load at `concurrency` connections from one thread, latency percentiles from wrk. */
function wrkRun(origin: string, s: Scenario, key: string, concurrency: number, seconds: number, dir: string): Result {
  const script = join(dir, `wrk-${s.name}-${key.slice(0, 6)}.lua`);
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (s.anthropic) {
    headers['x-api-key'] = key;
    headers['anthropic-version'] = '2023-06-01';
  } else headers['Authorization'] = `Bearer ${key}`;
  writeFileSync(
    script,
    [`wrk.method = "POST"`, `wrk.body = ${JSON.stringify(JSON.stringify(s.body))}`, ...Object.entries(headers).map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`)].join('\n'),
  );
  const out = execFileSync('wrk', ['-t1', `-c${concurrency}`, `-d${seconds}s`, '--latency', '-s', script, origin + s.path], { encoding: 'utf8' });
  const ms = (label: string): number => {
    const m = new RegExp(`\\s${label}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
    if (!m) throw new Error(`wrk printed no ${label}th percentile:\n${out}`);
    return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1);
  };
  const total = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  const errors = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0) + Number(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)?.slice(1).reduce((a, b) => a + Number(b), 0) ?? 0);
  return { total, p50: ms('50'), p99: ms('99'), rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN), errors };
}

/** A measured run after a warm-up (JIT, connection pools, SQLite pages), with the configured client. */
async function measure(origin: string, s: Scenario, key: string, concurrency: number, seconds: number, dir: string): Promise<Result> {
  if (CLIENT === 'node') return load(origin, s, key, concurrency, seconds);
  wrkRun(origin, s, key, concurrency, 2, dir);
  return wrkRun(origin, s, key, concurrency, seconds, dir);
}

/** CPU time (user + system) a process has used, in ms: robust to other load on the machine, unlike latency. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

const fmt = (n: number, d = 2) => n.toFixed(d).padStart(8);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'goodhart-bench-'));
  const procs: ChildProcess[] = [];
  try {
    const sim = await startProcess(['sim', '--port', '0'], /http:\/\/127\.0\.0\.1:\d+/);
    procs.push(sim.proc);
    const simUrl = sim.line;
    const cfg = join(dir, 'goodhart.yaml');
    writeFileSync(
      cfg,
      `providers:\n  openai: { type: openai, baseUrl: "${simUrl}/v1", apiKey: sk-sim-openai }\n  anthropic: { type: anthropic, baseUrl: "${simUrl}", apiKey: sk-ant-sim }\n` +
        (args['no-live'] ? 'detect:\n  live: { enabled: false }\n' : ''),
    );
    const db = join(dir, 'bench.db');
    const store = await openStore(db);
    const made = newKey({ userId: 'bench', teamId: 'perf' });
    await store.createKey(made.record);
    await store.close();
    const gw = await startProcess(['serve', '--config', cfg, '--db', db, '--port', '0'], /http:\/\/127\.0\.0\.1:\d+/);
    procs.push(gw.proc);
    const gwUrl = gw.line;
    let gwp: { proc: ChildProcess; line: string } | undefined;
    if (args.policy) {
      const cfgPolicy = join(dir, 'goodhart-policy.yaml');
      writeFileSync(cfgPolicy, readFileSync(cfg, 'utf8') + POLICY_CONFIG);
      gwp = await startProcess(['serve', '--config', cfgPolicy, '--db', join(dir, 'bench-policy.db'), '--port', '0'], /http:\/\/127\.0\.0\.1:\d+/);
      procs.push(gwp.proc);
      const ps = await openStore(join(dir, 'bench-policy.db'));
      await ps.createKey(made.record);
      await ps.close();
    }

    console.log(`\nGoodhart gateway benchmark: ${SECONDS}s per run after a warm-up; load from ${CLIENT === 'wrk' ? 'wrk (1 thread)' : 'an undici client in this process'}; live detection ${args['no-live'] ? 'off' : 'on'}; node ${process.version}; ${new Date().toISOString()}`);
    console.log('Latency is the whole request (streams: until the last byte); "added" = through gateway − direct.\n');
    console.log('scenario         conc | direct p50 |  gw p50 | added p50 | direct p99 |  gw p99 | added p99 | direct rps |  gw rps | gw/direct | gw CPU/req | sim CPU/req');
    console.log('-----------------------+------------+---------+-----------+------------+---------+-----------+------------+---------+-----------+------------+------------');
    for (const s of SCENARIOS) {
      if (args.only && s.name !== args.only) continue;
      for (const c of CONCURRENCY) {
        const sim0 = cpuMs(sim.proc.pid!);
        const direct = await measure(simUrl, s, s.anthropic ? 'sk-ant-sim' : 'sk-sim-openai', c, SECONDS, dir);
        const simCpu = (cpuMs(sim.proc.pid!) - sim0) / direct.total;
        const gw0 = cpuMs(gw.proc.pid!);
        const through = await measure(gwUrl, s, made.key, c, SECONDS, dir);
        const gwCpu = (cpuMs(gw.proc.pid!) - gw0) / through.total;
        if (direct.errors || through.errors) console.log(`  (errors: direct ${direct.errors}, gateway ${through.errors})`);
        console.log(
          `${s.name.padEnd(16)} ${String(c).padStart(4)} | ${fmt(direct.p50)}ms | ${fmt(through.p50)} | ${fmt(through.p50 - direct.p50, 3)} | ${fmt(direct.p99)}ms | ${fmt(through.p99)} | ${fmt(through.p99 - direct.p99, 3)} | ${fmt(direct.rps, 0)}   | ${fmt(through.rps, 0)} | ${fmt((100 * through.rps) / direct.rps, 1)}%  | ${fmt(gwCpu * 1000, 0)} µs  | ${fmt(simCpu * 1000, 0)} µs`,
        );
        if (gwp) {
          const p0 = cpuMs(gwp.proc.pid!);
          const governed = await measure(gwp.line, s, made.key, c, SECONDS, dir);
          const pCpu = (cpuMs(gwp.proc.pid!) - p0) / governed.total;
          if (governed.errors) console.log(`  (errors: gateway+policy ${governed.errors})`);
          console.log(
            `${`${s.name}+policy`.padEnd(16)} ${String(c).padStart(4)} | ${fmt(direct.p50)}ms | ${fmt(governed.p50)} | ${fmt(governed.p50 - direct.p50, 3)} | ${fmt(direct.p99)}ms | ${fmt(governed.p99)} | ${fmt(governed.p99 - direct.p99, 3)} | ${fmt(direct.rps, 0)}   | ${fmt(governed.rps, 0)} | ${fmt((100 * governed.rps) / direct.rps, 1)}%  | ${fmt(pCpu * 1000, 0)} µs  |`,
          );
        }
      }
    }

    if (SOAK > 0) {
      console.log(`\nSoak: chat-stream through the gateway at concurrency 16 for ${SOAK}s; gateway RSS every 10 s`);
      const pid = gw.proc.pid!;
      const samples: { t: number; rss: number }[] = [{ t: 0, rss: rssMb(pid) }];
      const t0 = performance.now();
      const sampler = setInterval(() => samples.push({ t: Math.round((performance.now() - t0) / 1000), rss: rssMb(pid) }), 10_000);
      const soak = await load(gwUrl, SCENARIOS[1]!, made.key, 16, SOAK);
      clearInterval(sampler);
      samples.push({ t: Math.round((performance.now() - t0) / 1000), rss: rssMb(pid) });
      // RSS swings with GC cycles; the floor of each minute shows whether memory is retained over time.
      const minutes = new Map<number, number[]>();
      for (const x of samples) {
        const m = Math.floor(x.t / 60);
        minutes.set(m, [...(minutes.get(m) ?? []), x.rss]);
      }
      console.log('  minute | RSS min MB | RSS max MB');
      for (const [m, xs] of minutes) {
        console.log(`  ${String(m).padStart(6)} | ${fmt(Math.min(...xs), 1)}   | ${fmt(Math.max(...xs), 1)}`);
      }
      const floors = [...minutes.values()].map((xs) => Math.min(...xs));
      console.log(
        `  ${soak.rps.toFixed(0)} req/s sustained, ${soak.errors} errors; per-minute RSS floor first ${floors[0]!.toFixed(1)} MB, last ${floors.at(-1)!.toFixed(1)} MB, highest ${Math.max(...floors).toFixed(1)} MB`,
      );
    }
  } finally {
    for (const p of procs) p.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
