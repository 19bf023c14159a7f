import type { GoodhartConfig, ModelPrice, ProviderConfig, ProviderType } from '../config/schema.js';
import { PROVIDER_ENV } from '../config/provider-env.js';
import { GoodhartError } from '../errors.js';
import { PROVIDER_ADAPTERS } from './providers/registry.js';
import type { ProviderAdapter, Wire } from './providers/types.js';

export interface ResolvedProvider {
  id: string;
  type: ProviderType;
  config: ProviderConfig;
  adapter: ProviderAdapter;
}

export interface Route {
  provider: ResolvedProvider;
  /** The name to send upstream, or null to send the client's unchanged. */
  upstreamModel: string | null;
  price: ModelPrice | undefined;
  /** The pricer's key of the `models:` entry whose `price` applies (`provider/name`, config/prices.ts), when `price` is set. */
  priceName?: string;
}

function globToTest(glob: string): (name: string) => boolean {
  if (!glob.includes('*')) return (name) => name === glob;
  const re = new RegExp(`^${glob.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return (name) => re.test(name);
}

/** Models whose names say which kind of provider serves them (the types' default globs: claude-*, gpt-*…). */
const MISSING_KIND = [
  { type: 'anthropic', name: 'Anthropic', label: 'an Anthropic' },
  { type: 'openai', name: 'OpenAI', label: 'an OpenAI' },
] as const;

/** 10k distinct names is far beyond any real catalogue; the bound stops random names from growing the cache. */
const CACHE_LIMIT = 10_000;

/**
 * Longer names are refused before they are cached or echoed: a 10 MB name held 29 MB per entry (the name, and a 404
 * message quoting it twice), so a key holder could grow the gateway's memory until it crashed. Real names are short.
 */
export const MAX_MODEL_NAME = 256;

/**
 * Decides which provider serves a model. Resolution order: an entry in `models:`; a `provider-id/model` prefix;
 * the providers' `models` globs (or their type's defaults), in the order the providers are declared.
 * Results are cached: the request path does one Map lookup.
 */
export class ModelRouter {
  private readonly providers: ResolvedProvider[];
  private readonly matchers: { provider: ResolvedProvider; test: (name: string) => boolean }[] = [];
  private readonly cache = new Map<string, Route | GoodhartError>();

  constructor(private readonly config: GoodhartConfig) {
    this.providers = Object.entries(config.providers).map(([id, cfg]) => ({
      id,
      type: cfg.type,
      config: cfg,
      adapter: PROVIDER_ADAPTERS[cfg.type],
    }));
    for (const provider of this.providers) {
      const globs = provider.config.models ?? provider.adapter.defaultModels;
      for (const g of globs) this.matchers.push({ provider, test: globToTest(g) });
    }
  }

  list(): ResolvedProvider[] {
    return this.providers;
  }

  /** Throws GoodhartError (404 unknown model, 400 wrong wire). */
  resolve(model: string, wire: Wire): Route {
    if (model.length > MAX_MODEL_NAME) {
      throw new GoodhartError('invalid_request', 400, `The model name is ${model.length} characters long; model names are at most ${MAX_MODEL_NAME}. Check the "model" field (it begins "${model.slice(0, 40)}").`);
    }
    const key = `${wire}\u0000${model}`;
    let hit = this.cache.get(key);
    if (hit === undefined) {
      hit = this.compute(model, wire);
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(key, hit);
    }
    if (hit instanceof GoodhartError) throw hit;
    return hit;
  }

  /** Whether a provider on this wire serves `model` (resolve would not throw). */
  serves(model: string, wire: Wire): boolean {
    try {
      this.resolve(model, wire);
      return true;
    } catch {
      return false;
    }
  }

  private byId(id: string): ResolvedProvider | undefined {
    return this.providers.find((p) => p.id === id);
  }

  private compute(model: string, wire: Wire): Route | GoodhartError {
    const candidates: Route[] = [];
    const declared = this.config.models.find((m) => m.name === model);
    if (declared) {
      const provider = this.byId(declared.provider)!;
      candidates.push({ provider, upstreamModel: declared.upstreamName ?? null, price: declared.price, priceName: `${provider.id}/${declared.name}` });
    }
    const slash = model.indexOf('/');
    if (slash > 0) {
      const provider = this.byId(model.slice(0, slash));
      const rest = model.slice(slash + 1);
      if (provider && rest) {
        // A model declared for this provider keeps its upstream name and price when named with the provider.
        const entry = this.config.models.find((m) => m.name === rest && m.provider === provider.id);
        candidates.push({ provider, upstreamModel: entry?.upstreamName ?? rest, price: entry?.price, priceName: `${provider.id}/${rest}` });
      }
    }
    for (const m of this.matchers) {
      if (m.test(model)) candidates.push({ provider: m.provider, upstreamModel: null, price: undefined });
    }
    const route = candidates.find((c) => c.provider.adapter.wire === wire);
    if (route) return route;
    const other = candidates[0];
    if (other) {
      const path = other.provider.adapter.wire === 'anthropic' ? 'POST /v1/messages' : 'POST /v1/chat/completions';
      return new GoodhartError(
        'invalid_request',
        400,
        `Model "${model}" is served by provider "${other.provider.id}", which speaks the ${other.provider.adapter.wire === 'anthropic' ? 'Anthropic Messages' : 'OpenAI'} API. Call ${path} with it instead.`,
      );
    }
    const known = this.providers.map((p) => p.id);
    if (known.length === 0) {
      return new GoodhartError(
        'model_not_found',
        404,
        // The router cannot tell a config file from the environment, so the advice covers both, for whoever runs it.
        `Model "${model}" is not available: this gateway has no provider configured. Whoever runs it: with a config file, declare providers under \`providers:\` in it (OPENAI_API_KEY and ANTHROPIC_API_KEY are read only when there is no config file); without one, set OPENAI_API_KEY or ANTHROPIC_API_KEY for \`goodhart serve\`.`,
      );
    }
    const configured = this.providers.map((p) => `${p.id} (${p.type})`).join(', ');
    // A model of a kind no configured provider is (claude-* with only OpenAI set up): the provider is what is missing,
    // and a prefix naming another provider could only lead to a 400.
    const kind = MISSING_KIND.find((k) => PROVIDER_ADAPTERS[k.type].defaultModels.some((g) => globToTest(g)(model)));
    if (kind !== undefined && !this.providers.some((p) => p.type === kind.type)) {
      return new GoodhartError(
        'model_not_found',
        404,
        `Model "${model}" is ${kind.label} model, and this gateway has no ${kind.name} provider (configured: ${configured}). Whoever runs it: set ${PROVIDER_ENV[kind.type].apiKey} for \`goodhart serve\` (read when there is no config file), or declare a provider of \`type: ${kind.type}\` under \`providers:\` in the config.`,
      );
    }
    const onWire = this.providers.filter((p) => p.adapter.wire === wire).map((p) => p.id);
    if (onWire.length === 0) {
      const api = wire === 'anthropic' ? 'Anthropic Messages API' : 'OpenAI API';
      const other = wire === 'anthropic' ? 'POST /v1/chat/completions (or /v1/responses)' : 'POST /v1/messages';
      return new GoodhartError(
        'model_not_found',
        404,
        `Model "${model}" is not available: no configured provider speaks the ${api} (configured: ${configured}). Call ${other} with a model they serve, or whoever runs the gateway configures a provider of \`type: ${wire}\` (${PROVIDER_ENV[wire].apiKey}, or under \`providers:\` in the config).`,
      );
    }
    return new GoodhartError(
      'model_not_found',
      404,
      `Model "${model}" is not served by any configured provider (${known.join(', ')}). Check the name, add it under \`models:\` in the config, or prefix it with a provider id, like "${onWire[0]}/${model}".`,
    );
  }
}

/** The wires on which some provider serves `model`. */
function wiresServing(router: ModelRouter, model: string): Wire[] {
  return (['openai', 'anthropic'] as const).filter((wire) => router.serves(model, wire));
}

/**
 * Fails fast on `fallbacks` that could never be used: a model no provider serves, or an alternative no provider
 * serves on a wire the model is asked for on (a fallback is tried for the same request, so on the same wire).
 */
export function checkFallbacks(config: GoodhartConfig, router: ModelRouter): void {
  const bad = (model: string, why: string): GoodhartError =>
    new GoodhartError('config_invalid', 500, `fallbacks.${model}: ${why}`);
  for (const [model, alternatives] of Object.entries(config.fallbacks)) {
    const wires = wiresServing(router, model);
    if (wires.length === 0) {
      throw bad(model, `no configured provider serves "${model}", so its fallbacks would never be tried. Fix the name, or add it to a provider's \`models\` or to \`models:\`.`);
    }
    for (const alternative of alternatives) {
      if (wires.some((wire) => router.serves(alternative, wire))) continue;
      const served = wiresServing(router, alternative);
      throw bad(
        model,
        served.length === 0
          ? `no configured provider serves "${alternative}". Fix the name, or add it to a provider's \`models\` or to \`models:\`.`
          : `"${alternative}" speaks the ${served.join(' and ')} API and "${model}" the ${wires.join(' and ')} API: a fallback answers the same request, so it must be served on the same API. Name a model of that API instead.`,
      );
    }
  }
}
