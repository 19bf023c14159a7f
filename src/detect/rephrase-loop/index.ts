import { similarity } from '../fingerprint/text.js';
import type { DetectContext, Detector, DetectorDefinition, DetectInput } from '../types.js';
import { MINUTE, costOf, evidence, hasExemptTag, makeFinding, median, usd } from '../util.js';

/**
 * Rephrase loops: one person sends near-duplicate prompts, one after another, within minutes.
 *
 * Rationale: rewording the same request again and again means the answers keep missing, and each try re-runs the
 * whole turn (in an agent, every tool step after the prompt). Telling the model what was wrong with its answer, or
 * starting fresh with a summary, converges faster and costs less. Near-duplicates are found with keyed MinHash
 * signatures of the new turn only (never the context, which is naturally repeated), so nothing is read.
 *
 * Not flagged (honest look-alikes): a resend after the previous request FAILED (a retry after an error is the
 * right thing to do); the same prompt in parallel sessions (fan-out's business); prompts at machine-regular
 * intervals (idle loops'); two or three tries (normal iteration); prompts too short to compare ("yes", "go on");
 * different questions about one pasted document (PASTE_WORDS: context bloat when re-sent uncached).
 */

interface Turn {
  id: string;
  at: number;
  /** Last activity of the turn (the prompt's request and the agent steps that followed it). */
  end: number;
  sig: Uint32Array;
  sessionId: string | null;
  failed: boolean;
  cost: number;
  episode: Episode | null;
}

interface Episode {
  turns: Turn[];
  sims: number[];
  lastAt: number;
}

interface UserState {
  recent: Turn[];
  /** The open turn of each session, so the agent steps after a prompt are charged to it (its `end` is the session's last activity). */
  bySession: Map<string, Turn>;
  open: Set<Episode>;
  teamId: string | null;
}

const RECENT = 16;
/**
 * A new turn of this many words or more (25 KB or so, 5k-8k tokens: about what context-bloat calls large) is a
 * pasted document, log or code dump with a question somewhere in it. Its signature is the paste's: the question is
 * a few shingles among thousands, and past the first 64 KB it is not signed at all. The same document asked about
 * six different ways signs as six identical prompts. Such turns are not compared; re-sending the paste is
 * context-bloat's business. The cost: rewordings that each re-paste a document that size are not reported here.
 */
const PASTE_WORDS = 4_000;
/** Reading an answer and rewording takes time: a near-duplicate sooner than this after the last try is a parallel launch. */
const MIN_THINK_MS = 15_000;
/** …and the tries of a person come, on the median, at least this far apart. */
const MIN_MEDIAN_GAP_MS = 40_000;
/** Intervals this regular (coefficient of variation) are a timer: people vary by far more. */
const TIMER_CV = 0.15;

function create(ctx: DetectContext): Detector {
  const cfg = ctx.config.rephraseLoop;
  const maxGap = cfg.maxGapMinutes * MINUTE;
  const exempt = new Set(ctx.config.exemptTags);
  const users = new Map<string, UserState>();
  const withOpen = new Set<string>();

  const close = (userId: string, u: UserState, ep: Episode, now: number): void => {
    u.open.delete(ep);
    // A switch to another session counts only if the earlier session went quiet: otherwise both ran in parallel.
    const kept: Turn[] = [ep.turns[0]!];
    for (let i = 1; i < ep.turns.length; i++) {
      const prev = kept[kept.length - 1]!;
      const t = ep.turns[i]!;
      const sameSession = prev.sessionId === t.sessionId;
      const prevLast = prev.sessionId === null ? prev.end : (u.bySession.get(prev.sessionId)?.end ?? prev.end);
      if (sameSession || prevLast <= t.at + 5_000) kept.push(t);
    }
    if (kept.length < cfg.minPrompts) return;
    const gaps: number[] = [];
    for (let i = 1; i < kept.length; i++) gaps.push(kept[i]!.at - kept[i - 1]!.at);
    const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    const sd = Math.sqrt(gaps.reduce((a, g) => a + (g - mean) ** 2, 0) / gaps.length);
    if (sd / mean < TIMER_CV) return; // a timer, not a person: idle loops report it
    if (median(gaps) < MIN_MEDIAN_GAP_MS) return; // faster than anyone reads and rewords: parallel launches (fan-out)
    const superseded = kept.slice(1, -1);
    const wasted = superseded.reduce((a, t) => a + t.cost, 0);
    if (wasted < cfg.minWastedUsd) return;
    const total = kept.reduce((a, t) => a + t.cost, 0);
    const meanSim = ep.sims.reduce((a, b) => a + b, 0) / ep.sims.length;
    if (meanSim < cfg.minMeanSimilarity) return;
    const sessions = new Set(kept.map((t) => t.sessionId));
    const first = kept[0]!;
    const last = kept[kept.length - 1]!;
    const minutes = Math.max(1, Math.round((last.at - first.at) / MINUTE));
    ctx.emit(
      makeFinding(
        {
          rule: 'rephrase-loop',
          subject: { kind: 'user', id: userId },
          userId,
          teamId: u.teamId,
          sessionId: sessions.size === 1 ? first.sessionId : null,
          start: first.at,
          end: last.end,
          evidence: evidence(
            { prompts: kept.length, sessions: sessions.size },
            { meanSimilarity: meanSim, minutes, turnCostUsd: total },
            kept.map((t) => t.id),
          ),
          wastedUsd: wasted,
          wasteMethod:
            'Cost of the turns (the prompt and the agent steps it started) whose answers were superseded by a near-duplicate prompt, not counting the first and the last try.',
          confidence: 0.55 + 0.08 * (kept.length - cfg.minPrompts) + 0.3 * (meanSim - cfg.similarity),
          summary: `${kept.length} near-identical prompts (mean similarity ${meanSim.toFixed(2)}) in ${minutes} min; ${usd(wasted)} went to answers that were asked again.`,
          suggestion:
            'When an answer misses, say what was wrong with it (paste the error, the expected output or an example) instead of rewording the request; if the conversation went off track, a fresh session with a two-line summary usually gets there faster.',
        },
        now,
      ),
    );
  };

  const closeStale = (now: number, all = false): void => {
    for (const userId of withOpen) {
      const u = users.get(userId)!;
      for (const ep of u.open) if (all || now - ep.lastAt > maxGap) close(userId, u, ep, now);
      if (u.open.size === 0) withOpen.delete(userId);
    }
  };

  return {
    observe({ event: e, fp }: DetectInput): void {
      if (e.userId === null) return;
      let u = users.get(e.userId);
      if (u === undefined) {
        u = { recent: [], bySession: new Map(), open: new Set(), teamId: e.teamId };
        users.set(e.userId, u);
      }
      if (fp === null || !fp.humanTurn) {
        if (e.sessionId !== null) {
          const turn = u.bySession.get(e.sessionId);
          if (turn !== undefined && e.startedAt - turn.end < maxGap) {
            turn.cost += costOf(e);
            if (e.endedAt > turn.end) turn.end = e.endedAt;
          }
        }
        return;
      }
      if (fp.prompt === null || (fp.features !== null && fp.features.words >= PASTE_WORDS) || hasExemptTag(e, exempt)) {
        // A prompt too short (or a paste too long) to compare still starts a new turn: later steps are not charged
        // to the previous one.
        const turn = e.sessionId === null ? undefined : u.bySession.get(e.sessionId);
        if (turn !== undefined) turn.end = Math.max(turn.end, e.endedAt);
        if (e.sessionId !== null) u.bySession.delete(e.sessionId);
        return;
      }
      const turn: Turn = {
        id: e.id,
        at: e.startedAt,
        end: e.endedAt,
        sig: fp.prompt,
        sessionId: e.sessionId,
        failed: e.errorClass !== null && !e.clientAborted,
        cost: costOf(e),
        episode: null,
      };
      let best: Turn | null = null;
      let bestSim = cfg.similarity;
      for (const p of u.recent) {
        if (p.failed || e.startedAt - p.end < MIN_THINK_MS || e.startedAt - p.end > maxGap) continue;
        const s = similarity(p.sig, fp.prompt);
        if (s >= bestSim) {
          best = p;
          bestSim = s;
        }
      }
      if (best !== null) {
        // Join the episode of whichever earlier try this one resembles (a rewording may fit an older try best).
        let ep = best.episode;
        if (ep === null || !u.open.has(ep)) {
          ep = { turns: [best], sims: [], lastAt: best.at };
          best.episode = ep;
          u.open.add(ep);
          withOpen.add(e.userId);
        }
        ep.turns.push(turn);
        ep.sims.push(bestSim);
        ep.lastAt = turn.at;
        turn.episode = ep;
      }
      u.recent.push(turn);
      if (u.recent.length > RECENT) u.recent.shift();
      if (e.sessionId !== null) u.bySession.set(e.sessionId, turn);
      if (u.bySession.size > 256) for (const [s, t] of u.bySession) if (e.startedAt - t.end > 2 * maxGap) u.bySession.delete(s);
    },
    advance: (now) => closeStale(now),
    finish: (now) => closeStale(now, true),
  };
}

export const rephraseLoop: DetectorDefinition = {
  rule: 'rephrase-loop',
  title: 'Rephrase loops',
  rationale:
    'Near-duplicate prompts from one person within minutes mean the answers keep missing; every retry re-runs the whole turn. Saying what was wrong, or restarting with a summary, converges faster. Retries after errors, parallel sessions, timers, two or three tries and questions about a pasted document (4,000 words or more: the paste, not the question, makes the signature) are not flagged.',
  create,
};
