import { z } from 'zod';
import { pricerWith } from './catalogue-pricer.js';
import type { NormalisedUsage } from './types.js';

/**
 * Prices one request's usage in USD: config overrides first, then the bundled `@pydantic/genai-prices` catalogue.
 *
 * The catalogue's `calcPrice` is the authority for catalogue prices. Its usage keys: `input_tokens` is the TOTAL
 * input (cache included), `cache_read_tokens`, `cache_write_tokens` (all writes), and `cache_write_1h_tokens` /
 * `cache_write_5m_tokens` as subsets of the writes, each billed at its own price when the model has one
 * (`cache_write_1h_mtok`) and otherwise at the parent's (`cache_write_mtok`, else `input_mtok`).
 * Tiered prices (Anthropic's long context) reprice the WHOLE request once total input exceeds the tier start
 * (`> 200_000`), for every token type, which is Anthropic's published rule. Audio tokens (`input_audio_tokens`,
 * `output_audio_tokens`, parts of the input and output) are billed at the model's audio rates where it has them.
 *
 * On top of the catalogue's token price: the usage's billing mode (flex, priority, fast mode, batch) multiplies the
 * token price (billing-mode.ts, the one rule for it), and built-in tool calls are added at the catalogue's price per
 * thousand calls (`web_searches_kcount`, `storage_searches_kcount`), on no tier discounted or marked up.
 */

/** Per-million-token USD prices for a model the catalogue lacks (self-hosted) or that the config re-prices. */
export const modelPriceOverrideSchema = z
  .object({
    input: z.number().nonnegative().describe('USD per million input tokens (uncached)'),
    output: z.number().nonnegative().describe('USD per million output tokens (reasoning included)'),
    cacheRead: z.number().nonnegative().optional().describe('USD per million cache-read tokens (default: input)'),
    cacheWrite5m: z
      .number()
      .nonnegative()
      .optional()
      .describe('USD per million 5-minute cache-write tokens (default: input)'),
    cacheWrite1h: z
      .number()
      .nonnegative()
      .optional()
      .describe('USD per million 1-hour cache-write tokens (default: cacheWrite5m)'),
  })
  .strict();
export type ModelPriceOverride = z.infer<typeof modelPriceOverrideSchema>;

export const PRICE_SOURCES = ['catalogue', 'override', 'none'] as const;
export type PriceSource = (typeof PRICE_SOURCES)[number];

/**
 * USD per token type, the billing mode's multiplier applied. `input` is the uncached input; `cacheWrite` covers both
 * 5-minute and 1-hour writes.
 */
export interface PriceBreakdown {
  input: number;
  cacheRead: number;
  cacheWrite: number;
  output: number;
}

export interface PriceResult {
  /** USD; null when neither the config nor the catalogue knows the model. */
  costUsd: number | null;
  source: PriceSource;
  /**
   * Present when every part of the price is one of the four token types (always for overrides, which price tokens
   * only: a config price has no price per tool call).
   */
  breakdown?: PriceBreakdown;
}

export interface Pricer {
  /**
   * `provider` is the catalogue id ('openai', 'anthropic', 'deepseek', …) or any other name for an
   * OpenAI-compatible server, whose models are then looked up by model name alone.
   * `at` selects historical catalogue prices (importers re-pricing old events); default now.
   */
  price(usage: NormalisedUsage, model: string, provider: string, at?: Date): PriceResult;
  /**
   * The first instant (epoch ms) after `at` at which this model's price may differ from its price at `at`:
   * the next dated price in the catalogue, +Infinity when there is none (a config override or a model without a
   * price never changes), or `at` itself when the price depends on the time of day. Callers that keep prices
   * (the importers' price memo) keep them until then.
   */
  nextChange(model: string, provider: string, at: Date): number;
}

/** The pricer, its overrides validated first (a model name and what is wrong with its price when one is invalid). */
export function createPricer(overrides: Record<string, ModelPriceOverride> = {}): Pricer {
  // A Map, not the record: a model named "constructor" must not find Object.prototype.constructor.
  const overrideMap = new Map<string, ModelPriceOverride>();
  for (const [name, value] of Object.entries(overrides)) {
    const parsed = modelPriceOverrideSchema.safeParse(value);
    if (!parsed.success) {
      throw new Error(`Invalid price override for model "${name}": ${z.prettifyError(parsed.error)}`);
    }
    overrideMap.set(name, parsed.data);
  }
  return pricerWith(overrideMap);
}
