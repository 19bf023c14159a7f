import type { IncomingHttpHeaders } from 'node:http';
import type { KeyRecord } from '../store/types.js';
import type { Endpoint } from '../usage/event.js';
import type { NormalisedUsage } from '../usage/types.js';

/** What the gateway knows about a request before forwarding it: everything a policy decision may use. */
export interface AdmissionRequest {
  key: KeyRecord;
  endpoint: Endpoint;
  /** The model the client asked for, and the provider that would serve it. */
  model: string;
  provider: string;
  providerType: string;
  tags: readonly string[];
  /** The parsed request body (read-only: policies must not edit it; a downgrade returns `model`). */
  body: Readonly<Record<string, unknown>>;
  /** Size of the request body in bytes: an upper bound on its input tokens (a token is at least one byte). */
  bodyBytes: number;
  /** The client's request headers (e.g. `x-goodhart-route: off` pins the model). */
  headers: Readonly<IncomingHttpHeaders>;
  now: number;
  /**
   * Whether `model` could serve this request in its place (a provider on the same wire serves it). Absent: any
   * model is taken to. A budget's downgrade model that cannot is not used: the request is served as asked.
   */
  servable?: (model: string) => boolean;
  /**
   * A configured fallback for a request already admitted for another model, which failed before answering: checked
   * for its tier and budgets (at its own price), not counted again against rate limits, never routed.
   */
  fallback?: boolean;
  /**
   * Whether the request is still in flight (its answer not finished, its client still connected). While it is, the
   * reservation it was admitted with is kept, however long it streams; once it is not (or without this), a
   * reservation never settled is released `server.upstreamTimeoutMs` after the request was last seen in flight.
   * Asked off the request path (the sweeper), so it must be cheap.
   */
  inFlight?: () => boolean;
  /**
   * With `fallback`: the model that failed, whose alternative this is. Routing hands its decision over to fallbacks
   * of the model it routed to, not to those of the model asked for (served as asked, then failed over as configured).
   */
  failedModel?: string;
}

export interface AdmissionResult {
  /** Serve from this model instead (hard cap with action `downgrade`, or routing). */
  model?: string;
  /**
   * The model to serve after all when `model` (and its configured fallbacks) fail before answering: routing names
   * the model it stepped down from, so a cheaper model's outage never fails a request the asked-for model would
   * serve. A budget downgrade names none (the downgrade is the point).
   */
  fallbackTo?: string;
  /** Response headers to add (budget remaining/reset, warnings, downgrade notice). */
  headers: Record<string, string>;
  /**
   * Called exactly once when the request is over, with what it really consumed (null usage when nothing was
   * generated). Releases the reservation and books the real cost.
   */
  settle(outcome: {
    usage: NormalisedUsage | null;
    costUsd: number | null;
    /** The model the gateway served the request from: `model`, or a fallback (`fallbackTo`, or one in config). */
    model: string;
  }): void;
}

/**
 * The gateway's one hook for governance. `admit` throws a GoodhartError (403 tier not allowed, 429 budget or
 * rate limit) to refuse. It may return synchronously: the common case must not cost a promise tick.
 */
export interface Policy {
  admit(req: AdmissionRequest): AdmissionResult | Promise<AdmissionResult>;
}
