/**
 * Goodhart's importers against ccusage (the npm package, pinned in package.json) on the same fixture corpus:
 * per-day token totals must be equal, costs within 0.5%. ccusage runs offline (`--offline`: its bundled prices) with
 * HOME pointing at an empty directory, so nothing of the machine's own logs leaks in.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ccusageBinary } from '../../scripts/ccusage.js';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import type { EventSource } from '../usage/event.js';
import { FIXTURES, importInto, tempDir } from './testing.js';
import type { FileSource } from './types.js';


const BIN = ccusageBinary();
const { dir, cleanup } = tempDir('ccusage');
afterAll(cleanup);

/** One day of `ccusage … daily --json` (Claude: totalCost; Codex: costUSD). */
interface CcDay {
  date: string;
  inputTokens: number;
  cacheCreationTokens: number;
  cacheReadTokens: number;
  outputTokens: number;
  totalCost?: number;
  costUSD?: number;
}

interface Day {
  date: string;
  input: number;
  cacheWrite: number;
  cacheRead: number;
  output: number;
  cost: number;
}

function runCcusage(args: string[], env: Record<string, string>): Record<string, unknown> {
  const out = execFileSync(BIN!, [...args, '--json', '--offline', '--timezone', 'UTC'], {
    env: { PATH: process.env['PATH'] ?? '', HOME: dir, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return JSON.parse(out) as Record<string, unknown>;
}

/** Our per-day totals; `except`: less the events with this tag (requests ccusage does not read). */
async function ours(source: FileSource, root: string, except?: string): Promise<Day[]> {
  const store = new SqliteStore(join(dir, `${source}.db`));
  await importInto(store, source, [root]);
  const rows = await store.aggregate('day', { source: source as EventSource });
  const left = except === undefined ? [] : (await store.listEvents({ source: source as EventSource })).filter((e) => e.tags.includes(except));
  await store.close();
  return rows.map((d) => {
    const out = left.filter((e) => new Date(e.startedAt).toISOString().slice(0, 10) === d.key);
    const sum = (f: (e: (typeof out)[number]) => number) => out.reduce((a, e) => a + f(e), 0);
    const cacheRead = d.cacheReadTokens - sum((e) => e.cacheReadTokens);
    const cacheWrite = d.cacheWrite5mTokens + d.cacheWrite1hTokens - sum((e) => e.cacheWrite5mTokens + e.cacheWrite1hTokens);
    return {
      date: d.key,
      input: d.inputTokens - sum((e) => e.inputTokens) - cacheRead - cacheWrite,
      cacheWrite,
      cacheRead,
      output: d.outputTokens - sum((e) => e.outputTokens),
      cost: d.costUsd - sum((e) => e.costUsd ?? 0),
    };
  });
}

const tokensOf = (days: Day[]) => days.map(({ cost: _cost, ...t }) => t);

function expectCostsClose(a: Day[], b: Day[]): void {
  expect(a.map((d) => d.date)).toEqual(b.map((d) => d.date));
  a.forEach((d, i) => {
    const other = b[i]!.cost;
    expect(Math.abs(d.cost - other), `${d.date}: ours ${d.cost} vs ccusage ${other}`).toBeLessThanOrEqual(0.005 * Math.max(d.cost, other));
  });
}

describe.skipIf(BIN === null)('per-day totals equal ccusage (ccusage binary present)', () => {
  it('Claude Code', async () => {
    const cc = runCcusage(['claude', 'daily'], { CLAUDE_CONFIG_DIR: FIXTURES.claude });
    const theirs = (cc['daily'] as CcDay[]).map((d) => ({
      date: d.date,
      input: d.inputTokens,
      cacheWrite: d.cacheCreationTokens,
      cacheRead: d.cacheReadTokens,
      output: d.outputTokens,
      cost: d.totalCost ?? NaN,
    }));
    const mine = await ours('claude-code', FIXTURES.claude);
    expect(theirs.length).toBe(3);
    expect(tokensOf(mine)).toEqual(tokensOf(theirs));
    expectCostsClose(mine, theirs);
  });

  it('Codex', async () => {
    const cc = runCcusage(['codex', 'daily'], { CODEX_HOME: FIXTURES.codex });
    const theirs = (cc['daily'] as CcDay[]).map((d) => ({
      date: d.date,
      input: d.inputTokens,
      cacheWrite: d.cacheCreationTokens,
      cacheRead: d.cacheReadTokens,
      output: d.outputTokens,
      cost: d.costUSD ?? NaN,
    }));
    // ccusage reads token_count only: Codex 0.154+'s auto-compaction requests (a token_usage_record that a compacted
    // line names, never added to the totals: openai/codex#47003) are ours alone.
    const mine = await ours('codex', FIXTURES.codex, 'compaction');
    expect(theirs.length).toBe(3);
    expect(tokensOf(mine)).toEqual(tokensOf(theirs));
    expectCostsClose(mine, theirs);
  });
});

it('has the pinned ccusage to compare with (npm run tools installs it; CI does)', () => {
  // On linux-x64 (this project's machines and CI) a missing ccusage is a set-up mistake, not a reason to skip.
  if (process.platform === 'linux' && process.arch === 'x64') expect(BIN).not.toBeNull();
});
