/**
 * The HTTP edge: plain node:http (it is the baseline the gateway benchmark compares against), routing,
 * authentication, and sending the Reply a handler returns: delays, streams, dying and hanging sockets.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleCountTokens, handleMessages } from './anthropic.js';
import { parseJson, readBody } from './body.js';
import { errorBody, SimError } from './errors.js';
import type { SimProviderId } from './models.js';
import { handleEmbeddings } from './openai-embeddings.js';
import { handleChatCompletions } from './openai-chat.js';
import { handleGetModel, handleListModels } from './models-route.js';
import { handleResponses } from './openai-responses.js';
import { AnthropicPromptCache, OpenAIPrefixCache } from './prompt-cache.js';
import { createRng, randomChars, type Rng } from './random.js';
import type { Frame, Reply, SimContext, Timing } from './reply.js';

export interface SimOptions {
  /** 0 = a random free port (default). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Accepted `Authorization: Bearer` keys; default ['sk-sim-openai']. */
  openaiKeys?: string[];
  /** Accepted `x-api-key` (or Bearer) keys; default ['sk-ant-sim']. */
  anthropicKeys?: string[];
  /** Delay before the first byte of an answer, default 0. */
  firstTokenMs?: number;
  /** Delay between stream chunks, default 0. */
  interTokenMs?: number;
  /** Seeds the generated text and ids; same seed and request, same answer. */
  seed?: number;
}

export interface SimProvider {
  /** e.g. http://127.0.0.1:PORT: no trailing slash, no /v1. */
  url: string;
  close(): Promise<void>;
  /** Requests received so far, whatever their outcome. */
  readonly requests: number;
}

type Handler = (body: unknown, ctx: SimContext, param: string) => Reply;

interface Route {
  provider: SimProviderId | 'either';
  post: boolean;
  handler: Handler;
}

const ROUTES: Record<string, Route> = {
  '/v1/chat/completions': { provider: 'openai', post: true, handler: handleChatCompletions },
  '/v1/responses': { provider: 'openai', post: true, handler: handleResponses },
  '/v1/embeddings': { provider: 'openai', post: true, handler: handleEmbeddings },
  '/v1/messages': { provider: 'anthropic', post: true, handler: handleMessages },
  '/v1/messages/count_tokens': { provider: 'anthropic', post: true, handler: handleCountTokens },
  '/v1/models': { provider: 'either', post: false, handler: handleListModels },
};
const MODEL_ROUTE: Route = { provider: 'either', post: false, handler: handleGetModel };

function matchRoute(method: string, path: string): { route: Route; param: string } | undefined {
  const exact = ROUTES[path];
  if (exact !== undefined && exact.post === (method === 'POST')) return { route: exact, param: '' };
  if (method === 'GET' && path.startsWith('/v1/models/') && path.length > '/v1/models/'.length) {
    const raw = path.slice('/v1/models/'.length);
    let param = raw;
    try {
      param = decodeURIComponent(raw);
    } catch {
      // a malformed %-escape is just an unknown model id
    }
    return { route: MODEL_ROUTE, param };
  }
  return undefined;
}

/** Routes both providers serve (model listing) answer in the format of the client that asks. */
function guessProvider(headers: IncomingHttpHeaders): SimProviderId {
  return headers['anthropic-version'] !== undefined || headers['x-api-key'] !== undefined ? 'anthropic' : 'openai';
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function mask(key: string): string {
  return key.length <= 8 ? '****' : `${key.slice(0, 3)}****${key.slice(-4)}`;
}

function authenticate(provider: SimProviderId, headers: IncomingHttpHeaders, keys: readonly string[]): void {
  const bearer = /^Bearer\s+(.+)$/i.exec(header(headers, 'authorization') ?? '')?.[1]?.trim();
  if (provider === 'openai') {
    if (bearer === undefined || bearer === '') {
      throw new SimError(
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        { openaiCode: null },
      );
    }
    if (!keys.includes(bearer)) {
      throw new SimError(401, `Incorrect API key provided: ${mask(bearer)}. Use one of the simulator's openaiKeys.`);
    }
    return;
  }
  const key = header(headers, 'x-api-key') ?? bearer;
  if (key === undefined || key === '') throw new SimError(401, 'x-api-key header is required');
  if (!keys.includes(key)) throw new SimError(401, 'invalid x-api-key');
  if (header(headers, 'anthropic-version') === undefined) {
    throw new SimError(400, 'anthropic-version: header is required');
  }
}

function baseHeaders(provider: SimProviderId, requestId: string, stream: boolean): Record<string, string> {
  const type = stream ? 'text/event-stream; charset=utf-8' : 'application/json';
  if (provider === 'anthropic') {
    return stream ? { 'content-type': type, 'cache-control': 'no-cache', 'request-id': requestId } : { 'content-type': type, 'request-id': requestId };
  }
  const h: Record<string, string> = { 'content-type': type, 'x-request-id': requestId, 'openai-version': '2020-10-01', 'openai-processing-ms': '1' };
  if (stream) h['cache-control'] = 'no-cache';
  return h;
}

/** Index of the frame before which a `die-after=N` stream is cut: after N content frames, never past them. */
export function dieIndex(frames: readonly Frame[], n: number): number {
  let count = 0;
  let lastContent = -1;
  for (let i = 0; i < frames.length; i++) {
    if (!(frames[i]?.content ?? false)) continue;
    if (count === n) return i;
    count++;
    lastContent = i;
  }
  return lastContent >= 0 ? lastContent + 1 : Math.min(1, frames.length);
}

export function startSimProvider(opts: SimOptions = {}): Promise<SimProvider> {
  const openaiKeys = opts.openaiKeys ?? ['sk-sim-openai'];
  const anthropicKeys = opts.anthropicKeys ?? ['sk-ant-sim'];
  const seed = opts.seed ?? 0;
  const idRng: Rng = createRng(seed ^ 0x51ed270b);
  const openaiCache = new OpenAIPrefixCache();
  const anthropicCache = new AnthropicPromptCache();
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;
  let requests = 0;

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });
  const gone = (res: ServerResponse): boolean => closed || res.destroyed;

  async function sendStream(res: ServerResponse, headers: Record<string, string>, frames: Frame[], timing: Timing) {
    if (timing.ttftMs > 0) await sleep(timing.ttftMs);
    if (gone(res)) return;
    res.writeHead(200, headers);
    const end = timing.dieAfter === undefined ? frames.length : dieIndex(frames, timing.dieAfter);
    let buffer = '';
    let sent = 0;
    for (let i = 0; i < end; i++) {
      const frame = frames[i];
      if (frame === undefined) break;
      if (frame.content) {
        if (sent > 0 && timing.itlMs > 0) {
          if (buffer !== '') res.write(buffer);
          buffer = '';
          await sleep(timing.itlMs);
          if (gone(res)) return;
        }
        sent++;
      }
      buffer += frame.data;
    }
    if (timing.dieAfter === undefined) {
      res.end(buffer);
      return;
    }
    // Let the written chunks reach the client, then cut the connection mid-body: no usage, no terminator.
    if (buffer === '') res.socket?.end();
    else res.write(buffer, () => res.socket?.destroy());
  }

  async function send(res: ServerResponse, provider: SimProviderId, requestId: string, reply: Reply): Promise<void> {
    if (reply.kind === 'hang') return; // closed by the client, or by close()
    if (reply.kind === 'stream') return sendStream(res, baseHeaders(provider, requestId, true), reply.frames, reply.timing);
    if (reply.delayMs > 0) await sleep(reply.delayMs);
    if (gone(res)) return;
    if (reply.dieAfter !== undefined) {
      res.socket?.destroy();
      return;
    }
    const payload = JSON.stringify(reply.body);
    res.writeHead(reply.status, {
      ...baseHeaders(provider, requestId, false),
      ...reply.headers,
      'content-length': String(Buffer.byteLength(payload)),
    });
    res.end(payload);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    requests++;
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const match = matchRoute(method, path);
    const provider = match === undefined || match.route.provider === 'either' ? guessProvider(req.headers) : match.route.provider;
    const requestId =
      provider === 'anthropic' ? 'req_011C' + randomChars(idRng, 20) : 'req_' + randomChars(idRng, 32, 'hex');
    try {
      if (match === undefined) {
        throw new SimError(404, `Invalid URL (${method} ${path})`, { anthropicType: 'not_found_error' });
      }
      authenticate(provider, req.headers, provider === 'anthropic' ? anthropicKeys : openaiKeys);
      const body = match.route.post ? parseJson(await readBody(req)) : undefined;
      const ctx: SimContext = {
        provider,
        seed,
        firstTokenMs: opts.firstTokenMs ?? 0,
        interTokenMs: opts.interTokenMs ?? 0,
        openaiCache,
        anthropicCache,
        idRng,
        requestId,
        now: Date.now,
      };
      await send(res, provider, requestId, match.route.handler(body, ctx, match.param));
    } catch (err) {
      if (gone(res) || res.headersSent) return;
      const error =
        err instanceof SimError
          ? err
          : new SimError(500, `The simulator failed on this request: ${err instanceof Error ? err.message : String(err)}`);
      const payload = JSON.stringify(errorBody(provider, error, requestId));
      const headers: Record<string, string> = {
        ...baseHeaders(provider, requestId, false),
        ...error.details.headers,
        'content-length': String(Buffer.byteLength(payload)),
      };
      if (error.status === 413) headers.connection = 'close'; // the unread body must not be parsed as a request
      res.writeHead(error.status, headers);
      res.end(payload);
    }
  }

  const server = createServer({ keepAlive: true, noDelay: true }, (req, res) => {
    res.on('error', () => undefined);
    req.on('error', () => undefined);
    handle(req, res).catch(() => res.destroy());
  });
  // Longer than the 60 s idle timeout of common client pools, so a pooled connection is never closed under them.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.on('clientError', (_err, socket) => socket.destroy());

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      const address = server.address() as AddressInfo;
      const host = address.address.includes(':') ? `[${address.address}]` : address.address;
      let closing: Promise<void> | undefined;
      resolve({
        url: `http://${host}:${address.port}`,
        get requests() {
          return requests;
        },
        close() {
          closing ??= new Promise<void>((done) => {
            closed = true;
            for (const timer of timers) clearTimeout(timer);
            timers.clear();
            server.close(() => done());
            server.closeAllConnections();
          });
          return closing;
        },
      });
    });
  });
}
