import { priceMultiplier } from '../usage/billing-mode.js';
import { clampedTokens } from '../usage/catalogue-pricer.js';
import type { Pricer } from '../usage/pricing.js';
import { TOOL_CALL_KINDS, type NormalisedUsage } from '../usage/types.js';

/**
 * The catalogue pricer costs ~15 µs a call, which for a million imported events is most of an import. Prices are
 * linear in each token type below the first tier (Anthropic's >200k, Gemini's, Qwen's…) and change only on whole
 * days in the catalogue, so this learns per (provider, model, UTC day) the USD per token of each type by asking the
 * pricer about a few probe requests, finds where linearity ends, and then prices with six multiplications.
 * Requests above that point, and days whose price varies within the day, go to the pricer itself.
 *
 * The billing mode (fast mode, flex, batch) multiplies the learnt rates by the one rule the pricer applies too
 * (usage/billing-mode.ts). Usage the six rates do not describe, audio tokens and built-in tool calls (rare), is
 * priced by the pricer itself.
 *
 * What it learns can be kept between runs (the price book, see price-book.ts): each learnt price with the days it
 * holds on, up to the catalogue's next dated price for the model (`Pricer.nextChange`). A re-import that only meets
 * models and days the book covers never loads the catalogue (loading it takes longer than pricing a day of logs).
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

/** A memo that can start without its pricer, from a price book, and say what it learnt for the next run. */
export interface LearningPriceMemo extends PriceMemo {
  /** As `price`, but undefined when only the pricer can tell and it is not attached yet (see `attach`). */
  priceIfKnown(usage: NormalisedUsage, model: string, provider: string, at: number): number | null | undefined;
  /** Gives the pricer to a memo created without one. */
  attach(pricer: Pricer): void;
  readonly hasPricer: boolean;
  /** Adds entries learnt elsewhere (import worker threads) to the book. */
  addToBook(entries: readonly PriceBookEntry[]): void;
  /** The book: the entries it started from and those learnt since. */
  book(): PriceBookEntry[];
  /** Entries learnt (or widened) since it was created: nothing to save when 0. */
  readonly learnt: number;
}

/** A learnt price and the days it holds on. */
export interface PriceBookEntry {
  provider: string;
  model: string;
  /** First day (UTC midnight, epoch ms) it is known to hold on. */
  from: number;
  /** When the catalogue may change it (epoch ms, exclusive); null: no change ahead. */
  until: number | null;
  /** Per-token rates, or 'unpriced' (the model has no price). */
  price: Rates | 'unpriced';
}

export interface Rates {
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

/** Book entries kept at most: a few per model and price change; far more means something is wrong, stop adding. */
const MAX_BOOK_ENTRIES = 10_000;

export function createPriceMemo(initialPricer: Pricer | null, initialBook: readonly PriceBookEntry[] = []): LearningPriceMemo {
  let pricer = initialPricer;
  const buckets = new Map<string, Bucket>();
  /** Book entries by provider and model. */
  const book = new Map<string, PriceBookEntry[]>();
  let bookSize = 0;
  let learnt = 0;

  const bookKey = (provider: string, model: string): string => `${provider}\u0000${model}`;
  /** Adds an entry, widening one with the same price and end instead when there is one; true when the book changed. */
  const addEntry = (e: PriceBookEntry): boolean => {
    const key = bookKey(e.provider, e.model);
    const list = book.get(key) ?? [];
    const same = list.find((x) => x.until === e.until && samePrice(x.price, e.price));
    if (same !== undefined) {
      if (e.from >= same.from) return false;
      same.from = e.from;
      return true;
    }
    if (bookSize >= MAX_BOOK_ENTRIES) return false;
    list.push({ ...e });
    book.set(key, list);
    bookSize += 1;
    return true;
  };
  for (const e of initialBook) addEntry(e);
  const fromBook = (provider: string, model: string, day: number): Bucket | undefined =>
    book.get(bookKey(provider, model))?.find((e) => e.from <= day && (e.until === null || day + DAY_MS <= e.until))?.price;

  const learn = (pricer: Pricer, model: string, provider: string, day: number): Bucket => {
    const bucket = learnDay(pricer, model, provider, day);
    if (bucket !== 'direct') {
      const until = pricer.nextChange(model, provider, new Date(day));
      // A price that holds the whole day (always so when it is not 'direct', checked anyway) goes in the book.
      if (until >= day + DAY_MS && addEntry({ provider, model, from: day, until: Number.isFinite(until) ? until : null, price: bucket })) learnt += 1;
    }
    return bucket;
  };

  const bucketFor = (model: string, provider: string, at: number): Bucket | undefined => {
    const day = Math.floor(at / DAY_MS) * DAY_MS;
    const key = `${provider}\u0000${model}\u0000${day}`;
    let bucket = buckets.get(key);
    if (bucket === undefined) {
      bucket = fromBook(provider, model, day) ?? (pricer === null ? undefined : learn(pricer, model, provider, day));
      if (bucket === undefined) return undefined;
      if (buckets.size >= MAX_BUCKETS) buckets.clear();
      buckets.set(key, bucket);
    }
    return bucket;
  };

  const needPricer = (): Pricer => {
    if (pricer === null) throw new Error('price memo: a price outside its book, and no pricer attached');
    return pricer;
  };

  const priceIfKnown = (usage: NormalisedUsage, model: string, provider: string, at: number): number | null | undefined => {
    const bucket = bucketFor(model, provider, at);
    if (bucket === undefined) return undefined;
    if (bucket === 'unpriced') return null;
    const t = clamp(usage);
    if (bucket === 'direct' || t.input > bucket.linearUpTo || beyondRates(usage)) {
      return pricer === null ? undefined : pricer.price(usage, model, provider, new Date(at)).costUsd;
    }
    return linear(t, bucket) * priceMultiplier(usage.billing, provider, model);
  };

  return {
    priceIfKnown,
    price(usage, model, provider, at) {
      const known = priceIfKnown(usage, model, provider, at);
      return known === undefined ? needPricer().price(usage, model, provider, new Date(at)).costUsd : known;
    },
    priceAggregate(usage, model, provider, at, longContext = false) {
      const bucket = bucketFor(model, provider, at);
      if (bucket === undefined) return needPricer().price(usage, model, provider, new Date(at)).costUsd;
      if (bucket === 'unpriced') return null;
      if (bucket === 'direct') {
        // Time-of-day prices: price the sum at its own time, per-request tiers cannot apply to a sum anyway.
        return needPricer().price(usage, model, provider, new Date(at)).costUsd;
      }
      const rates = longContext && bucket.long !== undefined ? bucket.long : bucket;
      const tokens = linear(clamp(usage), rates);
      const extras = beyondRates(usage) ? aggregateExtras(needPricer(), usage, model, provider, new Date(at)) : { audio: 0, toolCalls: 0 };
      return (tokens + extras.audio) * priceMultiplier(usage.billing, provider, model) + extras.toolCalls;
    },
    attach(p) {
      pricer = p;
    },
    get hasPricer() {
      return pricer !== null;
    },
    addToBook(entries) {
      for (const e of entries) if (addEntry(e)) learnt += 1;
    },
    book: () => [...book.values()].flat().map((e) => ({ ...e })),
    get learnt() {
      return learnt;
    },
  };
}

function samePrice(a: Rates | 'unpriced', b: Rates | 'unpriced'): boolean {
  return a === b || (typeof a === 'object' && typeof b === 'object' && JSON.stringify(a) === JSON.stringify(b));
}

/** A day's bucket, from probe requests to the pricer. */
function learnDay(pricer: Pricer, model: string, provider: string, day: number): Bucket {
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
}

/** Audio tokens or built-in tool calls: usage the six learnt rates do not price. */
function beyondRates(u: NormalisedUsage): boolean {
  return pos(u.input.audio ?? 0) > 0 || pos(u.output.audio ?? 0) > 0 || (u.toolCalls !== undefined && TOOL_CALL_KINDS.some((k) => pos(u.toolCalls?.[k] ?? 0) > 0));
}

/**
 * A sum's audio tokens at the per-request audio rates (learnt from a PROBE-sized request, so the sum is never priced
 * at a tier it crosses as a whole), and its tool calls at their price per call. Both at the standard tier: the
 * caller applies the billing mode to the tokens.
 */
function aggregateExtras(pricer: Pricer, u: NormalisedUsage, model: string, provider: string, at: Date): { audio: number; toolCalls: number } {
  const cost = (v: NormalisedUsage): number => pricer.price(v, model, provider, at).costUsd ?? 0;
  const none = usageOf({});
  const audioIn = pos(u.input.audio ?? 0);
  const audioOut = pos(u.output.audio ?? 0);
  let audio = 0;
  if (audioIn > 0) audio += (cost({ ...none, input: { ...none.input, total: PROBE, noCache: PROBE, audio: PROBE } }) / PROBE) * audioIn;
  if (audioOut > 0) audio += (cost({ ...none, output: { total: PROBE, text: 0, reasoning: 0, audio: PROBE } }) / PROBE) * audioOut;
  const toolCalls = u.toolCalls === undefined ? 0 : cost({ ...none, toolCalls: u.toolCalls });
  return { audio, toolCalls };
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

/** The pricer's clamping (clampedTokens); `noCache` and `text` without their audio tokens. */
function clamp(usage: NormalisedUsage): Clamped {
  const t = clampedTokens(usage);
  return {
    input: t.input,
    noCache: t.noCache - t.audioIn,
    cacheRead: t.cacheRead,
    cacheWrite5m: t.cacheWrite5m,
    cacheWrite1h: t.cacheWrite1h,
    text: t.output - t.reasoning - t.audioOut,
    reasoning: t.reasoning,
  };
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
