import Fastify, { type FastifyInstance } from 'fastify';
import type { GoodhartConfig } from '../config/schema.js';
import { EventWriter } from '../store/event-writer.js';
import type { Store } from '../store/types.js';
import type { Policy } from '../policy/types.js';
import { createPricer, type ModelPriceOverride } from '../usage/pricing.js';
import { KeyCache } from './auth.js';
import { registerJsonBody } from './body.js';
import { installErrorHandling } from './errors.js';
import { listModels } from './models.js';
import { Proxy, type EventSink, type RequestObserver } from './proxy.js';
import { ModelRouter } from './router.js';
import { Upstreams } from './upstream.js';

export interface GatewayOptions {
  config: GoodhartConfig;
  store: Store;
  /** Where usage events go; default: a batching EventWriter on `store`. */
  events?: EventSink & { close?: () => Promise<void> };
  now?: () => number;
  logger?: boolean;
  /** How often keys created/revoked elsewhere are picked up (ms). */
  keyRefreshMs?: number;
  /** Governance hook: budgets, tiers, rate limits (see src/policy/types.ts). */
  policy?: Policy;
  /** Tail observers of each finished request (see RequestObserver in proxy.ts). */
  observers?: readonly RequestObserver[];
}

export interface Gateway {
  app: FastifyInstance;
  keys: KeyCache;
  /** Starts listening; resolves to the base URL (http://host:port). */
  listen(port?: number, host?: string): Promise<string>;
  /** Stops accepting, finishes in-flight requests, writes every pending event, closes upstream pools. */
  close(): Promise<void>;
}

export async function createGateway(opts: GatewayOptions): Promise<Gateway> {
  const { config, store } = opts;
  const now = opts.now ?? Date.now;
  const bodyLimit = config.server.bodyLimitBytes;
  const app = Fastify({
    bodyLimit,
    logger: opts.logger ?? false,
    // Longer than typical load balancer idle timeouts (60 s), so the LB closes idle connections first.
    keepAliveTimeout: 72_000,
    // Streams may legitimately last many minutes; upstream timeouts bound each request instead.
    requestTimeout: 0,
    return503OnClosing: true,
  });
  registerJsonBody(app);
  installErrorHandling(app, bodyLimit);

  const overrides: Record<string, ModelPriceOverride> = {};
  for (const m of config.models) if (m.price) overrides[m.name] = m.price;
  const keys = new KeyCache(store, opts.keyRefreshMs);
  await keys.start();
  const router = new ModelRouter(config);
  const upstreams = new Upstreams();
  const events = opts.events ?? new EventWriter(store);
  const proxy = new Proxy({
    router,
    keys,
    upstreams,
    pricer: createPricer(overrides),
    events,
    upstreamTimeoutMs: config.server.upstreamTimeoutMs,
    now,
    ...(opts.policy ? { policy: opts.policy } : {}),
    ...(opts.observers ? { observers: opts.observers } : {}),
  });

  app.post('/v1/chat/completions', (req, reply) => proxy.handle('chat.completions', 'openai', req, reply));
  app.post('/v1/responses', (req, reply) => proxy.handle('responses', 'openai', req, reply));
  app.post('/v1/embeddings', (req, reply) => proxy.handle('embeddings', 'openai', req, reply));
  app.post('/v1/messages', (req, reply) => proxy.handle('messages', 'anthropic', req, reply));
  app.post('/v1/messages/count_tokens', (req, reply) => proxy.handle('messages.count_tokens', 'anthropic', req, reply));
  app.get('/v1/models', async (req) => {
    const authed = keys.authenticate(req.headers);
    if (authed instanceof Promise) await authed;
    const wire = typeof req.headers['anthropic-version'] === 'string' ? 'anthropic' : 'openai';
    return listModels(config, router, upstreams, wire);
  });
  app.get('/healthz', async () => ({ status: 'ok' }));

  return {
    app,
    keys,
    async listen(port = config.server.port, host = config.server.host) {
      await app.listen({ port, host });
      const addr = app.server.address();
      const actual = addr && typeof addr === 'object' ? addr.port : port;
      return `http://${host.includes(':') ? `[${host}]` : host}:${actual}`;
    },
    async close() {
      await app.close();
      keys.stop();
      await events.close?.();
      await upstreams.close();
    },
  };
}
