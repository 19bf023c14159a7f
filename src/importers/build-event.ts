import type { EventSource, UsageEvent } from '../usage/event.js';
import type { Attribution, ProjectAttribution } from './attribution.js';
import { stableId } from './ids.js';
import type { ParsedUsage } from './types.js';

/** A parsed log record, attributed and priced, as a usage event. Pure. */
export function toUsageEvent(
  source: EventSource,
  p: ParsedUsage,
  who: Attribution & ProjectAttribution,
  catalogueCostUsd: number | null,
): UsageEvent {
  const u = p.usage;
  const cost = p.reportedCostUsd ?? (catalogueCostUsd === null ? null : catalogueCostUsd * p.priceMultiplier);
  return {
    id: stableId(source, p.key),
    source,
    providerRequestId: p.providerRequestId,
    startedAt: p.at,
    firstTokenAt: null,
    endedAt: p.at,
    userId: who.userId,
    teamId: who.teamId,
    projectId: who.projectId,
    keyId: null,
    sessionId: p.sessionId,
    tags: p.tags,
    repo: who.repo,
    branch: p.branch,
    provider: p.provider,
    endpoint: p.endpoint,
    modelRequested: p.model,
    modelServed: p.model,
    inputTokens: u.input.total,
    cacheReadTokens: u.input.cacheRead,
    cacheWrite5mTokens: u.input.cacheWrite5m,
    cacheWrite1hTokens: u.input.cacheWrite1h,
    outputTokens: u.output.total,
    reasoningTokens: u.output.reasoning,
    costUsd: cost,
    usageEstimated: false,
    status: 200,
    errorClass: null,
    streamed: false,
    clientAborted: false,
    rawUsage: u.raw === null || u.raw === undefined ? null : JSON.stringify(u.raw),
  };
}

/** Claude Code's rule for several records of one request: main chain over sidechain, then the larger token sum. */
export function betterEvent(a: UsageEvent, b: UsageEvent): UsageEvent {
  const side = (e: UsageEvent): number => (e.tags.includes('sidechain') ? 0 : 1);
  if (side(a) !== side(b)) return side(a) > side(b) ? a : b;
  return b.inputTokens + b.outputTokens > a.inputTokens + a.outputTokens ? b : a;
}
