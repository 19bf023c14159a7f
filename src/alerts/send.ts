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
  /**
   * Per attempt, from connecting to the answer's status: a webhook that takes longer than 10 s is down for our
   * purposes. Its answer's body is read (to reuse the connection) until the same deadline, then dropped.
   */
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
    // One deadline for the whole attempt. undici's headersTimeout and bodyTimeout each measure a silence, so a
    // receiver trickling its answer kept an attempt going for as long as it liked, past the dispatcher's lease
    // (which counts on attempts ending at timeoutMs), and another replica sent the alert again.
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    try {
      const res = await request(target.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': opts.userAgent ?? 'goodhart-alerts', ...target.headers },
        body,
        signal: deadline.signal,
      });
      // The status decides; a body still coming at the deadline is dropped with its connection.
      await res.body.dump().catch(() => {});
      if (res.statusCode < 300) return { ok: true, attempts, last: '', permanent: false };
      last = `HTTP ${res.statusCode}`;
      retry = transient(res.statusCode);
      if (!retry && res.statusCode >= 400) return { ok: false, attempts, last, permanent: true };
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    } finally {
      clearTimeout(timer);
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
