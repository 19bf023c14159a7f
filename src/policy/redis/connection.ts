import { Redis } from 'ioredis';
import { GoodhartError } from '../../errors.js';

/**
 * One Redis connection per replica for the request path, plus one for the settlement notifications (a
 * subscribed connection can send nothing else). Fail fast, never queue: while Redis is unreachable a request
 * that needs a budget check is answered 503 at once, instead of waiting on a queue of commands that may never run.
 */

/** A command that takes longer than this is treated as failed: the budget check must not hold a request for long. */
const COMMAND_TIMEOUT_MS = 2_000;
const CONNECT_TIMEOUT_MS = 5_000;

export interface SharedRedis {
  readonly redis: Redis;
  readonly prefix: string;
  /** As configured (it may hold a password: redact before printing). */
  readonly url: string;
  /** For /readyz. */
  ping(): Promise<void>;
  /** Subscribes to a channel under the prefix; the connection is made on first use. */
  subscribe(channel: string, onMessage: () => void): void;
  /** Work off the request path (settlements) that `close` waits for before disconnecting. */
  track<T>(work: Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** The URL without its password, for messages. */
export function redactRedisUrl(url: string): string {
  return url.replace(/^(rediss?:\/\/[^:/@]*:)[^@/]*@/i, '$1***@');
}

/** A command ioredis refused without sending it: Redis is not connected and commands are not queued. */
export function neverSent(err: unknown): boolean {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  return cause instanceof Error && cause.message.includes("Stream isn't writeable");
}

export function redisUnavailable(url: string, cause: unknown): GoodhartError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new GoodhartError(
    'internal',
    503,
    `Budgets are shared through Redis at ${redactRedisUrl(url)}, which does not answer (${reason}). Try again shortly; operators: check the Redis server, redis.url / GOODHART_REDIS_URL, and GET /readyz.`,
    { retryable: true, cause },
  );
}

export async function connectRedis(url: string, prefix: string, log: (message: string) => void): Promise<SharedRedis> {
  const options = {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: COMMAND_TIMEOUT_MS,
    connectTimeout: CONNECT_TIMEOUT_MS,
    // Commands issued in the same tick by concurrent requests go out in one write (one syscall, not one each).
    enableAutoPipelining: true,
    // Reconnect forever, at most every 2 s: a replica outlives a Redis restart.
    retryStrategy: (attempt: number) => Math.min(attempt * 200, 2_000),
  };
  const redis = new Redis(url, options);
  let lastLogged = 0;
  const onError = (err: Error) => {
    // Once every 30 s at most: a Redis outage must not flood the log.
    if (Date.now() - lastLogged < 30_000) return;
    lastLogged = Date.now();
    log(`goodhart: Redis at ${redactRedisUrl(url)}: ${err.message}`);
  };
  redis.on('error', onError);
  try {
    await redis.connect();
  } catch (cause) {
    redis.disconnect();
    throw new GoodhartError(
      'config_invalid',
      500,
      `Cannot connect to Redis at ${redactRedisUrl(url)}: ${cause instanceof Error ? cause.message : String(cause)}. Check redis.url in the config (or GOODHART_REDIS_URL) and that the server runs.`,
      { cause },
    );
  }
  let subscriber: Redis | undefined;
  const pending = new Set<Promise<unknown>>();
  const handlers = new Map<string, (() => void)[]>();
  return {
    redis,
    prefix,
    url,
    async ping() {
      await redis.ping();
    },
    subscribe(channel, onMessage) {
      const full = prefix + channel;
      if (subscriber === undefined) {
        // The offline queue stays on here: subscriptions are replayed after a reconnect.
        subscriber = new Redis(url, { ...options, lazyConnect: false, enableOfflineQueue: true, maxRetriesPerRequest: null, commandTimeout: undefined });
        subscriber.on('error', onError);
        subscriber.on('message', (ch: string) => {
          for (const f of handlers.get(ch) ?? []) f();
        });
      }
      handlers.set(full, [...(handlers.get(full) ?? []), onMessage]);
      subscriber.subscribe(full).catch(onError);
    },
    track(work) {
      pending.add(work);
      void work.then(
        () => pending.delete(work),
        () => pending.delete(work),
      );
      return work;
    },
    async close() {
      // Settlements of the last requests book their spend before the connection goes.
      while (pending.size > 0) await Promise.allSettled([...pending]);
      await Promise.all([redis.quit().catch(() => redis.disconnect()), subscriber?.quit().catch(() => subscriber?.disconnect())]);
    },
  };
}

/**
 * Alert de-duplication across replicas: the first replica to claim a dedup key sends the alert. The key lives
 * until the budget period ends (plus a day), after which the same threshold can fire again in the next period.
 */
export async function claimAlertInRedis(shared: SharedRedis, dedupKey: string, at: number, periodEnd: number): Promise<boolean> {
  const ttl = Number.isFinite(periodEnd) ? Math.max(60_000, periodEnd - at + 86_400_000) : 400 * 86_400_000;
  return (await shared.redis.set(`${shared.prefix}alert:${dedupKey}`, String(at), 'PX', Math.round(ttl), 'NX')) === 'OK';
}
