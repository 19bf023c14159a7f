import { priceOverridesOf } from '../config/prices.js';
import type { GoodhartConfig, ProviderType } from '../config/schema.js';
import type { ModelPriceOverride } from '../usage/pricing.js';

/**
 * The part of the config an import uses. Without a config file it is the schema's defaults, written out here so
 * that `goodhart import` loads neither the YAML parser nor the schema (a third of an incremental re-import's time);
 * import-config.test.ts checks these equal what the schema gives.
 */
export interface ImportConfig {
  identities: GoodhartConfig['identities'];
  users: GoodhartConfig['users'];
  projects: GoodhartConfig['projects'];
  /** Git emails → people (`outcomes.people`): spend maps to people as their outcomes do. */
  outcomes: { people: GoodhartConfig['outcomes']['people'] };
  priceOverrides: Record<string, ModelPriceOverride>;
  db: string | undefined;
  /** Where a usage report's day is dated (usage-api/bucket-date.ts). */
  timeZone: string;
  /** The gateway's providers, with the ids their usage reports give its own traffic (`usageReportIds`). */
  gatewayProviders: GatewayProvider[];
  fingerprints: { enabled: boolean; retentionDays: number; secret?: string | undefined };
}

export interface GatewayProvider {
  id: string;
  type: ProviderType;
  apiKeyIds: readonly string[];
  projectIds: readonly string[];
}

export const NO_FILE_IMPORT_CONFIG: Readonly<ImportConfig> = Object.freeze({
  identities: [],
  users: [],
  projects: [],
  outcomes: { people: [] },
  priceOverrides: {},
  db: undefined,
  timeZone: 'UTC',
  gatewayProviders: [],
  fingerprints: { enabled: true, retentionDays: 30 },
});

export function importConfigOf(config: GoodhartConfig): ImportConfig {
  const priceOverrides = priceOverridesOf(config.models);
  return {
    identities: config.identities,
    users: config.users,
    projects: config.projects,
    outcomes: { people: config.outcomes.people },
    priceOverrides,
    db: config.db,
    timeZone: config.timeZone,
    gatewayProviders: Object.entries(config.providers).map(([id, p]) => ({
      id,
      type: p.type,
      apiKeyIds: p.usageReportIds?.apiKeyIds ?? [],
      projectIds: p.usageReportIds?.projectIds ?? [],
    })),
    fingerprints: config.detect.fingerprints,
  };
}
