import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { findingsStoreOf } from '../../detect/store.js';
import { GoodhartError } from '../../errors.js';
import { parseDateOption } from '../../report/dates.js';
import { openStore } from '../../store/open.js';
import { DEFAULT_START } from '../../simulate/generate.js';
import { runSimulation } from '../../simulate/write.js';

export interface SimulateCliOptions {
  people?: string;
  days?: string;
  seed?: string;
  start?: string;
  db?: string;
  out?: string;
  dataDir?: string;
}

function positive(value: string | undefined, fallback: number, option: string, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1 || n > max) {
    throw new GoodhartError('invalid_request', 400, `${option}: expected a whole number from 1 to ${max}, got "${value}".`);
  }
  return n;
}

/** `goodhart simulate`: a simulated organisation's usage into a database or a folder, with labels and outcomes. */
export async function runSimulate(opts: SimulateCliOptions): Promise<string> {
  if ((opts.db === undefined) === (opts.out === undefined)) {
    throw new GoodhartError('invalid_request', 400, 'goodhart simulate: give exactly one of --db PATH (a database to fill) or --out DIR (JSONL files).');
  }
  const people = positive(opts.people, 500, '--people', 100_000);
  const days = positive(opts.days, 60, '--days', 3_650);
  const seed = opts.seed === undefined ? 1 : Number(opts.seed);
  if (!Number.isSafeInteger(seed)) throw new GoodhartError('invalid_request', 400, `--seed: expected a whole number, got "${opts.seed}".`);
  const start = opts.start === undefined ? DEFAULT_START : parseDateOption(opts.start, { option: '--start', timeZone: 'UTC' });
  const base = { seed, people, days, start, ...(opts.dataDir ? { dataDir: opts.dataDir } : {}) };
  const t0 = performance.now();
  let files;
  if (opts.db !== undefined) {
    const store = await openStore(opts.db);
    try {
      const findings = findingsStoreOf(store);
      if (findings === undefined) throw new GoodhartError('config_invalid', 500, 'goodhart simulate --db needs a SQLite database (fingerprints are stored beside the events).');
      // The database's own secret: fingerprints of simulated and real traffic stay comparable.
      files = await runSimulation({ ...base, secret: await findings.fingerprintSecret() }, { kind: 'store', store, findings }, dirname(resolve(opts.db)));
    } finally {
      await store.close();
    }
  } else {
    files = await runSimulation(base, { kind: 'dir', dir: resolve(opts.out!) }, resolve(opts.out!));
  }
  const s = files.summary;
  const byRule = new Map<string, number>();
  for (const l of s.labels) byRule.set(l.rule, (byRule.get(l.rule) ?? 0) + 1);
  return [
    `Simulated ${people} people × ${days} days (seed ${seed}, token sizes from ${s.traces}): ${s.events.toLocaleString('en-US')} events in ${((performance.now() - t0) / 1000).toFixed(1)} s.`,
    `Labels: ${[...byRule].map(([r, n]) => `${r} ${n}`).join(', ')}; honest heavy users: ${s.honestHeavy.length}.`,
    `Labels: ${files.labelsPath}`,
    `Outcomes (commits, pull requests): ${files.outcomesPath}`,
  ].join('\n');
}

export function registerSimulate(program: Command): void {
  program
    .command('simulate')
    .description('Generate a realistic organisation\'s usage with labelled waste behaviours (for trying and benchmarking detection)')
    .option('--people <n>', 'people in the organisation (default 500)')
    .option('--days <n>', 'days of usage (default 60)')
    .option('--seed <n>', 'random seed: the same seed gives the same organisation and usage (default 1)')
    .option('--start <date>', 'first day, YYYY-MM-DD (default 2026-09-07)')
    .option('--db <path>', 'write events and fingerprints into this SQLite database')
    .option('--out <dir>', 'write JSONL files (events, fingerprints, outcomes) and labels here instead')
    .option('--data-dir <dir>', 'public traces folder (default ../shared/data, or $GOODHART_DATA_DIR)')
    .action(async (opts: SimulateCliOptions) => {
      process.stdout.write(`${await runSimulate(opts)}\n`);
    });
}
