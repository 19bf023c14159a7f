import { existsSync } from 'node:fs';
import { join, sep } from 'node:path';
import type { FileImporter } from '../types.js';
import { createGeminiLineParser, parseGeminiChat } from './parse.js';
import { geminiPlace } from './project-root.js';
import { createGeminiTranscript, geminiChatFingerprints } from './transcript.js';

/** Gemini CLI: `$GEMINI_DATA_DIR` (its `tmp/` when it has one), default `~/.gemini/tmp/`; `*\/chats/*.json(l)`. */
export const geminiImporter: FileImporter = {
  source: 'gemini',
  needle: null,
  defaultRoots(env, home) {
    const base = env['GEMINI_DATA_DIR']?.trim();
    if (base) return [existsSync(join(base, 'tmp')) ? join(base, 'tmp') : base];
    return [join(home, '.gemini', 'tmp')];
  },
  accepts: (path) => path.includes(`${sep}chats${sep}`) && (path.endsWith('.json') || path.endsWith('.jsonl')),
  newParser: (path, context) => createGeminiLineParser(path, context, geminiPlace(path)),
  parseWholeFile: (path, text) => (path.endsWith('.json') ? parseGeminiChat(path, text, geminiPlace(path)) : []),
  newTranscript: createGeminiTranscript,
  transcriptOfWholeFile: (path, text, fingerprints) => (path.endsWith('.json') ? geminiChatFingerprints(path, text, fingerprints) : []),
};
