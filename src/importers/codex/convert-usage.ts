import type { NormalisedUsage } from '../../usage/types.js';
import { countAt, inclusiveUsage, isRecord } from '../../usage/usage-fields.js';

/**
 * Codex `token_count` usage (`last_token_usage` or `total_token_usage`): `input_tokens` includes
 * `cached_input_tokens`; `output_tokens` includes `reasoning_output_tokens`. Codex reports no cache writes.
 */
export interface CodexCounts {
  input: number;
  cached: number;
  output: number;
  reasoning: number;
  total: number;
}

/** Null when `value` is not an object or has neither input nor output. */
export function readCodexCounts(value: unknown): CodexCounts | null {
  if (!isRecord(value)) return null;
  const input = countAt(value, 'input_tokens');
  const output = countAt(value, 'output_tokens');
  if (input === undefined && output === undefined) return null;
  const cached = countAt(value, 'cached_input_tokens') ?? 0;
  const reasoning = countAt(value, 'reasoning_output_tokens') ?? 0;
  return { input: input ?? 0, cached, output: output ?? 0, reasoning, total: countAt(value, 'total_tokens') ?? (input ?? 0) + (output ?? 0) };
}

/** `b - a` per field, never negative (a counter that went down restarted; its new value is the increase). */
export function subtractCounts(b: CodexCounts, a: CodexCounts | null): CodexCounts {
  if (a === null) return b;
  const d = (x: number, y: number): number => (x >= y ? x - y : x);
  return {
    input: d(b.input, a.input),
    cached: d(b.cached, a.cached),
    output: d(b.output, a.output),
    reasoning: d(b.reasoning, a.reasoning),
    total: d(b.total, a.total),
  };
}

export const sameCounts = (a: CodexCounts, b: CodexCounts): boolean =>
  a.input === b.input && a.cached === b.cached && a.output === b.output && a.reasoning === b.reasoning && a.total === b.total;

export function convertCodexUsage(c: CodexCounts, raw: unknown): NormalisedUsage {
  return inclusiveUsage({ input: c.input, cacheRead: c.cached, output: c.output, reasoning: c.reasoning }, raw);
}
