import { join } from 'node:path';
import type { FileImporter } from '../types.js';
import { parseClaudeLine } from './parse-line.js';
import { createClaudeTranscript, USER_NEEDLE } from './transcript.js';

/**
 * Claude Code: every entry of `$CLAUDE_CONFIG_DIR` (comma separated), else `~/.config/claude` and `~/.claude`;
 * `projects/**\/*.jsonl` under each (subagent files under `<session>/subagents/` included).
 * Only lines containing `usage":` can carry usage; with fingerprints, `"type":"user"` lines are read too (on their
 * bytes, transcript.ts); the others are counted and never decoded.
 */
export const claudeCodeImporter: FileImporter = {
  source: 'claude-code',
  needle: Buffer.from('usage":'),
  defaultRoots(env, home) {
    const fromEnv = (env['CLAUDE_CONFIG_DIR'] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
    const dirs = fromEnv.length > 0 ? fromEnv : [join(home, '.config', 'claude'), join(home, '.claude')];
    return dirs.map((d) => join(d, 'projects'));
  },
  accepts: (path) => path.endsWith('.jsonl'),
  newParser: () => ({ parse: parseClaudeLine, context: () => null }),
  transcriptNeedles: [USER_NEEDLE],
  newTranscript: createClaudeTranscript,
};
