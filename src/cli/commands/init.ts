import { existsSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { GoodhartError } from '../../errors.js';
import { CONFIG_TEMPLATE, TEMPLATE_SCHEMA_REF } from '../../config/template.js';

/** The JSON Schema this goodhart ships (package.json `files`): src/ and dist/ sit at the same depth. */
const SCHEMA_FILE = fileURLToPath(new URL('../../../schema/goodhart.schema.json', import.meta.url));

/**
 * The schema as the written file should name it, relative to the file: `./node_modules/goodhart/schema/…` for a
 * project's own install, the path to a global install's otherwise (`./node_modules/…` did not resolve for one). A
 * file URL where no relative path exists (another drive).
 */
export function schemaReference(file: string, schemaFile = SCHEMA_FILE): string {
  const rel = relative(dirname(resolve(file)), schemaFile);
  if (isAbsolute(rel)) return pathToFileURL(schemaFile).href;
  const posix = rel.split(sep).join('/');
  return posix.startsWith('../') ? posix : `./${posix}`;
}

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
      writeFileSync(opts.file, CONFIG_TEMPLATE.replace(TEMPLATE_SCHEMA_REF, schemaReference(opts.file)));
      process.stdout.write(`Wrote ${opts.file}. Edit it, then run: goodhart serve --config ${opts.file}\n`);
    });
}
