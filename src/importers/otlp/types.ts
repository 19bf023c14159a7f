import type { OutcomeKind } from '../../outcomes/event.js';
import type { Endpoint } from '../../usage/event.js';
import type { NormalisedUsage } from '../../usage/types.js';

/** Who a telemetry record names (resource or record attributes). */
export interface OtelIdentity {
  email: string | null;
  account: string | null;
  team: string | null;
}

/** A usage record read from a span, a log event or metric points, before attribution and pricing. */
export interface OtelUsage {
  /** Unique per request or per series interval: the deterministic event id is made from it. */
  key: string;
  at: number;
  endedAt: number;
  provider: string;
  endpoint: Endpoint;
  /** The model that served it (priced by it). */
  model: string | null;
  /** The model asked for, when the record names it apart (a span's gen_ai.request.model); else `model`. */
  modelRequested?: string | null;
  usage: NormalisedUsage;
  /** Cost the emitter computed (Claude Code `cost_usd`, `claude_code.cost.usage`), USD. */
  reportedCostUsd: number | null;
  providerRequestId: string | null;
  sessionId: string | null;
  identity: OtelIdentity;
  tags: string[];
  errorClass: string | null;
}

export interface OtelOutcome {
  key: string;
  kind: OutcomeKind;
  count: number;
  at: number;
  sessionId: string | null;
  identity: OtelIdentity;
  attrs: Record<string, string>;
}

export interface MappedBatch {
  usage: OtelUsage[];
  outcomes: OtelOutcome[];
  /** Items (spans, data points, log records) that were malformed and skipped. */
  rejected: number;
}
