import type { BillingMode } from './types.js';

/**
 * The one rule for price modifiers a provider applies per request, on top of the catalogue's standard per-token
 * prices: the gateway, the log importers and the usage-API imports all price through it (pricing.ts applies it).
 * It scales the TOKEN price only: built-in tool calls cost the same on every tier.
 *
 * The tier is the one the response (or the usage report) says served the request, never the one asked for: OpenAI
 * may serve a `service_tier: "priority"` request at the standard tier (its priority prices exclude long context),
 * and says so in the response's `service_tier`.
 *
 * - Batch APIs (OpenAI `batch: true`, Anthropic `service_tier: "batch"`): half price.
 * - OpenAI `service_tier: "flex"`: half price (flex is offered at the Batch API's rates).
 * - OpenAI `service_tier: "priority"` (renamed Fast mode in July 2026; `"fast"` means the same): a premium per
 *   model, OPENAI_PRIORITY; the catalogue has no priority prices.
 * - Anthropic `usage.speed: "fast"`: a premium per model, ANTHROPIC_FAST. Anthropic's `service_tier: "priority"`
 *   (Priority Tier, bought as committed capacity) bills tokens at the standard rates.
 */
export function priceMultiplier(billing: BillingMode | undefined, provider: string, model: string): number {
  if (billing === undefined) return 1;
  const tier = billing.serviceTier?.toLowerCase();
  if (billing.batch === true || tier === 'batch') return 0.5;
  if (provider === 'openai') {
    if (tier === 'flex') return 0.5;
    if (tier === 'priority' || tier === 'fast') return byModel(OPENAI_PRIORITY, model) ?? OPENAI_PRIORITY_DEFAULT;
    return 1;
  }
  if (provider === 'anthropic' && billing.speed?.toLowerCase() === 'fast') return byModel(ANTHROPIC_FAST, model) ?? ANTHROPIC_FAST_DEFAULT;
  return 1;
}

/** Whether the mode changes the price at all (callers skip work for the standard tier, nearly every request). */
export function isStandard(billing: BillingMode | undefined): boolean {
  if (billing === undefined) return true;
  const tier = billing.serviceTier?.toLowerCase();
  return billing.batch !== true && (tier === undefined || tier === 'default' || tier === 'standard' || tier === 'auto') && billing.speed?.toLowerCase() !== 'fast';
}

/**
 * Priority processing's price over the standard price, per model (a dated snapshot, `gpt-5-2025-08-07`, and a Codex
 * model, `gpt-5-codex`, as their base model), from openai.com/api-priority-processing: each model's priority input,
 * cached input and output prices are one multiple of its standard ones.
 */
const OPENAI_PRIORITY: readonly (readonly [string, number])[] = [
  ['gpt-5.5', 2.5], // $12.50 / $1.25 / $75 against $5 / $0.50 / $30
  ['gpt-5.4-mini', 2], // $1.50 / $0.15 / $9
  ['gpt-5.4', 2], // $5 / $0.50 / $30
  ['gpt-5.2', 2], // $3.50 / $0.35 / $28
  ['gpt-5.1', 2], // $2.50 / $0.25 / $20 (and GPT-5.1 Codex)
  ['gpt-5-mini', 1.8], // $0.45 / $0.045 / $3.60 against $0.25 / $0.025 / $2
  ['gpt-5', 2], // $2.50 / $0.25 / $20 (and GPT-5 Codex)
  ['gpt-4.1-nano', 2], // $0.20 / $0.05 / $0.80
  ['gpt-4.1-mini', 1.75], // $0.70 / $0.175 / $2.80
  ['gpt-4.1', 1.75], // $3.50 / $0.875 / $14
  ['gpt-4o-mini', 5 / 3], // $0.25 / $0.125 / $1 against $0.15 / $0.075 / $0.60
  ['gpt-4o-2024-05-13', 1.75], // $8.75 / $26.25 against $5 / $15
  ['gpt-4o', 1.7], // $4.25 / $2.125 / $17
  ['o4-mini', 20 / 11], // $2 / $0.50 / $8 against $1.10 / $0.275 / $4.40
  ['o3', 1.75], // $3.50 / $0.875 / $14
];
/** A model priority processing serves that the table lacks: 2×, the rate of most of the GPT-5 family. */
const OPENAI_PRIORITY_DEFAULT = 2;

/**
 * Claude fast mode's price over the standard price, per model: Opus 4.6 at 6× (Anthropic's fast-mode page: $30 /
 * $150 per million against $5 / $25, and 6× the long-context rates above 200k input tokens); Opus 4.8 and Opus 5 at
 * 2×. Other models: 6×, the rate fast mode launched at.
 */
const ANTHROPIC_FAST: readonly (readonly [string, number])[] = [
  ['claude-opus-4-6', 6],
  ['claude-opus-4-8', 2],
  ['claude-opus-5', 2],
];
const ANTHROPIC_FAST_DEFAULT = 6;

function byModel(table: readonly (readonly [string, number])[], model: string): number | undefined {
  const name = model.toLowerCase();
  for (const [prefix, multiplier] of table) {
    if (name === prefix || dated(name, prefix)) return multiplier;
  }
  return undefined;
}

/** `gpt-5-2025-08-07` is `gpt-5`, but `gpt-5-mini` is not: a prefix followed by a date or `-codex…`. */
function dated(name: string, prefix: string): boolean {
  if (!name.startsWith(`${prefix}-`)) return false;
  const rest = name.slice(prefix.length + 1);
  return /^\d{4}-\d{2}-\d{2}$/.test(rest) || /^\d{8}$/.test(rest) || rest.startsWith('codex');
}
