import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../../store/sqlite/sqlite-store.js';
import { fingerprintRequest, fingerprintText, fingerprintTurn } from './fingerprint.js';
import { MAX_BLOCKS } from './blocks.js';
import { sip32, sipBytes, sipKey } from './siphash.js';
import { similarity } from './text.js';
import { pastedDocument } from '../testing.js';

const SECRET = 'fingerprint-test-secret-0123456789';
const PROMPT = 'Refactor the invoice reconciliation job in billing/reconcile.ts so that it retries failed ledger writes with exponential backoff and reports the tenant id';

describe('SipHash-2-4', () => {
  it('matches the reference vectors of the SipHash paper', () => {
    const key = sipKey(Uint8Array.from({ length: 16 }, (_, i) => i));
    expect(sipBytes(key, Uint8Array.from({ length: 15 }, (_, i) => i)).map((x) => x.toString(16))).toEqual(['a129ca61', '49be45e5']);
    expect(sipBytes(key, new Uint8Array(0)).map((x) => x.toString(16))).toEqual(['726fdb47', 'dd0e0e31']);
    const text = 'héllo wörld';
    const utf16 = new Uint8Array(text.length * 2);
    for (let i = 0; i < text.length; i++) [utf16[2 * i], utf16[2 * i + 1]] = [text.charCodeAt(i) & 0xff, text.charCodeAt(i) >> 8];
    expect(sip32(key, text)).toBe(sipBytes(key, utf16)[1]);
  });
});

describe('prompt fingerprints', () => {
  const sig = (t: string, secret = SECRET): Uint32Array => fingerprintText(t, secret).signature!;

  it('finds rewordings near and different prompts far', () => {
    const reworded = 'please refactor the invoice reconciliation job in billing/reconcile.ts: retry failed ledger writes with exponential backoff, and report the tenant id';
    const other = 'Write a migration that adds a nullable locale column to the users table and backfills it from the profile service';
    expect(similarity(sig(PROMPT), sig(PROMPT))).toBe(1);
    expect(similarity(sig(PROMPT), sig(reworded))).toBeGreaterThan(0.6);
    expect(similarity(sig(PROMPT), sig(other))).toBeLessThan(0.15);
  });

  it('is exact for short prompts and close for long ones (bottom-k sketch)', () => {
    const words = (from: number, n: number) => Array.from({ length: n }, (_, i) => `w${(from + i).toString(36)}x`).join(' ');
    // 10 distinct content words: 10 unigrams + 9 bigrams; two more words add 2 unigrams and 2 bigrams.
    const a = sig(words(0, 10));
    expect(Array.from(a).filter((v) => v !== 0xffffffff)).toHaveLength(19);
    expect(Array.from(a)).toEqual(Array.from(a).sort((x, y) => x - y));
    expect(similarity(a, sig(words(0, 12)))).toBe(19 / 23);
    // 3,000 words each, 1,500 shared in one run: 2,999 shingles each, 1,499 shared of 4,499 (J = 0.333).
    const est = similarity(sig(words(0, 3000)), sig(words(1500, 3000)));
    expect(Math.abs(est - 1499 / 4499)).toBeLessThan(0.15);
  });

  it('is keyed: another installation’s secret gives unrelated signatures', () => {
    expect(similarity(sig(PROMPT), sig(PROMPT, 'another-installation-secret-42'))).toBeLessThan(0.1);
  });

  it('ignores agent boilerplate and skips acknowledgements', () => {
    const withReminder = `<system-reminder>The user opened reconcile.ts. Todo list is empty.</system-reminder>${PROMPT}`;
    expect(similarity(sig(PROMPT), sig(withReminder))).toBe(1);
    expect(fingerprintText('yes, go on', SECRET).signature).toBeNull();
  });

  it('stores no text: nothing of the prompt survives in the stored row', async () => {
    const store = new SqliteStore(':memory:');
    const core = fingerprintTurn({ newText: PROMPT, context: ['system\nYou are a careful billing engineer. '.repeat(400)], toolCalls: 'Read {"file":"reconcile.ts"}', toolResults: 'export async function reconcile() {}' }, SECRET);
    await store.findings.insertFingerprints([{ ...core, eventId: 'e1', at: 1, userId: 'u', sessionId: 's' }]);
    const row = (store as unknown as { db: { prepare(s: string): { get(): Record<string, unknown> } } }).db.prepare('SELECT * FROM fingerprints').get();
    const bytes = Buffer.concat(Object.values(row).map((v) => (Buffer.isBuffer(v) ? v : Buffer.from(String(v)))));
    const dump = bytes.toString('latin1').toLowerCase();
    for (const word of PROMPT.toLowerCase().match(/[a-z]{5,}/g)!) expect(dump).not.toContain(word);
    for (const word of ['careful', 'billing', 'engineer', 'reconcile', 'export']) expect(dump).not.toContain(word);
    const [back] = await store.findings.listFingerprints({ since: 0, until: 10 });
    expect(Array.from(back!.prompt!)).toEqual(Array.from(core.prompt!));
    expect(back!.blocks).toEqual(core.blocks);
    await store.close();
  });
});

describe('fingerprintRequest', () => {
  const system = 'You are a coding agent. '.repeat(800);

  it('Anthropic: a typed prompt is a human turn; the context before it gives chained blocks', () => {
    const body = { model: 'claude-sonnet-4-5', system, messages: [{ role: 'user', content: [{ type: 'text', text: PROMPT }] }] };
    const fp = fingerprintRequest(body, 'messages', SECRET)!;
    expect(fp.humanTurn).toBe(true);
    expect(fp.blocks.length).toBe(Math.floor((`system\n${system}`.length) / 4096));
    expect(fp.complexity).toBeGreaterThan(0);
    const later = { ...body, messages: [...body.messages, { role: 'assistant', content: 'done' }, { role: 'user', content: 'now add tests for the backoff and run them' }] };
    const fp2 = fingerprintRequest(later, 'messages', SECRET)!;
    expect(fp2.blocks.slice(0, fp.blocks.length)).toEqual(fp.blocks);
  });

  it('a document pasted into the newest message gives the same blocks whatever question comes before or after it', () => {
    const doc = pastedDocument(1, 170_000);
    const questions = ['What does the retention section say about audit records?', 'Which ledger do the nightly invoices reconcile against, and who gets paged?', 'Summarise the on-call duties in three bullet points'];
    const ask = (content: string) => fingerprintRequest({ model: 'claude-sonnet-4-5', system: 'You answer questions about documents.', messages: [{ role: 'user', content }] }, 'messages', SECRET)!;
    const after = questions.map((q) => ask(`${doc}\n\n${q}`));
    const before = questions.map((q) => ask(`${q}\n\n${doc}`));
    const shared = (a: number[], b: number[]) => {
      let n = 0;
      while (n < Math.min(a.length, b.length) && a[n] === b[n]) n++;
      return n;
    };
    // 170,000 characters are 41 whole blocks; the anchor skips at most the first 16 KB (4 blocks).
    for (const fp of [...after, ...before]) expect(fp.blocks.length).toBeGreaterThanOrEqual(37);
    for (const fp of [...after.slice(1), ...before]) expect(shared(after[0]!.blocks, fp.blocks)).toBeGreaterThanOrEqual(37);
    // Another document of the same shape shares nothing; a short prompt adds no block to its context's.
    expect(shared(after[0]!.blocks, ask(`${pastedDocument(2, 170_000)}\n\n${questions[0]}`).blocks)).toBe(0);
    expect(ask(questions[0]!).blocks).toEqual([]);
    // The per-request work stays bounded: a 2 MB paste hashes MAX_BLOCKS blocks, no more.
    expect(ask(pastedDocument(3, 2_000_000)).blocks).toHaveLength(MAX_BLOCKS);
  });

  it('Anthropic: tool results are an agent step, hashed with the call that made them', () => {
    const call = { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'Bash', input: { command: 'npm test' } }] };
    const result = (out: string) => ({ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: out }, { type: 'text', text: '<system-reminder>x</system-reminder>' }] });
    const a = fingerprintRequest({ system, messages: [{ role: 'user', content: PROMPT }, call, result('FAIL 3 tests')] }, 'messages', SECRET)!;
    const b = fingerprintRequest({ system, messages: [{ role: 'user', content: PROMPT }, call, result('FAIL 3 tests')] }, 'messages', SECRET)!;
    const c = fingerprintRequest({ system, messages: [{ role: 'user', content: PROMPT }, call, result('PASS')] }, 'messages', SECRET)!;
    expect(a.humanTurn).toBe(false);
    expect(a.prompt).toBeNull();
    expect(a.toolStep).toBe(b.toolStep);
    expect(a.toolStep).not.toBe(c.toolStep);
  });

  it('OpenAI chat and Responses: the same distinctions', () => {
    const chat = fingerprintRequest({ messages: [{ role: 'system', content: system }, { role: 'user', content: PROMPT }] }, 'chat.completions', SECRET)!;
    expect(chat.humanTurn).toBe(true);
    expect(similarity(chat.prompt!, fingerprintText(PROMPT, SECRET).signature!)).toBe(1);
    const tool = fingerprintRequest({ messages: [{ role: 'user', content: PROMPT }, { role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'run', arguments: '{}' } }] }, { role: 'tool', tool_call_id: 'c', content: 'ok' }] }, 'chat.completions', SECRET)!;
    expect(tool.humanTurn).toBe(false);
    expect(tool.toolStep).not.toBeNull();
    const responses = fingerprintRequest({ instructions: system, input: PROMPT }, 'responses', SECRET)!;
    expect(responses.humanTurn).toBe(true);
    expect(fingerprintRequest({ input: 'x' }, 'embeddings', SECRET)).toBeNull();
  });
});
