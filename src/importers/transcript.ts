import { BlockChain, MAX_BLOCKS } from '../detect/fingerprint/blocks.js';
import { fingerprintTurn } from '../detect/fingerprint/fingerprint.js';
import { deriveKeys } from '../detect/fingerprint/keys.js';
import type { FingerprintCore } from '../detect/fingerprint/types.js';

/**
 * One conversation of an agent log as the fingerprints see it, the same way the gateway sees a request body
 * (src/detect/fingerprint/extract.ts):
 * - the new turn: what the person typed since the last request;
 * - the tool step: the calls of the model's previous answer and the results sent back (as digests, see below);
 * - the context: everything before the new turn, hashed into chained 4 KB blocks as it goes by.
 *
 * Tool results are usually most of a log's bytes. They are hashed as written in the log (JSON escapes included,
 * one character per byte: never decoded), into the step's keyed hash and the context: equal exactly when the result
 * is. Step and block hashes match within a source, not across sources, as the README says. The chain cannot be saved between runs, so a file read in several runs starts a new chain
 * at each resume (context bloat across that point is missed; nothing else is affected).
 */
/**
 * Context hashed per conversation: the first 64 blocks (256 KB, about 64k tokens), where the gateway hashes up to
 * MAX_BLOCKS. An agent's log holds every byte its conversations ever carried, and hashing all of it costs more than
 * the rest of an import; context bloat needs 8 repeated blocks to count at all, and an agent's requests past 64k
 * tokens of context then repeat exactly those 64 blocks (so such a request counts as at most 64k repeated tokens).
 */
export const IMPORT_CONTEXT_BLOCKS = Math.min(64, MAX_BLOCKS);

export class Conversation {
  /** What the person typed since the last request. */
  typed: string[] = [];
  /** The tool results sent since the last request, as written (one character per byte). */
  results: string[] = [];
  /** The tool calls of the model's last answer. */
  calls: string[] = [];
  /** Characters of context so far (for the complexity classifier). */
  chars: number;
  /** The usage key of the last request (Claude Code writes one line per content block of an answer). */
  lastKey: string | null;
  private chain: BlockChain;
  private held: string[] = [];
  private heldChars = 0;
  /** chars and lastKey when the pending turn began: where a resumed run starts (see TranscriptHasher.pending). */
  private resumeFrom: { chars: number; lastKey: string | null } | null = null;

  constructor(
    private readonly secret: string,
    resume: { chars?: unknown; lastKey?: unknown } = {},
    /** Requests before this (epoch ms) get no fingerprint (past the retention): only their context is kept. */
    private readonly since = 0,
    /** The agent session it belongs to (Conversations.get), and what to tell when it makes a request. */
    readonly session: string | null = null,
    private readonly onRequest: (c: Conversation) => void = () => undefined,
  ) {
    this.chain = new BlockChain(deriveKeys(secret));
    this.chars = typeof resume.chars === 'number' ? resume.chars : 0;
    this.lastKey = typeof resume.lastKey === 'string' ? resume.lastKey : null;
  }

  get pending(): boolean {
    return this.typed.length > 0 || this.results.length > 0;
  }

  /** Whether the context still takes text (the chain stops at MAX_BLOCKS): callers skip decoding when it does not. */
  get hashing(): boolean {
    return this.chain.length < IMPORT_CONTEXT_BLOCKS;
  }

  /** Text of the next request's new turn or tool step: context for the requests after it. */
  hold(text: string, chars = text.length): void {
    if (this.resumeFrom === null) this.resumeFrom = { chars: this.chars, lastKey: this.lastKey };
    if (this.hashing) this.held.push(text);
    this.heldChars += chars;
  }

  /** Text of the model's answer: context from now on. */
  push(text: string, chars = text.length): void {
    if (this.hashing) this.chain.push(`${text}\n`);
    this.chars += chars;
  }

  /** A tool result, as written: part of the next tool step, and context after it. */
  result(written: string): void {
    this.results.push(written);
    this.hold(written);
  }

  /** The fingerprint of a request made at `at`, null before `since`; what it carried becomes context. */
  request(toolsDeclared: number, at: number): FingerprintCore | null {
    const core = at < this.since ? null : fingerprintTurn(
      {
        newText: this.typed.length > 0 ? this.typed.join('\n') : null,
        toolCalls: this.results.length > 0 ? this.calls.join('\n') : '',
        toolResults: this.results.join('\n'),
        contextChars: this.chars,
        toolsDeclared,
      },
      this.secret,
    );
    if (core !== null) core.blocks = this.chain.hashes();
    this.settle();
    this.onRequest(this);
    return core;
  }

  /**
   * Gives up waiting for the request the pending turn was for: what it held becomes context, as after a request,
   * and a later run no longer reads it again.
   */
  abandon(): void {
    if (this.pending) this.settle();
  }

  /** The turn is over (requested or abandoned): its text is context from now on. */
  private settle(): void {
    for (const t of this.held) this.chain.push(`${t}\n`);
    this.chars += this.heldChars;
    this.held = [];
    this.heldChars = 0;
    this.resumeFrom = null;
    this.typed = [];
    this.results = [];
    this.calls = [];
  }

  /** The agent compacted the conversation: the context starts over from its summary. */
  restart(): void {
    this.chain = new BlockChain(deriveKeys(this.secret));
    this.held = [];
    this.heldChars = 0;
    this.chars = 0;
  }

  /** What a later run resumes from: the state before the turn still waiting for its request, if one is. */
  saved(): { chars: number; lastKey: string | null } {
    return this.pending && this.resumeFrom !== null ? this.resumeFrom : { chars: this.chars, lastKey: this.lastKey };
  }
}

/** Conversations of one file by key, resumable from `saved()` (ids and counts only). */
export class Conversations {
  private readonly byKey = new Map<string, Conversation>();

  constructor(
    private readonly secret: string,
    private readonly resume: unknown,
    private readonly since = 0,
  ) {}

  /** The conversation `key` of agent session `session` (null: the file holds one session). */
  get(key: string, session: string | null = null): Conversation {
    let c = this.byKey.get(key);
    if (c === undefined) {
      const saved = typeof this.resume === 'object' && this.resume !== null ? (this.resume as Record<string, unknown>)[key] : undefined;
      c = new Conversation(this.secret, typeof saved === 'object' && saved !== null ? (saved as Record<string, unknown>) : {}, this.since, session, (r) => this.requested(r));
      this.byKey.set(key, c);
    }
    return c;
  }

  /**
   * A request in one session means the log has moved on from the others: their unanswered turns will not be
   * answered here, so they are abandoned rather than waited for (which would make every later run read the file
   * again from there, more of it each time it grows). A session's own chains (main and sidechain) wait for each
   * other: a main chain waits for its subagent's result.
   */
  private requested(by: Conversation): void {
    for (const c of this.byKey.values()) if (c.session !== by.session && c.pending) c.abandon();
  }

  pending(): boolean {
    for (const c of this.byKey.values()) if (c.pending) return true;
    return false;
  }

  saved(): Record<string, ReturnType<Conversation['saved']>> {
    const out: Record<string, ReturnType<Conversation['saved']>> = {};
    // A file holds one conversation, sometimes a few (sidechains): bounded, but keep the newest few anyway.
    for (const [k, c] of [...this.byKey].slice(-16)) out[k] = c.saved();
    return out;
  }
}
