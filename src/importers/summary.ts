import { SKIP_REASONS, type SkipReason } from './types.js';
import type { WrongInput } from './wrong-input.js';

/** What one import run did; printed as one line, or as JSON with --json. */
export interface ImportSummary {
  source: string;
  /** Files found under the roots (or given); 0 for a usage API called (its pages are `pagesRead`). */
  files: number;
  /** Of those, read (new, grown or rewritten); the rest were unchanged since the last run and not opened. */
  filesRead: number;
  /** Of those read, started over from the beginning because they were rewritten, truncated or replaced. */
  filesRestarted: number;
  bytesRead: number;
  linesRead: number;
  /** New usage events. */
  eventsAdded: number;
  /** Stored events replaced by a better record of the same request (Claude Code's rank rule). */
  eventsUpdated: number;
  /** Records of a request already counted (this run or an earlier one), the gateway's included. */
  duplicates: number;
  /** Of the duplicates, requests the gateway metered itself (the agent logged what it got through the gateway). */
  meteredByGateway: number;
  /** Lines that produced no event, by reason (duplicates are counted above, not here). */
  skipped: Partial<Record<SkipReason, number>>;
  /** The first problems, with where they are (`file:line`, line numbers from the start of the file). */
  problems: { file: string; line: number; reason: string }[];
  durationMs: number;
  /**
   * Folders or files given that are not this source's at all (another agent's logs, another API's page, a saved
   * error), with what to run instead. When any is, the command exits 1.
   */
  wrongInput?: WrongInput[];
}

export const MAX_PROBLEMS = 50;

export function emptySummary(source: string): ImportSummary {
  return {
    source,
    files: 0,
    filesRead: 0,
    filesRestarted: 0,
    bytesRead: 0,
    linesRead: 0,
    eventsAdded: 0,
    eventsUpdated: 0,
    duplicates: 0,
    meteredByGateway: 0,
    skipped: {},
    problems: [],
    durationMs: 0,
  };
}

export function countSkip(s: ImportSummary, reason: SkipReason, n = 1): void {
  if (n > 0) s.skipped[reason] = (s.skipped[reason] ?? 0) + n;
}

export function addProblem(s: ImportSummary, file: string, line: number, reason: string): void {
  if (s.problems.length < MAX_PROBLEMS) s.problems.push({ file, line, reason });
}

const fmt = (n: number): string => n.toLocaleString('en-US');
const plural = (n: number, one: string): string => `${fmt(n)} ${n === 1 ? one : `${one}s`}`;

/**
 * `claude-code: 12 files (3 read), 48,210 lines, 1,204 events added, 2,310 duplicates; skipped: …`; a usage API
 * called: `openai-usage: 3 pages (41 KB), …`.
 */
export function formatSummaryLine(s: ImportSummary & { pagesRead?: number }): string {
  const skipped = SKIP_REASONS.filter((r) => (s.skipped[r] ?? 0) > 0)
    .map((r) => `${fmt(s.skipped[r]!)} ${r.replace(/_/g, ' ')}`)
    .join(', ');
  const restarted = s.filesRestarted > 0 ? `, ${fmt(s.filesRestarted)} rewritten` : '';
  const updated = s.eventsUpdated > 0 ? ` (${fmt(s.eventsUpdated)} updated)` : '';
  const read =
    s.files === 0 && (s.pagesRead ?? 0) > 0
      ? `${plural(s.pagesRead!, 'page')} (${fmt(Math.ceil(s.bytesRead / 1024))} KB)`
      : `${plural(s.files, 'file')} (${fmt(s.filesRead)} read${restarted})`;
  return (
    `${s.source}: ${read}, ${plural(s.linesRead, 'line')}, ` +
    `${plural(s.eventsAdded, 'event')} added${updated}, ${plural(s.duplicates, 'duplicate')}` +
    `${s.meteredByGateway > 0 ? ` (${fmt(s.meteredByGateway)} already metered by the gateway)` : ''}` +
    `${skipped === '' ? '' : `; skipped: ${skipped}`} in ${(s.durationMs / 1000).toFixed(1)} s`
  );
}
