import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { detectHistory } from '../detect/history.js';
import { defaultDetectConfig } from '../detect/config.js';
import { fingerprintText } from '../detect/fingerprint/fingerprint.js';
import { similarity } from '../detect/fingerprint/text.js';
import type { Fingerprint } from '../detect/fingerprint/types.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { stableId } from './ids.js';
import { importInto, tempDir } from './testing.js';

/**
 * Codex and Gemini CLI logs give the fingerprints the gateway would record: a typed prompt is a human turn with its
 * MinHash; a repeated tool call with the same output is the same tool step, a changed output another; detection
 * then finds an agent circle (Codex) and a rephrase loop (Gemini), and not their honest look-alikes.
 */

const { dir, cleanup } = tempDir('transcripts');
afterAll(cleanup);

const SECRET = 'transcript-test-secret-0123456789';
const DAY = 86_400_000;
const T0 = Math.floor((Date.now() - 2 * DAY) / DAY) * DAY + 9 * 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();
const ALL = { since: 0, until: Number.MAX_SAFE_INTEGER };
const fingerprints = { secret: SECRET, since: 0 };

/** A Codex rollout: a prompt, then the agent running a command again and again with these outputs. */
function codexRollout(session: string, outputs: readonly string[], start: number): string {
  const lines: unknown[] = [
    { timestamp: iso(start), type: 'session_meta', payload: { id: session, cwd: '/home/bo/src/api', git: { branch: 'main' } } },
    { timestamp: iso(start), type: 'turn_context', payload: { cwd: '/home/bo/src/api', model: 'gpt-5-codex' } },
    { timestamp: iso(start), type: 'response_item', payload: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'make the integration tests pass' }] } },
    { timestamp: iso(start), type: 'event_msg', payload: { type: 'user_message', message: 'make the integration tests pass', kind: 'plain' } },
  ];
  let total = 0;
  const tokenCount = (at: number) => {
    total += 1;
    const u = { input_tokens: 20_000 * total, cached_input_tokens: 15_000 * total, output_tokens: 300 * total, reasoning_output_tokens: 100 * total, total_tokens: 20_300 * total };
    const last = { input_tokens: 20_000, cached_input_tokens: 15_000, output_tokens: 300, reasoning_output_tokens: 100, total_tokens: 20_300 };
    return { timestamp: iso(at), type: 'event_msg', payload: { type: 'token_count', info: { total_token_usage: u, last_token_usage: last } } };
  };
  outputs.forEach((out, i) => {
    const t = start + 3_000 + i * 15_000;
    lines.push({ timestamp: iso(t), type: 'response_item', payload: { type: 'reasoning', summary: [], encrypted_content: 'x' } });
    lines.push({ timestamp: iso(t), type: 'response_item', payload: { type: 'function_call', name: 'shell', arguments: '{"command":["bash","-lc","npm test"]}', call_id: `call_${i}` } });
    lines.push(tokenCount(t + 1_000));
    lines.push({ timestamp: iso(t + 9_000), type: 'response_item', payload: { type: 'function_call_output', call_id: `call_${i}`, output: JSON.stringify({ output: out, metadata: { exit_code: 1 } }) } });
  });
  lines.push(tokenCount(start + 3_000 + outputs.length * 15_000));
  return `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`;
}

function writeCodex(root: string, session: string, outputs: readonly string[], start: number): void {
  const folder = join(root, 'sessions', '2026', '01', '01');
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, `rollout-2026-01-01T00-00-00-${session}.jsonl`), codexRollout(session, outputs, start));
}

const REPHRASES = [
  'summarise the quarterly churn report and list the three biggest reasons customers cancelled',
  'give me a summary of the quarterly churn report with the three biggest reasons customers cancelled',
  'list the three biggest reasons customers cancelled from the quarterly churn report, summarised',
  'summarise quarterly churn: what are the three biggest reasons customers cancelled in the report',
  'the quarterly churn report summarised, with the three biggest reasons customers cancelled please',
];
const DISTINCT = [
  'draft an email to the finance team about the new expense policy for travel',
  'what is the difference between a left join and an inner join in postgres',
  'convert this meeting transcript into five action items with owners',
  'suggest names for a command line tool that audits cloud storage buckets',
  'explain how to rotate an expired TLS certificate on the staging load balancer',
];
/** Gaps between prompts: irregular like a person's (a timer would be idle loops' business). */
const GAPS = [0, 60_000, 170_000, 235_000, 350_000];

function geminiChat(session: string, prompts: readonly string[], start: number): string {
  const messages: unknown[] = [];
  prompts.forEach((p, i) => {
    const t = start + GAPS[i]!;
    messages.push({ id: `${session}-u${i}`, timestamp: iso(t), type: 'user', content: p });
    messages.push({
      id: `${session}-g${i}`,
      timestamp: iso(t + 6_000),
      type: 'gemini',
      content: 'Here is a summary.',
      toolCalls: [{ id: `tc${i}`, name: 'read_file', args: { path: 'churn-q3.md' }, result: [{ functionResponse: { id: `tc${i}`, name: 'read_file', response: { output: 'Q3 churn 4.1%' } } }], status: 'success', timestamp: iso(t + 5_000) }],
      tokens: { input: 30_000, output: 600, cached: 20_000, thoughts: 200, tool: 0, total: 30_800 },
      model: 'gemini-2.5-pro',
    });
    messages.push({ id: `${session}-g${i}b`, timestamp: iso(t + 9_000), type: 'gemini', content: 'Done.', tokens: { input: 31_000, output: 300, cached: 30_000, thoughts: 0, tool: 0, total: 31_300 }, model: 'gemini-2.5-pro' });
  });
  return JSON.stringify({ sessionId: session, projectHash: 'abc', startTime: iso(start), lastUpdated: iso(start + 400_000), messages }, null, 2);
}

function writeGemini(root: string, session: string, prompts: readonly string[], start: number): void {
  const folder = join(root, 'tmp', 'abc', 'chats');
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, `session-${session}.json`), geminiChat(session, prompts, start));
}

const bySession = (fps: Fingerprint[], events: { id: string; sessionId: string | null }[], session: string): Fingerprint[] => {
  const ids = new Set(events.filter((e) => e.sessionId === session).map((e) => e.id));
  return fps.filter((f) => ids.has(f.eventId));
};

describe('Codex rollout fingerprints', () => {
  it('make a human turn of the typed prompt, equal tool steps of a repeated call and output, and find the circle only', async () => {
    const root = join(dir, 'codex');
    const same = 'FAIL api.test.ts\n  POST /orders returns 500\n1 failed, 40 passed';
    writeCodex(root, '0199a000-0000-7000-8000-00000000c1c1', Array.from({ length: 6 }, () => same), T0);
    writeCodex(root, '0199a000-0000-7000-8000-00000000d0d0', [6, 5, 4, 3, 2, 1].map((n) => `${n} failed, ${41 - n} passed`), T0 + 3_600_000);
    const store = new SqliteStore(join(dir, 'codex.db'));
    const s = await importInto(store, 'codex', [join(root, 'sessions')], { fingerprints });
    expect(s.eventsAdded).toBe(14);
    const events = await store.listEvents({});
    const fps = await store.findings.listFingerprints(ALL);
    expect(fps).toHaveLength(14);
    const circle = bySession(fps, events, '0199a000-0000-7000-8000-00000000c1c1');
    expect(circle[0]).toMatchObject({ humanTurn: true, toolStep: null });
    expect(similarity(circle[0]!.prompt!, fingerprintText('make the integration tests pass', SECRET).signature!)).toBe(1);
    // The requests after each output: one step, repeated.
    expect(new Set(circle.slice(1).map((f) => f.toolStep)).size).toBe(1);
    expect(circle[1]!.toolStep).not.toBeNull();
    const progress = bySession(fps, events, '0199a000-0000-7000-8000-00000000d0d0');
    expect(new Set(progress.slice(1).map((f) => f.toolStep)).size).toBe(6);

    const result = await detectHistory(store, store.findings, { since: T0 - DAY, until: Date.now(), config: defaultDetectConfig(), rules: ['agent-circle'], write: false });
    expect(result.findings.map((f) => f.sessionId)).toEqual(['0199a000-0000-7000-8000-00000000c1c1']);
    await store.close();
  });
});

describe('Gemini CLI chat fingerprints', () => {
  it('make human turns keyed like the events, and find the rephrase loop only', async () => {
    const root = join(dir, 'gemini');
    writeGemini(root, 'gem-loop', REPHRASES, T0);
    writeGemini(root, 'gem-honest', DISTINCT, T0 + 2 * 3_600_000);
    const store = new SqliteStore(join(dir, 'gemini.db'));
    const s = await importInto(store, 'gemini', [join(root, 'tmp')], { fingerprints, config: { identities: [], users: [], projects: [] } });
    expect(s.eventsAdded).toBe(20);
    const fps = await store.findings.listFingerprints(ALL);
    expect(fps).toHaveLength(20);
    const first = fps.find((f) => f.eventId === stableId('gemini', 'g\u0000gem-loop\u0000gem-loop-g0'))!;
    expect(first).toMatchObject({ humanTurn: true });
    expect(similarity(first.prompt!, fingerprintText(REPHRASES[0]!, SECRET).signature!)).toBe(1);
    // The answer after a tool call carries the call and its result as a step.
    expect(fps.find((f) => f.eventId === stableId('gemini', 'g\u0000gem-loop\u0000gem-loop-g0b'))).toMatchObject({ humanTurn: false });
    expect(fps.find((f) => f.eventId === stableId('gemini', 'g\u0000gem-loop\u0000gem-loop-g0b'))!.toolStep).not.toBeNull();

    const result = await detectHistory(store, store.findings, { since: T0 - DAY, until: Date.now(), config: defaultDetectConfig(), rules: ['rephrase-loop'], write: false });
    expect(result.findings.map((f) => f.sessionId)).toEqual(['gem-loop']);
    await store.close();
  });
});
