import type { Command } from 'commander';
import { GoodhartError } from '../../errors.js';
import { checkTimeZone, formatWallTime } from '../../report/dates.js';
import { formatCost, formatCount } from '../../report/format.js';
import { drawTable } from '../../report/table.js';
import { openStore } from '../../store/open.js';
import { readDb, readTimeZone } from '../read-db.js';
import { NONE_KEY } from '../../store/types.js';
import type { UsageEvent } from '../../usage/event.js';
import { TOOL_CALL_KINDS } from '../../usage/types.js';
import { addFilterOptions, type FilterOptions, toEventFilter } from './report.js';

/** Without --limit, the newest 100: enough to see what is happening, short enough for a terminal. */
export const DEFAULT_EVENTS_LIMIT = 100;

export interface EventsOptions extends FilterOptions {
  json?: boolean;
  /** The newest N events (printed oldest first); 0: all of them. A string as typed on the command line, or a number. */
  limit?: string | number;
}

/** The --limit as a number of events, or null for all of them (`--limit 0`). */
function parseLimit(value: string | number | undefined): number | null {
  if (value === undefined) return DEFAULT_EVENTS_LIMIT;
  const n = typeof value === 'number' ? value : /^\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new GoodhartError('invalid_request', 400, `--limit: expected a whole number (0 for all events), got "${value}".`);
  }
  return n === 0 ? null : n;
}

/**
 * A compact table, one event per line; no prompt or response text exists to show. What is billed besides text tokens
 * (built-in tool calls, audio tokens) gets a column only when a listed event has some.
 */
export function formatEventsTable(events: readonly UsageEvent[], timeZone: string): string {
  if (events.length === 0) return 'No usage events match.';
  const extras = events.some((e) => billedExtras(e) !== '');
  const rows = events.map((e) => [
    formatWallTime(e.startedAt, timeZone),
    e.source,
    // As `report` prints a missing group and `--team '(none)'` selects it.
    e.userId ?? NONE_KEY,
    e.teamId ?? NONE_KEY,
    e.modelServed ?? e.modelRequested ?? '-',
    tokens(e, e.inputTokens),
    tokens(e, e.outputTokens),
    ...(extras ? [billedExtras(e) || '-'] : []),
    formatCost(e.costUsd ?? 0, 1, e.costUsd === null ? 1 : 0),
    e.errorClass === null ? String(e.status) : `${e.status} ${e.errorClass}`,
  ]);
  const table = drawTable(
    {
      head: [`Time (${timeZone})`, 'Source', 'User', 'Team', 'Model', 'Input', 'Output', ...(extras ? ['Also billed'] : []), 'Cost USD', 'Status'],
      aligns: ['left', 'left', 'left', 'left', 'left', 'right', 'right', ...(extras ? (['left'] as const) : []), 'right', 'right'],
      compact: true,
    },
    rows,
  );
  const estimated = events.filter((e) => e.usageEstimated).length;
  return estimated === 0 ? table : `${table}\n${estimatedLine(estimated)}`;
}

/** Marks the token counts of an event whose usage the provider did not report (usageEstimated). */
const tokens = (e: UsageEvent, n: number): string => `${e.usageEstimated ? '~' : ''}${formatCount(n)}`;
const estimatedLine = (n: number): string =>
  `~ estimated: ${n === 1 ? '1 event' : `${formatCount(n)} events`} had no usage from the provider (the client disconnected, the stream broke off); Goodhart counted ${n === 1 ? 'its' : 'their'} tokens itself, so they are approximate (usageEstimated in --json).`;

/** `web_search ×3, audio 500 in / 200 out`: the tool calls and the audio tokens among the input and output. */
function billedExtras(e: UsageEvent): string {
  const parts: string[] = [];
  for (const kind of TOOL_CALL_KINDS) {
    const n = e.toolCalls?.[kind];
    if (n) parts.push(`${kind} ×${formatCount(n)}`);
  }
  if (e.audioInputTokens || e.audioOutputTokens) parts.push(`audio ${formatCount(e.audioInputTokens ?? 0)} in / ${formatCount(e.audioOutputTokens ?? 0)} out`);
  return parts.join(', ');
}

/**
 * `goodhart events`: the newest events matching the filters, oldest first (`text`, for stdout). When the limit left
 * some out, `cut` says how many match and how to get them: under the table, and on stderr with --json (whose
 * stdout stays one JSON array).
 */
export async function listEvents(opts: EventsOptions): Promise<{ text: string; cut: string | null }> {
  const timeZone = checkTimeZone(await readTimeZone(opts));
  const filter = toEventFilter(opts, timeZone);
  const limit = parseLimit(opts.limit);
  const store = await openStore(await readDb(opts), { mustExist: true, readOnly: true });
  try {
    const events = (await store.listEvents({ ...filter, ...(limit === null ? {} : { limit }), order: 'desc' })).reverse();
    let cut: string | null = null;
    if (limit !== null && events.length === limit) {
      // Every event is one request in the aggregates (read from the rollups: no scan of the events).
      const matching = (await store.aggregate('month', filter, { timeZone })).reduce((n, r) => n + r.requests, 0);
      if (matching > limit) {
        cut = `Showing the newest ${formatCount(limit)} of ${formatCount(matching)} events; --limit N for more, --limit 0 for all.`;
      }
    }
    if (opts.json === true) return { text: JSON.stringify(events, null, 2), cut };
    const table = formatEventsTable(events, timeZone);
    return { text: cut === null ? table : `${table}\n${cut}`, cut };
  } finally {
    await store.close();
  }
}

export async function runEvents(opts: EventsOptions): Promise<string> {
  return (await listEvents(opts)).text;
}

export function registerEvents(program: Command): Command {
  const cmd = program
    .command('events')
    .description('List recent usage events (metadata only)')
    .option('--json', 'print a JSON array of events (when --limit leaves some out, stderr says how many match)')
    .option('--limit <n>', `how many of the newest events (default ${DEFAULT_EVENTS_LIMIT}; 0: all)`);
  addFilterOptions(cmd).action(async (options: EventsOptions) => {
    const { text, cut } = await listEvents(options);
    process.stdout.write(`${text}\n`);
    if (cut !== null && options.json === true) process.stderr.write(`events: ${cut}\n`);
  });
  return cmd;
}
