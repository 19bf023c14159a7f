import { Argument, type Command } from 'commander';
import { GoodhartError } from '../../errors.js';
import { checkTimeZone, parseRange } from '../../report/dates.js';
import { toCsv } from '../../report/csv.js';
import { formatAggregatesTable, toJson } from '../../report/format.js';
import { foldWeeks } from '../../report/weeks.js';
import { openStore } from '../../store/open.js';
import { readDb, readTimeZone } from '../read-db.js';
import { NONE_KEY, type EventFilter, type GroupBy } from '../../store/types.js';
import { EVENT_SOURCES, type EventSource } from '../../usage/event.js';

/** Every report: the store group it reads, its column label and title. `weekly` folds daily rows (weeks.ts). */
export const REPORT_KINDS = {
  daily: { groupBy: 'day', label: 'Date', title: 'Usage by day' },
  weekly: { groupBy: 'day', label: 'Week of', title: 'Usage by week (Monday to Sunday)' },
  monthly: { groupBy: 'month', label: 'Month', title: 'Usage by month' },
  session: { groupBy: 'session', label: 'Session', title: 'Usage by session' },
  teams: { groupBy: 'team', label: 'Team', title: 'Usage by team' },
  users: { groupBy: 'user', label: 'User', title: 'Usage by user' },
  models: { groupBy: 'model', label: 'Model', title: 'Usage by model' },
  projects: { groupBy: 'project', label: 'Project', title: 'Usage by project' },
} as const satisfies Record<string, { groupBy: GroupBy; label: string; title: string }>;
export type ReportKind = keyof typeof REPORT_KINDS;

/** Options shared by every read command that filters events. */
export interface FilterOptions {
  since?: string;
  until?: string;
  team?: string;
  user?: string;
  project?: string;
  model?: string;
  source?: string;
  /** IANA time zone for dates and day/month buckets; default UTC. */
  tz?: string;
  /** SQLite path or postgres:// URL; default the config's `db` (readDb). */
  db?: string;
  /** The config file whose `db` applies. */
  config?: string;
}

export interface ReportOptions extends FilterOptions {
  kind: ReportKind;
  json?: boolean;
  csv?: boolean;
}

function isEventSource(value: string): value is EventSource {
  return (EVENT_SOURCES as readonly string[]).includes(value);
}

/** Turns CLI filter options into a store filter, with errors that name the option. */
export function toEventFilter(opts: FilterOptions, timeZone: string): EventFilter {
  const filter: EventFilter = parseRange({ since: opts.since, until: opts.until, timeZone });
  if (opts.team !== undefined) filter.teamId = groupOption(opts.team);
  if (opts.user !== undefined) filter.userId = groupOption(opts.user);
  if (opts.project !== undefined) filter.projectId = groupOption(opts.project);
  if (opts.model !== undefined) filter.model = opts.model;
  if (opts.source !== undefined) filter.source = sourceOption(opts.source);
  return filter;
}

/** A `--team`, `--user` or `--project` value: `(none)`, as reports print it, selects the events without one (no id is so). */
const groupOption = (value: string): string | null => (value === NONE_KEY ? null : value);

/** The `--source` option, with an error naming the sources there are. */
export function sourceOption(value: string): EventSource {
  if (!isEventSource(value)) {
    throw new GoodhartError('invalid_request', 400, `--source: unknown source "${value}". Use one of: ${EVENT_SOURCES.join(', ')}.`);
  }
  return value;
}

const isoOrNull = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

/** `goodhart report …`: aggregates the store and returns the text (or JSON) to print. */
export async function runReport(opts: ReportOptions): Promise<string> {
  const kind = REPORT_KINDS[opts.kind];
  if (kind === undefined) {
    throw new GoodhartError('invalid_request', 400, `Unknown report "${opts.kind}". Use one of: ${Object.keys(REPORT_KINDS).join(', ')}.`);
  }
  const timeZone = checkTimeZone(await readTimeZone(opts));
  const filter = toEventFilter(opts, timeZone);
  const store = await openStore(await readDb(opts), { mustExist: true, readOnly: true });
  try {
    if (opts.json === true && opts.csv === true) {
      throw new GoodhartError('invalid_request', 400, 'Choose one of --json and --csv.');
    }
    const stored = await store.aggregate(kind.groupBy, filter, { timeZone });
    const rows = opts.kind === 'weekly' ? foldWeeks(stored) : stored;
    if (opts.csv === true) return toCsv(rows, kind.label).trimEnd();
    if (opts.json === true) {
      return toJson(rows, { report: opts.kind, timeZone, since: isoOrNull(filter.since), until: isoOrNull(filter.until) });
    }
    // Session ids run to 256 bytes (what a client sends): the table shows them shortened, --json and --csv whole.
    const shown = opts.kind === 'session' ? rows.map((r) => ({ ...r, key: shortenId(r.key) })) : rows;
    return `${kind.title} (${timeZone})\n${formatAggregatesTable(shown, { groupLabel: kind.label })}`;
  } finally {
    await store.close();
  }
}

/** How many characters of a session id the table shows: a UUID (36) whole. */
export const SHOWN_ID_CHARS = 36;

/**
 * A long id for a table, cut in the middle so its start and end stay (`cc-alice-sess-3-a...of-the-long-id-end`):
 * ASCII dots, so the table keeps its fast path (box-table.ts). Characters, not UTF-16 units: no half of an emoji.
 */
export function shortenId(id: string, max = SHOWN_ID_CHARS): string {
  const chars = Array.from(id);
  if (chars.length <= max) return id;
  const keep = max - 3;
  const head = Math.ceil(keep / 2);
  return `${chars.slice(0, head).join('')}...${chars.slice(chars.length - (keep - head)).join('')}`;
}

/** Adds the options every filtering read command takes. */
export function addFilterOptions(cmd: Command): Command {
  return cmd
    .option('--since <date>', 'from this day (YYYY-MM-DD, midnight in --tz) or ISO 8601 time')
    .option('--until <date>', 'up to and including this day (YYYY-MM-DD), or before this ISO 8601 time')
    .option('--team <team>', `only this team ('${NONE_KEY}': the events with no team)`)
    .option('--user <user>', `only this user ('${NONE_KEY}': the events with no user)`)
    .option('--project <project>', `only this project ('${NONE_KEY}': the events with no project)`)
    .option('--model <model>', 'only this model (requested or served name)')
    .option('--source <source>', `only this source (${EVENT_SOURCES.join(', ')})`)
    .option('--tz <zone>', "IANA time zone for dates and day boundaries (default: the config's timeZone, else UTC)")
    .option('--db <path>', 'SQLite file or postgres://… (default: the config’s db, else $GOODHART_DB, else ./.goodhart/goodhart.db)')
    .option('--config <file>', 'YAML config whose db to read (default $GOODHART_CONFIG or ./goodhart.yaml)');
}

/**
 * What the token columns count (the one normalised usage shape, src/usage/types.ts): Input is every input token, as
 * OpenAI counts prompt_tokens and as prices apply, where ccusage's Input leaves the cache out.
 */
export const COLUMNS_HELP = [
  'Token columns (--json and --csv count the same way: inputTokens, outputTokens…):',
  '  Input        every input token: uncached input + Cache read + Cache write.',
  "               ccusage's Input is the uncached part alone (here: Input minus",
  '               Cache read minus Cache write).',
  '  Cache read, Cache write (5m+1h)',
  '               the parts of Input read from and written to the prompt cache.',
  '  Output       every output token, Reasoning included.',
  '  Reasoning    the part of Output a reasoning model spent thinking.',
].join('\n');

export function registerReport(program: Command): Command {
  const cmd = program
    .command('report')
    .description('Usage and cost totals by day, week, month, session, team, user, model or project')
    .addArgument(new Argument('<period>', 'how to group').choices(Object.keys(REPORT_KINDS)))
    .option('--json', 'print JSON instead of a table')
    .option('--csv', 'print CSV instead of a table')
    .addHelpText('after', `\n${COLUMNS_HELP}\n\nIn the session table, ids longer than ${SHOWN_ID_CHARS} characters are shortened in the middle (start...end); --json and --csv print them whole.`);
  addFilterOptions(cmd).action(async (period: ReportKind, options: Omit<ReportOptions, 'kind'>) => {
    process.stdout.write(`${await runReport({ ...options, kind: period })}\n`);
  });
  return cmd;
}
