import type { Endpoint } from '../usage/event.js';
import {
  estimateAnthropicInput,
  estimateEmbeddingsInput,
  estimateOpenAIChatInput,
  estimateResponsesInput,
} from '../usage/estimate.js';
import { isStandard } from '../usage/billing-mode.js';
import type { Pricer } from '../usage/pricing.js';
import { TOOL_CALL_KINDS, type BillingMode, type NormalisedUsage, type ToolCallKind } from '../usage/types.js';

/**
 * The most a request can cost, known before it is forwarded: input tokens (a byte count far from any limit, a
 * real tokenizer count close to one) plus the output the request allows (`max_tokens` & co., else the model's
 * output limit). Reserved against budgets up front and settled to the real cost afterwards.
 */

/**
 * Tokens never counted by the request body: a provider's hidden prompt framing (tool-use system prompts are
 * counted by their JSON definitions, which are longer in bytes than in tokens). 64 is several times the framing
 * OpenAI and Anthropic add to a request.
 */
export const FRAMING_TOKENS = 64;

/**
 * Anthropic publishes no tokenizer, and its counts for the same text run higher than o200k's (by 10-30% for
 * English and code in our measurements of Claude 3-4). Exact counts for Anthropic are scaled by this, so that
 * a reservation stays an upper bound.
 */
export const ANTHROPIC_TOKEN_FACTOR = 1.35;

/**
 * An upper bound on input tokens from the body size alone: every token is at least one byte, and the JSON
 * syntax around each message (`{"role":"user","content":""}`) is longer than the framing tokens it stands for.
 * Images given by URL (a short URL, 765-1,600 tokens) are added at their estimates by the caller (Quote).
 */
export function cheapInputBound(bodyBytes: number): number {
  return bodyBytes + FRAMING_TOKENS;
}

/** Input tokens counted with the tokenizer (o200k), scaled for Anthropic; images at their flat token cost. */
export function exactInputBound(endpoint: Endpoint, providerType: string, body: Record<string, unknown>): number {
  switch (endpoint) {
    case 'chat.completions':
      return estimateOpenAIChatInput(body) + FRAMING_TOKENS;
    case 'responses':
      return estimateResponsesInput(body) + FRAMING_TOKENS;
    case 'embeddings':
      return estimateEmbeddingsInput(body) + FRAMING_TOKENS;
    case 'messages':
    case 'messages.count_tokens': {
      const counted = estimateAnthropicInput(body);
      return (providerType === 'anthropic' ? Math.ceil(counted * ANTHROPIC_TOKEN_FACTOR) : counted) + FRAMING_TOKENS;
    }
    default:
      return 0;
  }
}

/** Routes that generate nothing (embeddings) or cost nothing (count_tokens) reserve no output. */
export function generates(endpoint: Endpoint): boolean {
  return endpoint === 'chat.completions' || endpoint === 'responses' || endpoint === 'messages';
}

/** Free routes: Anthropic does not bill count_tokens. */
export function billed(endpoint: Endpoint): boolean {
  return endpoint !== 'messages.count_tokens' && endpoint !== 'models';
}

const positiveInt = (v: unknown): number | null =>
  typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : null;

/**
 * Built-in tools a request lets the provider run, which it bills per call (usage `toolCalls`, pricing.ts): `calls`
 * calls, each priced at the dearest per-call price among `kinds`.
 */
export interface ToolCallAllowance {
  kinds: readonly ToolCallKind[];
  calls: number;
}

/**
 * Calls reserved for a search tool when the request does not limit them (OpenAI `max_tool_calls`, Anthropic
 * `max_uses`): the model decides how often it searches, and neither provider caps it. A request that searches more
 * can pass a budget by the difference (README, Budgets); one that sets the limit is reserved exactly.
 */
export const DEFAULT_TOOL_CALLS = 10;

/**
 * Input tokens reserved per built-in tool call for what it reads: search results are added to the model's input
 * and billed as input tokens (OpenAI bills each web search on its mini models as a fixed block of 8,000).
 */
export const TOOL_RESULT_TOKENS = 8_000;

/** OpenAI Responses tool types billed per call (`web_search`, `web_search_preview`, dated versions; `file_search`). */
function responsesToolKind(type: unknown): ToolCallKind | null {
  if (typeof type !== 'string') return null;
  if (type.startsWith('web_search')) return 'web_search';
  return type === 'file_search' ? 'file_search' : null;
}

const recordOf = (v: unknown): Readonly<Record<string, unknown>> | null => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null);

/**
 * The built-in tool calls a request allows, as billing counts them: OpenAI Responses `tools` of type `web_search*`
 * and `file_search` (up to `max_tool_calls` in all, else DEFAULT_TOOL_CALLS each), Anthropic `web_search_*` server
 * tools (up to each one's `max_uses`, else DEFAULT_TOOL_CALLS). None when `tool_choice` rules tools out.
 */
export function toolCallsAllowed(endpoint: Endpoint, body: Readonly<Record<string, unknown>>): ToolCallAllowance[] {
  const tools = Array.isArray(body['tools']) ? (body['tools'] as unknown[]) : [];
  if (tools.length === 0) return [];
  const out: ToolCallAllowance[] = [];
  if (endpoint === 'responses') {
    if (body['tool_choice'] === 'none') return [];
    for (const t of tools) {
      const kind = responsesToolKind(recordOf(t)?.['type']);
      if (kind !== null) out.push({ kinds: [kind], calls: DEFAULT_TOOL_CALLS });
    }
    const max = positiveInt(body['max_tool_calls']);
    // A limit on all built-in calls together: that many at the dearest kind offered.
    if (max !== null && out.length > 0) return [{ kinds: [...new Set(out.flatMap((a) => a.kinds))], calls: max }];
  } else if (endpoint === 'messages') {
    if (recordOf(body['tool_choice'])?.['type'] === 'none') return [];
    for (const t of tools) {
      const tool = recordOf(t);
      const type = tool?.['type'];
      if (typeof type === 'string' && type.startsWith('web_search_')) out.push({ kinds: ['web_search'], calls: positiveInt(tool!['max_uses']) ?? DEFAULT_TOOL_CALLS });
    }
  }
  return out;
}

/** The `service_tier` values a price depends on (billing-mode.ts priceMultiplier). */
const PRICED_TIERS = new Set(['priority', 'fast', 'flex', 'batch']);

/**
 * The service a request asks for where it changes the price per token (billing-mode.ts): OpenAI `service_tier`
 * (`priority`, `flex`…), Anthropic `speed` (`fast`). Undefined for the standard tier, nearly every request. Read from
 * either wire: the price rule for the model's provider decides what each field means.
 */
export function billingAsked(body: Readonly<Record<string, unknown>>): BillingMode | undefined {
  const tier = body['service_tier'];
  const speed = body['speed'];
  if (tier === undefined && speed === undefined) return undefined;
  // Only the values that change a price (billing-mode.ts), lower-cased: anything else is the standard price, and a
  // client's made-up tiers must not each be a key of the worst-case cache (derived anew, then the cache cleared).
  const mode: BillingMode = {};
  if (typeof tier === 'string' && PRICED_TIERS.has(tier.toLowerCase())) mode.serviceTier = tier.toLowerCase();
  if (typeof speed === 'string' && speed.toLowerCase() === 'fast') mode.speed = 'fast';
  return isStandard(mode) ? undefined : mode;
}

/**
 * Whether the answer may be spoken, billed at the model's audio output rate: `modalities` asks for audio (chat
 * completions), or the model is a voice model (`gpt-audio`, `gpt-4o-audio-preview`…).
 */
export function speaks(body: Readonly<Record<string, unknown>>, model: string): boolean {
  const modalities = body['modalities'];
  return (Array.isArray(modalities) && modalities.includes('audio')) || model.includes('audio');
}

/**
 * Whether a chat request carries audio (`input_audio` parts): the tokenizer does not count it, so its input keeps
 * the byte bound (base64 audio is thousands of bytes per audio token, far above its price at any audio rate).
 */
export function hearsAudio(endpoint: Endpoint, body: Readonly<Record<string, unknown>>): boolean {
  if (endpoint !== 'chat.completions' || !Array.isArray(body['messages'])) return false;
  for (const m of body['messages'] as unknown[]) {
    const content = recordOf(m)?.['content'];
    if (Array.isArray(content) && content.some((p) => recordOf(p)?.['type'] === 'input_audio')) return true;
  }
  return false;
}

/** Choices a chat request asks for (`n`, at least 1). */
export function choicesOf(body: Readonly<Record<string, unknown>>): number {
  return Math.max(1, positiveInt(body['n']) ?? 1);
}

/** The output cap the client declared, times the number of choices asked for (chat `n`); null when none. */
export function declaredMaxOutput(endpoint: Endpoint, body: Readonly<Record<string, unknown>>): number | null {
  switch (endpoint) {
    case 'chat.completions': {
      const cap = positiveInt(body['max_completion_tokens']) ?? positiveInt(body['max_tokens']);
      return cap === null ? null : cap * choicesOf(body);
    }
    case 'responses':
      return positiveInt(body['max_output_tokens']);
    case 'messages':
      return positiveInt(body['max_tokens']);
    default:
      return 0;
  }
}

/**
 * Published maximum output tokens by model family (provider docs, 2025), longest prefix first. Used when a
 * request declares no cap; `models[].maxOutputTokens` in the config overrides it.
 */
const OUTPUT_LIMITS: readonly [prefix: string, tokens: number][] = [
  ['gpt-4o-mini', 16_384],
  ['gpt-4o', 16_384],
  ['gpt-4.1', 32_768],
  ['gpt-5', 128_000],
  ['o1', 100_000],
  ['o3', 100_000],
  ['o4-mini', 100_000],
  ['claude-opus-4', 32_000],
  ['claude-sonnet-4', 64_000],
  ['claude-haiku-4', 64_000],
  ['claude-3-7-sonnet', 64_000],
  ['claude-3-5', 8_192],
  ['claude-3', 4_096],
];

/** Unknown models (self-hosted, new): 32k covers the output limit of most; set maxOutputTokens to be exact. */
export const DEFAULT_OUTPUT_LIMIT = 32_768;

export function modelOutputLimit(model: string, overrides: ReadonlyMap<string, number>): number {
  const own = overrides.get(model);
  if (own !== undefined) return own;
  const bare = model.slice(model.lastIndexOf('/') + 1);
  for (const [prefix, tokens] of OUTPUT_LIMITS) if (bare.startsWith(prefix)) return tokens;
  return DEFAULT_OUTPUT_LIMIT;
}

interface Rates {
  /** USD per token: uncached input, 1-hour cache write (the dearest input), output. */
  input: number;
  write: number;
  output: number;
  /** USD per built-in tool call, by kind (0: the model has no such price). */
  calls: Record<ToolCallKind, number>;
  /** Input size beyond which the price is tiered (long context): priced by the full pricer there. */
  flatUpTo: number;
}

const PROBE = 1_000_000;

/**
 * What a request asks for beyond text tokens at the standard tier: the service tier (priced at its rate or the
 * standard one, the dearer: a provider may serve a priority request at the standard tier, and flex never costs more),
 * spoken output (output at the audio rate where the model's is dearer), and built-in tool calls.
 */
export interface WorstCaseExtras {
  billing?: BillingMode | undefined;
  audio?: boolean;
  tools?: readonly ToolCallAllowance[];
}

const NO_EXTRAS: WorstCaseExtras = {};

/** One way a request may be billed: a service tier, output as text or as audio. */
interface Mode {
  billing: BillingMode | undefined;
  audio: boolean;
}
const STANDARD: Mode = { billing: undefined, audio: false };

/** Every way a request asking for `billing` and `audio` may be billed: its price is the dearest of them. */
function modesOf(billing: BillingMode | undefined, audio: boolean): Mode[] {
  const out = [STANDARD];
  if (billing !== undefined) out.push({ billing, audio: false });
  if (audio) out.push({ billing: undefined, audio: true });
  if (audio && billing !== undefined) out.push({ billing, audio: true });
  return out;
}

function usageOf(input: number, output: number, writes: boolean, mode: Mode = STANDARD): NormalisedUsage {
  return {
    input: { total: input, noCache: writes ? 0 : input, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: writes ? input : 0 },
    output: mode.audio ? { total: output, text: 0, reasoning: 0, audio: output } : { total: output, text: output, reasoning: 0 },
    ...(mode.billing === undefined ? {} : { billing: mode.billing }),
    raw: null,
  };
}

/**
 * Worst-case prices without the catalogue on the request path: per-token rates are derived once per model
 * (the catalogue takes 10-20 µs a call), and only inputs past a tiered price's start use the full pricer.
 */
export class WorstCasePricer {
  private readonly rates = new Map<string, Rates | null>();

  constructor(private readonly pricer: Pricer) {}

  /**
   * USD, or null when the model has no price. `cacheWrites`: input may be billed as (dearer) cache writes. `extras`:
   * what the request asks for beyond text tokens at the standard tier (see WorstCaseExtras).
   */
  cost(model: string, provider: string, input: number, output: number, cacheWrites: boolean, extras: WorstCaseExtras = NO_EXTRAS): number | null {
    const billing = extras.billing !== undefined && !isStandard(extras.billing) ? extras.billing : undefined;
    const audio = extras.audio === true;
    const r = this.ratesOf(model, provider, billing, audio);
    if (r === null) return null;
    const calls = extras.tools === undefined || extras.tools.length === 0 ? 0 : callsUsd(r, extras.tools);
    if (input > r.flatUpTo) {
      let most = 0;
      for (const mode of modesOf(billing, audio)) {
        for (const writes of cacheWrites ? [true, false] : [false]) {
          const c = this.pricer.price(usageOf(input, output, writes, mode), model, provider).costUsd;
          if (c === null) return null;
          most = Math.max(most, c);
        }
      }
      return most + calls;
    }
    return input * (cacheWrites ? Math.max(r.input, r.write) : r.input) + output * r.output + calls;
  }

  /** Per-token rates of a model, the dearest of every way the request may be billed (modesOf). */
  private ratesOf(model: string, provider: string, billing: BillingMode | undefined, audio: boolean): Rates | null {
    const key = billing === undefined && !audio ? `${provider}\u0000${model}` : `${provider}\u0000${model}\u0000${billing?.serviceTier ?? ''}\u0000${billing?.speed ?? ''}\u0000${audio ? 'a' : ''}`;
    let r = this.rates.get(key);
    if (r === undefined) {
      const [first, ...others] = modesOf(billing, audio);
      r = this.derive(model, provider, first!);
      for (const mode of others) {
        const m: Rates | null = r === null ? null : this.derive(model, provider, mode);
        r = r === null || m === null ? null : { input: Math.max(r.input, m.input), write: Math.max(r.write, m.write), output: Math.max(r.output, m.output), calls: r.calls, flatUpTo: Math.min(r.flatUpTo, m.flatUpTo) };
      }
      if (this.rates.size >= 10_000) this.rates.clear();
      this.rates.set(key, r);
    }
    return r;
  }

  private derive(model: string, provider: string, mode: Mode): Rates | null {
    const per = (input: number, output: number, writes: boolean, n: number): number | null => {
      const c = this.pricer.price(usageOf(input, output, writes, mode), model, provider).costUsd;
      return c === null ? null : c / n;
    };
    const input = per(1000, 0, false, 1000);
    const output = per(0, PROBE, false, PROBE);
    const write = per(1000, 0, true, 1000);
    if (input === null || output === null || write === null) return null;
    const calls = {} as Record<ToolCallKind, number>;
    for (const kind of TOOL_CALL_KINDS) {
      const c = this.pricer.price({ ...usageOf(0, 0, false), toolCalls: { [kind]: PROBE_CALLS } }, model, provider).costUsd;
      calls[kind] = c === null ? 0 : c / PROBE_CALLS;
    }
    const same = (n: number) => Math.abs((per(n, 0, false, n) ?? input) - input) <= input * 1e-9 + 1e-18;
    let flatUpTo = Number.POSITIVE_INFINITY;
    if (!same(8 * PROBE)) {
      // Binary search the first input size with another rate (tiers start at 128k or 200k in practice).
      let lo = 1000;
      let hi = 8 * PROBE;
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2);
        if (same(mid)) lo = mid;
        else hi = mid;
      }
      flatUpTo = lo;
    }
    return { input, write, output, calls, flatUpTo };
  }
}

const PROBE_CALLS = 1000;

function callsUsd(r: Rates, tools: readonly ToolCallAllowance[]): number {
  let usd = 0;
  for (const t of tools) usd += t.calls * Math.max(0, ...t.kinds.map((k) => r.calls[k]));
  return usd;
}
