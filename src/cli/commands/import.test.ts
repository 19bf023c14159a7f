import { describe, expect, it } from 'vitest';
import { noLogsHint } from './import.js';

describe('goodhart import with no log files', () => {
  it('says where it looked and where the agent keeps its logs', async () => {
    const saved = process.env['CODEX_HOME'];
    process.env['CODEX_HOME'] = '/srv/nowhere';
    try {
      expect(await noLogsHint('codex', [])).toBe(
        '  No codex log files were found under /srv/nowhere/sessions, /srv/nowhere/archived_sessions. Codex keeps them in sessions/ and archived_sessions/ under $CODEX_HOME, else ~/.codex: name the folder that holds them, or set the variable.',
      );
    } finally {
      if (saved === undefined) delete process.env['CODEX_HOME'];
      else process.env['CODEX_HOME'] = saved;
    }
    expect(await noLogsHint('gemini', ['/data/g'])).toMatch(/^ {2}No gemini log files were found under \/data\/g\. Gemini CLI keeps them in tmp\/\*\/chats\/ under \$GEMINI_DATA_DIR/);
  });
});
