/**
 * Live detection benchmark: the simulated organisation's traffic stored the way the gateway stores it (each request
 * when it ENDS, batch by batch, with its fingerprint) into a real SQLite file while a LiveDetector ticks over the
 * same file, as `goodhart serve` runs it. Scores the findings live detection stored against the labels (the same
 * scoring as bench/detect/run.ts, which runs the detectors over the finished history) and measures what the
 * background work costs: CPU per tick and per event, the warm-up's speed, the alerts it would send per day.
 *
 *   npx tsx bench/detect/live.ts --seed 1 --people 500 --days 60 [--interval 60]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema } from '../../src/config/schema.js';
import { DetectionEngine } from '../../src/detect/engine.js';
import { LiveDetector } from '../../src/detect/live/live.js';
import type { RuleId } from '../../src/detect/types.js';
import { evaluate } from '../../src/simulate/evaluate.js';
import { simulate } from '../../src/simulate/generate.js';
import type { SimOutcome, SimRecord } from '../../src/simulate/world.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { createPricer } from '../../src/usage/pricing.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}
const seed = Number(arg('seed', '1'));
const people = Number(arg('people', '500'));
const days = Number(arg('days', '60'));
/** Seconds of simulated time per tick (serve's default is 30; a longer one keeps the benchmark's run short). */
const interval = Number(arg('interval', '60'));
const DAY = 86_400_000;

const dir = mkdtempSync(join(tmpdir(), 'goodhart-bench-live-'));
const store = new SqliteStore(join(dir, 'live.db'));
const config = configSchema.parse({ detect: { live: { intervalSeconds: interval } } });
const clock = { t: 0 };
const alerts = new Map<string, number>();
const live = new LiveDetector({
  store,
  source: store.findings,
  detect: config.detect,
  pricer: createPricer(),
  timeZone: 'UTC',
  budgets: () => [],
  publish: (a) => {
    const rule = (a.payload as { rule: RuleId }).rule;
    alerts.set(rule, (alerts.get(rule) ?? 0) + 1);
  },
  now: () => clock.t,
  holder: 'bench',
  log: (m) => console.error(m),
});

/** Requests waiting to end (the gateway stores a request when it ends): a binary min-heap by endedAt. */
const pending: SimRecord[] = [];
function pushPending(r: SimRecord): void {
  pending.push(r);
  for (let i = pending.length - 1; i > 0; ) {
    const up = (i - 1) >> 1;
    if (pending[up]!.event.endedAt <= pending[i]!.event.endedAt) break;
    [pending[up], pending[i]] = [pending[i]!, pending[up]!];
    i = up;
  }
}
function popPending(): SimRecord {
  const top = pending[0]!;
  const last = pending.pop()!;
  if (pending.length > 0) {
    pending[0] = last;
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < pending.length && pending[l]!.event.endedAt < pending[m]!.event.endedAt) m = l;
      if (r < pending.length && pending[r]!.event.endedAt < pending[m]!.event.endedAt) m = r;
      if (m === i) break;
      [pending[m], pending[i]] = [pending[i]!, pending[m]!];
      i = m;
    }
  }
  return top;
}
let pendingOutcomes: SimOutcome[] = [];
let events = 0;
let insertMs = 0;
let tickCpuUs = 0;
const tickMs: number[] = [];

async function tickTo(t: number): Promise<void> {
  clock.t = t;
  const ended: SimRecord[] = [];
  while (pending.length > 0 && pending[0]!.event.endedAt <= t) ended.push(popPending());
  if (ended.length > 0) {
    const i0 = performance.now();
    await store.insertEvents(ended.map((r) => r.event));
    await store.findings.insertFingerprints(ended.flatMap((r) => (r.fp ? [r.fp] : [])));
    insertMs += performance.now() - i0;
    events += ended.length;
  }
  const due = pendingOutcomes.filter((o) => o.at <= t);
  if (due.length > 0) {
    pendingOutcomes = pendingOutcomes.filter((o) => o.at > t);
    await store.insertOutcomes(due);
  }
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  await live.tick();
  tickMs.push(performance.now() - w0);
  const c = process.cpuUsage(c0);
  tickCpuUs += c.user + c.system;
}

const gen = simulate({ seed, people, days });
let next = gen.next();
const t0 = performance.now();
// The batch run over the same stream (as bench/detect/run.ts), to compare with what live detection stores.
const batch = new DetectionEngine({ config: config.detect });
while (next.done !== true) {
  const { records, outcomes } = next.value;
  for (const o of outcomes) batch.pushOutcome(o);
  for (const r of records) batch.push(r);
  for (const r of records) pushPending(r);
  pendingOutcomes.push(...outcomes);
  const upTo = records.length > 0 ? records[records.length - 1]!.event.startedAt : clock.t;
  if (clock.t === 0 && records.length > 0) {
    clock.t = records[0]!.event.startedAt - interval * 1000;
    await live.tick(); // takes the lease, warms up over an empty store
  }
  while (clock.t + interval * 1000 <= upTo) await tickTo(clock.t + interval * 1000);
  next = gen.next();
}
const summary = next.value;
// Everything ends; then a day and a half of quiet for the windows that close on time (the batch benchmark calls
// finish() instead).
const quietUntil = pending.reduce((m, r) => Math.max(m, r.event.endedAt), clock.t) + 1.5 * DAY;
while (clock.t < quietUntil) await tickTo(clock.t + interval * 1000);
const totalMs = performance.now() - t0;

const findings = await store.findings.listFindings({});
const teams = new Map<string, string>();
for (const l of summary.labels) teams.set(l.userId, l.teamId);
const ev = evaluate(findings, summary.labels, { honestHeavy: summary.honestHeavy, teamOf: (u) => teams.get(u) });
const batchEv = evaluate(batch.finish(), summary.labels, { honestHeavy: summary.honestHeavy, teamOf: (u) => teams.get(u) });

// A second process taking over: the warm-up over the look-back window of the finished history.
await live.close();
const clock2 = clock.t;
const other = new LiveDetector({
  store, source: store.findings, detect: config.detect, pricer: createPricer(), timeZone: 'UTC', budgets: () => [],
  publish: null, now: () => clock2, holder: 'takeover', log: (m) => console.error(m),
});
const w0 = performance.now();
const wc0 = process.cpuUsage();
await other.tick();
const warmCpu = process.cpuUsage(wc0);
const warmMs = performance.now() - w0;
await other.close();

tickMs.sort((a, b) => a - b);
const q = (p: number): number => tickMs[Math.min(tickMs.length - 1, Math.floor(p * tickMs.length))]!;
const pct = (x: number): string => x.toFixed(3);
console.log(`seed ${seed}: ${events.toLocaleString('en-US')} events, ${people} people × ${days} days, ticks of ${interval} s of simulated time (${tickMs.length.toLocaleString('en-US')} ticks); wall ${(totalMs / 1000).toFixed(0)} s of which storing events ${(insertMs / 1000).toFixed(0)} s`);
console.log(`live ticks: CPU ${(tickCpuUs / 1e6).toFixed(1)} s in all, ${(tickCpuUs / tickMs.length / 1000).toFixed(2)} ms per tick, ${(tickCpuUs / events).toFixed(1)} µs per event (${Math.round(events / (tickCpuUs / 1e6)).toLocaleString('en-US')} events/s on one core, reading the store included); tick wall p50 ${q(0.5).toFixed(1)} ms, p99 ${q(0.99).toFixed(1)} ms, max ${q(1).toFixed(0)} ms`);
console.log(`warm-up of a takeover: ${live.stats.events > 0 ? other.stats.warmupEvents.toLocaleString('en-US') : 0} events in ${(warmMs / 1000).toFixed(1)} s wall, ${((warmCpu.user + warmCpu.system) / 1e6).toFixed(1)} s CPU (${Math.round(other.stats.warmupEvents / (warmMs / 1000)).toLocaleString('en-US')} events/s)`);
console.log(`late events clamped ${live.stats.late}, too late ${live.stats.tooLate}; heap ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB at the end`);
console.log(`alerts it would send (defaults: ≥ $1, anomalies always): ${[...alerts.values()].reduce((a, b) => a + b, 0)} in ${days} days; ${[...alerts].map(([r, n]) => `${r} ${n}`).join(', ')}`);
console.log('rule               | live: findings  TP labels found precision recall | batch: findings precision recall');
for (const s of ev.rules) {
  const b = batchEv.rules.find((x) => x.rule === s.rule)!;
  console.log(
    `${s.rule.padEnd(18)} | ${String(s.findings).padStart(14)} ${String(s.truePositives).padStart(3)} ${String(s.labels).padStart(6)} ${String(s.found).padStart(5)} ${pct(s.precision).padStart(9)} ${pct(s.recall).padStart(6)} | ${String(b.findings).padStart(15)} ${pct(b.precision).padStart(9)} ${pct(b.recall).padStart(6)}`,
  );
}
console.log(`honest heavy users flagged (waste rules): live ${ev.honestHeavyFlagged.length}/${ev.honestHeavy}, batch ${batchEv.honestHeavyFlagged.length}/${batchEv.honestHeavy}; with a spend anomaly: live ${ev.honestHeavyAnomalies.length}, batch ${batchEv.honestHeavyAnomalies.length}`);
await store.close();
rmSync(dir, { recursive: true, force: true });
