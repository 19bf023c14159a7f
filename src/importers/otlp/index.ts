import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { GoodhartConfig } from '../../config/schema.js';
import { GoodhartError } from '../../errors.js';
import { presentedKey } from '../../gateway/auth.js';
import { normalise } from '../../gateway/errors.js';
import { storeSpec } from '../../store/open.js';
import type { KeyRecord, Store } from '../../store/types.js';
import type { UsageEvent } from '../../usage/event.js';
import { createPricer, type ModelPriceOverride } from '../../usage/pricing.js';
import { createOtlpProcessor, SMALLER_BATCHES, type OtlpRequest, type OtlpRules } from './process.js';
import { encodeExportResponse, encodeStatus, exportResponse, type Signal } from './proto.js';
import { OtlpThread } from './thread.js';
import { rejectedCount, rejectionMessage, type Rejections } from './types.js';

/**
 * The OTLP/HTTP receiver: `POST /v1/traces`, `/v1/metrics`, `/v1/logs`, OTLP/JSON or protobuf, optionally gzipped,
 * authenticated with a Goodhart key (`Authorization: Bearer gh_…` in OTEL_EXPORTER_OTLP_HEADERS). Thin: it
 * authenticates and hands the raw request to the processor (process.ts), on a thread of its own for a store in a file
 * or on Postgres (thread.ts): a batch of tens of thousands of records takes a second to inflate, parse and map, and on
 * the gateway's thread every request it is proxying would wait that long. The processor writes the usage events to
 * the store itself there, so a batch is acknowledged once stored; for a store in memory it runs here and hands the
 * events to the gateway's event writer.
 *
 * Registered as an encapsulated plugin with its own content-type parser (raw bytes: protobuf and gzip), so the
 * gateway's JSON body parser is untouched, and its own error handler: errors are OTLP's google.rpc.Status.
 */
export interface OtlpDeps {
  keys: { authenticate(headers: FastifyRequest['headers']): KeyRecord | Promise<KeyRecord> };
  /** The gateway's event sink: used for a store in memory only (otherwise the OTLP thread stores the events itself). */
  events: { enqueue(e: UsageEvent): void };
  store: Store;
  /** The config's per-model prices (`models[].price`), for the catalogue the processor prices with. */
  priceOverrides?: Record<string, ModelPriceOverride>;
  /** `identities:` and `users:` of the config, to attribute telemetry by email or account. */
  rules?: Pick<GoodhartConfig, 'identities' | 'users'> & { outcomes?: { trustedPosters: readonly string[] } };
}

export function registerOtlpRoutes(app: FastifyInstance, deps: OtlpDeps): void {
  const rules: OtlpRules = { identities: deps.rules?.identities ?? [], users: deps.rules?.users ?? [], trustedPosters: deps.rules?.outcomes?.trustedPosters ?? [] };
  const overrides = deps.priceOverrides ?? {};
  const spec = storeSpec(deps.store);
  let ingest: (r: OtlpRequest) => Promise<{ rejected: Rejections }>;
  if (spec === null) {
    ingest = createOtlpProcessor({
      store: deps.store,
      pricer: createPricer(overrides),
      rules,
      write: (events) => {
        for (const e of events) deps.events.enqueue(e);
      },
    });
  } else {
    const thread = new OtlpThread({ spec, priceOverrides: overrides, rules });
    app.addHook('onClose', async () => thread.close());
    ingest = (r) => thread.process(r);
  }

  const handle = (signal: Signal) => async (req: FastifyRequest, reply: FastifyReply) => {
    if (presentedKey(req.headers) === undefined) {
      throw new GoodhartError(
        'unauthorized',
        401,
        'No Goodhart key was sent. Set OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer gh_…" (your Goodhart key) where the exporter runs; create a key with `goodhart keys create --user YOU --team TEAM`.',
      );
    }
    const authed = deps.keys.authenticate(req.headers);
    const key = authed instanceof Promise ? await authed : authed;
    const protobuf = isProtobuf(req.headers['content-type']);
    const { rejected } = await ingest({ signal, body: (req.body as Buffer | undefined) ?? Buffer.alloc(0), encoding: req.headers['content-encoding'], protobuf, key });
    return respond(reply, protobuf, rejected, signal);
  };

  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, raw, done) => done(null, raw));
    const bodyLimit = app.initialConfig.bodyLimit ?? 1 << 20;
    scope.setErrorHandler((err: FastifyError, req, reply) => sendError(err, req, reply, bodyLimit));
    scope.post('/v1/traces', handle('traces'));
    scope.post('/v1/metrics', handle('metrics'));
    scope.post('/v1/logs', handle('logs'));
    // Where exporters post when their endpoint is set a little wrong: a 404 (as google.rpc.Status, which they log)
    // saying what to set, instead of the provider routes the gateway's own 404 lists.
    for (const signal of ['traces', 'metrics', 'logs'] as const) {
      for (const path of [`/v1/v1/${signal}`, `/v1/${signal}/`, `/v1/${signal}/v1/${signal}`]) {
        scope.post(path, async (req) => {
          throw new GoodhartError('not_found', 404, misplacedOtlp(path, signal, `${req.protocol}://${req.headers.host ?? 'HOST:PORT'}`));
        });
      }
    }
  });
}

/** What to set when an exporter posted to `path` instead of `/v1/<signal>` of `base`. */
export function misplacedOtlp(path: string, signal: Signal, base: string): string {
  const why = path.endsWith('/')
    ? `Goodhart receives OTLP at POST /v1/${signal}, without a trailing slash.`
    : path.startsWith('/v1/v1/')
      ? `The path has /v1 twice: OTEL_EXPORTER_OTLP_ENDPOINT is the server's base URL, without /v1 (the exporter adds /v1/${signal}).`
      : `OTEL_EXPORTER_OTLP_ENDPOINT is the server's base URL, not a signal's (the exporter adds /v1/${signal}).`;
  const own = `OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_ENDPOINT`;
  return `No route POST ${path}. ${why} Set OTEL_EXPORTER_OTLP_ENDPOINT=${base}, or ${own}=${base}/v1/${signal} (the full URL, used as it is).`;
}

function isProtobuf(contentType: string | undefined): boolean {
  return typeof contentType === 'string' && /^application\/(x-)?protobuf\b/i.test(contentType);
}

const ITEMS: Record<Signal, readonly [string, string]> = { traces: ['span', 'spans'], metrics: ['data point', 'data points'], logs: ['log record', 'log records'] };

/** OTLP's Export*ServiceResponse in the request's encoding: empty on full success, `partialSuccess` when items were rejected. */
function respond(reply: FastifyReply, protobuf: boolean, rejections: Rejections, signal: Signal): FastifyReply {
  const rejected = rejectedCount(rejections);
  const message = rejected === 0 ? '' : rejectionMessage(rejections, ITEMS[signal]);
  if (protobuf) return reply.code(200).header('content-type', 'application/x-protobuf').send(Buffer.from(encodeExportResponse(signal, rejected, message)));
  return reply.code(200).header('content-type', 'application/json').send(exportResponse(signal, rejected, message));
}

/** gRPC status codes by HTTP status, for google.rpc.Status (exporters may log the code; they act on the HTTP status). */
const GRPC_CODE: Record<number, number> = { 400: 3, 401: 16, 403: 7, 404: 5, 413: 8, 415: 3, 429: 8, 501: 12, 503: 14, 504: 4 };

/**
 * The OTLP routes' errors as OTLP/HTTP specifies them: a google.rpc.Status in the request's encoding (protobuf for a
 * protobuf request, else JSON), whose message exporters log. The gateway's OpenAI-style body (gateway/errors.ts, which
 * answers everything else) would not decode as one. Errors fastify raises itself (a body over the limit) get the
 * hint an exporter's operator can act on.
 */
function sendError(err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply, bodyLimit: number): void {
  const g = normalise(err, bodyLimit, `${SMALLER_BATCHES} Or ask the operator to raise server.bodyLimitBytes.`);
  if (g.httpStatus >= 500 && g.code === 'internal') req.log.error({ err }, 'internal error');
  if (reply.sent || reply.raw.headersSent) {
    reply.raw.destroy();
    return;
  }
  if (g.headers !== undefined) void reply.headers(g.headers);
  const status = { code: GRPC_CODE[g.httpStatus] ?? (g.httpStatus >= 500 ? 13 : 2), message: g.message };
  const protobuf = isProtobuf(req.headers['content-type']);
  void reply
    .code(g.httpStatus)
    .header('content-type', protobuf ? 'application/x-protobuf' : 'application/json')
    .send(protobuf ? Buffer.from(encodeStatus(status)) : status);
}
