import type { NormalisedUsage, ToolCalls } from './types.js';

/**
 * One usage event per request (gateway) or per metered turn (importers). No prompt or response text, ever.
 */
export const EVENT_SOURCES = [
  'gateway',
  'claude-code',
  'codex',
  'gemini',
  'openai-usage',
  'anthropic-usage',
  /** Anthropic's Claude Code analytics: Claude Code's share of the spend `anthropic-usage` reports, per person. */
  'anthropic-claude-code',
  'otel',
] as const;
export type EventSource = (typeof EVENT_SOURCES)[number];

export const ENDPOINTS = [
  'chat.completions',
  'responses',
  'embeddings',
  'messages',
  'messages.count_tokens',
  'models',
  'other',
] as const;
export type Endpoint = (typeof ENDPOINTS)[number];

export interface UsageEvent {
  /** Goodhart's own id (UUIDv7-like, time ordered). Unique; inserts are idempotent on it. */
  id: string;
  source: EventSource;
  /** The provider's response id (chatcmpl-…, msg_…, resp_…) when known. */
  providerRequestId: string | null;
  /** Epoch milliseconds. */
  startedAt: number;
  firstTokenAt: number | null;
  endedAt: number;

  userId: string | null;
  teamId: string | null;
  projectId: string | null;
  keyId: string | null;
  sessionId: string | null;
  tags: string[];
  /** Repository and branch, when known (importers: cwd / git remote / gitBranch). */
  repo: string | null;
  branch: string | null;

  provider: string;
  endpoint: Endpoint;
  modelRequested: string | null;
  modelServed: string | null;

  inputTokens: number;
  cacheReadTokens: number;
  cacheWrite5mTokens: number;
  cacheWrite1hTokens: number;
  outputTokens: number;
  reasoningTokens: number;
  /** Audio tokens among `inputTokens` and `outputTokens` (OpenAI's audio models), priced at the audio rates; absent: 0. */
  audioInputTokens?: number;
  audioOutputTokens?: number;
  /** Built-in tool calls the provider billed per call, by kind (`{"web_search": 3}`); absent when there were none. */
  toolCalls?: ToolCalls;

  /** USD; null when the model has no price in the catalogue or config. */
  costUsd: number | null;
  /** True when tokens were counted by Goodhart's tokenizer because the provider never reported usage. */
  usageEstimated: boolean;

  /** HTTP status returned to the client (0 when the client went away before any status was sent). */
  status: number;
  /** Null on success; otherwise a short class such as `upstream_5xx`, `upstream_timeout`, `client_aborted`. */
  errorClass: string | null;
  streamed: boolean;
  clientAborted: boolean;

  /** The provider's raw usage object as JSON text (kept for re-pricing), or null. */
  rawUsage: string | null;

  /**
   * Set when the gateway's fallback served the request (config `fallbacks`): the first target that failed and why,
   * as `provider/model: reason` (e.g. `openai/gpt-4o: upstream_5xx (503)`). Absent or null otherwise; only the
   * gateway sets it.
   */
  fallbackFrom?: string | null;
}

/** The event's optional usage fields from a usage (audio tokens, tool calls), each left out when there is none. */
export function usageExtras(u: NormalisedUsage | null | undefined): Pick<UsageEvent, 'audioInputTokens' | 'audioOutputTokens' | 'toolCalls'> {
  if (!u) return {};
  const out: Pick<UsageEvent, 'audioInputTokens' | 'audioOutputTokens' | 'toolCalls'> = {};
  if (u.input.audio) out.audioInputTokens = u.input.audio;
  if (u.output.audio) out.audioOutputTokens = u.output.audio;
  if (u.toolCalls && Object.values(u.toolCalls).some((n) => n !== undefined && n > 0)) out.toolCalls = { ...u.toolCalls };
  return out;
}
