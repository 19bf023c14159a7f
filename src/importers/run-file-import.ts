import type { AuditStore, ImportFileState } from '../store/types.js';
import type { Pricer } from '../usage/pricing.js';
import type { Attribution, ProjectAttribution } from './attribution.js';
import { BatchWriter } from './batch-writer.js';
import { hashHead, planRead } from './file-state.js';
import { parseBook, priceBookStoreOf, serialiseBook } from './price-book.js';
import { createPriceMemo } from './price-memo.js';
import { priceDeferred, processFile, type FileContext, type FileResult, type FileTask } from './process-file.js';
import { addProblem, countSkip, emptySummary, type ImportSummary } from './summary.js';
import type { FileImporter, SkipReason } from './types.js';
import { listFiles } from './walk.js';
import { runInWorkers } from './worker-pool.js';
import type { WorkerRecipe } from './worker-recipe.js';

/**
 * Imports agents' log files: lists them, reads each from where the last run stopped (or from the start when it was
 * rewritten), parses, attributes, prices and writes events in large transactions together with the new file
 * offsets. Files are processed on worker threads when `workers` is given and there is enough to read.
 *
 * Double counting is impossible by construction: event ids are deterministic, so reading a line twice (a crash
 * between writing events and offsets, a rewritten file, overlapping roots) yields an id the store already has.
 * Claude Code's "main chain over sidechain, then the larger token sum" rule holds across files, batches and runs:
 * within a batch by `betterEvent`, against stored events by the same rank in `commitImportBatch`.
 */
export interface ImportProgress {
  start(totalBytes: number, files: number): void;
  update(doneBytes: number): void;
  stop(): void;
}

export interface FileImportOptions {
  importer: FileImporter;
  roots: readonly string[];
  store: AuditStore;
  /** Or a loader, called only when something is to be priced on this thread (the catalogue takes a while to load). */
  pricer: Pricer | (() => Promise<Pricer>);
  /** Project and person for a record's working directory (and remote, when the log names one). */
  attribute: (cwd: string | null, repoUrl: string | null) => Attribution & ProjectAttribution;
  progress?: ImportProgress | undefined;
  /** Ignore saved offsets and read every file from the start (still no double counting). */
  full?: boolean;
  maxLineBytes?: number;
  /** Whole-document formats (Gemini `.json`) bigger than this are skipped: they must be parsed in one piece. */
  maxWholeFileBytes?: number;
  /** Events per transaction. */
  batchSize?: number;
  /**
   * Waste-detection fingerprints of the requests (prompts and tool calls hashed with `secret`, the text dropped),
   * kept from `since` (the retention); null or absent: none.
   */
  fingerprints?: { secret: string; since: number } | null;
  /**
   * Worker threads that read, parse and write (to `recipe.dbPath`, the same database as `store`), built from
   * `recipe` (the same settings as the options above).
   */
  workers?: { count: number; recipe: WorkerRecipe } | undefined;
  /**
   * The key of the price book to use (price-book.ts: the catalogue version and the overrides): rates learnt by
   * earlier runs price this one without loading the catalogue, and what this run learns is kept. Absent: no book.
   */
  priceBookKey?: string | null;
  /** Use the workers only when at least this much is to be read (default 32 MiB; tests use 0). */
  workerThresholdBytes?: number;
  now?: () => number;
}

/** 256 MiB: a Gemini chat file is a few MB even after a long session; beyond this it is not a chat. */
export const DEFAULT_MAX_WHOLE_FILE = 256 << 20;
/** Below this much to read, starting workers (each loads the price catalogue) costs more than it saves. */
const WORKER_THRESHOLD_BYTES = 32 << 20;

export async function runFileImport(opts: FileImportOptions): Promise<ImportSummary> {
  const started = performance.now();
  const { importer, store } = opts;
  const now = opts.now ?? Date.now;
  const summary = emptySummary(importer.source);
  const files = listFiles(opts.roots, importer.accepts, (dir, code) => addProblem(summary, dir, 0, `unreadable: ${code}`));
  summary.files = files.length;

  const saved = new Map<string, ImportFileState>();
  if (opts.full !== true) for (const s of await store.listImportStates(importer.source)) saved.set(s.path, s);
  const tasks: FileTask[] = [];
  for (const f of files) {
    const prev = saved.get(f.path);
    let head: FileTask['head'];
    const plan = planRead(prev, f, (bytes) => (head = { bytes, hash: hashHead(f.path, bytes) }).hash);
    if (plan.kind === 'unchanged') continue;
    if (prev !== undefined && plan.from === 0) summary.filesRestarted += 1;
    tasks.push({ ...f, from: plan.from, context: plan.from > 0 ? (prev?.context ?? null) : null, ...(plan.from > 0 && head !== undefined ? { head } : {}) });
  }
  // Largest first: the long files start early and the workers finish together.
  tasks.sort((a, b) => b.size - b.from - (a.size - a.from));
  const totalBytes = tasks.reduce((sum, t) => sum + Math.max(0, t.size - t.from), 0);
  opts.progress?.start(totalBytes, tasks.length);

  const writer = new BatchWriter(store, now, opts.batchSize, null, opts.full === true);
  let usageRecords = 0;
  let doneBytes = 0;
  const byPath = new Map(tasks.map((t) => [t.path, t]));
  const count = (r: FileResult): void => {
    const task = byPath.get(r.path);
    summary.filesRead += 1;
    summary.bytesRead += r.bytesRead;
    summary.linesRead += r.linesRead;
    summary.duplicates += r.parserDuplicates;
    usageRecords += r.usageRecords;
    for (const [reason, n] of Object.entries(r.skipped)) countSkip(summary, reason as SkipReason, n);
    for (const p of r.problems) addProblem(summary, p.file, p.line, p.reason);
    doneBytes += task === undefined ? r.bytesRead : Math.max(0, task.size - task.from);
    opts.progress?.update(doneBytes);
  };

  // The price book: what earlier runs learnt from the catalogue (`--full` re-learns it).
  const books = opts.priceBookKey === undefined || opts.priceBookKey === null ? undefined : priceBookStoreOf(store);
  const bookKey = opts.priceBookKey ?? '';
  const book = books === undefined || opts.full === true || tasks.length === 0 ? [] : parseBook(await books.readPriceBook(bookKey));
  const memo = createPriceMemo(typeof opts.pricer === 'function' ? null : opts.pricer, book);

  const w = opts.workers;
  if (w !== undefined && w.count > 0 && w.recipe.dbPath !== undefined && totalBytes >= (opts.workerThresholdBytes ?? WORKER_THRESHOLD_BYTES)) {
    const totals = await runInWorkers(tasks, { ...w.recipe, priceBook: book, refresh: opts.full === true }, w.count, count);
    summary.eventsAdded = totals.inserted;
    summary.eventsUpdated = totals.replaced;
    summary.meteredByGateway = totals.metered;
    memo.addToBook(totals.priceBook);
  } else {
    const ctx: FileContext = {
      importer,
      memo,
      attribute: opts.attribute,
      maxLineBytes: opts.maxLineBytes,
      maxWholeFileBytes: opts.maxWholeFileBytes ?? DEFAULT_MAX_WHOLE_FILE,
      fingerprints: opts.fingerprints ?? null,
    };
    for (const t of tasks) {
      const r = processFile(t, ctx);
      count(r);
      if (r.deferred.length > 0) {
        // A model or day the book does not cover: load the catalogue now (once), and price what waited for it.
        if (!memo.hasPricer && typeof opts.pricer === 'function') memo.attach(await opts.pricer());
        priceDeferred(r, memo);
      }
      await writer.add(r);
    }
    await writer.flush();
    summary.eventsAdded = writer.inserted;
    summary.eventsUpdated = writer.replaced;
    summary.meteredByGateway = writer.metered;
  }
  if (books !== undefined && memo.learnt > 0) await books.writePriceBook(bookKey, serialiseBook(memo.book()));
  opts.progress?.stop();
  summary.duplicates += usageRecords - summary.eventsAdded;
  summary.durationMs = Math.round(performance.now() - started);
  return summary;
}
