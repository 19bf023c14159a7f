import type { ProviderConfig } from './schema.js';

/** The variables the official SDKs read, which `configFromEnv` makes the `openai` and `anthropic` providers from. */
export const PROVIDER_ENV = {
  openai: { apiKey: 'OPENAI_API_KEY', baseUrl: 'OPENAI_BASE_URL' },
  anthropic: { apiKey: 'ANTHROPIC_API_KEY', baseUrl: 'ANTHROPIC_BASE_URL' },
} as const;

/** Providers made from those variables (not from a config file): their settings are named by the variable. */
const fromEnv = new WeakMap<ProviderConfig, (typeof PROVIDER_ENV)[keyof typeof PROVIDER_ENV]>();

/**
 * Where the operator sets a provider's `field`, for messages that tell them to check it: the variable it came
 * from (OPENAI_BASE_URL) for a provider made without a config file, else its path in the file.
 */
export function providerSetting(id: string, provider: ProviderConfig, field: 'apiKey' | 'baseUrl'): string {
  return fromEnv.get(provider)?.[field] ?? `providers.${id}.${field}`;
}

export function markFromEnv(provider: ProviderConfig, names: (typeof PROVIDER_ENV)[keyof typeof PROVIDER_ENV]): void {
  fromEnv.set(provider, names);
}
