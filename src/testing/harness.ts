import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { configSchema, type GoodhartConfigInput } from '../config/schema.js';
import type { RequestObserver } from '../gateway/proxy.js';
import { createGateway, type Gateway } from '../gateway/server.js';
import { newKey } from '../keys/keys.js';
import { startSimProvider, type SimOptions, type SimProvider } from '../sim/index.js';
import { EventWriter } from '../store/event-writer.js';
import { openStore } from '../store/open.js';
import type { Policy } from '../policy/types.js';
import type { Store } from '../store/types.js';
import type { UsageEvent } from '../usage/event.js';

export interface Harness {
  url: string;
  sim: SimProvider;
  store: Store;
  gateway: Gateway;
  key: string;
  openai: OpenAI;
  anthropic: Anthropic;
  /** Writes pending events and returns them all, oldest first. */
  events(): Promise<UsageEvent[]>;
  /** Adds a key for another user. */
  addKey(userId: string, teamId?: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * A real gateway (fastify on a random port, SQLite in a temp folder, the batching writer) in front of the
 * simulated provider, with the official SDKs pointed at it. Used by tests and benchmarks alike.
 */
export async function startHarness(
  opts: {
    config?: (simUrl: string) => Partial<GoodhartConfigInput>;
    sim?: SimOptions;
    /** The gateway's clock (budget periods, grants, rate windows). */
    now?: () => number;
    /** A custom governance hook instead of the built-in one. */
    policy?: Policy;
    /** Tail observers of each finished request (routing's quality guard, waste detection). */
    observers?: readonly RequestObserver[];
    /** A store held in memory (`:memory:`) instead of a SQLite file: what runs on the gateway's thread then. */
    memoryStore?: boolean;
    /** How often the gateway's key cache re-reads the keys (default 100 ms; `addKey` refreshes it at once). */
    keyRefreshMs?: number;
    /** The port to listen on (default: any free one). */
    port?: number;
    /** How long a drain waits for requests still arriving (GatewayOptions.drainGrace). */
    drainGrace?: { headersMs: number; bodyMs: number };
    /** Runs before the store opens, given its file's path (to put something beside it). */
    beforeOpen?: (dbPath: string) => void;
  } = {},
): Promise<Harness> {
  const sim = await startSimProvider(opts.sim);
  const dir = mkdtempSync(join(tmpdir(), 'goodhart-test-'));
  opts.beforeOpen?.(join(dir, 'goodhart.db'));
  const store = await openStore(opts.memoryStore === true ? ':memory:' : join(dir, 'goodhart.db'));
  const config = configSchema.parse({
    providers: {
      openai: { type: 'openai', baseUrl: `${sim.url}/v1`, apiKey: 'sk-sim-openai' },
      anthropic: { type: 'anthropic', baseUrl: sim.url, apiKey: 'sk-ant-sim' },
    },
    ...opts.config?.(sim.url),
  });
  const writer = new EventWriter(store, { flushIntervalMs: 50 });
  const gateway = await createGateway({
    config,
    store,
    events: writer,
    keyRefreshMs: opts.keyRefreshMs ?? 100,
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.policy ? { policy: opts.policy } : {}),
    ...(opts.observers ? { observers: opts.observers } : {}),
    ...(opts.drainGrace ? { drainGrace: opts.drainGrace } : {}),
  });
  const url = await gateway.listen(opts.port ?? 0, '127.0.0.1');
  const addKey = async (userId: string, teamId = 'platform') => {
    const made = newKey({ userId, teamId, projectId: 'checkout' });
    await store.createKey(made.record);
    await gateway.keys.refresh();
    return made.key;
  };
  const key = await addKey('alice');
  return {
    url,
    sim,
    store,
    gateway,
    key,
    openai: new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0 }),
    anthropic: new Anthropic({ baseURL: url, apiKey: key, maxRetries: 0 }),
    async events() {
      await writer.drain();
      return store.listEvents({});
    },
    addKey,
    async close() {
      await gateway.close();
      await store.close();
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
