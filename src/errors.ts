/**
 * The one error type. Thrown anywhere; turned into an HTTP response (in the wire format the client expects)
 * in exactly one place: gateway/errors.ts.
 */
export type ErrorCode =
  | 'invalid_request'
  | 'invalid_json'
  | 'unauthorized'
  | 'forbidden'
  | 'model_not_allowed'
  | 'not_found'
  | 'method_not_allowed'
  | 'model_not_found'
  | 'payload_too_large'
  | 'rate_limited'
  | 'budget_exceeded'
  | 'upstream_unreachable'
  | 'upstream_timeout'
  | 'upstream_error'
  | 'config_invalid'
  | 'unavailable'
  | 'loop_detected'
  | 'internal';

export class GoodhartError extends Error {
  readonly code: ErrorCode;
  readonly httpStatus: number;
  readonly retryable: boolean;
  /** Response headers that go with the error (retry-after, where a budget stands). */
  readonly headers: Readonly<Record<string, string>> | undefined;

  constructor(
    code: ErrorCode,
    httpStatus: number,
    message: string,
    opts: { retryable?: boolean; cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'GoodhartError';
    this.code = code;
    this.httpStatus = httpStatus;
    this.retryable = opts.retryable ?? false;
    this.headers = opts.headers;
  }
}
