import type { Endpoint } from '../../usage/event.js';
import { requestComplexity, textComplexity } from '../complexity.js';
import { hashBlocks, hashToolStep } from './blocks.js';
import { extractParts } from './extract.js';
import { deriveKeys } from './keys.js';
import { cleanText, minhash, textFeatures, type TextFingerprint } from './text.js';
import type { Fingerprint, FingerprintCore } from './types.js';

/**
 * The public fingerprint API. The gateway's observer calls `fingerprintRequest` on parsed request bodies; the
 * coding-agent importers call `fingerprintText` / `fingerprintTurn` on the prompts and tool calls of their logs and
 * then drop the text. The same secret gives the same fingerprints from either path.
 */

/** Keyed MinHash and features of one piece of new text (a prompt). */
export function fingerprintText(text: string, secret: string): TextFingerprint {
  const clean = cleanText(text);
  return { signature: minhash(deriveKeys(secret).words, clean), features: textFeatures(clean) };
}

/** Parts of one turn, as an importer knows them from a log (all optional). */
export interface TurnParts {
  /** The person's typed prompt, when this turn has one. */
  newText?: string | null;
  /** The tool calls of the previous model turn and the results they produced (any stable serialisation). */
  toolCalls?: string;
  toolResults?: string;
  /**
   * The context before this turn, in order (system prompt, earlier messages), when the importer can rebuild it.
   * Given, the blocks also cover a new turn of 4 KB or more (a pasted document), hashed on after it.
   */
  context?: Iterable<string>;
  /** Characters of context before the turn, when the importer knows the size but not the text (for the classifier). */
  contextChars?: number;
  toolsDeclared?: number;
}

/**
 * `complexity` scores the turn's text when the caller has nothing better; the gateway passes one that scores the
 * whole request body instead (the classifier is not run twice).
 */
export function fingerprintTurn(parts: TurnParts, secret: string, complexity?: () => number | null): FingerprintCore {
  const keys = deriveKeys(secret);
  const text = parts.newText !== undefined && parts.newText !== null ? cleanText(parts.newText) : null;
  const humanTurn = text !== null && text.trim().length > 0;
  const calls = parts.toolCalls ?? '';
  const results = parts.toolResults ?? '';
  return {
    humanTurn,
    prompt: humanTurn ? minhash(keys.words, text) : null,
    features: humanTurn ? textFeatures(text) : null,
    blocks: parts.context ? hashBlocks(keys, parts.context, humanTurn ? (parts.newText ?? null) : null) : [],
    toolStep: calls.length > 0 || results.length > 0 ? hashToolStep(keys, calls, results) : null,
    toolsDeclared: parts.toolsDeclared ?? 0,
    complexity: humanTurn ? (complexity?.() ?? textComplexity(text, parts.toolsDeclared ?? 0, parts.contextChars ?? 0)) : null,
  };
}

/** The fingerprint of a parsed request body; null for endpoints without a conversation (embeddings, count_tokens). */
export function fingerprintRequest(
  body: Readonly<Record<string, unknown>>,
  endpoint: Endpoint,
  secret: string,
): FingerprintCore | null {
  const p = extractParts(body, endpoint);
  if (p === null) return null;
  // The router scores the real body (tools, reasoning settings, attachments), not a text-only stand-in.
  return fingerprintTurn(
    { newText: p.newText, toolCalls: p.toolCalls, toolResults: p.toolResults, context: p.context, toolsDeclared: p.toolsDeclared },
    secret,
    () => requestComplexity(body, endpoint),
  );
}

/**
 * A request's fingerprint with its event's identity. Field by field, not `{ ...core, … }`: a spread of these objects
 * takes V8's slow path (about 4 µs against 0.15 µs), once per request at the gateway and per turn in an import.
 */
export function fingerprintOf(core: FingerprintCore, event: { eventId: string; at: number; userId: string | null; sessionId: string | null }): Fingerprint {
  return {
    humanTurn: core.humanTurn,
    prompt: core.prompt,
    features: core.features,
    blocks: core.blocks,
    toolStep: core.toolStep,
    toolsDeclared: core.toolsDeclared,
    complexity: core.complexity,
    eventId: event.eventId,
    at: event.at,
    userId: event.userId,
    sessionId: event.sessionId,
  };
}
