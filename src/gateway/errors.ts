import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GoodhartError, type ErrorCode } from '../errors.js';
import type { Wire } from './providers/types.js';

/** Anthropic clients call /v1/messages…; every other route answers in OpenAI's error format. */
export function wireOf(url: string): Wire {
  return url.startsWith('/v1/messages') || url.startsWith('/anthropic/') ? 'anthropic' : 'openai';
}

const OPENAI_TYPE: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  405: 'invalid_request_error',
  409: 'invalid_request_error',
  413: 'invalid_request_error',
  429: 'rate_limit_error',
};

const ANTHROPIC_TYPE: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
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

/** Errors fastify raises itself (body too large, bad content length…) expressed as GoodhartErrors. */
function normalise(err: FastifyError | Error, bodyLimit: number): GoodhartError {
  if (err instanceof GoodhartError) return err;
  const f = err as FastifyError;
  if (f.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || f.statusCode === 413) {
    return new GoodhartError(
      'payload_too_large',
      413,
      `The request body is larger than this gateway accepts (${bodyLimit} bytes). Send less context (summarise, or use prompt caching), or ask the operator to raise server.bodyLimitBytes.`,
    );
  }
  if (typeof f.statusCode === 'number' && f.statusCode >= 400 && f.statusCode < 500) {
    return new GoodhartError('invalid_request', f.statusCode, `Bad request: ${f.message}`);
  }
  return new GoodhartError('internal', 500, 'Goodhart hit an internal error; it has been logged. Retry, and report it if it persists.', {
    cause: err,
  });
}

/** The one place where errors become HTTP responses. */
export function installErrorHandling(app: FastifyInstance, bodyLimit: number): void {
  app.setErrorHandler((err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    const g = normalise(err, bodyLimit);
    if (g.httpStatus >= 500 && g.code === 'internal') req.log.error({ err }, 'internal error');
    if (reply.sent || reply.raw.headersSent) {
      reply.raw.destroy();
      return;
    }
    if (g.code === 'rate_limited' || g.code === 'budget_exceeded') reply.header('retry-after', '60');
    if (g.headers !== undefined) reply.headers(g.headers);
    void reply.code(g.httpStatus).send(errorBody(g, wireOf(req.url)));
  });
  app.setNotFoundHandler((req, reply) => {
    const g = new GoodhartError('not_found', 404, `No route ${req.method} ${req.url.split('?')[0]}. ${whatIsServed(req.url)}`);
    void reply.code(404).send(errorBody(g, wireOf(req.url)));
  });
}

/** What a mistyped path was probably meant for: the dashboard's API, the admin API, or the provider APIs. */
function whatIsServed(url: string): string {
  if (url.startsWith('/api/')) {
    return 'The dashboard API serves POST and DELETE /api/session, GET /api/me, /api/org, /api/teams/TEAM, /api/users/USER (or me), /api/findings, /api/budgets, /api/access-requests, and POST /api/access-requests/ID/approve|deny (README: Dashboard).';
  }
  if (url.startsWith('/admin')) return 'The admin API is under /admin/v1 (README: Admin API and CLI).';
  return "Goodhart serves POST /v1/chat/completions, /v1/responses, /v1/embeddings, /v1/messages, /v1/messages/count_tokens and GET /v1/models; point your SDK's base URL at this server (OpenAI: http://HOST:PORT/v1, Anthropic: http://HOST:PORT).";
}
