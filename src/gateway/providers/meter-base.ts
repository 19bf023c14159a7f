import type { NormalisedUsage } from '../../usage/types.js';
import type { SseEvent } from '../sse.js';
import type { StreamMeter } from './types.js';

/** JSON.parse for provider payloads: an object, or null for anything else (never throws). */
export function parseObject(s: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(s);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export const asString = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** A `type` that says more than that the event is an error. */
const nonEventType = (v: unknown): string | null => (typeof v === 'string' && v !== 'error' ? v : null);

/**
 * What every stream meter keeps: ids, first-token time, reported usage, and the raw delta payloads, which are
 * parsed only if the stream breaks off and its output must be estimated.
 */
export abstract class BaseStreamMeter implements StreamMeter {
  protected id: string | null = null;
  protected model: string | null = null;
  protected first: number | null = null;
  protected reported: NormalisedUsage | null = null;
  protected readonly deltas: string[] = [];
  protected failure: string | null = null;

  abstract onEvent(ev: SseEvent, now: number): boolean;
  /** The text, reasoning and tool-call arguments in one delta payload. */
  protected abstract deltaText(payload: Record<string, unknown>, out: string[]): void;

  usage(): NormalisedUsage | null {
    return this.reported;
  }
  partialInput(): NormalisedUsage | null {
    return null;
  }
  outputText(): string {
    const parts: string[] = [];
    for (const d of this.deltas) {
      const payload = parseObject(d);
      if (payload) this.deltaText(payload, parts);
    }
    return parts.join('');
  }
  firstTokenAt(): number | null {
    return this.first;
  }
  modelServed(): string | null {
    return this.model;
  }
  providerRequestId(): string | null {
    return this.id;
  }
  streamError(): string | null {
    return this.failure;
  }
  /**
   * Notes an error event's type: `{"error":{"type":…}}` (OpenAI chat), `{"type":"error","error":{"type":…}}`
   * (Anthropic), or `{"type":"error","code":…}` (OpenAI Responses, whose `type` names the event). The first error
   * is the cause: a later one (Responses' `response.failed` after its `error`) does not replace it.
   */
  protected noteError(data: string): void {
    if (this.failure !== null) return;
    const j = parseObject(data);
    const error = j?.error;
    const type =
      error && typeof error === 'object'
        ? (asString((error as Record<string, unknown>).type) ?? asString((error as Record<string, unknown>).code))
        : (asString(j?.code) ?? nonEventType(j?.type));
    this.failure = (type ?? 'error').slice(0, 64);
  }
  /** Notes a failure the provider reported in a final response object (`status: "failed"`, `error.code`). */
  protected noteFailedResponse(error: unknown): void {
    if (this.failure !== null) return;
    const e = error && typeof error === 'object' ? (error as Record<string, unknown>) : null;
    this.failure = (asString(e?.code) ?? asString(e?.type) ?? 'failed').slice(0, 64);
  }
}
