import { similarity } from '../fingerprint/text.js';
import type { DetectContext, Detector, DetectorDefinition, DetectInput } from '../types.js';
import { DAY, HOUR, MINUTE, costOf, evidence, hasExemptTag, makeFinding, usd } from '../util.js';

/**
 * Idle loops: requests at a machine-regular cadence, in hours the person is normally not working, with no new
 * human input: a script or an agent left polling overnight.
 *
 * Rationale: people and agents produce irregular intervals (reading, thinking, tools that take variable time): the
 * coefficient of variation of their gaps is above 0.5. A timer's is near 0. Combined with the person's own quiet
 * hours (learned from when they type prompts) and the absence of new prompts, it is a loop nobody is watching.
 *
 * Not flagged: on-call night work (new prompts, irregular gaps); long overnight agent runs (irregular gaps);
 * declared jobs (tags in `exemptTags`, e.g. `x-goodhart-tags: scheduled`); runs in the person's working hours;
 * events without a fingerprint (OTel metric intervals, usage-API buckets, imports with fingerprints off): their
 * regularity is the exporter's and they cannot show whether a prompt was new.
 */

interface Run {
  userId: string;
  teamId: string | null;
  sessionId: string | null;
  stream: Run[];
  first: number;
  last: number;
  count: number;
  sumGap: number;
  sumGap2: number;
  /** The prompt the run repeats (null: a run of requests without a typed prompt, e.g. agent steps). */
  refSig: Uint32Array | null;
  hours: Uint16Array;
  cost: number;
  firstCost: number;
  ids: string[];
}

interface UserState {
  /** UTC hour-of-day histogram of the person's distinct prompts. */
  hours: Float64Array;
  total: number;
  /** Open runs per stream (session, else API key): one per repeated prompt, plus one without a prompt. */
  streams: Map<string, Run[]>;
}

/** An hour holding less than 2% of a person's prompts is one they are normally away (uniform would be 4.2%). */
const QUIET_SHARE = 0.02;
/** Below this many prompts the person's hours are unknown; the run then needs twice the requests. */
const MIN_HISTORY = 30;
/** A repeat of a run's prompt (similarity at least this) is the loop, not a person typing. */
const SAME_PROMPT = 0.9;
/** Open runs kept per stream: a script repeats one or two prompts, not dozens. */
const MAX_RUNS = 8;

function create(ctx: DetectContext): Detector {
  const cfg = ctx.config.idleLoop;
  const maxGap = cfg.maxGapMinutes * MINUTE;
  const exempt = new Set(ctx.config.exemptTags);
  const users = new Map<string, UserState>();
  const open = new Set<Run>();
  let lastSweep = 0;

  const close = (run: Run, now: number): void => {
    open.delete(run);
    const i = run.stream.indexOf(run);
    if (i >= 0) run.stream.splice(i, 1);
    const u = users.get(run.userId)!;
    const known = u.total >= MIN_HISTORY;
    if (run.count < (known ? cfg.minRequests : 2 * cfg.minRequests)) return;
    if (run.last - run.first < cfg.minDurationMinutes * MINUTE) return;
    const n = run.count - 1;
    const mean = run.sumGap / n;
    const cv = Math.sqrt(Math.max(0, run.sumGap2 / n - mean * mean)) / mean;
    if (!(cv <= cfg.maxIntervalCv)) return;
    let quiet = 0;
    for (let h = 0; h < 24; h++) if (known && u.hours[h]! / u.total < QUIET_SHARE) quiet += run.hours[h]!;
    const offShare = known ? quiet / run.count : 0;
    if (known && offShare < cfg.minOffHoursShare) return;
    const wasted = run.cost - run.firstCost;
    if (wasted < cfg.minWastedUsd && run.count < cfg.orMinRequests) return;
    const hours = (run.last - run.first) / HOUR;
    ctx.emit(
      makeFinding(
        {
          rule: 'idle-loop',
          subject: run.sessionId !== null ? { kind: 'session', id: run.sessionId } : { kind: 'user', id: run.userId },
          userId: run.userId,
          teamId: run.teamId,
          sessionId: run.sessionId,
          start: run.first,
          end: run.last,
          evidence: evidence(
            { requests: run.count, newPrompts: run.refSig === null ? 0 : 1 },
            { intervalSeconds: mean / 1000, intervalCv: cv, offHoursShare: offShare, hours, costUsd: run.cost },
            run.ids,
          ),
          wastedUsd: wasted,
          wasteMethod: 'Cost of every request of the run after the first: none carried new input from a person.',
          confidence: (known ? 0.7 : 0.5) + 0.25 * (1 - cv / cfg.maxIntervalCv) * (known ? offShare : 0.6),
          summary: `${run.count} requests every ${Math.round(mean / 1000)} s (±${Math.round(cv * 100)}%) for ${hours.toFixed(1)} h${known ? `, ${Math.round(offShare * 100)}% outside your usual hours` : ''}, with no new prompt; ${usd(run.cost)} in all.`,
          suggestion:
            'This looks like a script or agent left running on a timer. If it is meant to run, tag its requests (x-goodhart-tags: scheduled) so it is budgeted as a job, and consider a longer interval or a cheaper model; if not, stop it (and add a stop condition or an iteration limit to the loop).',
        },
        now,
      ),
    );
  };

  return {
    observe({ event: e, fp }: DetectInput): void {
      // Without a fingerprint there is no evidence either way about new prompts: an OTel metric interval or a
      // usage-API row is one event per minute or per bucket (a timer's cadence by construction) summing whatever
      // the person did in it, and a per-request event recorded without a fingerprint says nothing of its prompt.
      if (e.userId === null || fp === null || hasExemptTag(e, exempt)) return;
      let u = users.get(e.userId);
      if (u === undefined) {
        u = { hours: new Float64Array(24), total: 0, streams: new Map() };
        users.set(e.userId, u);
      }
      const t = e.startedAt;
      const key = e.sessionId ?? e.keyId ?? '-';
      let stream = u.streams.get(key);
      if (stream === undefined) {
        stream = [];
        u.streams.set(key, stream);
      }
      const sig = fp !== null && fp.humanTurn ? fp.prompt : null;
      let run = sig === null ? stream.find((r) => r.refSig === null) : stream.find((r) => r.refSig !== null && similarity(r.refSig, sig) >= SAME_PROMPT);
      if (run !== undefined && t - run.last > maxGap) {
        close(run, t);
        run = undefined;
      }
      if (sig !== null && run === undefined) {
        // A new prompt: the person's own activity. It ends any run of prompt-less requests in this stream.
        u.hours[Math.floor((t % DAY) / HOUR)]!++;
        u.total++;
        const untyped = stream.find((r) => r.refSig === null);
        if (untyped !== undefined) close(untyped, t);
        if (stream.length >= MAX_RUNS) close(stream[0]!, t);
      }
      if (run === undefined) {
        run = {
          userId: e.userId, teamId: e.teamId, sessionId: e.sessionId, stream, first: t, last: t, count: 0, sumGap: 0, sumGap2: 0,
          refSig: sig, hours: new Uint16Array(24), cost: 0, firstCost: costOf(e), ids: [],
        };
        stream.push(run);
        open.add(run);
      } else {
        const gap = t - run.last;
        run.sumGap += gap;
        run.sumGap2 += gap * gap;
      }
      run.count++;
      run.last = t;
      run.hours[Math.floor((t % DAY) / HOUR)]!++;
      run.cost += costOf(e);
      if (run.ids.length < 200) run.ids.push(e.id);
    },
    advance(now: number): void {
      if (now - lastSweep < 5 * MINUTE) return;
      lastSweep = now;
      for (const run of open) if (now - run.last > maxGap) close(run, now);
      for (const u of users.values()) for (const [k, st] of u.streams) if (st.length === 0) u.streams.delete(k);
    },
    finish(now: number): void {
      for (const run of [...open]) close(run, now);
    },
  };
}

export const idleLoop: DetectorDefinition = {
  rule: 'idle-loop',
  title: 'Idle loops',
  rationale:
    "Requests at timer-regular intervals (coefficient of variation of the gaps ≤ 0.15; people and agents vary by more than 50%), mostly in the person's own quiet hours, with no new prompt: a loop nobody is watching. Declared jobs (tagged scheduled/batch/eval), on-call work and overnight agent runs are not flagged.",
  create,
};
