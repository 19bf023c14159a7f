/**
 * Import benchmark: a generated Claude Code corpus (≥ 1 GB by default), our first import, our re-import after
 * appending 1%, and `ccusage daily --json` on the same files, in the same run. Our import runs as its own process:
 * the CLI as `npm run build` builds it (tsc into a temporary folder, the same files `bin` points at), never tsx.
 * Imports record waste-detection fingerprints (the default); one more first import without them shows their cost.
 * Re-imports (nothing changed; after appending 1%, with and without fingerprints) run three times each, with
 * fresh appends, and report the median with the range.
 *
 *   npm run bench:import -- [--gb 1.05] [--dir /tmp/x] [--keep]
 *
 * The corpus is dated the last five weeks, so most fingerprints fall inside the 30-day retention and are stored.
 * Peak RSS is VmHWM from /proc, sampled every 20 ms while each process runs (it is a high-water mark, so the last
 * sample before exit is the peak up to then). CPU is user + system time of all threads from /proc. "Waited" is the
 * time the main thread was ready to run but had no CPU (/proc schedstat): the machine's other load, not ours. The
 * load column is the 1-minute load average when the run started (2 cores here).
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { bundleImportCommand } from '../../scripts/build-cli.js';
import { ccusageBinary } from '../../scripts/ccusage.js';
import { parseArgs } from 'node:util';
import { appendToCorpus, generateCorpus } from './generate.js';

const { values: args } = parseArgs({
  options: { gb: { type: 'string', default: '1.05' }, dir: { type: 'string' }, keep: { type: 'boolean', default: false } },
});
const ROOT = new URL('../../', import.meta.url).pathname;

interface Run {
  ms: number;
  peakRssMb: number;
  /** User + system CPU seconds of all its threads (last sample before exit: a slight undercount). */
  cpuS: number;
  /** Seconds the main thread waited for a CPU (run queue). */
  waitS: number;
  /** 1-minute load average at the start. */
  load: number;
  stdout: string;
}

const TICKS_PER_S = 100;
/** Re-imports measured per kind (nothing changed; after +1% with and without fingerprints). */
const ROUNDS = 3;

function measure(cmd: string, argv: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cmd, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let peak = 0;
    let cpu = 0;
    let wait = 0;
    const load = Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
    const sample = (): void => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peak = Math.max(peak, Number(m[1]) / 1024);
        // Fields after the command name: state is 3rd, utime 14th, stime 15th (1-based over the whole line).
        const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        cpu = (Number(f[11]) + Number(f[12])) / TICKS_PER_S;
        wait = Number(readFileSync(`/proc/${child.pid}/schedstat`, 'utf8').split(' ')[1]) / 1e9;
      } catch {
        // exited
      }
    };
    const timer = setInterval(sample, 20);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code) => {
      clearInterval(timer);
      const ms = performance.now() - started;
      if (code !== 0) reject(new Error(`${cmd} ${argv.join(' ')} exited ${code}: ${err}`));
      else resolve({ ms, peakRssMb: peak, cpuS: cpu, waitS: wait, load, stdout: out });
    });
  });
}

/**
 * The CLI as users run it once built: `tsc -p tsconfig.build.json` into `into/dist` (bin: dist/cli/main.js), then
 * the import command's bundle (`npm run build:cli`).
 */
async function buildCli(into: string): Promise<string> {
  // A fresh build: an earlier run's (`--keep`) would leave stale files and its node_modules link.
  rmSync(into, { recursive: true, force: true });
  const out = join(into, 'dist');
  await new Promise<void>((resolve, reject) => {
    const tsc = spawn(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', out], { stdio: 'inherit' });
    tsc.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`tsc exited ${code}`))));
  });
  cpSync(join(ROOT, 'package.json'), join(into, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(into, 'node_modules'));
  await bundleImportCommand(ROOT, out);
  return join(out, 'cli', 'main.js');
}

function ccusageBin(): string {
  const bin = ccusageBinary();
  if (!bin) throw new Error('ccusage is not installed: run `npm run tools` first.');
  return bin;
}

function readAll(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) n += readFileSync(join(e.parentPath, e.name)).length;
  }
  return n;
}

function countFingerprints(path: string): number {
  const sqlite = new Database(path, { readonly: true });
  try {
    return (sqlite.prepare('SELECT COUNT(*) AS n FROM fingerprints').get() as { n: number }).n;
  } finally {
    sqlite.close();
  }
}

interface DayTotals {
  date: string;
  tokens: number;
}

async function main(): Promise<void> {
  const base = args.dir ?? mkdtempSync(join(tmpdir(), 'goodhart-bench-import-'));
  mkdirSync(base, { recursive: true });
  const corpus = join(base, 'claude');
  const home = join(base, 'home');
  mkdirSync(home, { recursive: true });
  const db = join(base, 'bench.db');
  for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true });
  try {
    const targetBytes = Math.round(Number(args.gb) * 1e9);
    let t = performance.now();
    rmSync(corpus, { recursive: true, force: true });
    const DAY = 86_400_000;
    const today = Math.floor(Date.now() / DAY) * DAY;
    const files = generateCorpus({ root: corpus, targetBytes, start: today - 37 * DAY + 8 * 3_600_000 });
    const bytes = files.reduce((a, f) => a + f.bytes, 0);
    console.log(`corpus: ${files.length} files, ${(bytes / 1e9).toFixed(2)} GB in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const main = await buildCli(join(base, 'cli'));
    // Warm the page cache for everyone alike.
    readAll(corpus);

    const env = { PATH: process.env['PATH'] ?? '', HOME: home, CLAUDE_CONFIG_DIR: corpus, NO_COLOR: '1' };
    const ccusage = (): Promise<Run> => measure(ccusageBin(), ['daily', '--json', '--offline', '--timezone', 'UTC'], env);
    const ours = (extra: string[] = [], into = db): Promise<Run> => measure(process.execPath, [main, 'import', 'claude-code', corpus, '--db', into, '--json', ...extra], env);
    const load = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    console.log(`load average before: ${load()}`);

    const cc1 = await ccusage();
    const first = await ours();
    const plainDb = join(base, 'plain.db');
    for (const f of [plainDb, `${plainDb}-wal`, `${plainDb}-shm`]) rmSync(f, { force: true });
    const plain = await ours(['--no-fingerprints'], plainDb);
    const noops: Run[] = [];
    for (let i = 0; i < ROUNDS; i++) noops.push(await ours());
    const again: Run[] = [];
    const againPlain: Run[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      t = performance.now();
      // A new seed each round: new sessions, new requests (the same seed would append the same request ids again).
      const appended = appendToCorpus(files, Math.round(bytes * 0.01), 7 + i, Date.now() - 6 * 3_600_000);
      console.log(`appended ${(appended / 1e6).toFixed(1)} MB to ${Math.ceil(files.length / 10)} files in ${((performance.now() - t) / 1000).toFixed(1)} s`);
      readAll(corpus);
      again.push(await ours());
      againPlain.push(await ours(['--no-fingerprints'], plainDb));
    }
    const cc2 = await ccusage();

    const s1 = JSON.parse(first.stdout) as { eventsAdded: number; durationMs: number; linesRead: number };
    const ccFull = Math.min(cc1.ms, cc2.ms);
    const ccCpu = Math.min(cc1.cpuS, cc2.cpuS);
    const sp = JSON.parse(plain.stdout) as { durationMs: number };
    const row = (name: string, r: Run, note: string) =>
      `| ${name.padEnd(38)} | ${(r.ms / 1000).toFixed(2).padStart(7)} s | ${r.cpuS.toFixed(2).padStart(6)} s | ${r.peakRssMb.toFixed(0).padStart(6)} MB | ${r.waitS.toFixed(2).padStart(6)} s | ${r.load.toFixed(1).padStart(4)} | ${note}`;
    const fps = countFingerprints(db);
    /** The median run by wall time, with the range of the others. */
    const median = (runs: Run[]): { run: Run; range: string } => {
      const sorted = [...runs].sort((a, b) => a.ms - b.ms);
      const run = sorted[Math.floor((sorted.length - 1) / 2)]!;
      const range = `wall ${(sorted[0]!.ms / 1000).toFixed(2)}–${(sorted.at(-1)!.ms / 1000).toFixed(2)} s, CPU ${Math.min(...runs.map((r) => r.cpuS)).toFixed(2)}–${Math.max(...runs.map((r) => r.cpuS)).toFixed(2)} s`;
      return { run, range };
    };
    const reimport = (runs: Run[], target: string): string => {
      const { run, range } = median(runs);
      const sum = JSON.parse(run.stdout) as { eventsAdded: number; durationMs: number; bytesRead: number; filesRead: number };
      return row(
        '',
        run,
        `${sum.filesRead} files, ${(sum.bytesRead / 1e6).toFixed(1)} MB read, ${sum.eventsAdded} events; import work ${sum.durationMs} ms; ${(ccFull / run.ms).toFixed(1)}× faster than ccusage wall to wall, ${(ccCpu / run.cpuS).toFixed(1)}× in CPU${target}; median of ${runs.length} (${range})`,
      );
    };
    const named = (name: string, line: string): string => line.replace(`| ${''.padEnd(38)} |`, `| ${name.padEnd(38)} |`);
    console.log('');
    console.log(`| ${'run'.padEnd(38)} | ${'wall'.padStart(9)} | ${'CPU'.padStart(8)} | ${'peak RSS'.padStart(9)} | ${'waited'.padStart(8)} | load | notes`);
    console.log(`|${'-'.repeat(40)}|${'-'.repeat(11)}|${'-'.repeat(10)}|${'-'.repeat(11)}|${'-'.repeat(10)}|------|------`);
    console.log(row('ccusage daily --json (before append)', cc1, ''));
    console.log(row('goodhart import claude-code (first)', first, `${s1.eventsAdded} events, ${fps} fingerprints, ${s1.linesRead} lines; import work ${s1.durationMs} ms; ${(first.ms / ccFull).toFixed(2)}× ccusage wall, ${(first.cpuS / ccCpu).toFixed(2)}× CPU (target ≤ 2×)`));
    console.log(row('… first, --no-fingerprints', plain, `import work ${sp.durationMs} ms; ${(plain.ms / ccFull).toFixed(2)}× ccusage wall, ${(plain.cpuS / ccCpu).toFixed(2)}× CPU`));
    const n = median(noops);
    console.log(row('goodhart import (nothing changed)', n.run, `import work ${(JSON.parse(n.run.stdout) as { durationMs: number }).durationMs} ms (the rest is process start-up); median of ${noops.length} (${n.range})`));
    console.log(named('goodhart import (after +1%)', reimport(again, ' (target ≥ 20×)')));
    console.log(named('… after +1%, --no-fingerprints', reimport(againPlain, '')));
    console.log(row('ccusage daily --json (after append)', cc2, ''));

    // Same corpus, same numbers: ccusage's per-day token totals against ours.
    const theirs = (JSON.parse(cc2.stdout) as { daily: { period?: string; date?: string; totalTokens: number }[] }).daily.map((d) => ({ date: d.period ?? d.date ?? '', tokens: d.totalTokens }));
    const report = await measure(process.execPath, [main, 'report', 'daily', '--db', db, '--json', '--source', 'claude-code'], env);
    const mine: DayTotals[] = (JSON.parse(report.stdout) as { rows: { key: string; inputTokens: number; outputTokens: number }[] }).rows.map((r) => ({ date: r.key, tokens: r.inputTokens + r.outputTokens }));
    const same = JSON.stringify(theirs) === JSON.stringify(mine);
    console.log(`\nper-day token totals equal to ccusage's on this corpus: ${same ? 'yes' : 'NO'} (${mine.length} days)`);
    console.log(`load average after: ${load()}`);
    if (!same) process.exitCode = 1;
  } finally {
    if (!args.keep && args.dir === undefined) rmSync(base, { recursive: true, force: true });
    else if (!args.keep) for (const d of [corpus, join(base, 'cli')]) if (existsSync(d)) rmSync(d, { recursive: true, force: true });
  }
}

await main();
