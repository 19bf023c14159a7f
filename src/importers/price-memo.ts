import type { Pricer } from '../usage/pricing.js';
import type { NormalisedUsage } from '../usage/types.js';

/**
 * The catalogue pricer costs ~15 µs a call, which for a million imported events is most of an import. Prices are
 * linear in each token type below the first tier (Anthropic's >200k, Gemini's, Qwen's…) and change only on whole
 * days in the catalogue, so this learns per (provider, model, UTC day) the USD per token of each type by asking the
 * pricer about a few probe requests, finds where linearity ends, and then prices with six multiplications.
 * Requests above that point, and days whose price varies within the day, go to the pricer itself.
 */
export interface PriceMemo {
  /** USD, or null when the model has no price. Same result as `pricer.price(usage, model, provider, new Date(at))`. */
  price(usage: NormalisedUsage, model: string, provider: string, at: number): number | null;
  /**
   * USD for usage summed over many requests (a provider's daily usage bucket): every token at the per-request
   * rate, never repriced because the SUM crosses a long-context tier. `longContext` (Anthropic's
   * `context_window: "200k-1M"` rows) uses the rates of the first tier above the base instead.
   */
  priceAggregate(usage: NormalisedUsage, model: string, provider: string, at: number, longContext?: boolean): number | null;
}

interface Rates {
  noCache: number;
  cacheRead: number;
  cacheWrite5m: number;
  cacheWrite1h: number;
  text: number;
  reasoning: number;
  /** Total input up to which the rates hold. */
  linearUpTo: number;
  /** Rates just above linearUpTo (same as these when there is no tier). */
  long?: Omit<Rates, 'linearUpTo' | 'long'>;
}

type Bucket = Rates | 'unpriced' | 'direct';

const DAY_MS = 86_400_000;
const PROBE = 1000;
const BIG = 10_000_000;
const MAX_BUCKETS = 100_000;

function usageOf(parts: Partial<Record<'noCache' | 'cacheRead' | 'cacheWrite5m' | 'cacheWrite1h' | 'text' | 'reasoning', number>>): NormalisedUsage {
  const noCache = parts.noCache ?? 0;
  const cacheRead = parts.cacheRead ?? 0;
  const cacheWrite5m = parts.cacheWrite5m ?? 0;
  const cacheWrite1h = parts.cacheWrite1h ?? 0;
  const text = parts.text ?? 0;
  const reasoning = parts.reasoning ?? 0;
  return {
    input: { total: noCache + cacheRead + cacheWrite5m + cacheWrite1h, noCache, cacheRead, cacheWrite5m, cacheWrite1h },
    output: { total: text + reasoning, text, reasoning },
    raw: null,
  };
}

const close = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b), 1e-12);

export function createPriceMemo(pricer: Pricer): PriceMemo {
  const buckets = new Map<string, Bucket>();

  const learn = (model: string, provider: string, day: number): Bucket => {
    const noon = new Date(day + DAY_MS / 2);
    const cost = (u: NormalisedUsage, at = noon): number | null => pricer.price(u, model, provider, at).costUsd;
    const unit = cost(usageOf({ noCache: PROBE }));
    if (unit === null) return 'unpriced';
    // The catalogue can price by time of day; then this day is not one price.
    for (const h of [0, 6, 18, 23.99]) {
      const other = cost(usageOf({ noCache: PROBE }), new Date(day + h * 3_600_000));
      if (other === null || !close(other, unit)) return 'direct';
    }
    const rate = (u: NormalisedUsage): number => (cost(u) ?? 0) / PROBE;
    const noCache = unit / PROBE;
    let linearUpTo = Number.POSITIVE_INFINITY;
    const linearAt = (n: number): boolean => close(cost(usageOf({ noCache: n })) ?? 0, n * noCache);
    if (!linearAt(BIG)) {
      // Find the last linear input size; tiers start at "more than N tokens".
      let lo = PROBE;
      let hi = BIG;
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2);
        if (linearAt(mid)) lo = mid;
        else hi = mid;
      }
      linearUpTo = lo;
    }
    const rates: Rates = {
      noCache,
      cacheRead: rate(usageOf({ cacheRead: PROBE })),
      cacheWrite5m: rate(usageOf({ cacheWrite5m: PROBE })),
      cacheWrite1h: rate(usageOf({ cacheWrite1h: PROBE })),
      text: rate(usageOf({ text: PROBE })),
      reasoning: rate(usageOf({ reasoning: PROBE })),
      linearUpTo,
    };
    if (Number.isFinite(linearUpTo)) {
      // Above the tier: the increase one more PROBE tokens of each type adds to a request already over it.
      const pad = linearUpTo + 1;
      const padCost = cost(usageOf({ noCache: pad })) ?? 0;
      const over = (parts: Parameters<typeof usageOf>[0]): number => ((cost(usageOf({ noCache: pad, ...parts })) ?? 0) - padCost) / PROBE;
      rates.long = {
        noCache: padCost / pad,
        cacheRead: over({ cacheRead: PROBE }),
        cacheWrite5m: over({ cacheWrite5m: PROBE }),
        cacheWrite1h: over({ cacheWrite1h: PROBE }),
        text: over({ text: PROBE }),
        reasoning: over({ reasoning: PROBE }),
      };
    }
    return rates;
  };

  const bucketFor = (model: string, provider: string, at: number): Bucket => {
    const day = Math.floor(at / DAY_MS) * DAY_MS;
    const key = `${provider}\u0000${model}\u0000${day}`;
    let bucket = buckets.get(key);
    if (bucket === undefined) {
      if (buckets.size >= MAX_BUCKETS) buckets.clear();
      bucket = learn(model, provider, day);
      buckets.set(key, bucket);
    }
    return bucket;
  };

  return {
    price(usage, model, provider, at) {
      const bucket = bucketFor(model, provider, at);
      if (bucket === 'unpriced') return null;
      const t = clamp(usage);
      if (bucket === 'direct' || t.input > bucket.linearUpTo) return pricer.price(usage, model, provider, new Date(at)).costUsd;
      return linear(t, bucket);
    },
    priceAggregate(usage, model, provider, at, longContext = false) {
      const bucket = bucketFor(model, provider, at);
      if (bucket === 'unpriced') return null;
      if (bucket === 'direct') {
        // Time-of-day prices: price the sum at its own time, per-request tiers cannot apply to a sum anyway.
        return pricer.price(usage, model, provider, new Date(at)).costUsd;
      }
      return linear(clamp(usage), longContext && bucket.long !== undefined ? bucket.long : bucket);
    },
  };
}

interface Clamped {
  input: number;
  noCache: number;
  cacheRead: number;
  cacheWrite5m: number;
  cacheWrite1h: number;
  text: number;
  reasoning: number;
}

/** The same clamping the pricer applies to inconsistent counts. */
function clamp(usage: NormalisedUsage): Clamped {
  const cacheRead = pos(usage.input.cacheRead);
  const cacheWrite5m = pos(usage.input.cacheWrite5m);
  const cacheWrite1h = pos(usage.input.cacheWrite1h);
  const parts = cacheRead + cacheWrite5m + cacheWrite1h;
  const input = Math.max(pos(usage.input.total), pos(usage.input.noCache) + parts);
  const reasoning = pos(usage.output.reasoning);
  const output = Math.max(pos(usage.output.total), reasoning);
  return { input, noCache: input - parts, cacheRead, cacheWrite5m, cacheWrite1h, text: output - reasoning, reasoning };
}

function linear(t: Clamped, r: Omit<Rates, 'linearUpTo' | 'long'>): number {
  return (
    t.noCache * r.noCache +
    t.cacheRead * r.cacheRead +
    t.cacheWrite5m * r.cacheWrite5m +
    t.cacheWrite1h * r.cacheWrite1h +
    t.text * r.text +
    t.reasoning * r.reasoning
  );
}

function pos(n: number): number {
  return Number.isFinite(n) && n > 0 ? n : 0;
}
