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
  /** Notes an error event's type (`{"error":{"type":…}}` or `{"type":"error","error":{"type":…}}`). */
  protected noteError(data: string): void {
    const error = parseObject(data)?.error;
    const type = error && typeof error === 'object' ? asString((error as Record<string, unknown>).type) ?? asString((error as Record<string, unknown>).code) : null;
    this.failure = (type ?? 'error').slice(0, 64);
  }
}
