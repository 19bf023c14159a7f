import { calcPrice, findProvider } from '@pydantic/genai-prices';
import type { ModelInfo, ModelPrice, Provider, TieredPrices } from '@pydantic/genai-prices';
import { isStandard, priceMultiplier } from './billing-mode.js';
import type { ModelPriceOverride, PriceBreakdown, PriceResult, Pricer } from './pricing.js';
import { TOOL_CALL_KINDS, TOOL_CALL_PRICE_KEYS, type NormalisedUsage, type ToolCalls } from './types.js';

/*
 * The pricer's workings: pricing.ts says what it does, and holds the override schema and createPricer, the entry
 * point that validates overrides. This module loads no zod.
 */

/**
 * Model names come from clients, so the memo could grow without bound; past this many distinct (provider, model)
 * pairs it starts over. A deployment sees tens of models; 10k is far above that and a few MB at most.
 */
const MAX_MEMO_ENTRIES = 10_000;

type Resolved =
  | { kind: 'override'; price: ModelPriceOverride }
  /**
   * A copy of the matched provider holding only the matched model, so re-matching it is a single test;
   * `name` is the model name that matched (the requested one, or it without an "org/" prefix).
   */
  | {
      kind: 'catalogue';
      provider: Provider;
      name: string;
      /**
       * The model's current prices when every one of them is a per-token rate this module computes itself (see
       * FAST_KEYS): later requests priced "now" skip the catalogue call. undefined = not looked at yet.
       */
      current?: ModelPrice | null;
    }
  | { kind: 'none' };

/**
 * Price keys whose arithmetic breakdownFromCatalogue reproduces exactly (tiers included). A model carrying any other
 * non-zero price (per request, per search, audio…) always goes through the catalogue.
 */
const FAST_KEYS = new Set([
  'input_mtok',
  'output_mtok',
  'cache_read_mtok',
  'cache_write_mtok',
  'cache_write_5m_mtok',
  'cache_write_1h_mtok',
  'output_reasoning_mtok',
]);
/** Priced per tool call, which the fast path never prices (usage with tool calls goes through the catalogue). */
const IGNORABLE_KEYS = new Set<string>(Object.values(TOOL_CALL_PRICE_KEYS));

function fastPrices(prices: ModelPrice): ModelPrice | null {
  for (const [key, value] of Object.entries(prices)) {
    if (value === undefined || value === 0 || FAST_KEYS.has(key) || IGNORABLE_KEYS.has(key)) continue;
    return null;
  }
  return prices;
}

const NONE: PriceResult = { costUsd: null, source: 'none' };

/**
 * The pricer for overrides already validated (modelPriceOverrideSchema): `createPricer` validates them first. Kept
 * apart from the schema so that import worker threads, given overrides the main thread validated, never load zod
 * (a fifth of a second per thread).
 */
export function pricerWith(overrideMap: ReadonlyMap<string, ModelPriceOverride>): Pricer {
  const memo = new Map<string, Resolved>();

  const resolve = (model: string, provider: string): Resolved => {
    const key = `${provider}\u0000${model}`;
    const hit = memo.get(key);
    if (hit) return hit;
    const resolved = resolveUncached(model, provider, overrideMap);
    if (memo.size >= MAX_MEMO_ENTRIES) memo.clear();
    memo.set(key, resolved);
    return resolved;
  };

  return {
    price(usage, model, provider, at) {
      const resolved = resolve(model, provider);
      const t = clampedTokens(usage);
      const calls = hasToolCalls(usage.toolCalls) ? usage.toolCalls : undefined;
      if (resolved.kind === 'override') {
        return withBilling(priceOverride(t, resolved.price), usage, provider, model);
      }
      if (resolved.kind === 'none') return NONE;
      if (at === undefined && resolved.current && calls === undefined && t.audioIn === 0 && t.audioOut === 0) {
        const breakdown = breakdownFromCatalogue(t, resolved.current);
        if (breakdown) return withBilling({ costUsd: sum(breakdown), source: 'catalogue', breakdown }, usage, resolved.provider.id, model);
      }
      const result = priceCatalogue(t, resolved.name, resolved.provider, at);
      if (at === undefined && resolved.current === undefined) resolved.current = result.prices ? fastPrices(result.prices) : null;
      const prices = result.prices;
      delete result.prices;
      const billed = withBilling(result, usage, resolved.provider.id, model);
      if (calls === undefined || billed.costUsd === null || prices === undefined) return billed;
      // Tool calls on top, at their own price: the breakdown (token types only) no longer accounts for the whole.
      return { costUsd: billed.costUsd + toolCallsUsd(calls, prices, t.input), source: billed.source };
    },
    nextChange(model, provider, at) {
      const resolved = resolve(model, provider);
      if (resolved.kind !== 'catalogue') return Number.POSITIVE_INFINITY;
      return nextCatalogueChange(resolved.provider.models[0]?.prices, at.getTime());
    },
  };
}

/**
 * The catalogue picks a model's price by its `constraint`s (genai-prices: the last entry whose constraint holds,
 * a start date holding from that instant on): a dated price changes the price at its start, a time-of-day price
 * within every day.
 */
function nextCatalogueChange(prices: ModelInfo['prices'] | undefined, at: number): number {
  if (!Array.isArray(prices)) return Number.POSITIVE_INFINITY;
  let next = Number.POSITIVE_INFINITY;
  for (const { constraint } of prices) {
    if (constraint === undefined || constraint === null) continue;
    if (constraint.type !== 'start_date') return at;
    const start = new Date(constraint.start_date).getTime();
    if (Number.isNaN(start)) return at;
    if (start > at && start < next) next = start;
  }
  return next;
}

function resolveUncached(model: string, provider: string, overrides: ReadonlyMap<string, ModelPriceOverride>): Resolved {
  const override = overrides.get(`${provider}/${model}`) ?? overrides.get(model);
  if (override) return { kind: 'override', price: override };

  const match = (name: string, providerId?: string): Resolved | null => {
    const r = safeCalc(PROBE, name, providerId === undefined ? {} : { providerId });
    if (!r) return null;
    return {
      kind: 'catalogue',
      provider: { ...r.provider, models: [corrected(r.provider.id, r.model)], fallback_model_providers: undefined },
      name,
    };
  };

  // A provider the catalogue knows is authoritative for its models: no guessing across providers.
  if (findProvider({ providerId: provider })) return match(model, provider) ?? { kind: 'none' };
  // An OpenAI-compatible server: the model name alone, then without an "org/" prefix (vLLM, OpenRouter style).
  const slash = model.lastIndexOf('/');
  return match(model) ?? (slash > 0 ? match(model.slice(slash + 1)) : null) ?? { kind: 'none' };
}

const PROBE = { input_tokens: 0, output_tokens: 0 };

/**
 * Where the bundled catalogue lacks a published price rule: a model priced as another whose base prices are the
 * same, for the tiers the other carries. Anthropic bills Claude Sonnet 4 above 200k input tokens (its 1M-context
 * beta) at the same long-context rates as Sonnet 4.5 ($6 / $22.50 per million, cache rates alike); genai-prices
 * 0.1.8 has Sonnet 4 flat, which priced such a request at half. Applied only while the base prices agree and the
 * model still has no tiers of its own, so a catalogue that fixes it, or changes either model, wins.
 */
const SAME_TIERS_AS: Record<string, Record<string, string>> = { anthropic: { 'claude-sonnet-4-0': 'claude-sonnet-4-5' } };

function corrected(providerId: string, model: ModelInfo): ModelInfo {
  const like = SAME_TIERS_AS[providerId]?.[model.id];
  if (like === undefined || Array.isArray(model.prices)) return model;
  const other = safeCalc(PROBE, like, { providerId })?.model.prices;
  if (other === undefined || Array.isArray(other)) return model;
  const own = model.prices as Record<string, unknown>;
  const theirs = other as Record<string, unknown>;
  const keys = new Set([...Object.keys(own), ...Object.keys(theirs)]);
  for (const k of keys) {
    const mine = own[k];
    const base = (v: unknown): unknown => (v !== null && typeof v === 'object' ? (v as TieredPrices).base : v);
    if (typeof mine === 'object' || base(theirs[k]) !== mine) return model;
  }
  return { ...model, prices: other };
}

export interface Tokens {
  /** Total input, cache included. */
  input: number;
  noCache: number;
  cacheRead: number;
  cacheWrite5m: number;
  cacheWrite1h: number;
  /** Audio among the uncached input. */
  audioIn: number;
  /** Total output, reasoning and audio included. */
  output: number;
  reasoning: number;
  /** Audio among the output that is not reasoning. */
  audioOut: number;
}

/**
 * Counts made safe for the catalogue, which throws when a part exceeds its total or a count is negative. The importers'
 * price memo clamps with it too, so both price the same counts.
 */
export function clampedTokens(u: NormalisedUsage): Tokens {
  const cacheRead = safe(u.input.cacheRead);
  const cacheWrite5m = safe(u.input.cacheWrite5m);
  const cacheWrite1h = safe(u.input.cacheWrite1h);
  const parts = cacheRead + cacheWrite5m + cacheWrite1h;
  const input = Math.max(safe(u.input.total), safe(u.input.noCache) + parts);
  const reasoning = safe(u.output.reasoning);
  const output = Math.max(safe(u.output.total), reasoning);
  const noCache = input - parts;
  return {
    input,
    noCache,
    cacheRead,
    cacheWrite5m,
    cacheWrite1h,
    audioIn: Math.min(safe(u.input.audio ?? 0), noCache),
    output,
    reasoning,
    audioOut: Math.min(safe(u.output.audio ?? 0), output - reasoning),
  };
}

function hasToolCalls(calls: ToolCalls | undefined): calls is ToolCalls {
  if (calls === undefined) return false;
  for (const kind of TOOL_CALL_KINDS) if (safe(calls[kind] ?? 0) > 0) return true;
  return false;
}

/** The catalogue's price of the calls (USD per thousand); a kind the model has no price for costs nothing. */
function toolCallsUsd(calls: ToolCalls, prices: ModelPrice, totalInput: number): number {
  let usd = 0;
  for (const kind of TOOL_CALL_KINDS) {
    const n = Math.floor(safe(calls[kind] ?? 0));
    const p = prices[TOOL_CALL_PRICE_KEYS[kind]];
    if (n === 0 || p === undefined) continue;
    usd += (n * (typeof p === 'number' ? p : tierRate(p, totalInput))) / 1000;
  }
  return usd;
}

/**
 * The token price times the billing mode's multiplier (billing-mode.ts); the standard tier untouched. `model` is the
 * name asked about (the rule knows dated snapshots), as the importers' price memo asks the rule too.
 */
function withBilling(result: PriceResult, usage: NormalisedUsage, provider: string, model: string): PriceResult {
  if (isStandard(usage.billing) || result.costUsd === null) return result;
  const m = priceMultiplier(usage.billing, provider, model);
  if (m === 1) return result;
  const b = result.breakdown;
  return {
    costUsd: result.costUsd * m,
    source: result.source,
    ...(b ? { breakdown: { input: b.input * m, cacheRead: b.cacheRead * m, cacheWrite: b.cacheWrite * m, output: b.output * m } } : {}),
  };
}

function safe(n: number): number {
  return Number.isFinite(n) && n > 0 ? n : 0;
}

function priceOverride(t: Tokens, p: ModelPriceOverride): PriceResult {
  const write5m = p.cacheWrite5m ?? p.input;
  const write1h = p.cacheWrite1h ?? write5m;
  const breakdown: PriceBreakdown = {
    input: (t.noCache * p.input) / 1e6,
    cacheRead: (t.cacheRead * (p.cacheRead ?? p.input)) / 1e6,
    cacheWrite: (t.cacheWrite5m * write5m + t.cacheWrite1h * write1h) / 1e6,
    output: (t.output * p.output) / 1e6,
  };
  return { costUsd: sum(breakdown), source: 'override', breakdown };
}

function priceCatalogue(
  t: Tokens,
  model: string,
  provider: Provider,
  at: Date | undefined,
): PriceResult & { prices?: ModelPrice } {
  const r = safeCalc(
    {
      input_tokens: t.input,
      cache_read_tokens: t.cacheRead,
      cache_write_tokens: t.cacheWrite5m + t.cacheWrite1h,
      cache_write_5m_tokens: t.cacheWrite5m,
      cache_write_1h_tokens: t.cacheWrite1h,
      output_tokens: t.output,
      output_reasoning_tokens: t.reasoning,
      // Only when reported: a model with audio prices would otherwise ask how much of the cache read was audio.
      ...(t.audioIn > 0 ? { input_audio_tokens: t.audioIn, cache_audio_read_tokens: 0 } : {}),
      ...(t.audioOut > 0 ? { output_audio_tokens: t.audioOut } : {}),
    },
    model,
    at === undefined ? { provider } : { provider, timestamp: at },
  );
  if (!r) return { ...NONE };
  const breakdown = breakdownFromCatalogue(t, r.model_price);
  // Only claim a breakdown that accounts for the whole price (a model may carry prices we do not split out).
  const agrees = breakdown !== null && Math.abs(sum(breakdown) - r.total_price) <= 1e-9 * Math.max(1, r.total_price);
  const result: PriceResult & { prices?: ModelPrice } = { costUsd: r.total_price, source: 'catalogue', prices: r.model_price };
  if (agrees) result.breakdown = breakdown;
  return result;
}

type CalcArgs = Parameters<typeof calcPrice>;

/** The catalogue throws on usage it considers inconsistent and on corrupt data; metering must not. */
function safeCalc(usage: CalcArgs[0], model: string, options: NonNullable<CalcArgs[2]>): ReturnType<typeof calcPrice> {
  try {
    return calcPrice(usage, model, options);
  } catch {
    return null;
  }
}

/** The same arithmetic as the catalogue, per token type, for the breakdown. */
function breakdownFromCatalogue(t: Tokens, prices: ModelPrice): PriceBreakdown | null {
  const rate = (key: string): number | undefined => {
    const p = prices[key];
    if (p === undefined) return undefined;
    if (typeof p === 'number') return p;
    return tierRate(p, t.input);
  };
  const input = rate('input_mtok');
  const output = rate('output_mtok');
  if (input === undefined || (output === undefined && t.output > 0)) return null;
  const write = rate('cache_write_mtok') ?? input;
  const out = output ?? 0;
  return {
    input: (t.noCache * input) / 1e6,
    cacheRead: (t.cacheRead * (rate('cache_read_mtok') ?? input)) / 1e6,
    cacheWrite:
      (t.cacheWrite5m * (rate('cache_write_5m_mtok') ?? write) +
        t.cacheWrite1h * (rate('cache_write_1h_mtok') ?? write)) /
      1e6,
    output: ((t.output - t.reasoning) * out + t.reasoning * (rate('output_reasoning_mtok') ?? out)) / 1e6,
  };
}

/** The highest tier whose start the total input exceeds, else the base price (tiers may come unsorted). */
function tierRate(p: TieredPrices, totalInput: number): number {
  let rate = p.base;
  let start = -1;
  for (const tier of p.tiers) {
    if (totalInput > tier.start && tier.start > start) {
      rate = tier.price;
      start = tier.start;
    }
  }
  return rate;
}

function sum(b: PriceBreakdown): number {
  return b.input + b.cacheRead + b.cacheWrite + b.output;
}
