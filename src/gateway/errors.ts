import type { IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GoodhartError, type ErrorCode } from '../errors.js';
import type { Wire } from './providers/types.js';

/**
 * The error format the client reads: Anthropic's for its routes, also behind a wrong prefix (`/v1/v1/messages` from
 * ANTHROPIC_BASE_URL=…/v1, `//v1/messages`), and for any request with the `anthropic-version` header Anthropic's
 * SDKs send on every call (a 401 on GET /v1/models); OpenAI's for the rest.
 */
export function wireOf(url: string, headers: IncomingHttpHeaders = {}): Wire {
  const path = url.split('?')[0]!;
  if (ANTHROPIC_PATH.test(path) || path.startsWith('/anthropic/')) return 'anthropic';
  return headers['anthropic-version'] !== undefined ? 'anthropic' : 'openai';
}
const ANTHROPIC_PATH = /\/v1\/messages(\/count_tokens)?\/?$/;

const OPENAI_TYPE: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  405: 'invalid_request_error',
  409: 'invalid_request_error',
  413: 'invalid_request_error',
  414: 'invalid_request_error',
  415: 'invalid_request_error',
  429: 'rate_limit_error',
};

const ANTHROPIC_TYPE: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  414: 'invalid_request_error',
  415: 'invalid_request_error',
  429: 'rate_limit_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

const OPENAI_CODE: Partial<Record<ErrorCode, string>> = {
  unauthorized: 'invalid_api_key',
  model_not_found: 'model_not_found',
  payload_too_large: 'request_too_large',
  budget_exceeded: 'budget_exceeded',
  rate_limited: 'rate_limit_exceeded',
  invalid_json: 'invalid_json',
};

export function errorBody(err: GoodhartError, wire: Wire): object {
  if (wire === 'anthropic') {
    return { type: 'error', error: { type: ANTHROPIC_TYPE[err.httpStatus] ?? 'api_error', message: err.message } };
  }
  return {
    error: {
      message: err.message,
      type: OPENAI_TYPE[err.httpStatus] ?? 'server_error',
      param: null,
      code: OPENAI_CODE[err.code] ?? err.code,
    },
  };
}

/**
 * Errors fastify raises itself (body too large, bad content length…) and a database out of reach expressed as
 * GoodhartErrors; anything else is an internal error. `tooLarge` says what to do about a body over the limit (the
 * OTLP routes tell exporters to send smaller batches).
 */
export function normalise(
  err: FastifyError | Error,
  bodyLimit: number,
  tooLarge = 'Send less context (summarise, or use prompt caching), or ask the operator to raise server.bodyLimitBytes.',
): GoodhartError {
  if (err instanceof GoodhartError) return err;
  const f = err as FastifyError;
  if (f.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || f.statusCode === 413) {
    return new GoodhartError('payload_too_large', 413, `The request body is larger than this gateway accepts (${bodyLimit} bytes). ${tooLarge}`);
  }
  if (typeof f.statusCode === 'number' && f.statusCode >= 400 && f.statusCode < 500) {
    return new GoodhartError('invalid_request', f.statusCode, `Bad request: ${f.message}`);
  }
  const db = databaseUnavailable(err);
  if (db !== null) {
    return new GoodhartError(
      'unavailable',
      503,
      `The database does not answer (${db}), so this could not be done. Try again shortly; operators: check the database (db / GOODHART_DB) and GET /readyz.`,
      { retryable: true, cause: err, headers: { 'retry-after': '5' } },
    );
  }
  return new GoodhartError('internal', 500, 'Goodhart hit an internal error; it has been logged. Retry, and report it if it persists.', {
    cause: err,
  });
}

/** Node's and postgres.js's codes for a connection that failed or was lost. */
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EPIPE', 'CONNECT_TIMEOUT', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED']);

/**
 * What says a database is out of reach (its connection failed, Postgres is shutting down or starting, a SQLite file
 * locked past the busy timeout), or null for any other error (a bug: a 500).
 */
function databaseUnavailable(err: unknown): string | null {
  for (let e = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code !== 'string') continue;
    if (CONNECTION_CODES.has(code)) return code;
    // Postgres: 08xxx connection exceptions, 57P01-57P03 shutting down or not yet accepting connections.
    if (/^(08\d{3}|57P0[1-3])$/.test(code)) return `Postgres ${code}: ${e.message}`;
    if (code === 'SQLITE_BUSY') return 'the SQLite file is locked by another process';
  }
  return null;
}

/**
 * What to do about a body over the limit where the default (send less context) does not apply: a webhook delivery or
 * an outcome batch is not a prompt.
 */
function tooLargeHint(url: string): [string] | null {
  if (!url.startsWith('/v1/outcomes')) return null;
  return ['Webhook deliveries can be larger (GitHub sends up to 25 MB: a push of many commits): ask the operator to raise server.bodyLimitBytes. A POST /v1/outcomes client can send fewer outcomes per request.'];
}

/** The one place where errors become HTTP responses. */
export function installErrorHandling(app: FastifyInstance, bodyLimit: number): void {
  app.setErrorHandler((err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    const g = normalise(err, bodyLimit, ...(tooLargeHint(req.url) ?? []));
    if (g.httpStatus >= 500 && g.code === 'internal') req.log.error({ err }, 'internal error');
    if (reply.sent || reply.raw.headersSent) {
      reply.raw.destroy();
      return;
    }
    if (g.code === 'rate_limited' || g.code === 'budget_exceeded') reply.header('retry-after', '60');
    if (g.headers !== undefined) reply.headers(g.headers);
    // The official SDKs sleep the whole retry-after before retrying (hours, until a day budget resets: the client
    // hangs, the person never sees why). Past a minute they are told not to retry, so the refusal shows at once.
    if (g.httpStatus === 429 && !(Number(reply.getHeader('retry-after')) <= 60)) reply.header('x-should-retry', 'false');
    void reply.code(g.httpStatus).send(errorBody(g, wireOf(req.url, req.headers)));
  });
  app.setNotFoundHandler((req, reply) => {
    const g = new GoodhartError('not_found', 404, `No route ${req.method} ${req.url.split('?')[0]}. ${whatIsServed(req.url)}`);
    void reply.code(404).send(errorBody(g, wireOf(req.url, req.headers)));
  });
}

/**
 * The longest path segment a route takes as a parameter (fastify's default, 100, is shorter than the ids the admin
 * API and the dashboard take: 128 characters, ID_RULE). A longer one is refused by the route's own check (`Invalid
 * id …: at most 128 characters`); past this, before routing, by `frameworkErrors`.
 */
export const MAX_PARAM_CHARS = 1024;

/**
 * Paths fastify's router refuses before any route sees them: a segment longer than MAX_PARAM_CHARS, and %-escapes
 * that do not decode to UTF-8 text (`/v1/models/%ff`). Answered in the client's error format with what to fix, where
 * fastify's own body (`{"error":"Bad Request","code":"FST_ERR_BAD_URL",…}`) is in none of them.
 */
export function frameworkErrors(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  const path = req.url.split('?')[0]!;
  const shown = path.length > 120 ? `${path.slice(0, 120)}…` : path;
  const g =
    err.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? new GoodhartError('invalid_request', 414, `A part of the path ${shown} is longer than ${MAX_PARAM_CHARS} characters: no id or name Goodhart serves is (ids have at most 128). Check the URL.`)
      : err.code === 'FST_ERR_BAD_URL'
        ? new GoodhartError('invalid_request', 400, `The path ${shown} has a %-escape that is not UTF-8 text. Percent-encode each part of the path as UTF-8 (encodeURIComponent).`)
        : normalise(err, 0);
  void reply.code(g.httpStatus).send(errorBody(g, wireOf(req.url, req.headers)));
}

/**
 * Requests Node refuses before any route sees them (fastify's `clientErrorHandler`): headers too large, a request
 * that took too long to arrive, bytes that are not HTTP. Answered in OpenAI's error format (the headers that would tell
 * the wire were not read) with what to change, where the default said only "Client Error".
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, reason, message] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'The request headers are larger than this server accepts (16 KiB in all). Send fewer or shorter headers (cookies, x-goodhart-tags).']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'The request took longer than 5 minutes to arrive. Send it again on a faster connection, or send less.']
        : [400, 'Bad Request', `The request is not valid HTTP/1.1 (${err.code ?? 'malformed'}). Check the request line, the headers and Content-Length or Transfer-Encoding.`];
  const body = JSON.stringify({ error: { message, type: 'invalid_request_error', param: null, code: err.code === 'HPE_HEADER_OVERFLOW' ? 'headers_too_large' : 'bad_http_request' } });
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  }
  socket.destroy(err);
}

/** What a mistyped path was probably meant for: the dashboard's API, the admin API, or the provider APIs. */
function whatIsServed(url: string): string {
  if (url.startsWith('/api/')) {
    return 'The dashboard API serves GET, POST and DELETE /api/session, GET /api/me, /api/org, /api/teams/TEAM, /api/users/USER (or me), /api/findings, /api/budgets, /api/access-requests, and POST /api/access-requests/ID/approve|deny (README: Dashboard).';
  }
  if (url.startsWith('/admin')) return 'The admin API is under /admin/v1 (README: Admin API and CLI).';
  if (url.startsWith('/v1/v1/')) {
    return 'The path has /v1 twice: the base URL is http://HOST:PORT/v1 for OpenAI clients, and http://HOST:PORT (no /v1) for Anthropic clients and ANTHROPIC_BASE_URL.';
  }
  return "Goodhart serves POST /v1/chat/completions, /v1/responses, /v1/embeddings, /v1/messages, /v1/messages/count_tokens and GET /v1/models[/ID]; point your SDK's base URL at this server (OpenAI: http://HOST:PORT/v1, Anthropic: http://HOST:PORT).";
}
