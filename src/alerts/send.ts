import { request } from 'undici';

/**
 * Posts one JSON body to one webhook, retried with exponential backoff and jitter on network errors, 408, 429 and
 * 5xx, until `maxAttempts`. Shared by budget alerts (dispatcher.ts) and personal digests (src/report/digest.ts).
 */

export interface WebhookTarget {
  url: string;
  headers?: Record<string, string> | undefined;
}

export interface SendOptions {
  maxAttempts: number;
  initialBackoffMs: number;
  /** Per attempt. A webhook that takes longer than 10 s is down for our purposes. */
  timeoutMs?: number | undefined;
  /** Backoffs never exceed this (1 minute). */
  maxBackoffMs?: number | undefined;
  sleep?: ((ms: number) => Promise<void>) | undefined;
  userAgent?: string;
}

export interface SendResult {
  ok: boolean;
  attempts: number;
  /** The last failure (`HTTP 503`, a network error), empty when delivered. */
  last: string;
  /**
   * The webhook refused the body for good: a 4xx other than 408 and 429 (a revoked Slack webhook answers 404, a
   * wrong token 401 or 403). Trying again later sends the same body to the same URL and gets the same answer.
   */
  permanent: boolean;
}

const defaultSleep = (ms: number) =>
  new Promise<void>((resolve) => {
    setTimeout(resolve, ms).unref();
  });

/** Worth trying again: the receiver is overloaded, down or timed out (408, 429, 5xx). */
const transient = (status: number): boolean => status === 408 || status === 429 || status >= 500;

export async function postJson(target: WebhookTarget, body: string, opts: SendOptions): Promise<SendResult> {
  const sleep = opts.sleep ?? defaultSleep;
  let delay = opts.initialBackoffMs;
  let last = '';
  let attempts = 0;
  for (let attempt = 1; attempt <= opts.maxAttempts; attempt++) {
    attempts++;
    let retry = true;
    try {
      const res = await request(target.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': opts.userAgent ?? 'goodhart-alerts', ...target.headers },
        body,
        headersTimeout: opts.timeoutMs ?? 10_000,
        bodyTimeout: opts.timeoutMs ?? 10_000,
      });
      await res.body.dump();
      if (res.statusCode < 300) return { ok: true, attempts, last: '', permanent: false };
      last = `HTTP ${res.statusCode}`;
      retry = transient(res.statusCode);
      if (!retry && res.statusCode >= 400) return { ok: false, attempts, last, permanent: true };
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (!retry || attempt === opts.maxAttempts) break;
    // Jitter (half the delay plus a random half) keeps gateways from retrying a recovering receiver in lockstep.
    await sleep(Math.round(delay / 2 + Math.random() * (delay / 2)));
    delay = Math.min(delay * 2, opts.maxBackoffMs ?? 60_000);
  }
  return { ok: false, attempts, last, permanent: false };
}


/** Webhook URLs carry secrets in their path (Slack's do): log the host only. */
export function redactUrl(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid url)';
  }
}
