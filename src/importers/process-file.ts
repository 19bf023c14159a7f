import { readFileSync } from 'node:fs';
import type { Fingerprint } from '../detect/fingerprint/types.js';
import type { ImportFileState } from '../store/types.js';
import type { UsageEvent } from '../usage/event.js';
import type { NormalisedUsage } from '../usage/types.js';
import type { Attribution, ProjectAttribution } from './attribution.js';
import { betterEvent, toUsageEvent } from './build-event.js';
import { HEAD_BYTES, hashHead } from './file-state.js';
import { objectShaped, readLines } from './line-reader.js';
import type { LearningPriceMemo, PriceMemo } from './price-memo.js';
import { PROBLEM_REASONS, type FileImporter, type LineResult, type SkipReason } from './types.js';
import type { FingerprintCore } from '../detect/fingerprint/types.js';
import { fingerprintOf } from '../detect/fingerprint/fingerprint.js';

/**
 * One file of an import, start to finish: read from `from`, parse, attribute, price, and deduplicate within the
 * file. Runs on the main thread or in a worker (file-worker.ts): its input and output are plain data.
 */
export interface FileTask {
  path: string;
  size: number;
  inode: number;
  mtimeMs: number;
  from: number;
  /** The saved context (`ImportFileState.context`) when resuming at `from > 0`. */
  context: string | null;
  /** The head hash the plan just checked (an appended file's head is unchanged): not read again. */
  head?: { bytes: number; hash: string } | undefined;
}

export interface FileResult {
  path: string;
  events: UsageEvent[];
  /** Records that carried usage (before deduplication). */
  usageRecords: number;
  /** Records the parser itself recognised as repeats (Codex's repeated totals). */
  parserDuplicates: number;
  bytesRead: number;
  linesRead: number;
  skipped: Partial<Record<SkipReason, number>>;
  problems: { file: string; line: number; reason: string }[];
  /** Waste-detection fingerprints of the requests read (no text). */
  fingerprints: Fingerprint[];
  /** The state to save, or null when the file could not be read. */
  state: Omit<ImportFileState, 'updatedAt'> | null;
  /**
   * Events whose price needs the price catalogue, which the memo did not have loaded (see LearningPriceMemo): the
   * caller prices them (`priceDeferred`) before writing them. Empty when the memo has its pricer.
   */
  deferred: DeferredPrice[];
}

/** An event to price once the catalogue is loaded: its cost is then the catalogue's price of its usage. */
export interface DeferredPrice {
  event: UsageEvent;
  usage: NormalisedUsage;
  model: string;
  provider: string;
  at: number;
}

export interface FileContext {
  importer: FileImporter;
  memo: PriceMemo & Partial<Pick<LearningPriceMemo, 'priceIfKnown'>>;
  attribute: (cwd: string | null, repoUrl: string | null) => Attribution & ProjectAttribution;
  maxLineBytes?: number | undefined;
  maxWholeFileBytes: number;
  /** Fingerprint the requests (with this secret), keeping those at or after `since` (the retention); null: none. */
  fingerprints: { secret: string; since: number } | null;
}

interface SavedContext {
  lines: number;
  parser: unknown;
  transcript?: unknown;
}

const MAX_PROBLEMS_PER_FILE = 50;

export function processFile(task: FileTask, ctx: FileContext): FileResult {
  const { importer } = ctx;
  const r: FileResult = { path: task.path, events: [], usageRecords: 0, parserDuplicates: 0, bytesRead: 0, linesRead: 0, skipped: {}, problems: [], fingerprints: [], state: null, deferred: [] };
  const saved: SavedContext = task.from > 0 ? savedContext(task.context) : { lines: 0, parser: null };
  const byId = new Map<string, UsageEvent>();
  const skip = (reason: SkipReason, n = 1): void => {
    if (n > 0) r.skipped[reason] = (r.skipped[reason] ?? 0) + n;
  };
  const problem = (line: number, reason: string): void => {
    if (r.problems.length < MAX_PROBLEMS_PER_FILE) r.problems.push({ file: task.path, line, reason });
  };
  const handle = (result: LineResult, lineNo: number): UsageEvent | null => {
    if (result === null) return null;
    if (typeof result === 'string') {
      if (result === 'duplicate') r.parserDuplicates += 1;
      else skip(result);
      if (PROBLEM_REASONS.has(result)) problem(saved.lines + lineNo, result);
      return null;
    }
    r.usageRecords += 1;
    // A cost the log reports itself is the event's cost (toUsageEvent): the catalogue is not asked.
    const model = result.reportedCostUsd === null ? result.model : null;
    const catalogue = model === null ? null : ctx.memo.priceIfKnown === undefined ? ctx.memo.price(result.usage, model, result.provider, result.at) : ctx.memo.priceIfKnown(result.usage, model, result.provider, result.at);
    const event = toUsageEvent(importer.source, result, ctx.attribute(result.cwd, result.repoUrl), catalogue ?? null);
    if (catalogue === undefined) r.deferred.push({ event, usage: result.usage, model: model!, provider: result.provider, at: result.at });
    const held = byId.get(event.id);
    byId.set(event.id, held === undefined ? event : betterEvent(held, event));
    return event;
  };
  const fingerprint = (core: FingerprintCore, event: UsageEvent): void => {
    if (event.startedAt >= ctx.fingerprints!.since) {
      r.fingerprints.push(fingerprintOf(core, { eventId: event.id, at: event.startedAt, userId: event.userId, sessionId: event.sessionId }));
    }
  };

  let offset: number;
  let lines: number;
  let parserContext: unknown = null;
  let transcriptContext: unknown = undefined;
  try {
    if (importer.parseWholeFile !== undefined && task.path.endsWith('.json')) {
      offset = task.size;
      lines = 0;
      if (task.size > ctx.maxWholeFileBytes) {
        skip('too_long');
        problem(0, 'too_long');
      } else {
        const read = readFileSync(task.path, 'utf8');
        r.bytesRead = Buffer.byteLength(read);
        // A byte-order mark (U+FEFF) before the document is not JSON: JSON.parse would refuse the whole file.
        const text = read.charCodeAt(0) === 0xfeff ? read.slice(1) : read;
        const results = importer.parseWholeFile(task.path, text);
        r.linesRead = results.length;
        const byKey = new Map<string, UsageEvent>();
        for (const res of results) {
          const event = handle(res, 0);
          if (event !== null && res !== null && typeof res !== 'string') byKey.set(res.key, event);
        }
        if (ctx.fingerprints !== null && importer.transcriptOfWholeFile !== undefined) {
          for (const { key, core } of importer.transcriptOfWholeFile(task.path, text, ctx.fingerprints)) {
            const event = byKey.get(key);
            if (event !== undefined) fingerprint(core, event);
          }
        }
      }
    } else {
      const parser = importer.newParser(task.path, task.from > 0 ? saved.parser : null);
      const fp = ctx.fingerprints;
      const transcript = fp !== null && importer.newTranscript !== undefined ? importer.newTranscript(task.path, task.from > 0 ? saved.transcript : undefined, fp) : null;
      const needles = importer.needle === null ? [] : [importer.needle, ...(transcript === null ? [] : (importer.transcriptNeedles ?? []))];
      /** Where the lines a fingerprint still waits for begin: the next run reads again from there (see TranscriptHasher.pending). */
      let resumeAt: { offset: number; lines: number; parser: unknown } | null = null;
      let handed = 0;
      /** Lines handed over for the transcript only, and not shaped as JSON objects. */
      let malformed = 0;
      const read = readLines(
        task.path,
        { from: task.from, needles, ...(ctx.maxLineBytes === undefined ? {} : { maxLineBytes: ctx.maxLineBytes }) },
        (buf, start, end, at, lineNo, tail, mask) => {
          // An unfinished last line (the agent is still writing it) is left for the next run, whoever would read it:
          // the usage parser or only the transcript (a user line), which must not take half a line either.
          if (tail && !isCompleteJson(buf, start, end)) return false;
          const usageLine = needles.length === 0 || (mask & 1) !== 0;
          // A line read only for the transcript is held to what the reader holds the lines it skips to (malformed
          // when not shaped as a JSON object), so it counts the same with fingerprints on or off.
          if (!usageLine && !objectShaped(buf, start, end)) {
            malformed += 1;
            problem(saved.lines + lineNo, 'invalid_json');
            return true;
          }
          let text: string | null = null;
          let result: LineResult | undefined;
          if (usageLine) {
            text = buf.toString('utf8', start, end);
            result = parser.parse(text, `${task.path}@${at}`);
            handed += 1;
          }
          const event = result === undefined ? null : handle(result, lineNo);
          if (transcript !== null) {
            const core = transcript.line(buf, start, end, text, result);
            if (core !== null && event !== null) fingerprint(core, event);
            // The line that starts a wait changes no parser state (it only holds text), so the parser's state after
            // it is the state to resume from at its start; the transcript keeps its own (Conversation.saved).
            if (!transcript.pending()) resumeAt = null;
            else if (resumeAt === null) resumeAt = { offset: at, lines: saved.lines + lineNo - 1, parser: clone(parser.context()) };
          }
          return true;
        },
      );
      r.bytesRead = read.bytesRead;
      r.linesRead = read.lines;
      skip('too_long', read.tooLong);
      for (const at of read.tooLongAt) problem(saved.lines + at, 'too_long');
      // Lines without the usage needle were either never decoded or only read for fingerprints: they carry no usage,
      // unless they are not even shaped as JSON (binary garbage, a cut line), which is a problem to show.
      skip('invalid_json', read.malformed + malformed);
      for (const at of read.malformedAt) problem(saved.lines + at, 'invalid_json');
      skip('no_usage', read.lines - handed - read.tooLong - read.malformed - malformed);
      offset = read.offset;
      lines = saved.lines + read.lines;
      parserContext = parser.context();
      transcriptContext = transcript?.context();
      const rewind = resumeAt as { offset: number; lines: number; parser: unknown } | null;
      if (rewind !== null) {
        ({ offset, lines } = rewind);
        parserContext = rewind.parser;
      }
    }
  } catch (err) {
    problem(0, `unreadable: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    return r;
  }
  r.events = [...byId.values()];
  // A request's fingerprint is read at its first line; several lines of one request merge into one event, whose
  // start may be a later line's. The fingerprint takes its event's start: that is how the store tells which copy
  // of a request (this file's, or another file's) a fingerprint belongs to (ofStoredCopy).
  r.fingerprints = r.fingerprints.map((f) => {
    const at = byId.get(f.eventId)?.startedAt;
    return at === undefined || at === f.at ? f : { ...f, at };
  });
  const headBytes = Math.min(HEAD_BYTES, task.size);
  r.state = {
    source: importer.source,
    path: task.path,
    offset,
    size: task.size,
    inode: task.inode,
    mtimeMs: task.mtimeMs,
    headHash: task.head !== undefined && task.head.bytes === headBytes ? task.head.hash : hashHead(task.path, headBytes),
    headBytes,
    context: JSON.stringify({ lines, parser: parserContext, ...(transcriptContext === undefined ? {} : { transcript: transcriptContext }) } satisfies SavedContext),
  };
  return r;
}

/**
 * Whether the bytes of a file's last line, which has no newline after it yet, are a whole JSON value: only then is it
 * consumed. Parsed again for this (once per file and run at most), as a parser may not parse a line it skips.
 */
function isCompleteJson(buf: Buffer, start: number, end: number): boolean {
  try {
    JSON.parse(buf.toString('utf8', start, end));
    return true;
  } catch {
    return false;
  }
}

/** A copy of a parser's state as it is now (parsers may keep updating the object they return). */
function clone(v: unknown): unknown {
  return v === null || v === undefined ? v : JSON.parse(JSON.stringify(v));
}

/** Prices the deferred events of a file with a memo that now has its pricer. */
export function priceDeferred(r: FileResult, memo: PriceMemo): void {
  for (const d of r.deferred) {
    d.event.costUsd = memo.price(d.usage, d.model, d.provider, d.at);
  }
  r.deferred = [];
}

function savedContext(context: string | null): SavedContext {
  try {
    const v = JSON.parse(context ?? 'null') as Partial<SavedContext> | null;
    return { lines: typeof v?.lines === 'number' ? v.lines : 0, parser: v?.parser ?? null, transcript: v?.transcript };
  } catch {
    return { lines: 0, parser: null };
  }
}
