import type { Endpoint } from '../../usage/event.js';
import type { NormalisedUsage } from '../../usage/types.js';
import type { SseEvent } from '../sse.js';

/** The two wire formats clients speak to Goodhart. Errors go back in the format of the route's wire. */
export type Wire = 'openai' | 'anthropic';

/** What the core needs from a JSON request body. Validated loosely: the provider validates the rest. */
export interface RequestInfo {
  model: string | null;
  stream: boolean;
  /** Client-provided end-user or session id (OpenAI `user`, Anthropic `metadata.user_id`). */
  clientUser: string | null;
}

/**
 * Watches one streamed response event by event (the bytes are forwarded by the core, unchanged unless `drop`).
 * Cheap on the hot path: inspect strings, parse JSON only for the few events that carry usage.
 */
export interface StreamMeter {
  /** Returns true when the event must NOT be forwarded to the client. */
  onEvent(ev: SseEvent, now: number): boolean;
  /** Usage reported by the provider, or null if the stream ended without it. */
  usage(): NormalisedUsage | null;
  /** Tokens reported for input before the stream broke off (Anthropic's message_start), else null. */
  partialInput(): NormalisedUsage | null;
  /** Text generated so far (only computed on demand, for estimating an interrupted stream). */
  outputText(): string;
  firstTokenAt(): number | null;
  modelServed(): string | null;
  providerRequestId(): string | null;
  /** The error type of an error the provider sent inside the stream (`overloaded_error`, `server_error`), else null. */
  streamError(): string | null;
}

export interface PreparedBody {
  /** The body to send upstream: the client's bytes when unchanged, or re-serialised JSON. */
  body: Buffer | string;
  /** OpenAI chat streams: the client did not ask for the usage chunk we injected, so the meter drops it. */
  dropUsageChunk: boolean;
}

/**
 * One adapter per wire protocol. The core (gateway/proxy.ts) only ever sees this interface;
 * adding a provider touches its folder and one line in registry.ts.
 */
export interface ProviderAdapter {
  readonly wire: Wire;
  /** Endpoints this adapter forwards, with the upstream path relative to the provider's base URL. */
  readonly paths: Partial<Record<Endpoint, string>>;
  /** Model-name globs served when the config lists none. */
  readonly defaultModels: readonly string[];
  /** Authentication and protocol headers for the upstream request. */
  upstreamHeaders(apiKey: string | undefined): Record<string, string>;
  readInfo(endpoint: Endpoint, json: Record<string, unknown>): RequestInfo;
  /** Adjusts the request before forwarding (model renaming, usage injection). */
  prepare(endpoint: Endpoint, json: Record<string, unknown>, raw: Buffer, upstreamModel: string | null): PreparedBody;
  /** Usage from a complete JSON response body. */
  usageFromBody(endpoint: Endpoint, json: unknown): NormalisedUsage | null;
  createStreamMeter(endpoint: Endpoint, prepared: PreparedBody): StreamMeter;
  /** Input tokens counted locally, for when the provider reports none. */
  estimateInput(endpoint: Endpoint, json: Record<string, unknown>): number;
  /** Output tokens counted locally from a complete (non-streamed) response body, for when it carries no usage. */
  estimateOutput(endpoint: Endpoint, response: unknown): number;
  /**
   * Why this request cannot be metered as asked (its answer would be produced after it ends, out of Goodhart's
   * sight), in words that say what to send instead; null when it can. Refused with a 400 before admission, before
   * anything is sent upstream.
   */
  unmeterable(endpoint: Endpoint, json: Record<string, unknown>): string | null;
}
