import type { ModelPriceOverride } from '../usage/pricing.js';
import type { ModelConfig } from './schema.js';

/**
 * The `models:` prices as the pricer's overrides: each entry's under `provider/name` (a name may be declared for
 * several providers at different prices: a model hosted twice), and under the bare name the first entry's, the one a
 * request naming the model alone is served by (src/gateway/router.ts).
 */
export function priceOverridesOf(models: readonly Pick<ModelConfig, 'name' | 'provider' | 'price'>[]): Record<string, ModelPriceOverride> {
  const out: Record<string, ModelPriceOverride> = {};
  const named = new Set<string>();
  for (const m of models) {
    if (m.price !== undefined) out[`${m.provider}/${m.name}`] = m.price;
    if (named.has(m.name)) continue;
    named.add(m.name);
    if (m.price !== undefined) out[m.name] = m.price;
  }
  return out;
}
