import { Pool, errors as undiciErrors, type Dispatcher } from 'undici';
import { UpstreamCall } from './upstream-call.js';
import { providerSetting } from '../config/provider-env.js';
import { GoodhartError } from '../errors.js';
import type { ResolvedProvider } from './router.js';

interface Target {
  pool: Pool;
  basePath: string;
  query: string;
}

/**
 * One keep-alive connection pool per provider. Requests are made with undici's `request`, whose body is a stream:
 * streamed responses are forwarded chunk by chunk, never buffered whole.
 */
export class Upstreams {
  private readonly targets = new Map<string, Target>();

  target(provider: ResolvedProvider): Target {
    let t = this.targets.get(provider.id);
    if (!t) {
      const url = new URL(provider.config.baseUrl);
      const query = new URLSearchParams(provider.config.query ?? {}).toString();
      t = {
        pool: new Pool(url.origin, {
          // Keep idle sockets a little under typical provider/load-balancer idle timeouts.
          keepAliveTimeout: 30_000,
          keepAliveMaxTimeout: 120_000,
          connect: { timeout: 10_000 },
        }),
        basePath: url.pathname.replace(/\/+$/, ''),
        query: query ? `?${query}` : '',
      };
      this.targets.set(provider.id, t);
    }
    return t;
  }

  /** Small requests (model lists): undici's promise API is fine off the hot path. */
  async request(
    provider: ResolvedProvider,
    path: string,
    opts: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: Buffer | string; signal: AbortSignal; timeoutMs: number },
  ): Promise<Dispatcher.ResponseData> {
    const t = this.target(provider);
    try {
      return await t.pool.request({
        path: t.basePath + path + t.query,
        method: opts.method,
        headers: opts.headers,
        body: opts.body ?? null,
        signal: opts.signal,
        headersTimeout: opts.timeoutMs,
        bodyTimeout: opts.timeoutMs,
      });
    } catch (err) {
      throw upstreamError(err, provider, opts.timeoutMs);
    }
  }

  /** The metered request path: starts a POST and returns its call at once (see UpstreamCall). */
  dispatch(
    provider: ResolvedProvider,
    path: string,
    opts: { headers: Record<string, string>; body: Buffer | string; timeoutMs: number },
  ): UpstreamCall {
    const t = this.target(provider);
    const call = new UpstreamCall();
    t.pool.dispatch(
      {
        path: t.basePath + path + t.query,
        method: 'POST',
        headers: opts.headers,
        body: opts.body,
        headersTimeout: opts.timeoutMs,
        bodyTimeout: opts.timeoutMs,
      },
      call,
    );
    return call;
  }

  async close(): Promise<void> {
    await Promise.all([...this.targets.values()].map((t) => t.pool.close().catch(() => undefined)));
    this.targets.clear();
  }
}

export function isTimeout(err: unknown): boolean {
  return err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError;
}

/** Maps a failure to reach the provider to 502/504 with what the operator can check. */
export function upstreamError(err: unknown, provider: ResolvedProvider, timeoutMs: number): unknown {
  if (err instanceof GoodhartError) return err;
  if (err instanceof Error && (err.name === 'AbortError' || err instanceof ClientGone)) return err;
  if (isTimeout(err)) {
    return new GoodhartError(
      'upstream_timeout',
      504,
      `Provider "${provider.id}" did not answer within ${timeoutMs} ms. Retry later; operators can raise server.upstreamTimeoutMs or providers.${provider.id}.timeoutMs.`,
      { retryable: true, cause: err },
    );
  }
  const code = (err as { code?: string } | null)?.code ?? (err instanceof Error ? err.message : String(err));
  // Connected, then the provider closed the connection before answering: not a wrong address.
  if (CLOSED_EARLY.has(code)) {
    return new GoodhartError(
      'upstream_unreachable',
      502,
      `Provider "${provider.id}" at ${provider.config.baseUrl} closed the connection before answering (${code}). Retry; if it keeps happening, the provider (or a proxy in front of it) is failing.`,
      { retryable: true, cause: err },
    );
  }
  return new GoodhartError(
    'upstream_unreachable',
    502,
    `Provider "${provider.id}" could not be reached at ${provider.config.baseUrl} (${code}). Retry later; operators should check ${providerSetting(provider.id, provider.config, 'baseUrl')} and the network.`,
    { retryable: true, cause: err },
  );
}

/** undici's codes for a connection the other side closed (or reset) after it was made. */
const CLOSED_EARLY = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);

/** The reason an upstream call is aborted when the client went away. */
export class ClientGone extends Error {
  constructor() {
    super('the client closed the connection');
    this.name = 'ClientGone';
  }
}
