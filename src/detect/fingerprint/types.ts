import type { TextFeatures } from './text.js';

/**
 * What is kept of a request's text: a keyed MinHash of the new human turn, keyed hashes of its context blocks and
 * of its latest tool step, and a few counts. Without the installation's secret (never stored in the database)
 * nothing here can be compared with a guess. With it, the prompt signature can be inverted word by word against a
 * dictionary (each content word is hashed on its own), so the secret must be kept apart from the database.
 */
export interface FingerprintCore {
  /** The request carries a new human turn (a typed prompt), not only tool results or a continuation. */
  humanTurn: boolean;
  /** Keyed MinHash (64 slots) of the new turn's text; null when there is none or it is too short to compare. */
  prompt: Uint32Array | null;
  /** Numeric features of the new turn for the complexity heuristic; null without a human turn. */
  features: TextFeatures | null;
  /**
   * Chained keyed hashes (48-bit) of the context's whole 4 KB blocks, oldest first, then of a new turn of 4 KB or
   * more (a pasted document), from a content-defined anchor in its first 16 KB (blocks.ts).
   */
  blocks: number[];
  /** Keyed hash (48-bit) of the latest tool calls and their results; null when the request carries none. */
  toolStep: number | null;
  /** Tool definitions the request offers the model (an agent, not a chat). */
  toolsDeclared: number;
  /**
   * The routing classifier's complexity score of the new turn (src/route: 0…1, the estimated chance a cheaper tier
   * gets it wrong), computed while the text is at hand; null without a human turn.
   */
  complexity: number | null;
}

export interface Fingerprint extends FingerprintCore {
  eventId: string;
  /** The event's startedAt (epoch ms): retention deletes by it. */
  at: number;
  userId: string | null;
  sessionId: string | null;
}
