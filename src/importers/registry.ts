import { claudeCodeImporter } from './claude-code/index.js';
import { codexImporter } from './codex/index.js';
import { geminiImporter } from './gemini/index.js';
import type { FileImporter, FileSource } from './types.js';

/** Every importer of agents' local logs; a new one is a compile error until it is listed here. */
export const FILE_IMPORTERS = {
  'claude-code': claudeCodeImporter,
  codex: codexImporter,
  gemini: geminiImporter,
} as const satisfies Record<FileSource, FileImporter>;
