import { HOUR, MINUTE, askDocument, pickDocument, runChat, runSession } from './activities.js';
import * as inject from './injected.js';
import { buildOrg, type Org, type Person } from './org.js';
import { Rng } from './random.js';
import { loadTraces, type Traces } from './traces.js';
import { World, type Label, type SimOutcome, type SimRecord } from './world.js';

/**
 * `goodhart simulate`: a realistic organisation's usage, day by day, as a stream of time-ordered batches (events
 * with their fingerprints), then the labels of the injected behaviours and the outcomes. Deterministic from the seed.
 */

export interface SimulateOptions {
  seed: number;
  people: number;
  days: number;
  /** First day, UTC midnight (default 2026-09-07, a Monday: two month ends fall inside 60 days). */
  start?: number;
  dataDir?: string;
  /** Fingerprint secret (default: derived from the seed, so runs are reproducible). */
  secret?: string;
}

export interface SimulationSummary {
  seed: number;
  people: number;
  days: number;
  start: number;
  traces: Traces['source'];
  events: number;
  labels: Label[];
  outcomes: SimOutcome[];
  /** Users per archetype, and the honest heavy users (heavy, no injected behaviour). */
  archetypes: Record<string, string[]>;
  honestHeavy: string[];
  carriers: Record<string, string[]>;
}

export const DEFAULT_START = Date.UTC(2026, 8, 7);
const DAY = 24 * HOUR;

function isWorkday(p: Person, day: number): boolean {
  return day % 7 < 5 && !p.pto.has(day);
}

/** The last `n` days of a calendar month (UTC dates of the simulated days), with 21+ days of history before. */
function monthEndWindow(start: number, day: number, n = 3): number | null {
  if (day < 21) return null;
  const d = new Date(start + day * DAY);
  const daysInMonth = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  return d.getUTCDate() > daysInMonth - n ? d.getUTCFullYear() * 12 + d.getUTCMonth() : null;
}

interface SurgeSpan {
  first: number;
  last: number;
}

/** One person's local day. */
function personDay(w: World, rng: Rng, p: Person, day: number, start: number, surges: Map<string, SurgeSpan>): void {
  const midnight = start + day * DAY - p.tzOffsetMin * MINUTE;
  const workStart = midnight + p.startHour * HOUR + rng.normal(0, 20 * MINUTE);
  const workLength = p.workHours * HOUR;
  const at = (): number => workStart + rng.next() * workLength * 0.9;
  const working = isWorkday(p, day);
  const weekend = !working && day % 7 >= 5 && rng.chance(p.weekendWork);
  const month = monthEndWindow(start, day);
  // An honest crunch: more tasks (sessions, chats), each as long as usual.
  const crunch = p.crunch && month !== null ? rng.uniform(1.5, 3.5) : 1;

  if (crunch > 1 && working) w.label('honest-spike', p, null, workStart, workStart + workLength + 4 * HOUR);
  if (working || weekend) {
    const scale = (weekend ? 0.3 : 1) * crunch * rng.lognormal(1, 0.25);
    let prompts = 0;
    const sessions = rng.poisson(p.sessionsPerDay * scale);
    const heavy = p.archetype === 'heavy';
    for (let i = 0; i < sessions; i++) {
      const r = runSession(w, rng, p, at(), {
        turns: Math.max(1, Math.round(rng.lognormal(heavy ? 4 : 3, 0.5))),
        steps: heavy ? 6 : 4,
      });
      prompts += r.prompts;
    }
    for (let i = 0, n = rng.poisson(p.chatsPerDay * scale); i < n; i++) prompts += runChat(w, rng, p, at()).prompts;
    // Documents: usually through a cache; sometimes a couple of uncached re-sends (below any threshold).
    if (rng.chance(0.08)) {
      const doc = pickDocument(w, rng);
      let t = at();
      const cached = rng.chance(0.7);
      const reqs = Array.from({ length: cached ? rng.int(4, 14) : rng.int(2, 3) }, () => ({ at: (t += rng.lognormal(6 * MINUTE, 0.7)), cached }));
      askDocument(w, rng, p, doc, reqs, rng.pick(['claude-sonnet-4-5', 'gpt-5']));
    }
    // Normal iteration: a prompt tried two or three times with different wording (below the rephrase threshold).
    if (rng.chance(0.12)) inject.rephraseLoop(w, rng, p, at(), rng.int(2, 3));
    if (heavy && rng.chance(0.08)) {
      // An overnight autonomous run started before leaving: long, irregular, every step different, and it ships.
      const run = runSession(w, rng, p, workStart + workLength - 30 * MINUTE, { turns: 1, steps: rng.uniform(40, 90) });
      w.label('honest-spike', p, run.session.id, workStart + workLength - 30 * MINUTE, run.end);
      w.outcome(p, 'commit', Math.round(run.end), rng.int(2, 6));
      w.outcome(p, 'pull_request_merged', Math.round(run.end), 1);
    }
    // Outcomes follow the work done (prompts), with the person's own productivity.
    const commits = rng.poisson(p.commitsPerDay * Math.min(2.5, prompts / Math.max(1, p.sessionsPerDay * 3 + p.chatsPerDay)) * crunch);
    w.outcome(p, 'commit', Math.round(workStart + workLength), commits);
    w.outcome(p, 'pull_request_merged', Math.round(workStart + workLength), rng.poisson(commits / 4));
  }
  if (p.onCall && rng.chance(0.12)) {
    // Paged at night: a few prompts, irregular, human.
    runSession(w, rng, p, midnight + rng.uniform(22, 27) * HOUR, { turns: rng.int(2, 5), steps: 4 });
  }
  if (p.scheduledJob) {
    // A declared nightly eval: regular as a clock, tagged, so it is budgeted rather than reported.
    const fp = w.turn(`run the nightly ${p.vocab[0]!} evaluation suite and report regressions against the baseline`);
    for (let t = midnight + 2 * HOUR, k = 0; k < 36; k++, t += 5 * MINUTE * (1 + 0.01 * rng.normal())) {
      w.emit({ person: p, at: t, sessionId: null, model: 'gpt-5-mini', input: 6_000, cacheRead: 5_800, output: 200, fp, tags: ['scheduled'] });
    }
  }

  // Injected behaviour on this person's days.
  if (p.carrier !== null && (p.days.has(day) || (p.carrier === 'period-end-surge' && month !== null))) {
    switch (p.carrier) {
      case 'rephrase-loop':
        inject.rephraseLoop(w, rng, p, at());
        break;
      case 'context-bloat':
        inject.contextBloat(w, rng, p, workStart + rng.uniform(0, 0.5) * workLength);
        break;
      case 'premium-overkill':
        inject.premiumOverkill(w, rng, p, workStart, workLength);
        break;
      case 'idle-loop':
        inject.idleLoop(w, rng, p, midnight + rng.uniform(19.5, 24.5) * HOUR);
        break;
      case 'agent-circle':
        inject.agentCircle(w, rng, p, at());
        break;
      case 'fan-out':
        inject.fanOut(w, rng, p, at());
        break;
      case 'period-end-surge': {
        const span = inject.surgeSessions(w, rng, p, workStart, workLength);
        const key = `${p.id}:${month}`;
        const prev = surges.get(key);
        surges.set(key, { first: Math.min(prev?.first ?? Number.POSITIVE_INFINITY, span.first), last: Math.max(prev?.last ?? 0, span.last) });
        break;
      }
      case 'spend-anomaly':
        inject.spendSpike(w, rng, p, workStart, workLength);
        break;
    }
  }
}

/** Requests in startedAt order, and the outcomes recorded up to the same time. */
export interface SimBatch {
  records: SimRecord[];
  outcomes: SimOutcome[];
}

/**
 * Generates the simulation. Yields batches in startedAt order (each batch: everything that can no longer be
 * preceded by a later day's events); returns the summary with labels and outcomes.
 */
export function* simulate(opts: SimulateOptions): Generator<SimBatch, SimulationSummary> {
  const start = opts.start ?? DEFAULT_START;
  const root = new Rng(opts.seed, 1);
  const traces = loadTraces(root.fork(1), opts.dataDir);
  const org: Org = buildOrg(root.fork(2), opts.people, opts.days, isWorkday);
  const w = new World(root.fork(3), opts.secret ?? `simulated-secret-${opts.seed}-0123456789`, traces, start);
  const surges = new Map<string, SurgeSpan>();
  const outcomes: SimOutcome[] = [];
  const takeOutcomes = (before: number): SimOutcome[] => {
    const ready = w.pendingOutcomes.filter((o) => o.at < before).sort((a, b) => a.at - b.at);
    w.pendingOutcomes = w.pendingOutcomes.filter((o) => o.at >= before);
    outcomes.push(...ready);
    return ready;
  };
  const order = (a: SimRecord, b: SimRecord): number => a.event.startedAt - b.event.startedAt || (a.event.id < b.event.id ? -1 : 1);
  for (let day = 0; day < opts.days; day++) {
    for (const p of org.people) personDay(w, new Rng(opts.seed ^ (p.index * 7919 + 1), day + 17), p, day, start, surges);
    // Events of local day d+1 start no earlier than UTC midnight of d+1 minus 14 h: everything before is final.
    const boundary = start + (day + 1) * DAY - 14 * HOUR;
    w.pending.sort(order);
    let cut = 0;
    while (cut < w.pending.length && w.pending[cut]!.event.startedAt < boundary) cut++;
    const ready = w.pending.slice(0, cut);
    w.pending = w.pending.slice(cut);
    yield { records: ready, outcomes: takeOutcomes(boundary) };
  }
  w.pending.sort(order);
  yield { records: w.pending, outcomes: takeOutcomes(Number.POSITIVE_INFINITY) };
  w.pending = [];
  for (const [key, span] of surges) {
    const p = org.people.find((x) => x.id === key.split(':')[0])!;
    w.label('period-end-surge', p, null, span.first, span.last);
  }
  const archetypes: Record<string, string[]> = {};
  const carriers: Record<string, string[]> = {};
  for (const p of org.people) {
    (archetypes[p.archetype] ??= []).push(p.id);
    if (p.carrier !== null) (carriers[p.carrier] ??= []).push(p.id);
  }
  return {
    seed: opts.seed,
    people: opts.people,
    days: opts.days,
    start,
    traces: traces.source,
    events: w.events,
    labels: w.labels,
    outcomes,
    archetypes,
    honestHeavy: org.people.filter((p) => p.archetype === 'heavy' && p.carrier === null).map((p) => p.id),
    carriers,
  };
}

