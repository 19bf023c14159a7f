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
  /** Items (spans, data points, log records) that were malformed and skipped, by why. */
  rejected: Rejections;
}

/**
 * Items skipped, counted by why: a phrase naming the field and what it lacked, so the partial success an exporter logs
 * says what to fix (OTLP: the server SHOULD say why), where it said only "2 malformed items skipped".
 */
export type Rejections = Record<string, number>;

export function reject(r: Rejections, why: string): void {
  r[why] = (r[why] ?? 0) + 1;
}

export const rejectedCount = (r: Rejections): number => Object.values(r).reduce((a, n) => a + n, 0);

/** `2 data points skipped: 1 … without timeUnixNano (…); 1 … whose value …`; `item`: one item, and several. */
export function rejectionMessage(r: Rejections, item: readonly [string, string]): string {
  const n = rejectedCount(r);
  const reasons = Object.entries(r).sort((a, b) => b[1] - a[1]);
  return `${n} ${n === 1 ? item[0] : item[1]} skipped: ${reasons.map(([why, k]) => `${k} ${why}`).join('; ')}`;
}

/** Why a time was not read: missing, or not unix nanoseconds from 1970 to 2099 (attributes.ts nanos). */
export const BAD_TIME = 'unix nanoseconds as a decimal string, from 1970 to 2099';
