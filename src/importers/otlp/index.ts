import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { GoodhartConfig } from '../../config/schema.js';
import { storeSpec } from '../../store/open.js';
import type { KeyRecord, Store } from '../../store/types.js';
import type { UsageEvent } from '../../usage/event.js';
import { createPricer, type ModelPriceOverride } from '../../usage/pricing.js';
import { createOtlpProcessor, type OtlpRequest, type OtlpRules } from './process.js';
import type { Signal } from './proto.js';
import { OtlpThread } from './thread.js';

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
 * gateway's JSON body parser is untouched.
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
  let ingest: (r: OtlpRequest) => Promise<{ rejected: number }>;
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
    const authed = deps.keys.authenticate(req.headers);
    const key = authed instanceof Promise ? await authed : authed;
    const protobuf = isProtobuf(req.headers['content-type']);
    const { rejected } = await ingest({ signal, body: (req.body as Buffer | undefined) ?? Buffer.alloc(0), encoding: req.headers['content-encoding'], protobuf, key });
    return respond(reply, protobuf, rejected, signal);
  };

  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, raw, done) => done(null, raw));
    scope.post('/v1/traces', handle('traces'));
    scope.post('/v1/metrics', handle('metrics'));
    scope.post('/v1/logs', handle('logs'));
  });
}

function isProtobuf(contentType: string | undefined): boolean {
  return typeof contentType === 'string' && /^application\/(x-)?protobuf\b/i.test(contentType);
}

/** OTLP's Export*ServiceResponse: empty on full success, `partialSuccess` when items were rejected. */
function respond(reply: FastifyReply, protobuf: boolean, rejected: number, signal: Signal): FastifyReply {
  if (protobuf) {
    // An empty message is a full success; a partial-success message is not worth encoding for a count.
    return reply.code(200).header('content-type', 'application/x-protobuf').send(Buffer.alloc(0));
  }
  const field = signal === 'traces' ? 'rejectedSpans' : signal === 'logs' ? 'rejectedLogRecords' : 'rejectedDataPoints';
  const body = rejected > 0 ? { partialSuccess: { [field]: String(rejected), errorMessage: `${rejected} malformed items skipped` } } : {};
  return reply.code(200).header('content-type', 'application/json').send(body);
}
