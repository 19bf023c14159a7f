import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { GoodhartError } from '../../errors.js';
import { checkTimeZone, formatWallTime, parseRange } from '../../report/dates.js';
import { formatCount } from '../../report/format.js';
import { drawTable } from '../../report/table.js';
import { visible } from '../../report/visible.js';
import { savingsFromGroups, type SavingsBucket, type SavingsReport } from '../../route/savings.js';
import type { RouteDecisionStore } from '../../route/decisions.js';
import type { GuardTrip } from '../../route/guard.js';
import { readDecisionStore } from '../../route/sqlite-decisions.js';
import { readDb } from '../read-db.js';

export interface SavingsOptions {
  since?: string;
  until?: string;
  team?: string;
  tz?: string;
  db?: string;
  config?: string;
  json?: boolean;
}

const usd = (b: SavingsBucket) => (b.requests === 0 ? '-' : b.savedUsd.toFixed(4) + (b.unpriced > 0 ? ` (+${b.unpriced} n/a)` : ''));

export function formatSavings(report: SavingsReport): string {
  if (report.rows.length === 0) return 'No routing decisions match (is routing in shadow or on mode for anyone?).';
  const rows = report.rows.map((r) => [
    r.teamId ?? '(none)',
    `${r.modelRequested} → ${r.modelRouted}`,
    formatCount(r.realised.requests),
    usd(r.realised),
    formatCount(r.potential.requests),
    usd(r.potential),
    formatCount(r.misses),
  ]);
  const t = report.total;
  rows.push(['Total', '', formatCount(t.realised.requests), usd(t.realised), formatCount(t.potential.requests), usd(t.potential), formatCount(t.misses)]);
  const table = drawTable(
    {
      head: ['Team', 'Requested → routed', 'Routed (on)', 'Saved USD', 'Would route (shadow)', 'Would save USD', 'Misses'],
      aligns: ['left', 'left', 'right', 'right', 'right', 'right', 'right'],
    },
    rows,
  );
  return [
    table,
    'Saved: the requests priced at the requested model minus their cost on the routed one (same token counts).',
  ].join('\n');
}

/** The routing tables of a Goodhart database (SQLite file or postgres:// URL), for reading (see readDecisionStore). */
export async function openDecisions(db: string): Promise<RouteDecisionStore> {
  if (/^postgres(ql)?:\/\//i.test(db)) {
    // The routing tables only (route_migrations), not the whole event store: `?search_path=` in the URL applies.
    // Read as it is: nothing created or migrated, so a role that may only SELECT can run reports.
    return (await import('../../route/postgres-decisions.js')).PostgresDecisionStore.read(db);
  }
  if (db !== ':memory:' && !existsSync(resolve(db))) {
    throw new GoodhartError('config_invalid', 500, `No Goodhart database at ${resolve(db)}. Run \`goodhart serve\` first, or point --db / GOODHART_DB at the right file.`);
  }
  return readDecisionStore(db);
}

/** The task classes the quality guard stopped routing for, one line each (none: no lines). */
export function formatStopped(trips: readonly GuardTrip[], timeZone: string): string[] {
  const until = (ms: number) => `${formatWallTime(ms, timeZone)} ${timeZone}`;
  return trips.map(
    (t) =>
      `Routing stopped for team ${visible(t.teamId ?? '(none)')}, ${visible(t.taskClass)} requests: ${t.misses} of ${t.routed} routed were asked again on the premium model; they go to the model asked for until ${until(t.until)} (quality guard).`,
  );
}

/** `goodhart routing savings`: realised (on) and potential (shadow) savings per team and model pair. */
export async function runRoutingSavings(opts: SavingsOptions): Promise<string> {
  const timeZone = checkTimeZone(opts.tz ?? 'UTC');
  const range = parseRange({ since: opts.since, until: opts.until, timeZone });
  const store = await openDecisions(await readDb(opts));
  try {
    const report = savingsFromGroups(await store.savingsGroups({ ...range, ...(opts.team !== undefined ? { teamId: opts.team } : {}) }));
    const stopped = (await store.activeTrips(Date.now())).filter((t) => opts.team === undefined || t.teamId === opts.team);
    if (opts.json === true) {
      const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
      const trips = stopped.map((t) => ({ ...t, trippedAt: iso(t.trippedAt), until: iso(t.until) }));
      return JSON.stringify({ report: 'routing-savings', since: iso(range.since), until: iso(range.until), ...report, stopped: trips }, null, 2);
    }
    return [formatSavings(report), ...formatStopped(stopped, timeZone)].join('\n');
  } finally {
    await store.close();
  }
}

export function registerRouting(program: Command): Command {
  const routing = program.command('routing').description('Right-sizing: what routing to cheaper models saved or would save');
  routing
    .command('savings')
    .description('Realised (mode on) and potential (shadow) savings per team and model')
    .option('--since <date>', 'from this day (YYYY-MM-DD, midnight in --tz) or ISO 8601 time')
    .option('--until <date>', 'up to and including this day (YYYY-MM-DD), or before this ISO 8601 time')
    .option('--team <team>', 'only this team')
    .option('--tz <zone>', 'IANA time zone for dates', 'UTC')
    .option('--db <path>', 'SQLite database or postgres:// URL (default: the config’s db, else $GOODHART_DB, else ./.goodhart/goodhart.db)')
    .option('--config <file>', 'YAML config whose db to read (default $GOODHART_CONFIG or ./goodhart.yaml)')
    .option('--json', 'print JSON instead of a table')
    .action(async (options: SavingsOptions) => {
      process.stdout.write(`${await runRoutingSavings(options)}\n`);
    });
  return routing;
}
