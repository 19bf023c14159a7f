import type { Command } from 'commander';
import { GoodhartError } from '../../errors.js';
import { formatImportSummary, formatView } from '../../outcomes/format.js';
import { importGit } from '../../outcomes/git/import.js';
import { outcomesView, type OutcomeViewer } from '../../outcomes/view.js';
import { checkTimeZone, formatWallTime, parseDateOption, parseRange } from '../../report/dates.js';
import { openStore } from '../../store/open.js';
import { supportsImports } from '../../store/types.js';
import { EVENT_SOURCES } from '../../usage/event.js';
import { resolveConfig, resolveDb, type ConfigOptions } from '../context.js';
import { sourceOption } from './report.js';

interface ImportGitCliOptions extends ConfigOptions {
  since?: string;
  all?: boolean;
  ref?: string;
  full?: boolean;
  json?: boolean;
}

interface ReportCliOptions extends ConfigOptions {
  team?: string;
  user?: string;
  source?: string;
  since?: string;
  until?: string;
  /** IANA zone of the days; default the config's timeZone. */
  tz?: string;
  json?: boolean;
}

/**
 * Eight weeks by default: enough weeks for a trend (four against four) and a correlation, recent enough that the
 * people and projects are the current ones.
 */
const DEFAULT_WEEKS = 8;
const WEEK_MS = 7 * 86_400_000;

/** `goodhart outcomes import-git [REPO…]`. */
export async function importGitCommand(repos: string[], opts: ImportGitCliOptions): Promise<string> {
  const { config } = resolveConfig(opts);
  const store = await openStore(resolveDb(opts, config));
  try {
    if (!supportsImports(store)) throw new GoodhartError('config_invalid', 500, `This ${store.kind} store keeps no outcomes.`);
    const summary = await importGit({
      store,
      config,
      repos,
      ...(opts.since !== undefined ? { since: opts.since } : {}),
      ...(opts.all === true ? { all: true } : {}),
      ...(opts.ref !== undefined ? { ref: opts.ref } : {}),
      ...(opts.full === true ? { full: true } : {}),
    });
    return opts.json === true ? JSON.stringify(summary, null, 2) : formatImportSummary(summary);
  } finally {
    await store.close();
  }
}

/**
 * `goodhart outcomes report`: the CLI reads the database directly, so it may show any view; it shows the one a
 * person (`--user`), a lead (`--team`) or an admin (neither) would see, and never a ranking of people.
 */
export async function outcomesReportCommand(opts: ReportCliOptions, now = Date.now()): Promise<string> {
  if (opts.team !== undefined && opts.user !== undefined) {
    throw new GoodhartError('invalid_request', 400, 'Give --team (a team in aggregate) or --user (one person\'s own view), not both.');
  }
  const spend = opts.source === undefined ? {} : { source: sourceOption(opts.source) };
  const { config } = resolveConfig(opts);
  // Days in the zone `report` and the dashboard use, so the Outcomes card of a month shows the same numbers.
  const timeZone = checkTimeZone(opts.tz ?? config.timeZone);
  const range = parseRange({ since: opts.since, until: opts.until, timeZone });
  const until = range.until ?? now;
  // Whole days, as --since gives them: from local midnight eight weeks back.
  const since = range.since ?? parseDateOption(formatWallTime(until - DEFAULT_WEEKS * WEEK_MS, timeZone).slice(0, 10), { option: '--since', timeZone });
  if (range.until === undefined && since >= until) {
    throw new GoodhartError('invalid_request', 400, `--since (${opts.since}) must be before --until, which is now when not given: nothing has happened since then yet.`);
  }
  const viewer: OutcomeViewer =
    opts.user !== undefined ? { role: 'person', userId: opts.user } : opts.team !== undefined ? { role: 'lead', teamId: opts.team } : { role: 'admin' };
  const store = await openStore(resolveDb(opts, config), { mustExist: true, readOnly: true });
  try {
    if (!supportsImports(store)) throw new GoodhartError('config_invalid', 500, `This ${store.kind} store keeps no outcomes.`);
    const view = await outcomesView(store, config, viewer, { since, until }, now, spend);
    // since/until as ISO 8601, as `report --json` gives them.
    return opts.json === true
      ? JSON.stringify({ timeZone, ...view, since: new Date(view.since).toISOString(), until: new Date(view.until).toISOString() }, null, 2)
      : formatView(view, timeZone);
  } finally {
    await store.close();
  }
}

export function registerOutcomes(program: Command): void {
  const cmd = program.command('outcomes').description('What AI spend bought: commits, merged pull requests, tickets, deployments');
  cmd
    .command('import-git [repos...]')
    .description('Import commits and merged pull requests from local git clones (re-runs read only new commits)')
    .option('--since <when>', 'only commits since (git syntax: 2026-01-01, "3 months ago")')
    .option('--all', 'every branch and tag, not only HEAD')
    .option('--ref <ref>', 'this branch or ref instead of HEAD')
    .option('--full', 'read the whole history again (never double counts)')
    .option('--json', 'print the summary as JSON')
    .option('--config <file>', 'goodhart.yaml with outcomes.people and projects')
    .option('--db <path>', 'database (default: the config’s db, else $GOODHART_DB, else ./.goodhart/goodhart.db)')
    .action(async (repos: string[], opts: ImportGitCliOptions) => {
      process.stdout.write(`${await importGitCommand(repos, opts)}\n`);
    });
  cmd
    .command('report')
    .description('Efficiency per team: outcomes, cost per outcome and its trend (a person: --user, their own)')
    .option('--team <id>', 'one team, in aggregate (what its lead sees)')
    .option('--user <id>', 'one person\'s own view, with their outcomes and questions')
    .option('--source <source>', `spend of this source only (${EVENT_SOURCES.join(', ')}); default: each person's week from its most detailed record`)
    .option('--since <date>', `start (YYYY-MM-DD; default ${DEFAULT_WEEKS} weeks ago)`)
    .option('--until <date>', 'end (default now)')
    .option('--tz <zone>', "IANA time zone of the days (default: the config's timeZone, else UTC)")
    .option('--json', 'print the view as JSON')
    .option('--config <file>', 'goodhart.yaml')
    .option('--db <path>', 'database (default: the config’s db, else $GOODHART_DB, else ./.goodhart/goodhart.db)')
    .action(async (opts: ReportCliOptions) => {
      process.stdout.write(`${await outcomesReportCommand(opts)}\n`);
    });
}
