/**
 * What a route handler returns: data describing the answer, sent by server.ts. Handlers stay free of I/O,
 * which keeps them testable and keeps every socket concern (delays, dying, hanging) in one place.
 */
import { errorBody, scriptedErrorMessage, SimError } from './errors.js';
import type { Directives } from './directives.js';
import type { SimProviderId } from './models.js';
import type { AnthropicPromptCache, OpenAIPrefixCache } from './prompt-cache.js';
import type { Rng } from './random.js';

export interface Frame {
  data: string;
  /** A content delta (text, thinking, tool arguments): paced by inter-token delay and counted by die-after. */
  content: boolean;
}

export interface Timing {
  ttftMs: number;
  itlMs: number;
  dieAfter: number | undefined;
}

export type Reply =
  | { kind: 'json'; status: number; body: unknown; headers?: Record<string, string>; delayMs: number; dieAfter?: number }
  | { kind: 'stream'; frames: Frame[]; timing: Timing }
  | { kind: 'hang' };

export interface SimContext {
  /** Whose wire format this request speaks (for routes both providers serve, chosen from the headers). */
  readonly provider: SimProviderId;
  readonly seed: number;
  readonly firstTokenMs: number;
  readonly interTokenMs: number;
  readonly openaiCache: OpenAIPrefixCache;
  readonly anthropicCache: AnthropicPromptCache;
  readonly idRng: Rng;
  readonly requestId: string;
  now(): number;
}

export function timingFor(directives: Directives, ctx: SimContext): Timing {
  return {
    ttftMs: directives.ttftMs ?? ctx.firstTokenMs,
    itlMs: directives.itlMs ?? ctx.interTokenMs,
    dieAfter: directives.dieAfter,
  };
}

/** A non-streamed answer takes as long as the stream would have: first token plus the gaps between chunks. */
export function jsonReply(body: unknown, timing: Timing, chunks: number): Reply {
  const reply: Reply = {
    kind: 'json',
    status: 200,
    body,
    delayMs: timing.ttftMs + timing.itlMs * Math.max(0, chunks - 1),
  };
  if (timing.dieAfter !== undefined) reply.dieAfter = timing.dieAfter;
  return reply;
}

/** `status=` and `hang` short-circuit before any generation. */
export function scriptedReply(directives: Directives, provider: SimProviderId, ctx: SimContext): Reply | undefined {
  if (directives.hang === true) return { kind: 'hang' };
  if (directives.status === undefined) return undefined;
  const status = directives.status;
  const headers: Record<string, string> = {};
  if (status === 429) headers['retry-after'] = String(directives.retryAfter ?? 1);
  const error = new SimError(status, scriptedErrorMessage(provider, status));
  return { kind: 'json', status, body: errorBody(provider, error, ctx.requestId), headers, delayMs: 0 };
}

/** One SSE event. OpenAI chat omits the `event:` line; Responses and Anthropic name every event. */
export function sse(event: string | undefined, payload: unknown): string {
  const data = typeof payload === 'string' ? payload : JSON.stringify(payload);
  return event === undefined ? `data: ${data}\n\n` : `event: ${event}\ndata: ${data}\n\n`;
}
