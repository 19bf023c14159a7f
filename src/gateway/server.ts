import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { priceOverridesOf } from '../config/prices.js';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { GoodhartError } from '../errors.js';
import { installGovernance, type Governance } from '../admin/install.js';
import type { GoodhartConfig } from '../config/schema.js';
import { EventWriter } from '../store/event-writer.js';
import { storeSpec } from '../store/open.js';
import { fingerprintKeyFile } from '../detect/fingerprint/secret-file.js';
import { FingerprintObserver } from '../detect/fingerprint/observer.js';
import { findingsStoreOf } from '../detect/store.js';
import type { Store } from '../store/types.js';
import { composePolicies } from '../policy/compose.js';
import { Directory } from '../policy/directory.js';
import type { Policy } from '../policy/types.js';
import { createRouting, MemoryDecisionStore, type Routing } from '../route/index.js';
import { openDecisionStore } from '../route/open.js';
import { routingConfigured } from '../route/config.js';
import { registerDashboard } from '../dashboard-server/index.js';
import { registerOtlpRoutes } from '../importers/otlp/index.js';
import { registerOutcomeRoutes } from '../outcomes/routes.js';
import { createPricer } from '../usage/pricing.js';
import { KeyCache } from './auth.js';
import { registerJsonBody } from './body.js';
import { clientErrorHandler, frameworkErrors, installErrorHandling, MAX_PARAM_CHARS, wireOf } from './errors.js';
import type { Wire } from './providers/types.js';
import { GatewayMetrics } from './metrics.js';
import { findModel, listModels, type ModelFilter } from './models.js';
import { Proxy, type EventSink, type RequestObserver } from './proxy.js';
import { checkFallbacks, ModelRouter } from './router.js';
import { Upstreams } from './upstream.js';
import { gatewayName, loopError } from './via.js';
import { TailWorker } from './tail/tail-worker.js';

export interface GatewayOptions {
  config: GoodhartConfig;
  store: Store;
  /** Where usage events go; default: a batching EventWriter on `store`. */
  events?: EventSink & { close?: () => Promise<void> };
  now?: () => number;
  /** fastify/pino logger options; default off (tests). `serve` logs warnings and errors to stderr. */
  logger?: boolean | { level: string; stream?: NodeJS.WritableStream };
  /** How often keys created/revoked elsewhere are picked up (ms). */
  keyRefreshMs?: number;
  /** Governance hook: budgets, tiers, rate limits (see src/policy/types.ts). */
  policy?: Policy;
  /** Tail observers of each finished request (see RequestObserver in proxy.ts). */
  observers?: readonly RequestObserver[];
  /** How long a drain waits for requests still arriving (tests shorten it); see DRAIN_GRACE. */
  drainGrace?: { headersMs: number; bodyMs: number };
}

/**
 * Once the server stops accepting, Node no longer enforces its headers and request timeouts, so a client that never
 * finishes sending would hold the drain (and the events of answered requests) until the process is killed. While
 * draining, a connection that has sent nothing is closed at once; one whose request headers are still arriving
 * after `headersMs`, or whose request body is after `bodyMs`, is cut. Requests being answered are never cut.
 */
const DRAIN_GRACE = { headersMs: 10_000, bodyMs: 30_000 };

/** Node's own record of the response a connection is answering (null between requests): what closeIdleConnections reads. */
type Connection = Socket & { _httpMessage?: ServerResponse | null };

export interface Gateway {
  app: FastifyInstance;
  keys: KeyCache;
  /** Budgets, tiers, rate limits and the admin API; null when a custom `policy` was given (or the store has none). */
  governance: Governance | null;
  /** Starts listening; resolves to the base URL (http://host:port). */
  listen(port?: number, host?: string): Promise<string>;
  /** Stops accepting, finishes in-flight requests, writes every pending event, closes upstream pools. */
  close(): Promise<void>;
}

/**
 * Routing runs when any mode is not `off`; its decisions and the quality guard's trips go beside the events (SQLite
 * file or Postgres database; memory for `:memory:`). Starts once the guard has its stored trips back.
 */
async function startRouting(config: GoodhartConfig, store: Store, now: () => number, tail: TailWorker | null): Promise<Routing | null> {
  if (!routingConfigured(config.routing)) return null;
  const durable = await openDecisionStore(store);
  // A SQLite file's decisions are written from the tail thread, in small batches (a routed request each: 2,500
  // at once held this thread for ~13 ms); Postgres writes are asynchronous I/O from here.
  const viaTail = durable !== null && tail !== null && store.kind === 'sqlite';
  const routing = createRouting(config, viaTail ? tail.decisionStore(durable) : (durable ?? new MemoryDecisionStore()), {
    now,
    ...(viaTail ? { flushIntervalMs: 50 } : {}),
  });
  await routing.ready;
  return routing;
}

/**
 * The gateway's tail thread (src/gateway/tail): writes a SQLite file's events, and fingerprints requests for waste
 * detection (config `detect.fingerprints`) wherever the store can be reopened on a thread. A store held in memory
 * (tests) is fingerprinted on this thread instead, between requests.
 */
async function startTail(
  config: GoodhartConfig,
  store: Store,
  writeEvents: boolean,
  log: (message: string) => void,
): Promise<{ tail: TailWorker | null; fingerprints: RequestObserver | null }> {
  const cfg = config.detect.fingerprints;
  const findings = cfg.enabled ? findingsStoreOf(store) : undefined;
  const spec = storeSpec(store);
  let secret: string | null = null;
  if (findings) {
    try {
      secret = cfg.secret ?? (await findings.fingerprintSecret());
    } catch (err) {
      // A key file this process may not create or read (a read-only home, another user's file): the gateway serves
      // without waste-detection fingerprints rather than not at all.
      log(
        `WARNING: waste-detection fingerprints are off: the fingerprint secret could not be read or created${spec?.kind === 'postgres' ? ` (${fingerprintKeyFile(spec)})` : ''}: ${err instanceof Error ? err.message : String(err)}. Set detect.fingerprints.secret in the config (the same on every replica), or GOODHART_FINGERPRINT_KEY_FILE to a file this user may write.`,
      );
    }
  }
  if (secret !== null && cfg.secret === undefined && spec?.kind === 'postgres') {
    // Generated on this host, outside the database: replicas elsewhere (or a container restarted without the file)
    // make their own, and fingerprints made under different secrets never match.
    log(
      `Fingerprint secret generated and kept in ${fingerprintKeyFile(spec)} on this host: set detect.fingerprints.secret (the same on every replica) so replicas on other hosts or containers match each other's fingerprints.`,
    );
  }
  if (spec === null) {
    const inline = findings && secret ? new FingerprintObserver({ store: findings, secret, retentionDays: cfg.retentionDays }) : null;
    return { tail: null, fingerprints: inline };
  }
  if (secret === null && !(writeEvents && spec.kind === 'sqlite')) return { tail: null, fingerprints: null };
  const tail = await TailWorker.start({ spec, fingerprints: secret ? { secret, retentionDays: cfg.retentionDays } : null, log });
  return { tail, fingerprints: secret ? tail : null };
}

export async function createGateway(opts: GatewayOptions): Promise<Gateway> {
  const { config, store } = opts;
  const now = opts.now ?? Date.now;
  const bodyLimit = config.server.bodyLimitBytes;
  const router = new ModelRouter(config);
  checkFallbacks(config, router);
  const app = Fastify({
    bodyLimit,
    logger: opts.logger ?? false,
    // Off unless configured: only a trusted proxy's X-Forwarded-Proto makes a request https (the dashboard's Secure cookie).
    trustProxy: config.server.trustProxy,
    // Longer than typical load balancer idle timeouts (60 s), so the LB closes idle connections first.
    keepAliveTimeout: 72_000,
    // Receiving a request (headers and body) may take at most Node's default of 5 minutes: a client sending a byte
    // every few seconds is cut off. It does not bound the response: streams may last as long as the upstream allows.
    requestTimeout: 300_000,
    // Refused while closing by the hook below, in the client's error format (fastify's own 503 is its format).
    return503OnClosing: false,
    clientErrorHandler,
    routerOptions: { maxParamLength: MAX_PARAM_CHARS },
    frameworkErrors,
  });
  registerJsonBody(app, bodyLimit);
  installErrorHandling(app, bodyLimit);
  let closing = false;
  // Node counts a connection whose request has not arrived as busy, so closeIdleConnections leaves it open, and
  // close() would wait for it (HTTP clients open connections ahead of use: undici did beside a stream it then
  // abandoned). Kept here to be closed when draining (DRAIN_GRACE).
  const sockets = new Set<Connection>();
  app.server.on('connection', (socket: Connection) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  app.addHook('onRequest', (_req, reply, done) => {
    if (!closing) return done();
    // Requests that arrive on open keep-alive connections while the replica drains: another replica (or this one,
    // restarted) will serve them. The connection closes after this answer.
    reply.header('connection', 'close');
    done(new GoodhartError('unavailable', 503, 'This Goodhart server is shutting down (finishing the requests in flight). Send the request again: another replica, or this one once restarted, will serve it.', { retryable: true }));
  });

  const overrides = priceOverridesOf(config.models);
  const keys = new KeyCache(store, opts.keyRefreshMs);
  await keys.start();
  const upstreams = new Upstreams();
  const name = gatewayName();
  const { tail, fingerprints } = await startTail(config, store, !opts.events, (m) => app.log.warn(m));
  // A SQLite file is written from the tail thread; other stores do their I/O asynchronously from here.
  // Through the tail thread, small frequent batches: posting 500 events at once held this thread for about a
  // millisecond (a p99 spike); the thread's own transaction per batch costs it, not the requests.
  const events = opts.events ?? (store.kind === 'sqlite' && tail ? new EventWriter(tail, { flushIntervalMs: 25, batchSize: 200 }) : new EventWriter(store));
  const metrics = new GatewayMetrics(() => (events instanceof EventWriter ? events.stats().queued : 0));
  const pricer = createPricer(overrides);
  const governance = opts.policy ? null : await installGovernance(app, { config, store, keys, pricer, now });
  // Usage is booked to the person's team in the directory as it is now (admin API changes included), not the team the
  // key was made with: see KeyCache.followDirectory.
  const configDirectory = new Directory(config).spec();
  keys.followDirectory((userId) => (governance?.policy.current() ?? configDirectory).users.get(userId)?.team);
  const routing = opts.policy ? null : await startRouting(config, store, now, tail);
  const policies: Policy[] = [];
  if (governance) policies.push(governance.policy);
  if (routing) policies.push(routing.policy);
  // Governance first: a request refused by a budget or tier is never routed; routing sees the model governance chose.
  const policy = opts.policy ?? (policies.length > 1 ? composePolicies(...policies) : policies[0]);
  const observers = [...(opts.observers ?? []), ...(fingerprints ? [fingerprints] : []), ...(routing ? [routing.guard] : [])];
  const proxy = new Proxy({
    router,
    keys,
    upstreams,
    pricer,
    events,
    upstreamTimeoutMs: config.server.upstreamTimeoutMs,
    now,
    ...(policy ? { policy } : {}),
    ...(observers.length > 0 ? { observers } : {}),
    metrics,
    fallbacks: config.fallbacks,
    name,
  });

  app.decorateRequest('goodhartKey', null);
  const keyFirst = { onRequest: proxy.checkKey };
  app.post('/v1/chat/completions', keyFirst, (req, reply) => proxy.handle('chat.completions', 'openai', req, reply));
  app.post('/v1/responses', keyFirst, (req, reply) => proxy.handle('responses', 'openai', req, reply));
  app.post('/v1/embeddings', keyFirst, (req, reply) => proxy.handle('embeddings', 'openai', req, reply));
  app.post('/v1/messages', keyFirst, (req, reply) => proxy.handle('messages', 'anthropic', req, reply));
  app.post('/v1/messages/count_tokens', keyFirst, (req, reply) => proxy.handle('messages.count_tokens', 'anthropic', req, reply));
  /**
   * The models routes answer any key, in Anthropic's shape to a request with `anthropic-version` (wireOf), listing
   * only the models the key's person may use when governance has tiers; `mayUse` throws the 403 admission would give.
   */
  const modelsWire = async (req: FastifyRequest): Promise<{ wire: Wire; allowed: ModelFilter | undefined; mayUse: (model: string) => void }> => {
    const loop = loopError(req.headers, name);
    if (loop !== null) throw loop;
    const authed = keys.authenticate(req.headers);
    const key = authed instanceof Promise ? await authed : authed;
    const engine = governance?.policy;
    const t = now();
    return {
      wire: wireOf(req.url, req.headers),
      allowed: engine === undefined ? undefined : (model) => engine.allows(key, model, t),
      mayUse: (model) => engine?.mayUse(key, model, t),
    };
  };
  app.get('/v1/models', async (req) => {
    const { wire, allowed } = await modelsWire(req);
    return listModels(config, router, upstreams, wire, name, allowed);
  });
  // Model ids may hold a slash (OpenRouter's "openai/gpt-4o"): the rest of the path is the id.
  app.get<{ Params: { '*': string } }>('/v1/models/*', async (req) => {
    const { wire, mayUse } = await modelsWire(req);
    const id = req.params['*'];
    const found = await findModel(config, router, upstreams, wire, id, name);
    if (found === null) throw new GoodhartError('model_not_found', 404, `Model "${id.slice(0, 200)}" is not listed by this gateway. GET /v1/models lists what it serves.`);
    // Served, but not to this person: the same 403 as a request for it, saying how to ask for access.
    mayUse(id);
    return found;
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  // Ready = the store answers, and Redis when budgets are shared through it. A load balancer stops sending traffic
  // to a replica that cannot meter (store) or check budgets (Redis); each failing dependency is named.
  app.get('/readyz', async (_req, reply) => {
    const checks: Record<string, () => Promise<unknown>> = { store: () => store.keysVersion() };
    const redis = governance?.redis;
    if (redis) checks['redis'] = () => redis.ping();
    const results = await Promise.all(
      Object.entries(checks).map(async ([name, check]) => {
        try {
          await check();
          return [name, 'ok'] as const;
        } catch (err) {
          return [name, `unreachable: ${err instanceof Error ? err.message : String(err)}`] as const;
        }
      }),
    );
    const failed = results.filter(([, r]) => r !== 'ok').map(([name]) => name);
    const body = { status: failed.length === 0 ? 'ready' : 'not_ready', store: store.kind, checks: Object.fromEntries(results), ...(failed.length > 0 ? { error: `${failed.join(' and ')} unreachable` } : {}) };
    return failed.length === 0 ? body : reply.code(503).send(body);
  });
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  registerOtlpRoutes(app, { keys, events, store, priceOverrides: overrides, rules: config });
  await registerDashboard(app, { config, store, keys, governance, now });
  registerOutcomeRoutes(app, { keys, store, config, now });

  return {
    app,
    keys,
    governance,
    async listen(port = config.server.port, host = config.server.host) {
      await app.listen({ port, host });
      const addr = app.server.address();
      const actual = addr && typeof addr === 'object' ? addr.port : port;
      return `http://${host.includes(':') ? `[${host}]` : host}:${actual}`;
    },
    async close() {
      closing = true;
      // close() waits for every connection; keep-alive connections whose last response finished after it began
      // would hold it open until their idle timeout, so they are closed as they become idle.
      const grace = opts.drainGrace ?? DRAIN_GRACE;
      const drainStart = Date.now();
      const sweep = setInterval(() => {
        app.server.closeIdleConnections();
        const waited = Date.now() - drainStart;
        for (const socket of sockets) {
          const res = socket._httpMessage;
          if (res == null) {
            if (socket.bytesRead === 0 || waited > grace.headersMs) socket.destroy();
          } else if (!res.req.complete && waited > grace.bodyMs) {
            socket.destroy();
          }
        }
      }, 50);
      try {
        await app.close();
      } finally {
        clearInterval(sweep);
      }
      keys.stop();
      await events.close?.();
      // Routing's last decisions go through the tail thread: written before it closes.
      await routing?.close();
      await tail?.close();
      if (fingerprints instanceof FingerprintObserver) await fingerprints.close();
      await governance?.close();
      await upstreams.close();
    },
  };
}
