#!/usr/bin/env node
import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { GoodhartError } from '../errors.js';
import { sqliteFilesOpened } from '../store/sqlite/opened.js';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

type Register = (program: Command) => unknown;

/**
 * Every command, each module loaded on demand: the gateway, importers and their dependencies take longer to load
 * than a report takes to answer, so `goodhart report …` loads only its own module (see FAST).
 */
const COMMANDS: readonly (() => Promise<Register>)[] = [
  async () => (await import('./commands/serve.js')).registerServe,
  async () => (await import('./commands/init.js')).registerInit,
  async () => (await import('./commands/keys.js')).registerKeys,
  async () => (await import('./commands/report.js')).registerReport,
  async () => (await import('./commands/routing.js')).registerRouting,
  async () => (await import('./commands/events.js')).registerEvents,
  async () => (await import('./commands/sim.js')).registerSim,
  async () => (await import('./commands/budgets.js')).registerBudgets,
  async () => (await import('./commands/access.js')).registerAccess,
  async () => (await import('./commands/directory.js')).registerDirectory,
  async () => (await import('./commands/audit.js')).registerAudit,
  async () => (await import('./commands/import.js')).registerImport,
  async () => (await import('./commands/outcomes.js')).registerOutcomes,
  async () => (await import('./commands/audit-report.js')).registerAuditReport,
  async () => (await import('./commands/digest.js')).registerDigest,
  async () => (await import('./commands/detect.js')).registerDetect,
  async () => (await import('./commands/detect.js')).registerFindings,
  async () => (await import('./commands/simulate.js')).registerSimulate,
];

/**
 * `goodhart import` from its bundle (scripts/build-cli.ts: a few files instead of sixty modules) when the build made
 * one and it is not older than this file (a later tsc-only build); else from the modules tsc wrote.
 */
async function loadImportCommand(): Promise<Register> {
  const bundle = new URL('./import-bundle/import.js', import.meta.url);
  let useBundle = false;
  try {
    useBundle = statSync(fileURLToPath(bundle)).mtimeMs >= statSync(fileURLToPath(import.meta.url)).mtimeMs;
  } catch {
    // no bundle (running from the sources, or built by tsc alone)
  }
  const mod = (useBundle ? await import(bundle.href) : await import('./commands/import.js')) as typeof import('./commands/import.js');
  return mod.registerImport;
}

/** Commands run on their own: `goodhart report daily` answers in well under 200 ms on 10 million events. */
const FAST: Readonly<Record<string, () => Promise<Register>>> = {
  report: async () => (await import('./commands/report.js')).registerReport,
  // Incremental re-imports take tens of milliseconds; loading the gateway's modules too would take ten times that.
  import: loadImportCommand,
  events: async () => (await import('./commands/events.js')).registerEvents,
  keys: async () => (await import('./commands/keys.js')).registerKeys,
};

export async function buildProgram(argv: readonly string[] = process.argv): Promise<Command> {
  const program = new Command()
    .name('goodhart')
    .description('Meter, govern and right-size AI spend: an OpenAI- and Anthropic-compatible gateway with reports.')
    .version(version)
    .showHelpAfterError()
    .exitOverride();
  const fast = FAST[argv[2] ?? ''];
  for (const register of await Promise.all((fast ? [fast] : COMMANDS).map((load) => load()))) register(program);
  return program;
}

/**
 * How to choose another port, directly and through npm, where the flag must come after `--` (`npm run demo --port
 * 8788` gives the flag to npm, which drops it): the script run is named when npm started this process.
 */
function anotherPort(): string {
  const script = process.env['npm_lifecycle_event'];
  return `choose another port with --port N (through npm: npm run ${script !== undefined && script !== '' && script !== 'npx' ? script : 'demo'} -- --port N)`;
}

/**
 * What the operating system refused, said as what to do (they printed a stack trace): a port in use or not allowed,
 * a host that does not resolve, a folder that does not exist.
 */
function systemError(err: unknown): GoodhartError | null {
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number; hostname?: string };
  if (!(err instanceof Error) || typeof e.code !== 'string') return null;
  const where = e.port !== undefined ? `${e.address ?? ''}:${e.port}` : (e.hostname ?? e.address ?? '');
  switch (e.code) {
    case 'EADDRINUSE':
      return new GoodhartError('config_invalid', 500, `Cannot listen on ${where}: the port is in use (another goodhart, or another server). Stop it, or ${anotherPort()}.`);
    case 'EACCES':
      if (e.syscall === 'listen') return new GoodhartError('config_invalid', 500, `Not allowed to listen on ${where} (ports below 1024 need privileges): ${anotherPort()}.`);
      return new GoodhartError('config_invalid', 500, `Permission denied: ${e.path ?? e.message}. Check the file's permissions, or choose another path.`);
    case 'EADDRNOTAVAIL':
      return new GoodhartError('config_invalid', 500, `Cannot listen on ${where}: that address is not on this machine. Use --host 127.0.0.1, 0.0.0.0 or one of this machine's addresses.`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new GoodhartError('config_invalid', 500, `The host "${where}" does not resolve. Use an IP address (127.0.0.1, 0.0.0.0) or a name this machine resolves.`);
    case 'ENOENT':
      return e.path === undefined ? null : new GoodhartError('config_invalid', 500, `No such file or folder: ${e.path}. Create the folder first, or choose another path.`);
    default:
      return e.code.startsWith('SQLITE_BUSY') || e.code.startsWith('SQLITE_LOCKED') ? sqliteLocked() : null;
  }
}

/**
 * SQLite's "database is locked": another connection held the write lock for longer than the busy timeout (5 s,
 * store/sqlite/connect.ts). SQLite does not say which file; this process knows which it opened.
 */
function sqliteLocked(): GoodhartError {
  const files = sqliteFilesOpened();
  const file = files.length === 1 ? files[0]! : null;
  const which = file !== null ? `The SQLite database ${file}` : files.length > 1 ? `One of the SQLite databases ${files.join(', ')}` : 'The SQLite database (--db)';
  return new GoodhartError(
    'unavailable',
    503,
    `${which} is locked: another process holds its write lock (an open transaction: a sqlite3 shell or a script inside BEGIN, a backup, a long import) and did not release it within 5 seconds. Try again when it is done; \`fuser ${file ?? 'FILE'}\` or \`lsof ${file ?? 'FILE'}\` shows which process has it open.`,
    { retryable: true },
  );
}

/** A GoodhartError, also one from the import bundle (which carries its own copy of the class). */
function goodhartError(err: unknown): GoodhartError | null {
  if (err instanceof GoodhartError) return err;
  return err instanceof Error && err.name === 'GoodhartError' && typeof (err as Partial<GoodhartError>).code === 'string' ? (err as GoodhartError) : null;
}

async function main(): Promise<void> {
  try {
    await (await buildProgram(process.argv)).parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode);
    const known = goodhartError(err) ?? systemError(err);
    if (known !== null) {
      process.stderr.write(`goodhart: ${known.message}\n`);
      process.exit(known.code === 'config_invalid' ? 78 : 1);
    }
    process.stderr.write(`goodhart: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  }
}

await main();
