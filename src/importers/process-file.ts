import { readFileSync } from 'node:fs';
import type { ImportFileState } from '../store/types.js';
import type { UsageEvent } from '../usage/event.js';
import type { Attribution, ProjectAttribution } from './attribution.js';
import { betterEvent, toUsageEvent } from './build-event.js';
import { HEAD_BYTES, hashHead } from './file-state.js';
import { readLines } from './line-reader.js';
import type { PriceMemo } from './price-memo.js';
import { PROBLEM_REASONS, type FileImporter, type LineResult, type SkipReason } from './types.js';

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
  /** The state to save, or null when the file could not be read. */
  state: Omit<ImportFileState, 'updatedAt'> | null;
}

export interface FileContext {
  importer: FileImporter;
  memo: PriceMemo;
  attribute: (cwd: string | null, repoUrl: string | null) => Attribution & ProjectAttribution;
  maxLineBytes?: number | undefined;
  maxWholeFileBytes: number;
}

interface SavedContext {
  lines: number;
  parser: unknown;
}

const MAX_PROBLEMS_PER_FILE = 50;

export function processFile(task: FileTask, ctx: FileContext): FileResult {
  const { importer } = ctx;
  const r: FileResult = { path: task.path, events: [], usageRecords: 0, parserDuplicates: 0, bytesRead: 0, linesRead: 0, skipped: {}, problems: [], state: null };
  const saved = task.from > 0 ? savedContext(task.context) : { lines: 0, parser: null };
  const byId = new Map<string, UsageEvent>();
  const skip = (reason: SkipReason, n = 1): void => {
    if (n > 0) r.skipped[reason] = (r.skipped[reason] ?? 0) + n;
  };
  const problem = (line: number, reason: string): void => {
    if (r.problems.length < MAX_PROBLEMS_PER_FILE) r.problems.push({ file: task.path, line, reason });
  };
  const handle = (result: LineResult, lineNo: number): void => {
    if (result === null) return;
    if (typeof result === 'string') {
      if (result === 'duplicate') r.parserDuplicates += 1;
      else skip(result);
      if (PROBLEM_REASONS.has(result)) problem(saved.lines + lineNo, result);
      return;
    }
    r.usageRecords += 1;
    const catalogue = result.model === null ? null : ctx.memo.price(result.usage, result.model, result.provider, result.at);
    const event = toUsageEvent(importer.source, result, ctx.attribute(result.cwd, result.repoUrl), catalogue);
    const held = byId.get(event.id);
    byId.set(event.id, held === undefined ? event : betterEvent(held, event));
  };

  let offset: number;
  let lines: number;
  let parserContext: unknown = null;
  try {
    if (importer.parseWholeFile !== undefined && task.path.endsWith('.json')) {
      offset = task.size;
      lines = 0;
      if (task.size > ctx.maxWholeFileBytes) {
        skip('too_long');
        problem(0, 'too_long');
      } else {
        const text = readFileSync(task.path, 'utf8');
        r.bytesRead = Buffer.byteLength(text);
        const results = importer.parseWholeFile(task.path, text);
        r.linesRead = results.length;
        for (const res of results) handle(res, 0);
      }
    } else {
      const parser = importer.newParser(task.path, task.from > 0 ? saved.parser : null);
      let handed = 0;
      const read = readLines(
        task.path,
        { from: task.from, needle: importer.needle, ...(ctx.maxLineBytes === undefined ? {} : { maxLineBytes: ctx.maxLineBytes }) },
        (buf, start, end, at, lineNo, tail) => {
          const result = parser.parse(buf.toString('utf8', start, end), `${task.path}@${at}`);
          // An unfinished last line (the agent is still writing it) is left for the next run.
          if (tail && (result === 'invalid_json' || result === 'too_deep')) return false;
          handed += 1;
          handle(result, lineNo);
          return true;
        },
      );
      r.bytesRead = read.bytesRead;
      r.linesRead = read.lines;
      skip('too_long', read.tooLong);
      for (const at of read.tooLongAt) problem(saved.lines + at, 'too_long');
      // Lines without the needle were counted by the reader and never decoded: they carry no usage.
      skip('no_usage', read.lines - handed - read.tooLong);
      offset = read.offset;
      lines = saved.lines + read.lines;
      parserContext = parser.context();
    }
  } catch (err) {
    problem(0, `unreadable: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    return r;
  }
  r.events = [...byId.values()];
  const headBytes = Math.min(HEAD_BYTES, task.size);
  r.state = {
    source: importer.source,
    path: task.path,
    offset,
    size: task.size,
    inode: task.inode,
    mtimeMs: task.mtimeMs,
    headHash: hashHead(task.path, headBytes),
    headBytes,
    context: JSON.stringify({ lines, parser: parserContext } satisfies SavedContext),
  };
  return r;
}

function savedContext(context: string | null): SavedContext {
  try {
    const v = JSON.parse(context ?? 'null') as Partial<SavedContext> | null;
    return { lines: typeof v?.lines === 'number' ? v.lines : 0, parser: v?.parser ?? null };
  } catch {
    return { lines: 0, parser: null };
  }
}
