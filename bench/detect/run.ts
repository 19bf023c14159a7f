/**
 * Waste detection benchmark: simulate an organisation (≥ 500 people × 60 days), run every detector over its events
 * and fingerprints in time order, score findings against the injected labels, and measure detector throughput
 * (events per second on one core, detection only: the simulator's own time is excluded).
 *
 *   npm run bench:detect -- --seeds 1,2,3 --people 500 --days 60
 */
import { DetectionEngine } from '../../src/detect/engine.js';
import type { Finding } from '../../src/detect/types.js';
import { evaluate, type Evaluation } from '../../src/simulate/evaluate.js';
import { simulate, type SimulationSummary } from '../../src/simulate/generate.js';
import type { SimOutcome, SimRecord } from '../../src/simulate/world.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const seeds = arg('seeds', '1,2,3').split(',').map(Number);
const people = Number(arg('people', '500'));
const days = Number(arg('days', '60'));
const verbose = process.argv.includes('--verbose');

/** Every tenth person's requests are kept and replayed through a fresh engine: detectors alone, no simulator. */
const REPLAY_EVERY = 10;
const REPLAYS = 3;

interface Run {
  seed: number;
  replayEvents: number;
  replayEps: number;
  summary: SimulationSummary;
  evaluation: Evaluation;
  events: number;
  detectMs: number;
  simMs: number;
  findings: Finding[];
}

function runSeed(seed: number): Run {
  const engine = new DetectionEngine();
  const gen = simulate({ seed, people, days });
  const kept: SimRecord[] = [];
  const keptOutcomes: SimOutcome[] = [];
  const keep = (userId: string | null): boolean => userId !== null && Number(userId.slice(1)) % REPLAY_EVERY === 0;
  let detectMs = 0;
  let events = 0;
  const t0 = performance.now();
  let next = gen.next();
  while (next.done !== true) {
    const { records, outcomes } = next.value;
    const d0 = performance.now();
    for (const o of outcomes) engine.pushOutcome(o);
    for (const r of records) engine.push(r);
    detectMs += performance.now() - d0;
    events += records.length;
    for (const r of records) if (keep(r.event.userId)) kept.push(r);
    for (const o of outcomes) if (keep(o.userId)) keptOutcomes.push(o);
    next = gen.next();
  }
  const summary = next.value;
  const d0 = performance.now();
  const findings = engine.finish();
  detectMs += performance.now() - d0;
  const simMs = performance.now() - t0 - detectMs;
  const teams = new Map<string, string>();
  for (const l of summary.labels) teams.set(l.userId, l.teamId);
  const evaluation = evaluate(findings, summary.labels, { honestHeavy: summary.honestHeavy, teamOf: (u) => teams.get(u) });
  // Replays: the median of REPLAYS runs over the kept people (outcomes first: detectors aggregate them by day).
  const rates: number[] = [];
  for (let k = 0; k < REPLAYS; k++) {
    const replay = new DetectionEngine();
    const r0 = performance.now();
    let oi = 0;
    for (const r of kept) {
      while (oi < keptOutcomes.length && keptOutcomes[oi]!.at <= r.event.startedAt) replay.pushOutcome(keptOutcomes[oi++]!);
      replay.push(r);
    }
    replay.finish();
    rates.push(kept.length / ((performance.now() - r0) / 1000));
  }
  rates.sort((x, y) => x - y);
  return { seed, summary, evaluation, events, detectMs, simMs, findings, replayEvents: kept.length, replayEps: rates[Math.floor(REPLAYS / 2)]! };
}

const pct = (x: number): string => x.toFixed(3);
const runs: Run[] = [];
for (const seed of seeds) {
  const r = runSeed(seed);
  runs.push(r);
  console.log(`\nseed ${seed}: ${r.events.toLocaleString('en-US')} events, ${people} people × ${days} days (token sizes: ${r.summary.traces}); simulate ${(r.simMs / 1000).toFixed(1)} s`);
  console.log(`throughput: ${Math.round(r.events / (r.detectMs / 1000)).toLocaleString('en-US')} events/s streaming (interleaved with the simulator and its GC); ${Math.round(r.replayEps).toLocaleString('en-US')} events/s replaying ${r.replayEvents.toLocaleString('en-US')} events of every ${REPLAY_EVERY}th person (detectors alone, median of ${REPLAYS})`);
  console.log('rule               findings  TP   labels found  precision recall');
  for (const s of r.evaluation.rules) {
    console.log(`${s.rule.padEnd(18)} ${String(s.findings).padStart(8)} ${String(s.truePositives).padStart(4)} ${String(s.labels).padStart(8)} ${String(s.found).padStart(5)}  ${pct(s.precision).padStart(9)} ${pct(s.recall).padStart(6)}`);
  }
  const e = r.evaluation;
  console.log(`honest heavy users flagged (waste rules): ${e.honestHeavyFlagged.length}/${e.honestHeavy} = ${((100 * e.honestHeavyFlagged.length) / e.honestHeavy).toFixed(1)}%  ${e.honestHeavyFlagged.join(' ')}`);
  console.log(`honest heavy users with a spend anomaly: ${e.honestHeavyAnomalies.length}/${e.honestHeavy}; project/model anomalies (not scored): ${e.unscoredAnomalies}`);
  if (verbose) {
    const slack = 30 * 60_000;
    for (const f of r.findings) {
      const hit = r.summary.labels.some((l) => (f.rule === 'spend-anomaly' ? true : l.rule === f.rule) && (l.userId === f.userId || (f.subject.kind === 'team' && l.teamId === f.subject.id)) && f.start <= l.end + slack && f.end >= l.start - slack);
      const carrier = Object.entries(r.summary.carriers).find(([, us]) => us.includes(f.userId ?? ''))?.[0] ?? '-';
      if (!hit) console.log(`  FP [carrier ${carrier}] ${f.rule} ${f.subject.kind}:${f.subject.id} ${new Date(f.start).toISOString()} ${f.summary} ${JSON.stringify(f.evidence.ratios)}`);
    }
    for (const l of r.summary.labels) {
      if (l.rule === 'honest-spike') continue;
      const hit = r.findings.some((f) => f.rule === l.rule && f.userId === l.userId && f.start <= l.end + slack && f.end >= l.start - slack);
      if (!hit) console.log(`  MISSED ${l.rule} ${l.userId} ${l.sessionId ?? ''} ${new Date(l.start).toISOString()} … ${new Date(l.end).toISOString()}`);
    }
  }
}
if (runs.length > 1) {
  console.log('\nmean over seeds', seeds.join(','));
  const rules = runs[0]!.evaluation.rules.map((s) => s.rule);
  for (const rule of rules) {
    const ss = runs.map((r) => r.evaluation.rules.find((s) => s.rule === rule)!);
    const p = ss.reduce((a, s) => a + s.precision, 0) / ss.length;
    const rc = ss.reduce((a, s) => a + s.recall, 0) / ss.length;
    console.log(`${rule.padEnd(18)} precision ${pct(p)}  recall ${pct(rc)}  (min ${pct(Math.min(...ss.map((s) => s.precision)))} / ${pct(Math.min(...ss.map((s) => s.recall)))})`);
  }
  const eps = runs.reduce((a, r) => a + r.events, 0) / (runs.reduce((a, r) => a + r.detectMs, 0) / 1000);
  const replay = runs.reduce((a, r) => a + r.replayEps, 0) / runs.length;
  console.log(`throughput: ${Math.round(eps).toLocaleString('en-US')} events/s streaming, ${Math.round(replay).toLocaleString('en-US')} events/s detectors alone`);
}
