import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { GoodhartError } from '../errors.js';

/**
 * Names the gateways a request passed through, the last one last. A request that comes back to the gateway that sent
 * it (a provider's base URL pointing at the gateway itself, as OPENAI_BASE_URL exported where `serve` runs does) is
 * refused instead of looping until sockets run out. Gateways chained on purpose each add their own name.
 */
export const VIA_HEADER = 'x-goodhart-via';

/** A gateway's name in `x-goodhart-via`: random, so replicas and restarts are told apart. */
export function gatewayName(): string {
  return `goodhart-${randomBytes(6).toString('hex')}`;
}

/** The header to send upstream: the names the request came with (their last 500 characters), then `self`. */
export function viaOf(clientHeaders: IncomingHttpHeaders, self: string): string {
  const before = clientHeaders[VIA_HEADER];
  return typeof before === 'string' && before.length > 0 ? `${before.slice(-500)}, ${self}` : self;
}

/** The error for a request that already passed through `self`, else null. */
export function loopError(headers: IncomingHttpHeaders, self: string): GoodhartError | null {
  const via = headers[VIA_HEADER];
  if (via === undefined || !String(via).includes(self)) return null;
  return new GoodhartError(
    'loop_detected',
    508,
    "This request came back to the Goodhart gateway that forwarded it: a provider's base URL points at the gateway itself (often OPENAI_BASE_URL or ANTHROPIC_BASE_URL, meant for clients, exported where `goodhart serve` runs). Point the provider at the provider's API, in the config or the server's environment.",
  );
}
