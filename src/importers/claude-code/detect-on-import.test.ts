import { readFileSync, writeFileSync, mkdirSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { importFilesCommand } from '../../cli/commands/import.js';
import { runDetect, runFindings } from '../../cli/commands/detect.js';
import type { Finding } from '../../detect/types.js';
import { tempDir } from '../testing.js';

/**
 * Issue 9's first audit: `goodhart import claude-code DIR`, then detection, then `goodhart findings`, on logs
 * written as Claude Code writes them. A rephrase loop and an agent circle are found; their honest look-alikes
 * (distinct prompts at the same pace; an agent whose test results change) are not. No prompt text reaches the
 * database.
 */

const { dir, cleanup } = tempDir('detect-import');
afterAll(cleanup);

const DAY = 86_400_000;
/** Two days ago at 10:00 UTC: inside the 7-day default of `detect` and the 30-day fingerprint retention. */
const T0 = Math.floor((Date.now() - 2 * DAY) / DAY) * DAY + 10 * 3_600_000;
const iso = (ms: number): string => new Date(ms).toISOString();

let seq = 0;
class Session {
  readonly lines: string[] = [];
  constructor(
    readonly id: string,
    private readonly cwd = '/home/ada/src/shop',
  ) {}
  private base(): string {
    return `"parentUuid":"p","isSidechain":false,"userType":"external","cwd":${JSON.stringify(this.cwd)},"sessionId":"${this.id}","version":"2.1.97","gitBranch":"main"`;
  }
  prompt(at: number, text: string): this {
    this.lines.push(`{${this.base()},"type":"user","message":{"role":"user","content":${JSON.stringify(text)}},"uuid":"u${++seq}","timestamp":"${iso(at)}"}`);
    return this;
  }
  /** One answer: a text block line and, with `tool`, a tool_use line (same message and request ids, as Claude Code writes them). */
  answer(at: number, tool?: { name: string; input: unknown }): this {
    const msg = `msg_${++seq}`;
    const req = `req_${seq}`;
    const usage = '{"input_tokens":8,"cache_creation_input_tokens":12000,"cache_read_input_tokens":30000,"output_tokens":400}';
    const line = (content: unknown) =>
      `{${this.base()},"message":{"model":"claude-sonnet-4-6","id":"${msg}","type":"message","role":"assistant","content":${JSON.stringify([content])},"stop_reason":null,"stop_sequence":null,"usage":${usage}},"requestId":"${req}","type":"assistant","uuid":"a${seq}","timestamp":"${iso(at)}"}`;
    this.lines.push(line({ type: 'text', text: 'Working on it.' }));
    if (tool) this.lines.push(line({ type: 'tool_use', id: `toolu_${seq}`, name: tool.name, input: tool.input }));
    return this;
  }
  result(at: number, output: string): this {
    this.lines.push(
      `{${this.base()},"type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_${seq}","type":"tool_result","content":${JSON.stringify(output)}}]},"uuid":"r${++seq}","timestamp":"${iso(at)}","toolUseResult":{"stdout":${JSON.stringify(output)},"stderr":"","interrupted":false}}`,
    );
    return this;
  }
  write(root: string): string {
    const folder = join(root, 'projects', this.cwd.replace(/[/.]/g, '-'));
    mkdirSync(folder, { recursive: true });
    const path = join(folder, `${this.id}.jsonl`);
    writeFileSync(path, `${this.lines.join('\n')}\n`);
    return path;
  }
}

/** The same request reworded (most content words kept, as people do when an answer misses). */
const REPHRASES = [
  'make the login page remember the user email address after logout and show it in the email field',
  'the login page should remember the user email address after logout and show it in the email field',
  'after logout, make the login page remember the user email address and show it in the email field',
  'make the login page remember the email address of the user after logout and show it in the email field',
  'please make the login page remember the user email address after logout and show it in the email field again',
];
const DISTINCT = [
  'add a dark mode toggle to the settings page and persist the choice in local storage',
  'write unit tests for the currency formatting helper including negative amounts and rounding',
  'why does the checkout total differ from the cart total when a discount code is applied twice',
  'rename the orders table column placed to placed_at and update every query that reads it',
  'draft a short changelog entry for the new invoice export feature in plain language',
];
/** Gaps between prompts: irregular like a person's, 60–115 s (not a timer). */
const GAPS = [0, 60_000, 170_000, 235_000, 350_000];

/** Prompts at a person's pace, each answered with one tool step. */
function conversation(id: string, prompts: readonly string[], start: number): Session {
  const s = new Session(id);
  prompts.forEach((p, i) => {
    const t = start + GAPS[i]!;
    s.prompt(t, p)
      .answer(t + 4_000, { name: 'Read', input: { file_path: '/home/ada/src/shop/login.tsx' } })
      .result(t + 5_000, `export function Login() { /* version ${i} */ }`)
      .answer(t + 12_000);
  });
  return s;
}

/** One prompt, then an agent running the tests again and again: the same output (a circle) or changing output. */
function agentRun(id: string, start: number, outputs: readonly string[]): Session {
  const s = new Session(id).prompt(start, 'fix the failing checkout test and keep going until the suite passes');
  outputs.forEach((out, i) => {
    const t = start + 5_000 + i * 20_000;
    s.answer(t, { name: 'Bash', input: { command: 'npm test -- checkout' } }).result(t + 8_000, out);
  });
  return s.answer(start + 5_000 + outputs.length * 20_000);
}

describe('detection on imported Claude Code logs', () => {
  const root = join(dir, 'claude');
  const db = join(dir, 'audit.db');
  // A fixed secret: MinHash similarities are estimates, and with a random one the test would vary from run to run.
  const config = join(dir, 'goodhart.yaml');
  writeFileSync(config, 'detect:\n  fingerprints:\n    secret: detect-on-import-test-secret-0123\n');
  const circle = 'FAIL checkout.test.ts\n  expected total 42.00, received 40.00\nTests: 1 failed, 57 passed';
  const sessions = [
    conversation('sess-rephrase', REPHRASES, T0),
    conversation('sess-distinct', DISTINCT, T0 + 2 * 3_600_000),
    agentRun('sess-circle', T0 + 4 * 3_600_000, Array.from({ length: 6 }, () => circle)),
    agentRun('sess-progress', T0 + 6 * 3_600_000, [5, 4, 3, 2, 1, 0].map((n) => `checkout.test.ts\nTests: ${n} failed, ${58 - n} passed`)),
  ];
  const paths = sessions.map((s) => s.write(root));

  it('finds the rephrase loop and the agent circle, not their honest look-alikes, and stores no text', async () => {
    const summary = await importFilesCommand('claude-code', [root], { db, config, json: true, osUser: 'ada' });
    expect(summary.eventsAdded).toBe(5 * 2 + 5 * 2 + 7 + 7);
    await runDetect({ db, config, since: iso(T0 - DAY).slice(0, 10) });
    const findings = JSON.parse(await runFindings({ db, config, json: true })) as Finding[];
    const by = (rule: string) => findings.filter((f) => f.rule === rule).map((f) => f.sessionId);
    expect(by('rephrase-loop')).toEqual(['sess-rephrase']);
    expect(by('agent-circle')).toEqual(['sess-circle']);
    const loop = findings.find((f) => f.rule === 'rephrase-loop')!;
    expect(loop.evidence.counts).toMatchObject({ prompts: 5 });
    expect(loop.wastedUsd).toBeGreaterThan(0);

    const bytes = readFileSync(db).toString('latin1') + readFileSync(`${db}-wal`, { flag: 'a+' }).toString('latin1');
    for (const secret of ['remember the user email', 'dark mode toggle', 'expected total 42.00', 'npm test -- checkout']) expect(bytes).not.toContain(secret);
  });

  it('fingerprints a prompt whose answer arrives after an import, in the next run', async () => {
    const late = new Session('sess-late').prompt(T0 + 8 * 3_600_000, REPHRASES[0]!);
    const path = late.write(root);
    const first = await importFilesCommand('claude-code', [root], { db, config, json: true, osUser: 'ada' });
    expect(first.eventsAdded).toBe(0);
    appendFileSync(path, `${new Session('sess-late').answer(T0 + 8 * 3_600_000 + 3_000).lines.join('\n')}\n`);
    const second = await importFilesCommand('claude-code', [root], { db, config, json: true, osUser: 'ada' });
    expect(second.eventsAdded).toBe(1);
    const { SqliteStore } = await import('../../store/sqlite/sqlite-store.js');
    const store = new SqliteStore(db);
    const fps = await store.findings.listFingerprints({ since: T0 + 8 * 3_600_000, until: T0 + 9 * 3_600_000 });
    await store.close();
    expect(fps).toHaveLength(1);
    expect(fps[0]).toMatchObject({ humanTurn: true, sessionId: 'sess-late' });
    expect(fps[0]!.prompt).not.toBeNull();
    void paths;
  });

  it('stops waiting for an answer in a session the log has moved on from: later runs read only what was appended', async () => {
    const other = join(dir, 'moved-on');
    const at = T0 + 10 * 3_600_000;
    // A session that ends on a tool result (the request it was for never came), then another session in the same file.
    const path = new Session('sess-gone').prompt(at, 'list the open invoices').answer(at + 2_000, { name: 'Bash', input: { command: 'ls' } }).result(at + 3_000, 'invoices.csv').write(other);
    const run = () => importFilesCommand('claude-code', [other], { db, config, json: true, osUser: 'ada' });
    await run();
    const next = new Session('sess-next').prompt(at + 60_000, 'export the invoices as PDF').answer(at + 64_000, { name: 'Bash', input: { command: 'make pdf' } });
    next.result(at + 70_000, 'done').answer(at + 75_000);
    appendFileSync(path, `${next.lines.join('\n')}\n`);
    // This run reads again from the unanswered result (it waited for it), then sees the other session's requests.
    const second = await run();
    expect(second.eventsAdded).toBe(2);
    const more = `${new Session('sess-next').prompt(at + 90_000, 'and email them').answer(at + 95_000).lines.join('\n')}\n`;
    appendFileSync(path, more);
    const third = await run();
    expect(third).toMatchObject({ filesRead: 1, bytesRead: Buffer.byteLength(more), eventsAdded: 1 });
    const { SqliteStore } = await import('../../store/sqlite/sqlite-store.js');
    const store = new SqliteStore(db);
    const fps = await store.findings.listFingerprints({ since: at + 50_000, until: at + 100_000 });
    await store.close();
    expect(fps.map((f) => [f.sessionId, f.humanTurn, f.toolStep !== null])).toEqual([
      ['sess-next', true, false],
      ['sess-next', false, true],
      ['sess-next', true, false],
    ]);
  });
});

describe('paths named on the command line', () => {
  it('are refused when they do not exist, naming them, before anything is imported', async () => {
    const { dir: here, cleanup: done } = tempDir('missing-roots');
    try {
      const db = join(here, 'g.db');
      await expect(importFilesCommand('claude-code', [join(here, 'claud', 'projects')], { db, json: true })).rejects.toMatchObject({
        httpStatus: 400,
        message: expect.stringMatching(/^No such folder or file: .*claud\/projects\. Check the path\.$/),
      });
      const { importApiCommand } = await import('../../cli/commands/import.js');
      await expect(importApiCommand('openai-usage', { db, json: true, file: [join(here, 'page.jsn')] })).rejects.toMatchObject({ message: expect.stringMatching(/No such file: .*page\.jsn/) });
    } finally {
      done();
    }
  });
});
