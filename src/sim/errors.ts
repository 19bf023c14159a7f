/**
 * Provider-format errors. The simulator plays the upstream, so it cannot use Goodhart's own GoodhartError
 * codes: it must answer with OpenAI's `{error:{message,type,param,code}}` or Anthropic's
 * `{type:"error",error:{type,message},request_id}` exactly, with the `type` each provider uses per status.
 */
import type { SimProviderId } from './models.js';

export interface SimErrorDetails {
  /** OpenAI `error.type`; derived from the status when omitted. */
  openaiType?: string;
  openaiCode?: string | null;
  param?: string | null;
  /** Anthropic `error.type`; derived from the status when omitted. */
  anthropicType?: string;
  headers?: Record<string, string>;
}

export class SimError extends Error {
  readonly status: number;
  readonly details: SimErrorDetails;

  constructor(status: number, message: string, details: SimErrorDetails = {}) {
    super(message);
    this.name = 'SimError';
    this.status = status;
    this.details = details;
  }
}

export function anthropicErrorType(status: number): string {
  switch (status) {
    case 400:
      return 'invalid_request_error';
    case 401:
      return 'authentication_error';
    case 402:
      return 'billing_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 504:
      return 'timeout_error';
    case 529:
      return 'overloaded_error';
    default:
      return status >= 500 ? 'api_error' : 'invalid_request_error';
  }
}

function openaiErrorType(status: number): string {
  if (status === 429) return 'requests';
  return status >= 500 ? 'server_error' : 'invalid_request_error';
}

function openaiErrorCode(status: number): string | null {
  if (status === 401) return 'invalid_api_key';
  if (status === 429) return 'rate_limit_exceeded';
  return null;
}

export function errorBody(provider: SimProviderId, error: SimError, requestId: string): unknown {
  if (provider === 'anthropic') {
    return {
      type: 'error',
      error: { type: error.details.anthropicType ?? anthropicErrorType(error.status), message: error.message },
      request_id: requestId,
    };
  }
  return {
    error: {
      message: error.message,
      type: error.details.openaiType ?? openaiErrorType(error.status),
      param: error.details.param ?? null,
      code: error.details.openaiCode === undefined ? openaiErrorCode(error.status) : error.details.openaiCode,
    },
  };
}

/** Messages the real APIs use for the statuses tests provoke most, so clients see familiar text. */
export function scriptedErrorMessage(provider: SimProviderId, status: number): string {
  const suffix = ' (simulated by [[sim:status=' + String(status) + ']])';
  if (status === 429) {
    return (provider === 'anthropic'
      ? 'This request would exceed the rate limit for your organization. Please try again later.'
      : 'Rate limit reached for requests. Please try again in 1s.') + suffix;
  }
  if (status === 529) return 'Overloaded' + suffix;
  if (status === 503) return 'The server is overloaded or not ready yet.' + suffix;
  if (status >= 500) return 'The server had an error while processing your request. Sorry about that!' + suffix;
  if (status === 401) return 'Invalid API key.' + suffix;
  if (status === 403) return 'Your API key does not have permission to use this resource.' + suffix;
  if (status === 404) return 'The requested resource was not found.' + suffix;
  return 'Invalid request.' + suffix;
}
