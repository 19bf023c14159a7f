import type { UsageApiSummary } from './run.js';

const usd = (n: number): string => `$${n.toFixed(2)}`;

/**
 * The summary's second line: what the usage rows cost, priced from the catalogue or as the provider estimated them
 * (Claude Code analytics), next to the provider's cost report when one was read, saying so when it was read but had
 * nothing for the range, and when none was read.
 */
export function formatCostLine(
  s: Pick<UsageApiSummary, 'pricedCostUsd' | 'estimatedCostUsd' | 'reportedCostUsd' | 'costReportRows' | 'costReportPages'> & Partial<Pick<UsageApiSummary, 'meteredByGateway'>>,
): string {
  const parts: string[] = [];
  if (s.pricedCostUsd > 0 || s.estimatedCostUsd === 0) parts.push(`${usd(s.pricedCostUsd)} priced from usage`);
  if (s.estimatedCostUsd > 0) parts.push(`${usd(s.estimatedCostUsd)} as the provider estimated it`);
  // The cost report is the organisation's whole bill: the gateway's own rows, left to its metering, are in it.
  const gateway = (s.meteredByGateway ?? 0) > 0 ? ` (which includes the gateway's own traffic, the ${s.meteredByGateway!.toLocaleString('en-US')} rows not stored)` : '';
  parts.push(
    s.costReportRows > 0
      ? `${usd(s.reportedCostUsd)} in the provider's cost report${gateway}`
      : s.costReportPages > 0
        ? "the provider's cost report was read and has no costs for this range"
        : 'no cost report read',
  );
  return `  cost: ${parts.join('; ')}`;
}

/** Rows a day read again from the API replaced (it reports them in other buckets or groups now), or null. */
export function formatRemovedLine(s: Pick<UsageApiSummary, 'eventsRemoved'>): string | null {
  if (s.eventsRemoved === 0) return null;
  return `  ${s.eventsRemoved.toLocaleString('en-US')} stored rows of those days removed: the API now reports them in other buckets or groups`;
}

/** Stored days dated anew (at noon of their date in the config's timeZone, instead of 00:00 UTC), or null. */
export function formatRedatedLine(s: Pick<UsageApiSummary, 'eventsRedated'>): string | null {
  if (s.eventsRedated === 0) return null;
  return `  ${s.eventsRedated.toLocaleString('en-US')} stored rows dated anew: a day's usage is dated at noon of that day in the config's timeZone, so it falls on the provider's day`;
}

export function isUsageApiSummary<S extends object>(s: S): s is S & UsageApiSummary {
  return 'pricedCostUsd' in s && 'estimatedCostUsd' in s && 'reportedCostUsd' in s && 'costReportRows' in s && 'costReportPages' in s && 'eventsRemoved' in s && 'warnings' in s;
}
