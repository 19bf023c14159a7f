import { scoreRequest } from '../route/classifier.js';
import { ROUTER_CALIBRATION } from '../route/weights.js';
import type { Endpoint } from '../usage/event.js';
import type { TextFeatures } from './fingerprint/text.js';

/**
 * Complexity for premium overkill. The primary score is the routing classifier's (src/route/classifier.ts: a
 * logistic model trained on RouteLLM's labels, 0…1 = the chance a cheaper tier gets the request wrong), computed at
 * fingerprint time because it needs the text. Fingerprints without it (older rows, other recorders) fall back to a
 * small heuristic over the stored features; `DetectContext.complexity` can replace that fallback.
 */

/** At or below this router score a request may step two tiers down (≈ 20% of the calibration prompts). */
export const SIMPLE_ROUTER_SCORE = ROUTER_CALIBRATION.route20;

/** Router score of a request body (null for bodies without a conversation). */
export function requestComplexity(body: Readonly<Record<string, unknown>>, endpoint: Endpoint): number | null {
  if (endpoint !== 'messages' && endpoint !== 'chat.completions' && endpoint !== 'responses') return null;
  return scoreRequest(body, endpoint).score;
}

const PADDING = ' '.repeat(1 << 20);

/**
 * Router score of a prompt known only as text (importers, the simulator): scored as a chat request with that user
 * message, `toolsDeclared` tool definitions and, when known, a context of `contextChars` characters before it (the
 * router only measures the context's length, so blank padding stands in for it).
 */
export function textComplexity(text: string, toolsDeclared = 0, contextChars = 0): number {
  const tools = Array.from({ length: Math.min(toolsDeclared, 8) }, (_, i) => ({ type: 'function', function: { name: `tool${i}` } }));
  const messages: Array<{ role: string; content: string }> = [];
  if (contextChars > 0) messages.push({ role: 'system', content: PADDING.slice(0, Math.min(contextChars, PADDING.length)) });
  messages.push({ role: 'user', content: text });
  return scoreRequest({ messages, ...(tools.length > 0 ? { tools } : {}) }, 'chat.completions').score;
}

export interface ComplexityInput {
  features: TextFeatures;
  toolsDeclared: number;
  inputTokens: number;
  outputTokens: number;
  reasoningTokens: number;
}

/** A fallback score on the same scale as the router's threshold: below SIMPLE_ROUTER_SCORE means simple. */
export type ComplexityClassifier = (input: ComplexityInput) => number;

/** Short, code-free, mechanical wording and a small context: simple. Scaled so 0.3 of its own range maps to the threshold. */
export const heuristicComplexity: ComplexityClassifier = ({ features: f, toolsDeclared, inputTokens, reasoningTokens }) => {
  let s = 0;
  s += Math.min(1, f.words / 200) * 0.35;
  s += Math.min(1, f.codeLines / 10) * 0.2;
  s += Math.min(3, f.reasoningHits) * 0.1;
  s -= Math.min(2, f.simpleHits) * 0.08;
  if (toolsDeclared > 0) s += 0.15;
  s += inputTokens >= 16_000 ? 0.15 : inputTokens >= 4_000 ? 0.07 : 0;
  if (reasoningTokens >= 2_000) s += 0.1;
  return (Math.min(1, Math.max(0, s)) / 0.3) * SIMPLE_ROUTER_SCORE;
};
