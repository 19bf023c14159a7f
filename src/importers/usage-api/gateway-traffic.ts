import type { Store } from '../../store/types.js';
import type { GatewayProvider } from '../import-config.js';
import type { ApiUsageRow, UsageApiInfo } from './types.js';

/**
 * A provider's organisation usage report holds everything its keys did, the gateway's own upstream traffic included,
 * which the gateway metered request by request. `providers.ID.usageReportIds` names that traffic as the report does
 * (the gateway's key ids, its projects or workspaces): rows carrying one are not stored. Without them, days on which
 * the gateway also served the report's models are said to be counted twice, with what to set.
 */

/** Whether a report row is the gateway's own traffic, or null when no provider names any (nothing to match). */
export function gatewayRowMatcher(api: Pick<UsageApiInfo, 'gatewayIds'>, providers: readonly GatewayProvider[]): ((row: ApiUsageRow) => boolean) | null {
  if (!api.gatewayIds) return null;
  // Ids are the provider's own (key_…, apikey_…, proj_…, wrkspc_…): matched whichever provider entry names them.
  const keys = new Set(providers.flatMap((p) => p.apiKeyIds));
  const projects = new Set(providers.flatMap((p) => p.projectIds));
  if (keys.size === 0 && projects.size === 0) return null;
  return (row) => (row.apiKey !== null && keys.has(row.apiKey)) || (row.projectId !== null && projects.has(row.projectId));
}

/** A model without its date suffix (gpt-4o-mini-2024-07-18, claude-sonnet-4-5-20250929): the gateway may name either. */
const family = (model: string): string => model.replace(/-(\d{4}-\d{2}-\d{2}|\d{8})$/, '');

/**
 * The warning for days on which the gateway served models this import's rows report, when none of its rows was
 * matched as the gateway's own (no `usageReportIds`, or ids that match nothing): null when there is none.
 */
export async function gatewayOverlapWarning(
  store: Pick<Store, 'aggregate'>,
  api: Pick<UsageApiInfo, 'gatewayIds' | 'providerType' | 'eventSource'>,
  rows: readonly { day: number; model: string | null }[],
  providers: readonly GatewayProvider[],
): Promise<string | null> {
  if (!api.gatewayIds || rows.length === 0) return null;
  const models = new Map<string, Set<string>>();
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const r of rows) {
    if (r.model === null) continue;
    const key = new Date(r.day).toISOString().slice(0, 10);
    const set = models.get(key) ?? new Set<string>();
    set.add(family(r.model));
    models.set(key, set);
    lo = Math.min(lo, r.day);
    hi = Math.max(hi, r.day + 86_400_000);
  }
  if (models.size === 0) return null;
  const gateway = await store.aggregate('day', { source: 'gateway', since: lo, until: hi }, { timeZone: 'UTC' });
  const days = gateway.filter((d) => d.models.some((m) => models.get(d.key)?.has(family(m)) === true)).map((d) => d.key);
  if (days.length === 0) return null;
  const mine = providers.filter((p) => p.type === api.providerType);
  const named = mine.filter((p) => p.apiKeyIds.length > 0 || p.projectIds.length > 0);
  const shown = days.length > 5 ? `${days.slice(0, 5).join(', ')} and ${days.length - 5} more` : days.join(', ');
  const where = mine.length > 0 ? mine.map((p) => `providers.${p.id}.usageReportIds`).join(' or ') : `providers.<id>.usageReportIds`;
  const ids = api.providerType === 'openai' ? 'apiKeyIds: the api_key_id of the key the gateway uses (key_…), or projectIds: a project only it uses (proj_…)' : 'apiKeyIds: the api_key_id of the key the gateway uses (apikey_…), or projectIds: a workspace only it uses (wrkspc_…)';
  const why =
    named.length > 0
      ? `none of this import's rows carries the ids in ${named.map((p) => `providers.${p.id}.usageReportIds`).join(', ')}: check them against the report's api_key_id and ${api.providerType === 'openai' ? 'project_id' : 'workspace_id'}`
      : `set ${where} (${ids}) and import again: those rows are then left to the gateway's own metering`;
  return `the gateway also metered these models on ${shown} (UTC): ${api.eventSource}'s rows include the gateway's own upstream traffic, so reports adding every source may count those days twice. To fix it, ${why}; or read the sources apart with --source.`;
}
