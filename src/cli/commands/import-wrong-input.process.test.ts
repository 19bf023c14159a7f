import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURES, tempDir } from '../../importers/testing.js';

/**
 * `goodhart import` given input that is not the source's (another agent's logs, a saved API error) fails as a
 * missing folder does (exit 1) and says what the input is; `--json` still prints one valid summary on stdout.
 */
const MAIN = new URL('../main.ts', import.meta.url).pathname;
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const { dir, cleanup } = tempDir('import-wrong');
afterAll(cleanup);

function goodhart(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const { GOODHART_CONFIG: _config, GOODHART_DB: _db, ...env } = process.env;
  const r = spawnSync(process.execPath, ['--import', TSX, MAIN, ...args], { cwd: dir, encoding: 'utf8', env: { ...env, TZ: 'UTC' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('goodhart import of the wrong input', () => {
  it("exits 1 with what the input is, the summary still valid JSON with --json", () => {
    const db = join(dir, 'w.db');
    const text = goodhart(['import', 'codex', FIXTURES.claude, '--db', db, '--no-fingerprints']);
    expect(text.status).toBe(1);
    expect(text.stdout).toMatch(/^codex: 3 files \(3 read\), 23 lines, 0 events added/);
    expect(text.stderr).toContain(`goodhart: ${FIXTURES.claude} holds Claude Code logs, not Codex's: import them with \`goodhart import claude-code ${FIXTURES.claude}\`.`);
    const error = join(dir, 'error.json');
    writeFileSync(error, '{"error":{"message":"Incorrect API key"}}');
    const json = goodhart(['import', 'openai-usage', '--file', error, '--db', db, '--json']);
    expect(json.status).toBe(1);
    const summary = JSON.parse(json.stdout) as { eventsAdded: number; wrongInput: { looksLike: string }[] };
    expect(summary).toMatchObject({ eventsAdded: 0, wrongInput: [{ looksLike: 'api-error' }] });
    // The right input: exit 0.
    expect(goodhart(['import', 'claude-code', FIXTURES.claude, '--db', db, '--no-fingerprints', '--json']).status).toBe(0);
  });
});
