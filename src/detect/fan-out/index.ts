import type { DetectContext, Detector, DetectorDefinition, DetectInput } from '../types.js';
import { MINUTE, costOf, evidence, makeFinding, median, usd } from '../util.js';

/**
 * Fan-out: one person starting many sessions at once that each produce little, e.g. the same task launched in ten
 * agents "to see which one gets it", then all but one abandoned.
 *
 * Rationale: two to four parallel agents on different tasks is a productive way to work and is never flagged.
 * Six or more started within minutes whose median output is small were mostly thrown away; their cost is the waste,
 * less the session that produced the most.
 *
 * Not flagged: parallel sessions that each produce real output; subagents (they share their parent's session);
 * sessions started over an afternoon.
 */

interface SessionStats {
  id: string;
  first: number;
  last: number;
  requests: number;
  output: number;
  cost: number;
  firstId: string;
}

interface Burst {
  sessions: Set<string>;
  first: number;
  lastStart: number;
}

interface UserState {
  teamId: string | null;
  sessions: Map<string, SessionStats>;
  starts: SessionStats[];
  /** Bursts waiting to settle; the last one may still be growing. */
  bursts: Burst[];
}

/** The largest number of the sessions whose [first, last] intervals overlap at one instant. */
function maxConcurrent(stats: readonly SessionStats[]): number {
  const points: Array<[number, number]> = [];
  for (const s of stats) points.push([s.first, 1], [s.last, -1]);
  points.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  let cur = 0;
  let best = 0;
  for (const [, d] of points) best = Math.max(best, (cur += d));
  return best;
}

/** A burst is judged an hour after its last session started: enough for those sessions to have done their work. */
const SETTLE = 60 * MINUTE;
/** Session statistics are kept this long after a session's last request. */
const KEEP = 3 * 60 * MINUTE;

function create(ctx: DetectContext): Detector {
  const cfg = ctx.config.fanOut;
  const window = cfg.windowMinutes * MINUTE;
  const users = new Map<string, UserState>();
  let lastSweep = 0;

  const judge = (userId: string, u: UserState, b: Burst, now: number): void => {
    const stats = [...b.sessions].map((id) => u.sessions.get(id)).filter((s): s is SessionStats => s !== undefined);
    if (stats.length < cfg.minSessions) return;
    // "At once": most of them running at the same time. Sessions opened one after another, each abandoned before the
    // next, are retries (rephrase loops), not a fan-out.
    const concurrent = maxConcurrent(stats);
    if (concurrent < Math.ceil((2 * cfg.minSessions) / 3)) return;
    const medianOutput = median(stats.map((s) => s.output));
    if (medianOutput > cfg.maxMedianOutput) return;
    const best = stats.reduce((a, s) => (s.output > a.output ? s : a));
    const total = stats.reduce((a, s) => a + s.cost, 0);
    const wasted = total - best.cost;
    if (wasted < cfg.minWastedUsd) return;
    const minutes = Math.max(1, Math.round((b.lastStart - b.first) / MINUTE));
    ctx.emit(
      makeFinding(
        {
          rule: 'fan-out',
          subject: { kind: 'user', id: userId },
          userId,
          teamId: u.teamId,
          sessionId: null,
          start: b.first,
          end: Math.max(...stats.map((s) => s.last)),
          evidence: evidence(
            { sessions: stats.length, concurrent, requests: stats.reduce((a, s) => a + s.requests, 0) },
            { medianOutputTokens: medianOutput, startedWithinMinutes: minutes, costUsd: total },
            stats.map((s) => s.firstId),
          ),
          wastedUsd: wasted,
          wasteMethod: 'Cost of all sessions of the burst except the one that produced the most output.',
          confidence: 0.6 + Math.min(0.3, 0.05 * (stats.length - cfg.minSessions)) + (medianOutput < cfg.maxMedianOutput / 4 ? 0.05 : 0),
          summary: `${stats.length} sessions started within ${minutes} min, with a median output of ${Math.round(medianOutput)} tokens each; ${usd(wasted)} went to sessions other than the most productive one.`,
          suggestion:
            'Running a few agents on different tasks works well; launching many on the same task mostly buys abandoned sessions. Try one or two with a sharper prompt (acceptance criteria, the files involved), and stop the others as soon as one is on track.',
        },
        now,
      ),
    );
  };

  const settle = (userId: string, u: UserState, now: number): void => {
    while (u.bursts.length > 0 && now - u.bursts[0]!.lastStart > SETTLE) judge(userId, u, u.bursts.shift()!, now);
  };

  return {
    observe({ event: e }: DetectInput): void {
      if (e.userId === null || e.sessionId === null) return;
      let u = users.get(e.userId);
      if (u === undefined) {
        u = { teamId: e.teamId, sessions: new Map(), starts: [], bursts: [] };
        users.set(e.userId, u);
      }
      const t = e.startedAt;
      let s = u.sessions.get(e.sessionId);
      if (s === undefined) {
        s = { id: e.sessionId, first: t, last: t, requests: 0, output: 0, cost: 0, firstId: e.id };
        u.sessions.set(e.sessionId, s);
        settle(e.userId, u, t);
        while (u.starts.length > 0 && t - u.starts[0]!.first > window) u.starts.shift();
        u.starts.push(s);
        const current = u.bursts[u.bursts.length - 1];
        if (current !== undefined && t - current.first <= window) {
          current.sessions.add(s.id);
          current.lastStart = t;
        } else if (u.starts.length >= cfg.minSessions) {
          u.bursts.push({ sessions: new Set(u.starts.map((x) => x.id)), first: u.starts[0]!.first, lastStart: t });
        }
      }
      s.last = e.endedAt;
      s.requests++;
      s.output += e.outputTokens;
      s.cost += costOf(e);
    },
    advance(now: number): void {
      if (now - lastSweep < 5 * MINUTE) return;
      lastSweep = now;
      for (const [userId, u] of users) {
        settle(userId, u, now);
        if (u.bursts.length === 0) for (const [id, s] of u.sessions) if (now - s.last > KEEP) u.sessions.delete(id);
      }
    },
    finish(now: number): void {
      for (const [userId, u] of users) for (const b of u.bursts.splice(0)) judge(userId, u, b, now);
    },
  };
}

export const fanOut: DetectorDefinition = {
  rule: 'fan-out',
  title: 'Fan-out',
  rationale:
    'Six or more sessions started by one person within 15 minutes whose median output is small were mostly thrown away. Two to four parallel agents on different tasks, and parallel sessions that each produce real output, are not flagged.',
  create,
};
