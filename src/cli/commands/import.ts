import { existsSync } from 'node:fs';
import { availableParallelism, homedir, userInfo } from 'node:os';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { findingsStoreOf } from '../../detect/store.js';
import { GoodhartError } from '../../errors.js';
import type { GitScope } from '../../importers/git-info.js';
import { importConfigOf, NO_FILE_IMPORT_CONFIG, type ImportConfig } from '../../importers/import-config.js';
import { formatSummaryLine, type ImportSummary } from '../../importers/summary.js';
import { FILE_SOURCES, type FileSource } from '../../importers/types.js';
import { formatCostLine, formatRedatedLine, formatRemovedLine, isUsageApiSummary } from '../../importers/usage-api/cost-line.js';
import { USAGE_APIS, type UsageApiSource } from '../../importers/usage-api/registry.js';
import type { WorkerRecipe } from '../../importers/worker-recipe.js';
import { supportsImports, type AuditStore } from '../../store/types.js';
import type { Pricer } from '../../usage/pricing.js';
import { configPath } from '../config-path.js';

/**
 * `goodhart import …`. An incremental re-import takes tens of milliseconds of work, so this module loads what a
 * run needs when it needs it: the YAML parser and the config schema only when a config file applies, the price
 * catalogue only when something is to be priced, the usage-API modules only for those commands.
 */

interface CommonOptions {
  config?: string;
  db?: string;
  json?: boolean;
}

interface FileOptions extends CommonOptions {
  full?: boolean;
  osUser?: string;
  account?: string;
  maxLineMb?: string;
  fingerprints?: boolean;
}

interface ApiOptions extends CommonOptions {
  adminKey?: string;
  baseUrl?: string;
  since?: string;
  until?: string;
  file?: string[];
}

async function importConfig(opts: CommonOptions): Promise<ImportConfig> {
  if (configPath(opts) === undefined) return NO_FILE_IMPORT_CONFIG;
  const { resolveConfig } = await import('../context.js');
  return importConfigOf(resolveConfig(opts).config);
}

async function withStore<T>(opts: CommonOptions, fn: (store: AuditStore, config: ImportConfig, dbPath: string | undefined) => Promise<T>): Promise<T> {
  const config = await importConfig(opts);
  const { defaultDbPath, openStore } = await import('../../store/open.js');
  const location = opts.db ?? config.db ?? defaultDbPath();
  const store = await openStore(location);
  try {
    if (!supportsImports(store)) {
      throw new GoodhartError('config_invalid', 500, `Imports need the SQLite store for now (this database is ${store.kind}). Pass --db PATH to a SQLite file.`);
    }
    // Worker threads open the same SQLite file; an in-memory database exists only on this connection.
    const dbPath = store.kind === 'sqlite' && location !== ':memory:' ? resolve(location) : undefined;
    return await fn(store, config, dbPath);
  } finally {
    await store.close();
  }
}

/**
 * Fingerprints as the gateway records them (`detect.fingerprints`): the configured secret, else the database's
 * own; kept for the retention period, so older requests get none (the retention sweep would delete them).
 */
async function fingerprintSettings(store: AuditStore, config: ImportConfig): Promise<{ secret: string; since: number } | null> {
  const findings = findingsStoreOf(store);
  const secret = config.fingerprints.secret ?? (await findings?.fingerprintSecret());
  if (secret === undefined) return null;
  return { secret, since: Date.now() - config.fingerprints.retentionDays * 86_400_000 };
}

/** The config's prices were validated with the config (its schema): loading zod again to check them takes longer than a re-import. */
const loadPricer = (config: ImportConfig) => async (): Promise<Pricer> => (await import('../../usage/catalogue-pricer.js')).pricerWith(new Map(Object.entries(config.priceOverrides)));

/**
 * Threads reading and parsing log files: one per core up to 4 (the main thread writes SQLite meanwhile; past
 * 4 the single writer is the limit).
 */
const WORKERS = Math.min(4, Math.max(1, availableParallelism()));

function mustExist(paths: readonly string[], what: string): void {
  const missing = paths.filter((p) => !existsSync(p));
  if (missing.length > 0) {
    throw new GoodhartError('invalid_request', 400, `No such ${what}: ${missing.map((p) => resolve(p)).join(', ')}. Check the path${missing.length > 1 ? 's' : ''}.`);
  }
}

function print(summary: ImportSummary, json: boolean | undefined): void {
  // Input that is not this source's (wrongInput: what it looks like, what to run): nothing of it was imported, so the
  // command fails (exit 1), as it does for a folder or file that is not there; --json still prints the summary.
  if ((summary.wrongInput?.length ?? 0) > 0) process.exitCode = 1;
  if (json === true) {
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    return;
  }
  process.stdout.write(`${formatSummaryLine(summary)}\n`);
  // Usage APIs: what the usage rows cost next to the provider's own cost report, when one was read.
  if (isUsageApiSummary(summary)) {
    process.stdout.write(`${formatCostLine(summary)}\n`);
    const removed = formatRemovedLine(summary);
    if (removed !== null) process.stdout.write(`${removed}\n`);
    const redated = formatRedatedLine(summary);
    if (redated !== null) process.stdout.write(`${redated}\n`);
    for (const w of summary.warnings) process.stderr.write(`  warning: ${w}\n`);
  }
  const told = new Set((summary.wrongInput ?? []).map((w) => w.hint));
  for (const w of summary.wrongInput ?? []) process.stderr.write(`goodhart: ${w.hint}\n`);
  // Line 0: the file (or API path) as a whole.
  for (const p of summary.problems.slice(0, 10)) if (!told.has(p.reason)) process.stderr.write(`  ${p.file}${p.line > 0 ? `:${p.line}` : ''}: ${p.reason}\n`);
  if ((summary.skipped.too_long ?? 0) > 0) {
    // The next run starts past a skipped line: only --full reads it again.
    process.stderr.write('  Lines longer than --max-line-mb (default 16) were skipped: to read them, run again with a larger --max-line-mb and --full.\n');
  }
  if (summary.problems.length > 10) process.stderr.write(`  …and more (--json lists up to ${summary.problems.length})\n`);
}

/** Where each agent keeps its logs, said when none were found (a wrong variable or folder is the usual cause). */
const LOG_HOMES: Record<FileSource, string> = {
  'claude-code': 'Claude Code keeps them in projects/ under $CLAUDE_CONFIG_DIR, else ~/.config/claude and ~/.claude',
  codex: 'Codex keeps them in sessions/ and archived_sessions/ under $CODEX_HOME, else ~/.codex',
  gemini: 'Gemini CLI keeps them in tmp/*/chats/ under $GEMINI_DATA_DIR, else ~/.gemini',
};

export async function noLogsHint(source: FileSource, dirs: readonly string[]): Promise<string> {
  const { FILE_IMPORTERS } = await import('../../importers/registry.js');
  const roots = dirs.length > 0 ? dirs : FILE_IMPORTERS[source].defaultRoots(process.env, homedir());
  return `  No ${source} log files were found under ${roots.map((r) => resolve(r)).join(', ')}. ${LOG_HOMES[source]}: name the folder that holds them, or set the variable.`;
}

/** `goodhart import claude-code|codex|gemini [DIR…]`. */
export async function importFilesCommand(source: FileSource, dirs: string[], opts: FileOptions): Promise<ImportSummary> {
  const { FILE_IMPORTERS } = await import('../../importers/registry.js');
  const importer = FILE_IMPORTERS[source];
  const home = homedir();
  const roots = dirs.length > 0 ? dirs : importer.defaultRoots(process.env, home);
  // A folder named on the command line that is not there is a typo, not "0 files": said, before anything runs.
  mustExist(dirs, 'folder or file');
  const maxLineMb = opts.maxLineMb === undefined ? undefined : Number(opts.maxLineMb);
  if (maxLineMb !== undefined && !(maxLineMb > 0)) {
    throw new GoodhartError('invalid_request', 400, `--max-line-mb must be a positive number of megabytes, got "${opts.maxLineMb}".`);
  }
  let me: string | null;
  try {
    me = userInfo().username;
  } catch {
    me = process.env['USER'] ?? null;
  }
  const osUser = opts.osUser ?? me;
  const maxLineBytes = maxLineMb === undefined ? undefined : Math.round(maxLineMb * 1024 * 1024);
  // Someone else's logs (--os-user names another user): the importer's own ~/.gitconfig, XDG and system files say
  // nothing about their author, so only each repository's own config gives a git email.
  const gitScope: GitScope = opts.osUser !== undefined && opts.osUser !== me ? 'repository' : 'user';
  const identity = { osUser, account: opts.account ?? null };
  const [{ createLocalAttributor }, { createGitLookup }, { DEFAULT_MAX_WHOLE_FILE, runFileImport }, { priceBookKey }] = await Promise.all([
    import('../../importers/attribution.js'),
    import('../../importers/git-info.js'),
    import('../../importers/run-file-import.js'),
    import('../../importers/price-book.js'),
  ]);
  const progress = opts.json !== true && process.stderr.isTTY ? (await import('../../importers/progress.js')).terminalProgress(`import ${source}`) : undefined;
  const summary = await withStore(opts, async (store, config, dbPath) => {
    const fingerprints = opts.fingerprints === false || !config.fingerprints.enabled ? null : await fingerprintSettings(store, config);
    const recipe: WorkerRecipe = {
      source,
      config: { identities: config.identities, users: config.users, projects: config.projects, outcomes: config.outcomes },
      priceOverrides: config.priceOverrides,
      identity,
      gitScope,
      maxLineBytes,
      maxWholeFileBytes: DEFAULT_MAX_WHOLE_FILE,
      fingerprints,
      dbPath,
    };
    return runFileImport({
      importer,
      roots,
      store,
      pricer: loadPricer(config),
      priceBookKey: priceBookKey(config.priceOverrides),
      attribute: createLocalAttributor(recipe.config, identity, createGitLookup({ scope: gitScope })),
      progress,
      full: opts.full === true,
      ...(maxLineBytes === undefined ? {} : { maxLineBytes }),
      workers: { count: WORKERS, recipe },
      fingerprints,
    });
  });
  // Nothing of this agent's in what it read (or no file of its at all under the folders named): another agent's logs?
  const foundNone = summary.eventsAdded + summary.eventsUpdated + summary.duplicates === 0;
  if (foundNone && (summary.linesRead > 0 || (summary.files === 0 && dirs.length > 0))) {
    const wrong = (await import('../../importers/wrong-input.js')).sniffLogFolders(roots, source);
    if (wrong.length > 0) summary.wrongInput = wrong;
  }
  return summary;
}

/** `goodhart import openai-usage|anthropic-usage|anthropic-claude-code`. */
export async function importApiCommand(source: UsageApiSource, opts: ApiOptions): Promise<ImportSummary> {
  const info = USAGE_APIS[source];
  mustExist(opts.file ?? [], 'file');
  const [api, { runUsageApiImport }] = await Promise.all([info.load(), import('../../importers/usage-api/run.js')]);
  return withStore(opts, async (store, config) =>
    runUsageApiImport({
      api: { ...info, ...api },
      store,
      pricer: await loadPricer(config)(),
      rules: config,
      timeZone: config.timeZone,
      gatewayProviders: config.gatewayProviders,
      adminKey: opts.adminKey,
      baseUrl: opts.baseUrl,
      since: opts.since,
      until: opts.until,
      files: opts.file ?? [],
    }),
  );
}

const addCommon = (cmd: Command): Command =>
  cmd
    .option('--db <path>', 'SQLite database (default: the config’s db, else $GOODHART_DB, else ./.goodhart/goodhart.db)')
    .option('--config <file>', 'goodhart.yaml with `identities:` and `projects:` for attribution')
    .option('--json', 'print the summary as JSON');

export function registerImport(program: Command): Command {
  const cmd = program
    .command('import')
    .description('Audit mode: import usage from coding agents\' logs and providers\' usage APIs (re-runs add only what is new)');
  for (const source of FILE_SOURCES) {
    addCommon(
      cmd
        .command(`${source} [dirs...]`)
        .description(`Import ${source} logs (default: the locations ${source} writes to)`)
        .option('--full', 'read every file from the start instead of where the last run stopped, and apply the current prices and identities to what is stored (still never double counts)')
        .option('--os-user <name>', 'the OS user the logs belong to, for attribution (default: the current user); another user\'s logs get no git email from your own ~/.gitconfig, only from each repository\'s config')
        .option('--account <id>', 'the account the logs belong to, for attribution (matches `identities[].match.account`)')
        .option('--max-line-mb <mb>', 'skip lines longer than this (default 16)')
        .option('--no-fingerprints', 'do not record waste-detection fingerprints of the prompts and tool calls (no text is stored either way)'),
    ).action(async (dirs: string[], options: FileOptions) => {
      const summary = await importFilesCommand(source, dirs, options);
      print(summary, options.json);
      if (summary.files === 0 && summary.wrongInput === undefined && options.json !== true) process.stderr.write(`${await noLogsHint(source, dirs)}\n`);
    });
  }
  for (const [source, api] of Object.entries(USAGE_APIS) as [UsageApiSource, (typeof USAGE_APIS)[UsageApiSource]][]) {
    addCommon(
      cmd
        .command(source)
        .description(api.description)
        .option('--admin-key <key>', `admin API key (default: $${api.keyEnv})`)
        .option('--base-url <url>', `API base URL (default: ${api.defaultBaseUrl})`)
        .option('--since <date>', 'first day to import, from 00:00 UTC (YYYY-MM-DD, or an ISO 8601 time: its whole UTC day; default: 30 days ago)')
        .option('--until <date>', 'last day to import, included (YYYY-MM-DD, or an ISO 8601 time: its whole UTC day; default: now)')
        .option('--file <files...>', 'read saved API responses (JSON files) instead of calling the API'),
    ).action(async (options: ApiOptions) => print(await importApiCommand(source, options), options.json));
  }
  return cmd;
}
