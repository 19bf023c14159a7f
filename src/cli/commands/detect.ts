import type { Command } from 'commander';
import { detectHistory } from '../../detect/history.js';
import { formatFindingsTable, summariseFindings } from '../../detect/format.js';
import { findingsStoreOf, listFindings, type FindingsStore } from '../../detect/store.js';
import { RULE_IDS, type FindingFilter, type RuleId } from '../../detect/types.js';
import { GoodhartError } from '../../errors.js';
import { checkTimeZone, parseRange } from '../../report/dates.js';
import { openStore } from '../../store/open.js';
import type { Store } from '../../store/types.js';
import { routingConfigured } from '../../route/config.js';
import { resolveConfig, resolveDb, type ConfigOptions } from '../context.js';
import { formatStopped, openDecisions } from './routing.js';

export interface DetectOptions extends ConfigOptions {
  since?: string;
  until?: string;
  rule?: string;
  tz?: string;
  json?: boolean;
  dryRun?: boolean;
}

export interface FindingsOptions extends ConfigOptions {
  since?: string;
  until?: string;
  user?: string;
  team?: string;
  rule?: string;
  tz?: string;
  json?: boolean;
  limit?: string;
}

/** Without --since, detection looks at the last 7 days: a week of history is a full cycle of working days. */
const DEFAULT_DAYS = 7;

function parseRules(value: string | undefined): RuleId[] | undefined {
  if (value === undefined) return undefined;
  const rules = value.split(',').map((r) => r.trim()).filter((r) => r.length > 0);
  const bad = rules.find((r) => !(RULE_IDS as readonly string[]).includes(r));
  if (bad !== undefined) throw new GoodhartError('invalid_request', 400, `--rule: unknown rule "${bad}". Use one of: ${RULE_IDS.join(', ')}.`);
  return rules as RuleId[];
}

function requireFindings(store: Store): FindingsStore {
  const f = findingsStoreOf(store);
  if (f === undefined) {
    throw new GoodhartError('config_invalid', 500, `This ${store.kind} store keeps no findings. Use a SQLite file or a postgres:// database (--db) for detection.`);
  }
  return f;
}

/** `goodhart detect`: runs every detector over stored history and stores the findings. */
export async function runDetect(opts: DetectOptions, now = Date.now()): Promise<string> {
  const { config } = resolveConfig(opts);
  const timeZone = checkTimeZone(opts.tz ?? config.detect.timeZone);
  const range = parseRange({ since: opts.since, until: opts.until, timeZone });
  const since = range.since ?? now - DEFAULT_DAYS * 86_400_000;
  const until = range.until ?? now;
  const rules = parseRules(opts.rule);
  const store = await openStore(resolveDb(opts, config), { mustExist: true });
  try {
    const result = await detectHistory(store, requireFindings(store), {
      since,
      until,
      config: config.detect,
      write: opts.dryRun !== true,
      ...(rules ? { rules } : {}),
    });
    if (opts.json === true) return JSON.stringify(result.findings, null, 2);
    const lines = [
      `Read ${result.events.toLocaleString('en-US')} events (${result.fingerprints.toLocaleString('en-US')} with fingerprints) in ${(result.ms / 1000).toFixed(1)} s.`,
    ];
    for (const [rule, s] of summariseFindings(result.findings)) {
      lines.push(`  ${rule.padEnd(18)} ${String(s.findings).padStart(5)} ${s.findings === 1 ? 'finding ' : 'findings'}  $${s.wastedUsd.toFixed(2)} avoidable`);
    }
    lines.push(result.findings.length === 0 ? 'No findings.' : opts.dryRun === true ? 'Dry run: nothing stored.' : 'Stored; see `goodhart findings`.');
    return lines.join('\n');
  } finally {
    await store.close();
  }
}

/** `goodhart findings`: stored findings, newest first. */
export async function runFindings(opts: FindingsOptions): Promise<string> {
  const { config } = resolveConfig(opts);
  const timeZone = checkTimeZone(opts.tz ?? config.detect.timeZone);
  const filter: FindingFilter = { ...parseRange({ since: opts.since, until: opts.until, timeZone }) };
  if (opts.user !== undefined) filter.userId = opts.user;
  if (opts.team !== undefined) filter.teamId = opts.team;
  const rules = parseRules(opts.rule);
  if (rules !== undefined) {
    if (rules.length !== 1) throw new GoodhartError('invalid_request', 400, '--rule: give one rule to filter findings by.');
    filter.rule = rules[0]!;
  }
  if (opts.limit !== undefined) {
    const n = Number(opts.limit);
    if (!Number.isSafeInteger(n) || n < 1) throw new GoodhartError('invalid_request', 400, `--limit: expected a positive whole number, got "${opts.limit}".`);
    filter.limit = n;
  }
  const db = resolveDb(opts, config);
  const store = await openStore(db, { mustExist: true, readOnly: true });
  let table: string;
  try {
    const found = await listFindings(requireFindings(store), filter);
    if (opts.json === true) return JSON.stringify(found, null, 2);
    table = formatFindingsTable(found, timeZone);
  } finally {
    await store.close();
  }
  // Where routing runs, the task classes its quality guard stopped routing for (README: Right-sizing).
  if (!routingConfigured(config.routing) || (filter.rule !== undefined) || opts.user !== undefined) return table;
  const decisions = await openDecisions(db);
  try {
    const stopped = (await decisions.activeTrips(Date.now())).filter((t) => opts.team === undefined || t.teamId === opts.team);
    return [table, ...formatStopped(stopped, timeZone)].join('\n');
  } finally {
    await decisions.close();
  }
}

export function registerDetect(program: Command): void {
  program
    .command('detect')
    .description('Run the waste detectors over stored usage and store their findings')
    .option('--since <date>', `start (YYYY-MM-DD or ISO time; default ${DEFAULT_DAYS} days ago)`)
    .option('--until <date>', 'end (default now)')
    .option('--rule <ids>', `only these rules, comma separated (${RULE_IDS.join(', ')})`)
    .option('--tz <zone>', 'IANA time zone for dates (default: detect.timeZone, UTC)')
    .option('--json', 'print the findings as JSON')
    .option('--dry-run', 'detect and print, store nothing')
    .option('--config <file>', 'YAML config (thresholds under detect:)')
    .option('--db <path>', 'SQLite file or postgres://… (default: the config’s db, else $GOODHART_DB, else ./.goodhart/goodhart.db)')
    .action(async (opts: DetectOptions) => {
      process.stdout.write(`${await runDetect(opts)}\n`);
    });
}

export function registerFindings(program: Command): void {
  program
    .command('findings')
    .description('List waste findings (evidence and suggestions; never prompt text)')
    .option('--user <id>', 'only this user')
    .option('--team <id>', 'only this team')
    .option('--rule <id>', `only this rule (${RULE_IDS.join(', ')})`)
    .option('--since <date>', 'findings ending on or after')
    .option('--until <date>', 'findings starting before')
    .option('--limit <n>', 'the newest N')
    .option('--tz <zone>', 'IANA time zone for times (default: detect.timeZone, UTC)')
    .option('--json', 'print a JSON array')
    .option('--config <file>', 'YAML config')
    .option('--db <path>', 'SQLite file or postgres://… (default: the config’s db, else $GOODHART_DB, else ./.goodhart/goodhart.db)')
    .action(async (opts: FindingsOptions) => {
      process.stdout.write(`${await runFindings(opts)}\n`);
    });
}
