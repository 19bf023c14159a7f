import { join } from 'node:path';
import type { FileImporter } from '../types.js';
import { createCodexParser } from './parse-line.js';
import { createCodexTranscript } from './transcript.js';

/** Codex CLI: `${CODEX_HOME:-~/.codex}/sessions/` and `archived_sessions/`, JSONL rollout files. */
export const codexImporter: FileImporter = {
  source: 'codex',
  needle: null,
  defaultRoots(env, home) {
    const base = env['CODEX_HOME']?.trim() || join(home, '.codex');
    return [join(base, 'sessions'), join(base, 'archived_sessions')];
  },
  accepts: (path) => path.endsWith('.jsonl'),
  newParser: (path, context) => createCodexParser(path, context),
  newTranscript: createCodexTranscript,
};
