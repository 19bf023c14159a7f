import type { DetectContext, Detector, DetectorDefinition, DetectInput } from '../types.js';
import { MINUTE, costOf, evidence, makeFinding, usd } from '../util.js';

/**
 * Agent circles: an agent session repeating the same tool call with the same result, with no person in between.
 *
 * Rationale: coding agents call 3–5 identical consecutive calls a "doom loop" and stop themselves there; an agent
 * that does not keeps re-reading a growing context to redo a step that already failed. A step is the keyed hash of
 * the tool calls AND their results: running the tests again after an edit gives a different result (a different
 * step) and is progress; the same call with the same output is not.
 *
 * Also a loop: two steps taking turns three times (A B A B A B). Not flagged: long autonomous sessions whose steps
 * differ; a retry or two after an error (below `repeats`); any repetition across a human turn (the person chose to
 * run it again).
 */

interface Stretch {
  userId: string | null;
  teamId: string | null;
  sessionId: string;
  first: number;
  last: number;
  steps: number;
  ring: number[];
  counts: Map<number, number>;
  /** Cumulative cost of the stretch, and where the loop started and last repeated, as cumulative cost marks. */
  cum: number;
  loopStart: number;
  loopEnd: number;
  loopFirstAt: number;
  loopLastAt: number;
  /** Per step hash: cumulative cost and time at its second occurrence. */
  seconds: Map<number, [number, number]>;
  maxRepeat: number;
  repeatedSteps: number;
  ids: string[];
}

/** A session quiet for 30 minutes is over (a person would type a new prompt to continue). */
const SESSION_GAP = 30 * MINUTE;
/** A two-step cycle three times over: A B A B A B. */
const CYCLE_STEPS = 6;

/** Whether the last `n` steps alternate between two different steps. */
function alternates(ring: readonly number[], n: number): boolean {
  const from = ring.length - n;
  if (from < 0 || ring[from] === ring[from + 1]) return false;
  for (let i = from + 2; i < ring.length; i++) if (ring[i] !== ring[i - 2]) return false;
  return true;
}

function create(ctx: DetectContext): Detector {
  const cfg = ctx.config.agentCircle;
  const sessions = new Map<string, Stretch>();
  let lastSweep = 0;

  const close = (s: Stretch, now: number): void => {
    if (sessions.get(s.sessionId) === s) sessions.delete(s.sessionId);
    if (s.maxRepeat < cfg.repeats) return;
    const wasted = s.loopEnd - s.loopStart;
    if (wasted < cfg.minWastedUsd) return;
    ctx.emit(
      makeFinding(
        {
          rule: 'agent-circle',
          subject: { kind: 'session', id: s.sessionId },
          userId: s.userId,
          teamId: s.teamId,
          sessionId: s.sessionId,
          start: s.loopFirstAt,
          end: s.loopLastAt,
          evidence: evidence(
            { agentSteps: s.steps, maxIdenticalSteps: s.maxRepeat, repeatedSteps: s.repeatedSteps },
            { repeatedShare: s.repeatedSteps / s.steps, stretchCostUsd: s.cum },
            s.ids,
          ),
          wastedUsd: wasted,
          wasteMethod: 'Cost of the agent requests from the second occurrence of the repeated step to its last repetition.',
          confidence: Math.min(0.97, 0.7 + 0.05 * (s.maxRepeat - cfg.repeats) + 0.2 * (s.repeatedSteps / s.steps)),
          summary: `The agent repeated the same tool call with the same result ${s.maxRepeat} times in ${s.steps} steps without new input from you; ${usd(wasted)} went to the repetitions.`,
          suggestion:
            'When an agent repeats a step, interrupt it and give it what it is missing (the real error, a file path, a decision), or set a turn limit; agents stuck in a loop rarely get out on their own.',
        },
        now,
      ),
    );
  };

  const start = (e: DetectInput['event'], sessionId: string): Stretch => {
    const s: Stretch = {
      userId: e.userId, teamId: e.teamId, sessionId, first: e.startedAt, last: e.startedAt, steps: 0, ring: [], counts: new Map(),
      cum: 0, loopStart: 0, loopEnd: 0, loopFirstAt: 0, loopLastAt: 0, seconds: new Map(), maxRepeat: 0, repeatedSteps: 0, ids: [],
    };
    sessions.set(sessionId, s);
    return s;
  };

  return {
    observe({ event: e, fp }: DetectInput): void {
      if (e.sessionId === null || fp === null) return;
      let s = sessions.get(e.sessionId);
      if (s !== undefined && (fp.humanTurn || e.startedAt - s.last > SESSION_GAP)) {
        close(s, e.startedAt);
        s = undefined;
      }
      if (s === undefined) s = start(e, e.sessionId);
      s.last = e.startedAt;
      const before = s.cum;
      s.cum += costOf(e);
      const h = fp.toolStep;
      if (h === null || fp.humanTurn) return;
      s.steps++;
      s.ring.push(h);
      const n = (s.counts.get(h) ?? 0) + 1;
      s.counts.set(h, n);
      if (s.ring.length > cfg.windowSteps) {
        const old = s.ring.shift()!;
        const c = s.counts.get(old)! - 1;
        if (c === 0) s.counts.delete(old);
        else s.counts.set(old, c);
      }
      if (n === 2 && !s.seconds.has(h)) s.seconds.set(h, [before, e.startedAt]);
      if (n >= 2) {
        s.repeatedSteps++;
        if (n > s.maxRepeat) s.maxRepeat = n;
        // Two steps taking turns (A B A B A B) is the same loop with a period of two.
        if (s.maxRepeat < cfg.repeats && alternates(s.ring, CYCLE_STEPS)) s.maxRepeat = cfg.repeats;
        if (s.maxRepeat >= cfg.repeats) {
          if (s.loopLastAt === 0) {
            const second = s.seconds.get(h);
            s.loopStart = second?.[0] ?? before;
            s.loopFirstAt = second?.[1] ?? e.startedAt;
          }
          s.loopEnd = s.cum;
          s.loopLastAt = e.endedAt;
          if (s.ids.length < 200) s.ids.push(e.id);
        }
      }
    },
    advance(now: number): void {
      if (now - lastSweep < 5 * MINUTE) return;
      lastSweep = now;
      for (const s of sessions.values()) if (now - s.last > SESSION_GAP) close(s, now);
    },
    finish(now: number): void {
      for (const s of [...sessions.values()]) close(s, now);
    },
  };
}

export const agentCircle: DetectorDefinition = {
  rule: 'agent-circle',
  title: 'Agent circles',
  rationale:
    'The same tool call with the same result 4 times within 12 steps and no person in between: the agent is redoing a step that already failed, re-reading its whole context each time. Steps differ when results differ, so edit-and-test progress is never counted.',
  create,
};
