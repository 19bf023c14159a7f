import type { FingerprintCore } from '../detect/fingerprint/types.js';
import type { NormalisedUsage } from '../usage/types.js';
import type { Endpoint } from '../usage/event.js';

/** Sources read from agents' log files on disk. */
export const FILE_SOURCES = ['claude-code', 'codex', 'gemini'] as const;
export type FileSource = (typeof FILE_SOURCES)[number];

/** Why a line produced no usage event. Every skipped line is counted under exactly one reason. */
export const SKIP_REASONS = [
  /** Carries no usage (user prompts, tool results, metadata): the normal case, not a problem. */
  'no_usage',
  /** The same request already counted (Claude Code's per-content-block lines, Codex's repeated totals). */
  'duplicate',
  'invalid_json',
  /** Valid JSON, but not the shape the format documents (no timestamp, counts not numbers…). */
  'bad_shape',
  'too_long',
  'too_deep',
  /** Claude Code's `<synthetic>` model: messages it made up itself, never billed. */
  'synthetic',
  /** Claude Code's `isApiErrorMessage`: an error shown as a message, never billed. */
  'api_error',
  /** A usage-API row of a saved response outside --since/--until. */
  'out_of_range',
] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

/** Problems worth showing with their file and line (not `no_usage` or `duplicate`). */
export const PROBLEM_REASONS: ReadonlySet<SkipReason> = new Set(['invalid_json', 'bad_shape', 'too_long', 'too_deep']);

/** One metered request read from a log line, before attribution and pricing. */
export interface ParsedUsage {
  /**
   * What makes it unique within its source, for the deterministic event id: Claude Code's message id + request id,
   * Codex's session + cumulative totals. Lines that carry nothing unique use their file and byte offset.
   */
  key: string;
  /** Epoch ms. */
  at: number;
  provider: string;
  endpoint: Endpoint;
  model: string | null;
  usage: NormalisedUsage;
  providerRequestId: string | null;
  sessionId: string | null;
  cwd: string | null;
  branch: string | null;
  /** A git remote URL the log itself names (Codex's session_meta), else found from cwd. */
  repoUrl: string | null;
  tags: string[];
  /**
   * A cost the agent computed itself (old Claude Code `costUSD`); used when present. Else the catalogue prices
   * `usage`, its billing mode included (Claude Code `speed: "fast"`: usage.billing, billing-mode.ts).
   */
  reportedCostUsd: number | null;
}

/** What a parser makes of one line: usage, a skip reason, or null for a line that only updated its context. */
export type LineResult = ParsedUsage | SkipReason | null;

export interface LineParser {
  /** `where` names the line (`path@byteOffset`), for keys of lines that carry nothing unique. */
  parse(line: string, where: string): LineResult;
  /** The parser's state to resume from on the next incremental run (JSON-serialisable), or null. */
  context(): unknown;
}

/**
 * Waste-detection fingerprints of one file's requests, made from the prompts and tool calls in its lines as they are
 * read (transcript.ts per agent). The text is hashed with the installation's secret and dropped; nothing of it is
 * kept, not even in the saved context.
 */
export interface TranscriptHasher {
  /**
   * One line the reader handed over: its bytes, its decoded text when the usage parser decoded it, and what the
   * parser made of it (undefined: not parsed). Returns the fingerprint of the request this line's usage opens.
   */
  line(buf: Buffer, start: number, end: number, text: string | null, usage: LineResult | undefined): FingerprintCore | null;
  /**
   * True while lines read since the last request hold a new turn or tool results that no fingerprint has taken yet.
   * The import then saves the file's offset at the first of them, so the next run reads them again with the request
   * that follows (no text is ever saved to carry them over).
   */
  pending(): boolean;
  /** State to resume from (ids and counts, never text). */
  context(): unknown;
}

/** The installation's fingerprint secret, and the retention cutoff (epoch ms): older requests get no fingerprint. */
export interface FingerprintSettings {
  secret: string;
  since: number;
}

/** A request's fingerprint from a whole-file format, keyed like its usage record. */
export interface KeyedFingerprint {
  key: string;
  core: FingerprintCore;
}

export interface FileImporter {
  source: FileSource;
  /**
   * Bytes every line this importer needs contains; lines without them are counted and skipped undecoded.
   * Null: every line is parsed.
   */
  needle: Buffer | null;
  /** Where the agent writes its logs, from the environment (first match wins per root, duplicates removed). */
  defaultRoots(env: NodeJS.ProcessEnv, home: string): string[];
  /** Whether a file found under a root is one of this agent's logs. */
  accepts(path: string): boolean;
  /** A parser for one file, resuming from `context` (what `context()` returned last time) when given. */
  newParser(path: string, context: unknown): LineParser;
  /**
   * For formats that are one JSON document per file (Gemini's `*.json` chats), not JSONL: all records in it.
   * Such files are read whole (up to a size cap) whenever they change.
   */
  parseWholeFile?(path: string, text: string): LineResult[];
  /** Lines the transcript hasher reads besides the usage lines (Claude Code: its `"type":"user"` lines). */
  transcriptNeedles?: readonly Buffer[];
  /** A transcript hasher for one file, resuming from `context` (what `context()` returned last time). */
  newTranscript?(path: string, context: unknown, fingerprints: FingerprintSettings): TranscriptHasher;
  /** Fingerprints of a whole-file format's requests. */
  transcriptOfWholeFile?(path: string, text: string, fingerprints: FingerprintSettings): KeyedFingerprint[];
}
