import { andThen, type MaybePromise } from './state.js';

/**
 * Requests and tokens per minute, as sliding windows: the count of the previous whole minute, weighted by how
 * much of it still lies within the last 60 s, plus the current minute's (Cloudflare's approximation: no burst of
 * twice the limit across a minute boundary, two numbers per counter instead of a log of timestamps).
 * Tokens are reserved up front (input + declared max output) and settled to the real count.
 */
export const MINUTE = 60_000;
/** Counters idle this long (and with nothing in flight) are forgotten: they would read zero anyway. */
const IDLE_MS = 2 * MINUTE;

export interface RateRule {
  id: string;
  rpm?: number | undefined;
  tpm?: number | undefined;
}

/** One rule applied to one concrete scope value (`user:alice` under rule `per-user`). */
export interface RateLine {
  counter: string;
  rule: RateRule;
  scope: string;
}

export interface RateRefusal {
  line: RateLine;
  what: 'rpm' | 'tpm';
  used: number;
  limit: number;
  retryAfterS: number;
  /** The request alone needs more tokens than the whole per-minute limit. */
  tooLarge: boolean;
}

interface Cell {
  minute: number;
  prevReq: number;
  currReq: number;
  prevTok: number;
  currTok: number;
  inflightTok: number;
  lastAt: number;
}

function roll(c: Cell, now: number): void {
  const minute = Math.floor(now / MINUTE);
  if (minute === c.minute) return;
  if (minute === c.minute + 1) {
    c.prevReq = c.currReq;
    c.prevTok = c.currTok;
  } else {
    c.prevReq = 0;
    c.prevTok = 0;
  }
  c.currReq = 0;
  c.currTok = 0;
  c.minute = minute;
}

function weightOfPrevious(c: Cell, now: number): number {
  return 1 - (now - c.minute * MINUTE) / MINUTE;
}

/**
 * Seconds until `need` more fits under `limit` with nothing else arriving: the previous minute's weight falls as
 * time passes, and at the next minute the current one becomes the previous. (The next minute boundary, which it used
 * to say, is when the previous minute still counts almost whole: a client that waited that long was refused again.)
 */
export function retryAfterSeconds(prev: number, curr: number, need: number, limit: number, now: number): number {
  const into = now - Math.floor(now / MINUTE) * MINUTE;
  let wait: number;
  if (curr + need <= limit) {
    // Within this minute, once prev × (1 − t/60 s) has fallen far enough.
    wait = prev > 0 ? MINUTE * (1 - (limit - need - curr) / prev) - into : 0;
  } else {
    // In the next minute, once this minute's count, as the previous one, has fallen far enough.
    wait = MINUTE - into + (curr > 0 ? Math.max(0, MINUTE * (1 - (limit - need) / curr)) : 0);
  }
  return Math.max(1, Math.ceil(wait / 1000));
}

/**
 * The refusal to report of all the checks that refused: the first, with the wait until the last of them clears (a
 * client that waited only for the first was refused again by the next).
 */
export function firstRefusal(refusals: readonly RateRefusal[]): RateRefusal {
  return { ...refusals[0]!, retryAfterS: Math.max(...refusals.map((r) => r.retryAfterS)) };
}

/** Rate counters: in memory for one process (RateLimiter), in Redis for replicas (redis/rate-state.ts). */
export interface RateState {
  /** Checks every line, then counts the request on all of them; nothing is counted when one refuses. */
  admit(lines: readonly RateLine[], tokens: number, now: number): MaybePromise<RateRefusal | null>;
  /** Replaces a request's reserved tokens by the tokens it really used (`admittedAt`: when `admit` counted it). */
  settle(lines: readonly RateLine[], reservedTokens: number, actualTokens: number, now: number, admittedAt: number): MaybePromise<void>;
  /** Forgets idle counters. */
  prune(now: number): void;
}

/**
 * Rate limits of one request: checked on the byte bound of its input first (free), and on the exact token count
 * only when the bound would be refused for tokens per minute.
 */
export function admitRates(
  rates: RateState,
  lines: readonly RateLine[],
  quote: { rateTokens(): number; countExactly(): boolean },
  now: number,
): MaybePromise<{ refusal: RateRefusal | null; tokens: number }> {
  const tokens = quote.rateTokens();
  return andThen(rates.admit(lines, tokens, now), (refusal) => {
    if (refusal === null || refusal.what !== 'tpm' || !quote.countExactly()) return { refusal, tokens };
    const exact = quote.rateTokens();
    return andThen(rates.admit(lines, exact, now), (again) => ({ refusal: again, tokens: exact }));
  });
}

/** In-memory counters for one process. */
export class RateLimiter implements RateState {
  private readonly cells = new Map<string, Cell>();

  private cell(key: string, now: number): Cell {
    let c = this.cells.get(key);
    if (c === undefined) {
      c = { minute: Math.floor(now / MINUTE), prevReq: 0, currReq: 0, prevTok: 0, currTok: 0, inflightTok: 0, lastAt: now };
      this.cells.set(key, c);
    } else roll(c, now);
    c.lastAt = now;
    return c;
  }

  /** Checks every line, then counts the request on all of them; nothing is counted when one refuses. */
  admit(lines: readonly RateLine[], tokens: number, now: number): RateRefusal | null {
    const refusals: RateRefusal[] = [];
    for (const line of lines) {
      const c = this.cell(line.counter, now);
      const w = weightOfPrevious(c, now);
      const { rpm, tpm } = line.rule;
      if (rpm !== undefined) {
        const used = c.prevReq * w + c.currReq;
        if (used + 1 > rpm) refusals.push({ line, what: 'rpm', used: Math.ceil(used), limit: rpm, retryAfterS: retryAfterSeconds(c.prevReq, c.currReq, 1, rpm, now), tooLarge: false });
      }
      if (tpm !== undefined) {
        const used = c.prevTok * w + c.currTok + c.inflightTok;
        if (tokens > tpm || used + tokens > tpm) {
          const retryAfterS = retryAfterSeconds(c.prevTok, c.currTok + c.inflightTok, tokens, tpm, now);
          refusals.push({ line, what: 'tpm', used: Math.ceil(used), limit: tpm, retryAfterS, tooLarge: tokens > tpm });
        }
      }
    }
    if (refusals.length > 0) return firstRefusal(refusals);
    for (const line of lines) {
      const c = this.cells.get(line.counter)!;
      c.currReq += 1;
      if (line.rule.tpm !== undefined) c.inflightTok += tokens;
    }
    return null;
  }

  /** Replaces a request's reserved tokens by the tokens it really used. */
  settle(lines: readonly RateLine[], reservedTokens: number, actualTokens: number, now: number): void {
    for (const line of lines) {
      if (line.rule.tpm === undefined) continue;
      const c = this.cell(line.counter, now);
      c.inflightTok = Math.max(0, c.inflightTok - reservedTokens);
      c.currTok += actualTokens;
    }
  }

  /** Current usage of a counter (for the admin API and tests). */
  usage(counter: string, now: number): { requests: number; tokens: number } {
    const c = this.cells.get(counter);
    if (c === undefined) return { requests: 0, tokens: 0 };
    roll(c, now);
    const w = weightOfPrevious(c, now);
    return { requests: c.prevReq * w + c.currReq, tokens: c.prevTok * w + c.currTok + c.inflightTok };
  }

  prune(now: number): void {
    for (const [key, c] of this.cells) if (c.inflightTok === 0 && now - c.lastAt > IDLE_MS) this.cells.delete(key);
  }
}
