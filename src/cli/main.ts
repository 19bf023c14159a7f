#!/usr/bin/env node
import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { GoodhartError } from '../errors.js';

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

/** Commands run on their own: `goodhart report daily` answers in well under 200 ms on 10 million events. */
const FAST: Readonly<Record<string, () => Promise<Register>>> = {
  report: async () => (await import('./commands/report.js')).registerReport,
  // Incremental re-imports take tens of milliseconds; loading the gateway's modules too would take ten times that.
  import: async () => (await import('./commands/import.js')).registerImport,
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

async function main(): Promise<void> {
  try {
    await (await buildProgram(process.argv)).parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode);
    if (err instanceof GoodhartError) {
      process.stderr.write(`goodhart: ${err.message}\n`);
      process.exit(err.code === 'config_invalid' ? 78 : 1);
    }
    process.stderr.write(`goodhart: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  }
}

await main();
