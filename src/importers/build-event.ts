import { usageExtras, type EventSource, type UsageEvent } from '../usage/event.js';
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
  const cost = p.reportedCostUsd ?? catalogueCostUsd;
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
    ...usageExtras(u),
    costUsd: cost,
    usageEstimated: false,
    status: 200,
    errorClass: null,
    streamed: false,
    clientAborted: false,
    rawUsage: u.raw === null || u.raw === undefined ? null : JSON.stringify(u.raw),
  };
}

/**
 * Which of several records of one request to keep: the main chain over a sidechain (Claude Code), then the larger
 * token sum (Claude Code's per-block lines), then the earlier start: a copy of a request in a later log (a Codex fork
 * starts with its parent's history, re-dated to the fork) is not where and when it happened. The store's rank.
 */
export function betterEvent(a: UsageEvent, b: UsageEvent): UsageEvent {
  const side = (e: UsageEvent): number => (e.tags.includes('sidechain') ? 0 : 1);
  if (side(a) !== side(b)) return side(a) > side(b) ? a : b;
  const tokens = (b.inputTokens + b.outputTokens) - (a.inputTokens + a.outputTokens);
  if (tokens !== 0) return tokens > 0 ? b : a;
  return b.startedAt < a.startedAt ? b : a;
}
