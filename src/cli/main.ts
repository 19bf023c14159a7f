#!/usr/bin/env node
import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { GoodhartError } from '../errors.js';
import { registerAccess } from './commands/access.js';
import { registerAudit } from './commands/audit.js';
import { registerBudgets } from './commands/budgets.js';
import { registerDirectory } from './commands/directory.js';
import { registerEvents } from './commands/events.js';
import { registerImport } from './commands/import.js';
import { registerInit } from './commands/init.js';
import { registerKeys } from './commands/keys.js';
import { registerReport } from './commands/report.js';
import { registerRouting } from './commands/routing.js';
import { registerServe } from './commands/serve.js';
import { registerSim } from './commands/sim.js';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

export function buildProgram(): Command {
  const program = new Command()
    .name('goodhart')
    .description('Meter, govern and right-size AI spend: an OpenAI- and Anthropic-compatible gateway with reports.')
    .version(version)
    .showHelpAfterError()
    .exitOverride();
  registerServe(program);
  registerInit(program);
  registerKeys(program);
  registerReport(program);
  registerRouting(program);
  registerEvents(program);
  registerSim(program);
  registerBudgets(program);
  registerAccess(program);
  registerDirectory(program);
  registerAudit(program);
  registerImport(program);
  return program;
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
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
