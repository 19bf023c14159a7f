import { existsSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { GoodhartError } from '../../errors.js';
import { CONFIG_TEMPLATE } from '../../config/template.js';

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('Write a commented example config (goodhart.yaml)')
    .option('--file <path>', 'where to write it', 'goodhart.yaml')
    .option('--force', 'overwrite an existing file')
    .action((opts: { file: string; force?: boolean }) => {
      if (existsSync(opts.file) && !opts.force) {
        throw new GoodhartError('invalid_request', 400, `${opts.file} already exists. Pass --force to overwrite it, or --file to write elsewhere.`);
      }
      writeFileSync(opts.file, CONFIG_TEMPLATE);
      process.stdout.write(`Wrote ${opts.file}. Edit it, then run: goodhart serve --config ${opts.file}\n`);
    });
}
