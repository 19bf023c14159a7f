import { uuidv7 } from '../keys/ids.js';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { isUtf8 } from 'node:buffer';
import { StringDecoder } from 'node:string_decoder';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GoodhartError } from '../errors.js';
import type { KeyRecord } from '../store/types.js';
import { countTextTokens } from '../usage/estimate.js';
import { usageExtras, type Endpoint, type UsageEvent } from '../usage/event.js';
import type { Pricer } from '../usage/pricing.js';
import type { NormalisedUsage } from '../usage/types.js';
import type { AdmissionResult, Policy } from '../policy/types.js';
import type { GatewayMetrics } from './metrics.js';
import type { KeyCache } from './auth.js';
import type { JsonBody } from './body.js';
import type { PreparedBody, ProviderAdapter, RequestInfo, StreamMeter, Wire } from './providers/types.js';
import type { ModelRouter, ResolvedProvider, Route } from './router.js';
import { firstStringMember, lastStringMember, TailKeeper, ToolCallItems, usageFromTail } from './json-tail.js';
import { parseEvent, SseSplitter } from './sse.js';
import { ResponseTooLarge, type UpstreamCall } from './upstream-call.js';
import { ClientGone, isTimeout, upstreamError, type Upstreams } from './upstream.js';
import { loopError, VIA_HEADER, viaOf } from './via.js';
import { ROUTE_REASON_HEADER, ROUTED_FROM_HEADER } from '../route/policy.js';

export interface EventSink {
  enqueue(event: UsageEvent): void;
}

export interface ProxyDeps {
  router: ModelRouter;
  keys: KeyCache;
  upstreams: Upstreams;
  pricer: Pricer;
  events: EventSink;
  upstreamTimeoutMs: number;
  now: () => number;
  /** Governance (budgets, tiers, rate limits). Absent: every authenticated request is admitted. */
  policy?: Policy;
  /**
   * Sees each finished request's body and event (waste detection fingerprints, routing quality checks). Called on
   * the request's tail, after its event is queued: it must only queue work, never compute on the spot.
   */
  observers?: readonly RequestObserver[];
  metrics?: GatewayMetrics;
  /** Model → equivalent models tried in order when its provider fails before answering (config `fallbacks`). */
  fallbacks?: Readonly<Record<string, readonly string[]>>;
  /** This gateway's name in `x-goodhart-via` (via.ts). */
  name: string;
}

export interface RequestObserver {
  /** `raw` is the request body's bytes as received (`body` is their parse): neither may be modified. */
  observe(body: Readonly<Record<string, unknown>>, event: Readonly<UsageEvent>, raw: Buffer): void;
}

/** Client headers that carry protocol meaning upstream. Everything else (auth, cookies, x-goodhart-*) stays here. */
const FORWARDED_REQUEST_HEADERS = ['anthropic-version', 'anthropic-beta', 'openai-beta', 'openai-organization', 'openai-project'];

/** Upstream response headers not passed back: hop-by-hop, or recomputed by Goodhart (the body is sent decoded). */
const DROPPED_RESPONSE_HEADERS = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  'content-encoding',
  'set-cookie',
  'date',
  'server',
]);

/** Error bodies are small; 1 MiB is plenty and bounds memory against a hostile upstream. */
const MAX_ERROR_BODY = 1024 * 1024;
/**
 * Non-streamed JSON answers up to 16 MiB are held whole, sent in one write and metered from their parse. Larger ones
 * (2048 float embeddings of 3072 dimensions: 116 MB) are passed on as they arrive and metered from their last bytes
 * (passThrough): the provider bills them, the client asked for them. Beyond 16 MiB, holding costs memory per request
 * (a few such answers at once held a gigabyte) and parsing costs the gateway's thread (~100 ms per 50 MB).
 */
const MAX_HELD_RESPONSE = 16 * 1024 * 1024;
/**
 * Bytes of a passed-through answer searched for its `model`: chat and Messages answers name it in their first
 * hundred bytes, Responses after their `instructions` (a system prompt, rarely past a few KB).
 */
const HEAD_SCAN_BYTES = 256 * 1024;

const TAG_RE = /^[A-Za-z0-9][A-Za-z0-9_.:/=-]{0,63}$/;

/**
 * `x-goodhart-tags`, lower-cased: `Search`, `SEARCH` and `search` are one tag, stored, reported and budgeted as
 * `search` (a `tag:search` budget was escaped by writing the tag in capitals).
 */
export function parseTags(header: string | string[] | undefined): string[] {
  if (header === undefined) return [];
  const text = Array.isArray(header) ? header.join(',') : header;
  const tags = [...new Set(text.split(',').map((t) => t.trim().toLowerCase()).filter((t) => t.length > 0))];
  const bad = tags.find((t) => !TAG_RE.test(t));
  if (bad !== undefined || tags.length > 20) {
    throw new GoodhartError(
      'invalid_request',
      400,
      bad !== undefined
        ? `x-goodhart-tags: "${bad.slice(0, 80)}" is not a valid tag. Use up to 20 comma-separated tags of letters, digits and _ . : / = - (at most 64 characters each).`
        : 'x-goodhart-tags: at most 20 tags per request.',
    );
  }
  return tags;
}

function headerString(h: string | string[] | undefined): string | null {
  const v = Array.isArray(h) ? h[0] : h;
  return v !== undefined && v.length > 0 ? utf8Header(v).slice(0, 256) : null;
}

/**
 * Node reads header bytes as latin1: `café` sent as UTF-8 arrives as `cafÃ©`. Bytes that are valid UTF-8 are read as
 * UTF-8, so a session id matches the same id sent in the body (`user`, `metadata.user_id`); others are kept as sent.
 */
function utf8Header(v: string): string {
  if (!/[\x80-\xff]/.test(v) || /[^\x00-\xff]/.test(v)) return v;
  const bytes = Buffer.from(v, 'latin1');
  return isUtf8(bytes) ? bytes.toString('utf8') : v;
}

function upstreamRequestHeaders(
  clientHeaders: IncomingHttpHeaders,
  provider: ResolvedProvider,
  adapter: ProviderAdapter,
  self: string,
): Record<string, string> {
  const h: Record<string, string> = { 'content-type': 'application/json', 'accept-encoding': 'identity', [VIA_HEADER]: viaOf(clientHeaders, self) };
  for (const name of FORWARDED_REQUEST_HEADERS) {
    const v = clientHeaders[name];
    if (typeof v === 'string') h[name] = v;
  }
  if (adapter.wire === 'anthropic' && h['anthropic-version'] === undefined) h['anthropic-version'] = '2023-06-01';
  if (provider.config.headers) Object.assign(h, provider.config.headers);
  Object.assign(h, adapter.upstreamHeaders(provider.config.apiKey));
  return h;
}

function responseHeaders(upstream: IncomingHttpHeaders, requestId: string): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(upstream)) {
    if (v !== undefined && !DROPPED_RESPONSE_HEADERS.has(k)) out[k] = v;
  }
  out['x-goodhart-request-id'] = requestId;
  return out;
}

function classify(status: number): string | null {
  if (status < 400) return null;
  if (status === 429) return 'upstream_rate_limited';
  return status >= 500 ? 'upstream_5xx' : 'upstream_4xx';
}

/** What one proxied request accumulates; turned into exactly one UsageEvent at the end. */
interface Meter {
  id: string;
  startedAt: number;
  key: KeyRecord;
  endpoint: Endpoint;
  tags: string[];
  session: string | null;
  route: Route | null;
  modelRequested: string | null;
  /** The name `route` was resolved from: the model asked for, the policy's choice, or a fallback. */
  servedAs: string | null;
  streamed: boolean;
  firstTokenAt: number | null;
  modelServed: string | null;
  providerRequestId: string | null;
  usage: NormalisedUsage | null;
  estimated: boolean;
  status: number;
  errorClass: string | null;
  clientAborted: boolean;
  admission: AdmissionResult | null;
  body: Record<string, unknown> | null;
  raw: Buffer | null;
  /** performance.now() marks for the gateway's own overhead (metrics only). */
  receivedAt: number;
  dispatchedAt: number | null;
  bodyDoneAt: number | null;
  sentAt: number | null;
  /** The first target that failed and why, when an equivalent model served the request instead. */
  fallbackFrom: string | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller's key, checked as soon as the headers are in (Proxy.checkKey). */
    goodhartKey: KeyRecord | null;
  }
}

export class Proxy {
  constructor(private readonly deps: ProxyDeps) {}

  /**
   * The metered routes' `onRequest` hook: the key is checked as soon as the headers are in, so a request without a
   * valid one is refused before its body is read (a 10 MB body took 76-150 ms to parse before its 401), and kept on
   * the request for `handle`.
   */
  readonly checkKey = (req: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void): void => {
    const loop = loopError(req.headers, this.deps.name);
    if (loop !== null) return done(loop);
    try {
      const authed = this.deps.keys.authenticate(req.headers);
      if (!(authed instanceof Promise)) {
        req.goodhartKey = authed;
        done();
        return;
      }
      authed.then((key) => {
        req.goodhartKey = key;
        done();
      }, done);
    } catch (err) {
      done(err as Error);
    }
  };

  /** Handles one metered POST route. Every authenticated request produces exactly one usage event. */
  async handle(endpoint: Endpoint, wire: Wire, req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const startedAt = this.deps.now();
    let key = req.goodhartKey;
    if (key === null) {
      const authed = this.deps.keys.authenticate(req.headers);
      key = authed instanceof Promise ? await authed : authed;
    }
    const m: Meter = {
      id: uuidv7(startedAt),
      startedAt,
      key,
      endpoint,
      tags: [],
      // Else Codex's own session headers: it sends no `user`.
      session: headerString(req.headers['x-goodhart-session']) ?? headerString(req.headers['session_id']) ?? headerString(req.headers['conversation_id']),
      route: null,
      modelRequested: null,
      servedAs: null,
      streamed: false,
      firstTokenAt: null,
      modelServed: null,
      providerRequestId: null,
      usage: null,
      estimated: false,
      status: 0,
      errorClass: null,
      clientAborted: false,
      admission: null,
      body: null,
      raw: null,
      receivedAt: performance.now(),
      dispatchedAt: null,
      bodyDoneAt: null,
      sentAt: null,
      fallbackFrom: null,
    };
    try {
      await this.forward(m, wire, req, reply);
    } catch (err) {
      m.status = err instanceof GoodhartError ? err.httpStatus : 500;
      // Already set when the provider's answer was classified (a 5xx whose error body could not be read).
      m.errorClass ??= err instanceof GoodhartError ? err.code : 'internal';
      // The refusal's event is recorded under this id, as an answered request's is.
      if (!reply.sent && !reply.raw.headersSent) reply.header('x-goodhart-request-id', m.id);
      throw err;
    } finally {
      this.record(m);
    }
  }

  private async forward(m: Meter, wire: Wire, req: FastifyRequest, reply: FastifyReply): Promise<void> {
    m.tags = parseTags(req.headers['x-goodhart-tags']);
    const body = req.body as JsonBody | undefined;
    if (!body || body.json === null || typeof body.json !== 'object' || Array.isArray(body.json)) {
      throw new GoodhartError('invalid_request', 400, 'The request body must be a JSON object.');
    }
    const json = body.json as Record<string, unknown>;
    m.body = json;
    m.raw = body.raw;
    const model = json.model;
    if (typeof model !== 'string' || model.length === 0) {
      throw new GoodhartError('invalid_request', 400, 'The request body needs a "model" (a string naming the model to use).');
    }
    m.modelRequested = model.slice(0, 256);
    let servedAs = model;
    let route = this.deps.router.resolve(model, wire);
    const unmeterable = route.provider.adapter.unmeterable(m.endpoint, json);
    if (unmeterable !== null) throw new GoodhartError('invalid_request', 400, unmeterable);
    let upstreamModel = route.upstreamModel;
    const policy = this.deps.policy;
    // In flight until the answer is finished or the client is gone (a provider silent past its timeout ends it too):
    // the budget reservation is kept that long, however long a stream runs (GovernanceEngine.sweep).
    const res = reply.raw;
    const inFlight = () => !res.writableFinished && !res.destroyed;
    const ask = (asked: string, r: Route, fallback: boolean, failedModel?: string) =>
      policy!.admit({
        key: m.key,
        endpoint: m.endpoint,
        model: asked,
        provider: r.provider.id,
        providerType: r.provider.type,
        tags: m.tags,
        body: json,
        bodyBytes: body.raw.length,
        headers: req.headers,
        now: m.startedAt,
        servable: (other) => this.deps.router.serves(other, wire),
        inFlight,
        ...(fallback ? { fallback } : {}),
        ...(failedModel !== undefined ? { failedModel } : {}),
      });
    if (policy) {
      const admitted = ask(model, route, false);
      const admission = admitted instanceof Promise ? await admitted : admitted;
      m.admission = admission;
      if (admission.model !== undefined && admission.model !== model) {
        servedAs = admission.model;
        route = this.deps.router.resolve(admission.model, wire);
        upstreamModel = route.upstreamModel ?? admission.model;
      }
      if (Object.keys(admission.headers).length > 0) reply.headers(admission.headers);
    }
    const target = typeof json.model === 'string' ? json.model : model;
    // The model a policy stepped down from: admitted (tier, budget at its price) with the request, while that
    // admission holds.
    let covered = m.admission?.fallbackTo;
    // The model routing stepped down from, for the request's whole life (`covered` ends with its admission).
    const steppedFrom = covered;
    const alternatives = this.alternatives(servedAs, covered);
    // Each attempt prepares its own copy: preparing edits the body (model name, stream usage option).
    const pristine = alternatives.length > 0 ? { ...json } : json;
    let attempt = 0;
    let call: UpstreamCall | undefined;
    const onClose = () => {
      if (!reply.raw.writableFinished) {
        m.clientAborted = true;
        call?.abort(new ClientGone());
      }
    };
    reply.raw.on('close', onClose);
    if (reply.raw.destroyed) {
      // The client left while admission waited (a budget near its limit holds a request up to 15 s): nothing is sent
      // upstream, and the reservation is released when the event is recorded (no usage).
      m.clientAborted = true;
      m.errorClass = 'client_aborted';
      reply.hijack();
      return;
    }
    let provider = route.provider;
    let adapter = provider.adapter;
    let prepared: PreparedBody;
    let info: RequestInfo;
    let timeoutMs: number;
    for (;;) {
      m.route = route;
      m.servedAs = servedAs;
      provider = route.provider;
      adapter = provider.adapter;
      const path = adapter.paths[m.endpoint];
      if (path === undefined) {
        throw new GoodhartError('not_found', 404, `Provider "${provider.id}" does not offer ${m.endpoint}.`);
      }
      info = adapter.readInfo(m.endpoint, json);
      m.session ??= info.clientUser?.slice(0, 256) ?? null;
      prepared = adapter.prepare(m.endpoint, attempt === 0 ? json : { ...pristine }, body.raw, upstreamModel);
      timeoutMs = provider.config.timeoutMs ?? this.deps.upstreamTimeoutMs;
      m.dispatchedAt ??= performance.now();
      call = this.deps.upstreams.dispatch(provider, path, {
        headers: upstreamRequestHeaders(req.headers, provider, adapter, this.deps.name),
        body: prepared.body,
        timeoutMs,
      });
      let failure: string | null = null;
      // Where to go on from: the next alternative, or (refused by a model routing chose) the model asked for.
      let from = attempt;
      try {
        await call.started;
        if (call.status === 429 || call.status >= 500) failure = `${classify(call.status)} (${call.status})`;
        else if (call.status >= 400 && call.status < 500 && steppedFrom !== undefined && servedAs !== steppedFrom) {
          // A model routing chose (or its fallback) refused the request: a 404 for a model the provider does not
          // have, a 400 for a parameter it does not take, a 403 for a model the project may not use, a 401 from a
          // provider that does not take the gateway's key, a 422 from a server that rejects the body. The model asked
          // for answers as it would have without routing (its own 4xx included); nothing has reached the client, and
          // providers bill no 4xx.
          const asked = alternatives.indexOf(steppedFrom);
          if (asked >= attempt) {
            failure = `${classify(call.status)} (${call.status})`;
            from = asked;
          }
        }
      } catch (err) {
        if (m.clientAborted) {
          this.estimate(m, adapter, json, null);
          m.errorClass = 'client_aborted';
          reply.hijack();
          return;
        }
        if (attempt >= alternatives.length) throw upstreamError(err, provider, timeoutMs);
        failure = isTimeout(err) ? 'upstream_timeout' : 'upstream_unreachable';
      }
      // Fall back only before anything reached the client, and only to models the config names as equivalent.
      let next = failure !== null ? this.nextAlternative(alternatives, from, wire) : null;
      // Any other model is admitted as a fallback (AdmissionRequest.fallback): its tier, and a budget reservation at
      // its price (a dearer fallback served on the first model's reservation passed hard caps, and premium tiers).
      // One the policy refuses is skipped. The failed answer waits, paused, for the decision.
      if (next !== null && policy && next.model !== covered) call.pause();
      while (next !== null && policy && next.model !== covered) {
        let admission: AdmissionResult | null;
        try {
          const admitted = ask(next.model, next.route, true, servedAs);
          admission = admitted instanceof Promise ? await admitted : admitted;
        } catch (err) {
          if (!(err instanceof GoodhartError)) throw err;
          admission = null;
        }
        if (admission !== null) {
          m.admission?.settle({ usage: null, costUsd: null, model: servedAs });
          m.admission = admission;
          covered = undefined;
          if (admission.model !== undefined && admission.model !== next.model) next = { ...next, model: admission.model, route: this.deps.router.resolve(admission.model, wire) };
          if (Object.keys(admission.headers).length > 0) reply.headers(admission.headers);
          break;
        }
        next = this.nextAlternative(alternatives, next.index + 1, wire);
      }
      if (m.clientAborted) {
        // Gone while a fallback was admitted: nothing more is sent upstream.
        call.abort(new ClientGone());
        this.estimate(m, adapter, json, null);
        m.errorClass = 'client_aborted';
        reply.hijack();
        return;
      }
      if (failure !== null && next === null) call.resume();
      if (failure === null || next === null) break;
      m.fallbackFrom ??= `${provider.id}/${upstreamModel ?? target}: ${failure}`;
      call.abort(new Error('falling back to an equivalent model'));
      // Stepped down by routing: the reason goes on to say where the request went instead, and why, hop by hop (the
      // cheaper model's fallbacks, the model asked for, its fallbacks), by the names the client knows.
      const reason = steppedFrom !== undefined ? reply.getHeader(ROUTE_REASON_HEADER) : undefined;
      if (typeof reason === 'string') reply.header(ROUTE_REASON_HEADER, `${reason}; fell back to ${next.model} (${servedAs}: ${failure})`);
      attempt = next.index + 1;
      route = next.route;
      servedAs = next.model;
      upstreamModel = route.upstreamModel ?? next.model;
      // Served as asked after all: the routing that stepped it down did not happen. Asked of routing, that is: a
      // budget may have downgraded the client's model before routing stepped down from the downgrade model.
      if (servedAs === steppedFrom) reply.removeHeader(ROUTED_FROM_HEADER);
    }

    if (call.undecodable !== null) {
      call.abort(new Error('undecodable response'));
      throw new GoodhartError(
        'upstream_error',
        502,
        `Provider "${provider.id}" answered in Content-Encoding "${call.undecodable}", which Goodhart cannot decode (it asks for identity, and decodes gzip, deflate and br). Operators: turn compression off at the provider, or at the proxy in front of it.`,
      );
    }
    m.status = call.status;
    const contentType = String(call.headers['content-type'] ?? '');
    if (call.status >= 400) {
      // Pass the provider's own error through, status and body, so SDK error handling works unchanged.
      m.errorClass = classify(call.status);
      let errBody: Buffer;
      try {
        errBody = await call.readAll(MAX_ERROR_BODY);
      } catch (err) {
        if (m.clientAborted) {
          m.errorClass = 'client_aborted';
          reply.hijack();
          return;
        }
        throw unreadableErrorBody(err, call, provider, timeoutMs);
      }
      // Sent without a key (its apiKey is empty: an unset variable), the provider's 401 would tell the client that
      // their own key is wrong. The same status, in the client's format, saying whose key is missing.
      if (call.status === 401 && !provider.config.apiKey) throw missingProviderKey(provider);
      reply.code(call.status).headers(responseHeaders(call.headers, m.id)).send(errBody);
      return;
    }

    if (info.stream && contentType.includes('text/event-stream')) {
      m.streamed = true;
      await this.pipeStream(m, adapter, json, prepared, call, reply);
      return;
    }

    let read: Buffer | { head: Buffer[] };
    try {
      // An answer that says it is too large to hold is passed on from its first byte.
      const declared = Number(call.headers['content-length']);
      read = await call.readUpTo(declared > MAX_HELD_RESPONSE ? 0 : MAX_HELD_RESPONSE);
    } catch (err) {
      if (m.clientAborted) {
        this.estimate(m, adapter, json, null);
        m.errorClass = 'client_aborted';
        reply.hijack();
        return;
      }
      throw upstreamError(err, provider, timeoutMs);
    }
    if (!Buffer.isBuffer(read)) {
      await this.passThrough(m, adapter, json, call, reply, read.head);
      return;
    }
    const buf = read;
    m.firstTokenAt = this.deps.now();
    m.bodyDoneAt = performance.now();
    // The client gets its answer first; reading the usage out of it is the gateway's own business.
    reply.code(call.status).headers(responseHeaders(call.headers, m.id)).send(buf);
    m.sentAt = performance.now();
    if (contentType.includes('text/event-stream')) {
      // A stream the client did not ask for (some servers always stream): passed through as is, metered as a stream.
      this.meterBufferedStream(m, adapter, json, prepared, buf);
      return;
    }
    let parsed: unknown = null;
    try {
      parsed = JSON.parse(buf.toString('utf8'));
    } catch {
      /* not JSON: passed through as is, metered as unknown */
    }
    if (parsed && typeof parsed === 'object') {
      const p = parsed as Record<string, unknown>;
      m.modelServed = typeof p.model === 'string' ? p.model : null;
      m.providerRequestId = typeof p.id === 'string' ? p.id : null;
      // A Responses answer that failed is a 200 like any other: its status and error say so (its usage is billed).
      if (m.endpoint === 'responses' && p.status === 'failed') m.errorClass ??= `upstream_failed: ${responseErrorCode(p.error)}`;
    }
    m.usage = adapter.usageFromBody(m.endpoint, parsed);
    if (m.usage === null && m.endpoint !== 'messages.count_tokens') {
      // As for a stream that ended without usage: counted from the answer, and marked.
      this.estimate(m, adapter, json, null, parsed);
      m.errorClass ??= 'usage_missing';
    }
  }

  /**
   * What to try, in order, when `model`'s provider fails before answering: its configured fallbacks, then the model
   * a policy stepped down from (routing) and that model's fallbacks.
   */
  private alternatives(model: string, fallbackTo: string | undefined): readonly string[] {
    const own = this.deps.fallbacks?.[model] ?? [];
    if (fallbackTo === undefined) return own;
    const all = [...own, fallbackTo, ...(this.deps.fallbacks?.[fallbackTo] ?? [])];
    return all.filter((m, i) => m !== model && all.indexOf(m) === i);
  }

  /** The next configured alternative this wire can serve, skipping names that no provider serves. */
  private nextAlternative(alternatives: readonly string[], from: number, wire: Wire): { index: number; model: string; route: Route } | null {
    for (let i = from; i < alternatives.length; i++) {
      const model = alternatives[i]!;
      try {
        return { index: i, model, route: this.deps.router.resolve(model, wire) };
      } catch {
        /* not served on this wire: config validation names it; skip here */
      }
    }
    return null;
  }

  private async pipeStream(
    m: Meter,
    adapter: ProviderAdapter,
    json: Record<string, unknown>,
    prepared: PreparedBody,
    call: UpstreamCall,
    reply: FastifyReply,
  ): Promise<void> {
    const meter = adapter.createStreamMeter(m.endpoint, prepared);
    const splitter = new SseSplitter();
    // A character's bytes may be split across network reads: decoded alone, each half would become U+FFFD.
    const decoder = new StringDecoder('utf8');
    const out = reply.raw;
    reply.hijack();
    out.writeHead(call.status, { ...(reply.getHeaders() as OutgoingHttpHeaders), ...responseHeaders(call.headers, m.id) });
    const onDrain = () => call.resume();
    out.on('drain', onDrain);
    // Whether the provider's error event had reached the client when it closed the connection (the SDKs close on
    // one): a close that the error caused, which must not replace it in the event.
    let failedBeforeClose = false;
    const onClose = () => {
      failedBeforeClose = meter.streamError() !== null;
    };
    out.once('close', onClose);
    let broken = false;
    try {
      call.consume((chunk) => {
        const events = splitter.push(decoder.write(chunk));
        if (events.length === 0) return;
        const now = this.deps.now();
        let text = '';
        for (const ev of events) if (!meter.onEvent(ev, now)) text += ev.raw;
        // Backpressure: a slow client pauses reading from the provider instead of buffering its stream here.
        if (text.length > 0 && !out.destroyed && !out.write(text)) call.pause();
      });
      await call.ended;
      // A last event without its blank line (`data: [DONE]\n`) is still the provider's: metered and forwarded.
      const rest = splitter.rest() + decoder.end();
      if (rest.length > 0 && !meter.onEvent(parseEvent(rest), this.deps.now()) && !out.destroyed) out.write(rest);
    } catch (err) {
      broken = failedMidway(m, err);
    } finally {
      out.off('drain', onDrain);
      out.off('close', onClose);
    }
    this.collectStream(m, meter);
    // The client closed because the provider's error ended its stream: recorded as when the provider's close won the
    // race (Anthropic's SDK on overloaded_error, OpenAI's on an `error` event).
    if (m.clientAborted && failedBeforeClose) m.clientAborted = false;
    if (m.clientAborted) {
      m.errorClass = 'client_aborted';
    }
    // An error the provider sent inside the stream (Anthropic's overloaded_error after message_start).
    const failure = meter.streamError();
    if (failure !== null && !m.clientAborted && !broken) m.errorClass ??= `upstream_stream_error: ${failure}`;
    if (m.usage === null) {
      this.estimate(m, adapter, json, meter);
      if (!m.clientAborted && !broken) m.errorClass ??= 'usage_missing';
    }
    if (broken) {
      // Mirror what the provider did: the client sees a cut stream, not a clean end that hides the failure.
      out.destroy();
    } else if (!out.destroyed) {
      out.end();
    }
  }

  /**
   * A JSON answer too large to hold (MAX_HELD_RESPONSE), passed on as it arrives with backpressure, as a stream is. Its
   * usage is read from its last bytes (json-tail.ts); without one there, the input is counted from the request and
   * the event marked estimated, as for any answer without usage.
   */
  private async passThrough(m: Meter, adapter: ProviderAdapter, json: Record<string, unknown>, call: UpstreamCall, reply: FastifyReply, head: Buffer[]): Promise<void> {
    const out = reply.raw;
    reply.hijack();
    out.writeHead(call.status, { ...(reply.getHeaders() as OutgoingHttpHeaders), ...responseHeaders(call.headers, m.id) });
    m.firstTokenAt = this.deps.now();
    const tail = new TailKeeper();
    // Responses bill their built-in tool calls per output item, which can be anywhere in the body.
    const items = m.endpoint === 'responses' ? new ToolCallItems() : null;
    const onDrain = () => call.resume();
    out.on('drain', onDrain);
    let broken = false;
    try {
      for (const chunk of head) {
        tail.push(chunk);
        items?.push(chunk);
        out.write(chunk);
      }
      // readUpTo paused the call: it goes on once the client has taken what was held.
      if (!out.writableNeedDrain) call.resume();
      call.consume((chunk) => {
        tail.push(chunk);
        items?.push(chunk);
        if (!out.destroyed && !out.write(chunk)) call.pause();
      });
      await call.ended;
    } catch (err) {
      broken = failedMidway(m, err);
    } finally {
      out.off('drain', onDrain);
    }
    const tailText = tail.text();
    const found = broken || m.clientAborted ? null : usageFromTail(tailText);
    if (found !== null) {
      // What prices the answer besides its usage, as the adapter reads it from a whole body: the model (at the start
      // of chat, Responses and Messages answers, at the end of embeddings), the service tier (after usage or output),
      // the built-in tool calls.
      m.modelServed = found.model ?? firstStringMember(startOf(head, HEAD_SCAN_BYTES), 'model');
      const body: Record<string, unknown> = { usage: found.usage };
      const tier = lastStringMember(tailText, 'service_tier');
      if (tier !== null) body['service_tier'] = tier;
      if (items !== null) body['output'] = items.items();
      m.usage = adapter.usageFromBody(m.endpoint, body);
    }
    if (m.clientAborted) m.errorClass = 'client_aborted';
    if (m.usage === null) {
      this.estimate(m, adapter, json, null);
      m.errorClass ??= 'usage_missing';
    }
    if (broken) out.destroy();
    else if (!out.destroyed) out.end();
  }

  /** A whole SSE body, read at once: metered event by event as pipeStream meters one arriving. */
  private meterBufferedStream(m: Meter, adapter: ProviderAdapter, json: Record<string, unknown>, prepared: PreparedBody, buf: Buffer): void {
    const meter = adapter.createStreamMeter(m.endpoint, prepared);
    const splitter = new SseSplitter();
    const now = this.deps.now();
    try {
      for (const ev of splitter.push(buf.toString('utf8'))) meter.onEvent(ev, now);
      const rest = splitter.rest();
      if (rest.length > 0) meter.onEvent(parseEvent(rest), now);
    } catch {
      /* an event over the splitter's bound: metered from the events before it */
    }
    m.modelServed = meter.modelServed();
    m.providerRequestId = meter.providerRequestId();
    m.usage = meter.usage();
    if (m.usage === null) {
      this.estimate(m, adapter, json, meter);
      m.errorClass ??= 'usage_missing';
    }
  }

  private collectStream(m: Meter, meter: StreamMeter): void {
    m.firstTokenAt = meter.firstTokenAt();
    m.modelServed = meter.modelServed();
    m.providerRequestId = meter.providerRequestId();
    m.usage = meter.usage();
  }

  /**
   * The provider never reported usage: count with a real tokenizer, keep whatever the provider did report. The output
   * is a stream's text so far, or a complete `response` body's; none when the request got no answer.
   */
  private estimate(m: Meter, adapter: ProviderAdapter, json: Record<string, unknown>, meter: StreamMeter | null, response?: unknown): void {
    const partial = meter?.partialInput() ?? null;
    const output = meter ? countTextTokens(meter.outputText()) : response !== undefined ? adapter.estimateOutput(m.endpoint, response) : 0;
    const input = partial ? partial.input : estimatedInput(adapter.estimateInput(m.endpoint, json));
    m.usage = {
      input,
      output: { total: output, text: output, reasoning: 0 },
      raw: partial?.raw ?? null,
    };
    m.estimated = true;
  }

  private record(m: Meter): void {
    const usage = m.usage;
    const provider = m.route?.provider;
    // No usage means nothing was generated (refused before or by the provider): it costs nothing.
    let costUsd: number | null = 0;
    if (usage && provider) {
      // A config price is the served route's `models:` entry's (keyed provider/name, config/prices.ts); the catalogue
      // knows the provider's (dated) name best.
      const catalogue = catalogueProvider(provider);
      const priced = (model: string | null | undefined) => (model ? this.deps.pricer.price(usage, model, catalogue).costUsd : null);
      // A served name the catalogue does not know (or none: "" from a server) is priced as the model admission
      // reserved for: booked at nothing, the request would pass every USD budget.
      costUsd = m.route?.price
        ? priced(m.route.priceName ?? m.servedAs)
        : (priced(m.modelServed) ?? priced(m.route?.upstreamModel ?? m.servedAs ?? m.modelRequested));
    }
    m.admission?.settle({ usage, costUsd, model: m.servedAs ?? m.modelRequested ?? '' });
    const event: UsageEvent = {
      id: m.id,
      source: 'gateway',
      providerRequestId: m.providerRequestId,
      startedAt: m.startedAt,
      firstTokenAt: m.firstTokenAt,
      endedAt: this.deps.now(),
      userId: m.key.userId,
      teamId: m.key.teamId,
      projectId: m.key.projectId,
      keyId: m.key.id,
      sessionId: m.session,
      tags: m.tags,
      repo: null,
      branch: null,
      provider: provider?.id ?? 'none',
      endpoint: m.endpoint,
      modelRequested: m.modelRequested,
      modelServed: m.modelServed,
      inputTokens: usage?.input.total ?? 0,
      cacheReadTokens: usage?.input.cacheRead ?? 0,
      cacheWrite5mTokens: usage?.input.cacheWrite5m ?? 0,
      cacheWrite1hTokens: usage?.input.cacheWrite1h ?? 0,
      outputTokens: usage?.output.total ?? 0,
      reasoningTokens: usage?.output.reasoning ?? 0,
      ...usageExtras(usage),
      costUsd,
      usageEstimated: m.estimated,
      status: m.status,
      errorClass: m.errorClass,
      streamed: m.streamed,
      clientAborted: m.clientAborted,
      rawUsage: usage?.raw ? JSON.stringify(usage.raw) : null,
      ...(m.fallbackFrom !== null ? { fallbackFrom: m.fallbackFrom } : {}),
    };
    this.deps.events.enqueue(event);
    this.deps.metrics?.onEvent(
      event,
      m.dispatchedAt === null ? null : m.dispatchedAt - m.receivedAt,
      m.sentAt === null || m.bodyDoneAt === null ? null : m.sentAt - m.bodyDoneAt,
    );
    const observers = this.deps.observers;
    if (observers && m.body && m.raw) for (const o of observers) o.observe(m.body, event, m.raw);
  }
}

/**
 * The provider answered an error status but its body cannot be passed on (over MAX_ERROR_BODY, or cut off): the client
 * gets the same status with Goodhart's error in its own format, where it got an empty body ("500 status code (no
 * body)" in OpenAI's SDK). The provider's retry-after is kept.
 */
function unreadableErrorBody(err: unknown, call: UpstreamCall, provider: ResolvedProvider, timeoutMs: number): GoodhartError {
  const status = call.status;
  const why =
    err instanceof ResponseTooLarge
      ? `its error body was larger than the ${err.limit / 1024 / 1024} MiB Goodhart passes on`
      : isTimeout(err)
        ? `its error body did not finish arriving within ${timeoutMs} ms`
        : err instanceof GoodhartError
          ? `its error body could not be read: ${err.message.replace(/\.$/, '')}`
          : `its error body was cut off (${(err as { code?: string } | null)?.code ?? (err instanceof Error ? err.message : String(err))})`;
  const retryAfter = call.headers['retry-after'];
  return new GoodhartError(
    'upstream_error',
    status,
    `Provider "${provider.id}" answered ${status}, but ${why}. ${status === 429 || status >= 500 ? 'Retry later; if it keeps happening, the provider (or a proxy in front of it) is failing.' : 'Operators: check the provider, or the proxy in front of it.'}`,
    { retryable: status === 429 || status >= 500, cause: err, ...(typeof retryAfter === 'string' ? { headers: { 'retry-after': retryAfter } } : {}) },
  );
}

function missingProviderKey(provider: ResolvedProvider): GoodhartError {
  return new GoodhartError(
    'upstream_error',
    401,
    `Provider "${provider.id}" answered 401 because the gateway has no API key for it: providers.${provider.id}.apiKey in the gateway's config is empty (an environment variable not set when \`goodhart serve\` started; its startup warning names it). Your Goodhart key was accepted. Operators: set the provider's key and restart the gateway.`,
  );
}

function estimatedInput(total: number): NormalisedUsage['input'] {
  return { total, noCache: total, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 0 };
}

/** The price catalogue's provider id: OpenAI-compatible servers are matched by model name alone. */
function catalogueProvider(p: ResolvedProvider): string {
  return p.type === 'openai-compatible' ? p.id : p.type;
}

/** The code (else type) of a failed Responses answer's `error`, bounded as stream error labels are. */
function responseErrorCode(error: unknown): string {
  const e = error !== null && typeof error === 'object' ? (error as Record<string, unknown>) : {};
  const code = typeof e['code'] === 'string' ? e['code'] : typeof e['type'] === 'string' ? e['type'] : 'failed';
  return code.slice(0, 64);
}

/** The first `limit` bytes of the chunks as text (the last character may be cut: a U+FFFD). */
function startOf(chunks: readonly Buffer[], limit: number): string {
  const taken: Buffer[] = [];
  let size = 0;
  for (const c of chunks) {
    if (size >= limit) break;
    taken.push(c);
    size += c.length;
  }
  return Buffer.concat(taken).subarray(0, limit).toString('utf8');
}

/**
 * The provider failed while its answer was passing on (timed out, or the connection dropped): labelled so, and
 * true, unless the client had left first (then it is the client's abort, and the answer is not called broken).
 */
function failedMidway(m: Meter, err: unknown): boolean {
  if (m.clientAborted) return false;
  m.errorClass = isTimeout(err) ? 'upstream_timeout' : 'upstream_disconnected';
  return true;
}
