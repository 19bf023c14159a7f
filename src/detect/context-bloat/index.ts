import type { DetectContext, Detector, DetectorDefinition, DetectInput } from '../types.js';
import { ACTIVITY_GAP, IdSample, MINUTE, costOf, eventUsage, evidence, makeFinding, modelOf, newActivityDay, priceAs, usd } from '../util.js';

/**
 * Context bloat: the same large prefix (a document, a code dump, a long conversation) sent again and again without
 * being read from the provider's prompt cache.
 *
 * Rationale: a prompt cache bills a repeated prefix at about a tenth of the input price. Re-sending a 50k-token
 * document uncached ten times a day pays for it ten times. The prefix is recognised by keyed hashes of its 4 KB
 * blocks, chained so that equal hashes mean an equal prefix: exactly the part a cache can serve. The event's own
 * cache-read count says whether it was served from cache.
 *
 * Not flagged: the same context re-sent WITH cache reads (every coding agent does this, correctly); a large
 * document sent once or twice; repeats more than an hour apart (past any cache lifetime); small prefixes.
 */

/** A 4 KB block is about 1,000 tokens (4 characters a token for English and code). */
const TOKENS_PER_BLOCK = 1_024;
/** Every 4th block hash is remembered (and the last): the repeated length is then known to within 4 blocks (4k tokens). */
const SAMPLE = 4;

/** One activity day of uncached re-sends (see ACTIVITY_GAP). */
interface DayBucket {
  requests: number;
  repeatedTokens: number;
  uncachedTokens: number;
  inputTokens: number;
  outputTokens: number;
  cost: number;
  wasted: number;
  ids: IdSample;
  first: number;
  last: number;
}

interface UserState {
  teamId: string | null;
  /** Two generations of sampled block hashes → last time seen; rotated every window, so memory stays bounded. */
  cur: Map<number, number>;
  old: Map<number, number>;
  rotatedAt: number;
  /** The person's previous large request: most requests extend it (the next agent step), which needs no lookups. */
  prev: readonly number[] | null;
  prevAt: number;
  /** When the remembered samples of `prev` were last refreshed. */
  refreshedAt: number;
  bucket: DayBucket | null;
}

function create(ctx: DetectContext): Detector {
  const cfg = ctx.config.contextBloat;
  const window = cfg.windowMinutes * MINUTE;
  const minBlocks = Math.ceil(cfg.minRepeatedTokens / TOKENS_PER_BLOCK);
  const users = new Map<string, UserState>();
  const open = new Set<string>();

  // Keys folded to 31 bits so V8 keeps them as small integers (a 48-bit double key hashes several times slower);
  // a false match needs a fold collision within one person's last hour of blocks.
  const fold = (h: number): number => h % 0x7fffffff;
  const seenAt = (u: UserState, h: number): number | undefined => u.cur.get(fold(h)) ?? u.old.get(fold(h));

  const evaluate = (userId: string, u: UserState, now: number): void => {
    const b = u.bucket;
    u.bucket = null;
    open.delete(userId);
    if (b === null || b.requests < cfg.minRequests || b.wasted < cfg.minWastedUsd) return;
    ctx.emit(
      makeFinding(
        {
          rule: 'context-bloat',
          subject: { kind: 'user', id: userId },
          userId,
          teamId: u.teamId,
          sessionId: null,
          start: b.first,
          end: b.last,
          evidence: evidence(
            { requests: b.requests, repeatedTokens: b.repeatedTokens, uncachedInputTokens: b.uncachedTokens },
            { outputPerInput: b.outputTokens / Math.max(1, b.inputTokens), costUsd: b.cost },
            b.ids.ids(),
          ),
          wastedUsd: b.wasted,
          wasteMethod:
            'For each request, its price minus the price of the same usage with the repeated prefix billed as cache reads (catalogue prices of the model served).',
          confidence: 0.6 + Math.min(0.35, 0.03 * (b.requests - cfg.minRequests)),
          summary: `${b.requests} requests re-sent the same ${Math.round(b.repeatedTokens / b.requests / 1000)}k-token context without cache reads; ${usd(b.wasted)} of ${usd(b.cost)} would have been saved by the prompt cache.`,
          suggestion:
            'Put the large, unchanging part (the document, the code, the instructions) first and mark it for caching (Anthropic: cache_control on that block; OpenAI caches a stable prefix automatically), or ask several questions in one conversation instead of pasting the document each time.',
        },
        now,
      ),
    );
  };

  return {
    observe({ event: e, fp }: DetectInput): void {
      if (e.userId === null || fp === null || fp.blocks.length < minBlocks) return;
      let u = users.get(e.userId);
      if (u === undefined) {
        u = { teamId: e.teamId, cur: new Map(), old: new Map(), rotatedAt: e.startedAt, prev: null, prevAt: 0, refreshedAt: 0, bucket: null };
        users.set(e.userId, u);
      }
      const t = e.startedAt;
      if (t - u.rotatedAt > window) {
        u.old = u.cur;
        u.cur = new Map();
        u.rotatedAt = t;
      }
      const blocks = fp.blocks;
      // Fast path: the same prefix as the person's previous large request (hashes are chained: one comparison at
      // the shorter length proves the whole shared prefix), which was itself within the window.
      const prev = u.prev;
      const shared = prev === null || t - u.prevAt > window ? 0 : Math.min(prev.length, blocks.length);
      const extends_ = shared > 0 && prev![shared - 1] === blocks[shared - 1];
      // Longest remembered prefix: binary search over the sampled positions (prefix hashes are chained, so a match
      // at position i implies a match at every earlier one).
      let lo = extends_ ? Math.floor(shared / SAMPLE) : 0;
      let hi = Math.floor((blocks.length - SAMPLE) / SAMPLE);
      let matched = extends_ ? shared : 0;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        const i = mid * SAMPLE + SAMPLE - 1;
        const at = seenAt(u, blocks[i]!);
        if (at !== undefined && t - at <= window) {
          matched = i + 1;
          lo = mid + 1;
        } else hi = mid - 1;
      }
      const lastAt = seenAt(u, blocks[blocks.length - 1]!);
      if (lastAt !== undefined && t - lastAt <= window) matched = blocks.length;
      // Remember the samples: all of them now and then, otherwise only those past the shared prefix.
      const refresh = !extends_ || t - u.refreshedAt > window / 4;
      for (let i = refresh ? SAMPLE - 1 : Math.floor(shared / SAMPLE) * SAMPLE + SAMPLE - 1; i < blocks.length; i += SAMPLE) u.cur.set(fold(blocks[i]!), t);
      u.cur.set(fold(blocks[blocks.length - 1]!), t);
      if (refresh) u.refreshedAt = t;
      u.prev = blocks;
      u.prevAt = t;

      const repeated = Math.min(matched * TOKENS_PER_BLOCK, e.inputTokens);
      if (matched < minBlocks || e.cacheReadTokens >= cfg.maxCacheShare * repeated) return;
      const usage = eventUsage(e);
      const moved = Math.min(repeated, usage.input.noCache);
      if (moved <= 0) return;
      const actual = priceAs(ctx.pricer, e, modelOf(e), usage);
      const cached = priceAs(ctx.pricer, e, modelOf(e), {
        ...usage,
        input: { ...usage.input, noCache: usage.input.noCache - moved, cacheRead: usage.input.cacheRead + moved },
      });
      const wasted = actual !== null && cached !== null ? Math.max(0, actual - cached) : costOf(e) * (moved / Math.max(1, e.inputTokens)) * 0.9;

      if (u.bucket !== null && newActivityDay(u.bucket.first, u.bucket.last, t)) evaluate(e.userId, u, t);
      if (u.bucket === null) {
        u.bucket = { requests: 0, repeatedTokens: 0, uncachedTokens: 0, inputTokens: 0, outputTokens: 0, cost: 0, wasted: 0, ids: new IdSample(), first: t, last: t };
        open.add(e.userId);
      }
      const b = u.bucket;
      b.requests++;
      b.repeatedTokens += repeated;
      b.uncachedTokens += usage.input.noCache;
      b.inputTokens += e.inputTokens;
      b.outputTokens += e.outputTokens;
      b.cost += costOf(e);
      b.wasted += wasted;
      b.ids.add(e.id);
      b.last = e.endedAt;
    },
    advance(now: number): void {
      for (const userId of open) {
        const u = users.get(userId)!;
        if (u.bucket !== null && now - u.bucket.last > ACTIVITY_GAP) evaluate(userId, u, now);
      }
    },
    finish(now: number): void {
      for (const userId of [...open]) evaluate(userId, users.get(userId)!, now);
    },
  };
}

export const contextBloat: DetectorDefinition = {
  rule: 'context-bloat',
  title: 'Context bloat',
  rationale:
    'The same large prefix re-sent within an hour without cache reads pays full input price every time; a prompt cache bills it at about a tenth. Prefixes are matched by keyed hashes of 4 KB blocks; cached re-sends (what coding agents do) and one-off large documents are not flagged.',
  create,
};
