import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../store/sqlite/sqlite-store.js';
import { FIXTURES, importInto, tempDir } from '../testing.js';
import type { ParsedUsage } from '../types.js';
import { FALLBACK_MODEL, createCodexParser } from './parse-line.js';

const { dir, cleanup } = tempDir('codex');
afterAll(cleanup);

const tc = (ts: string, total: number[] | null, last: number[] | null): string => {
  const u = (c: number[]) => ({ input_tokens: c[0], cached_input_tokens: c[1], output_tokens: c[2], reasoning_output_tokens: c[3], total_tokens: c[0]! + c[2]! });
  const info: Record<string, unknown> = {};
  if (total) info['total_token_usage'] = u(total);
  if (last) info['last_token_usage'] = u(last);
  return JSON.stringify({ timestamp: ts, type: 'event_msg', payload: { type: 'token_count', info } });
};

/**
 * A session and a fork of it, as Codex writes them: the fork's file starts with its own session_meta (naming the
 * parent in `forked_from_id`), then the parent's history copied in, its session_meta and token_counts included,
 * every line re-stamped at the fork; then the fork's own turn. Padded so the fork is the larger file (read first).
 */
const PARENT = '0199c000-0000-7000-8000-00000000000a';
const FORK = '0199c500-0000-7000-8000-00000000000b';
function writeForkedSessions(root: string): { parent: string; fork: string } {
  const row = (timestamp: string, type: string, payload: unknown) => JSON.stringify({ timestamp, type, payload });
  const meta = (at: string, id: string, started: string, extra: Record<string, unknown> = {}) => row(at, 'session_meta', { id, timestamp: started, cwd: '/w/app', originator: 'codex_cli_rs', cli_version: '0.60.0', ...extra });
  const turns = (at: (i: number) => string) => [
    row(at(0), 'turn_context', { cwd: '/w/app', model: 'gpt-5-codex' }),
    tc(at(1), [1000, 0, 100, 0], [1000, 0, 100, 0]),
    tc(at(2), [3000, 1000, 300, 0], [2000, 1000, 200, 0]),
  ];
  const parentLines = [meta('2026-11-20T09:00:00.000Z', PARENT, '2026-11-20T09:00:00.000Z'), ...turns((i) => ['2026-11-20T09:00:01.000Z', '2026-11-20T09:00:05.000Z', '2026-11-20T09:05:05.000Z'][i]!)];
  const forkAt = '2026-11-25T12:00:00.100Z';
  const forkLines = [
    meta('2026-11-25T12:00:00.000Z', FORK, '2026-11-25T12:00:00.000Z', { forked_from_id: PARENT }),
    meta(forkAt, PARENT, '2026-11-20T09:00:00.000Z'),
    ...turns(() => forkAt),
    row('2026-11-25T12:00:00.100Z', 'response_item', { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'x'.repeat(4000) }] }),
    row('2026-11-25T12:01:00.000Z', 'turn_context', { cwd: '/w/app', model: 'gpt-5-codex' }),
    tc('2026-11-25T12:01:05.000Z', [8000, 3000, 400, 0], [5000, 2000, 100, 0]),
  ];
  mkdirSync(join(root, '2026', '11', '20'), { recursive: true });
  mkdirSync(join(root, '2026', '11', '25'), { recursive: true });
  const parent = join(root, '2026', '11', '20', `rollout-2026-11-20T09-00-00-${PARENT}.jsonl`);
  const fork = join(root, '2026', '11', '25', `rollout-2026-11-25T12-00-00-${FORK}.jsonl`);
  writeFileSync(parent, `${parentLines.join('\n')}\n`);
  writeFileSync(fork, `${forkLines.join('\n')}\n`);
  return { parent, fork };
}

describe('Codex rollout parser', () => {
  it('uses last_token_usage, else the increase of the cumulative total; repeated totals are duplicates', () => {
    const p = createCodexParser('/x/rollout-2026-04-09T10-00-00-0199a7c2-5b1e-7d30-9a4f-1c2d3e4f5a6b.jsonl', null);
    expect(p.parse('{"type":"turn_context","payload":{"model":"gpt-5-codex"}}', 'a')).toBeNull();
    const first = p.parse(tc('2026-04-09T10:00:05Z', [1000, 250, 125, 75], [1000, 250, 125, 75]), 'b') as ParsedUsage;
    expect(first.usage.input).toMatchObject({ total: 1000, noCache: 750, cacheRead: 250 });
    expect(first.usage.output).toEqual({ total: 125, text: 50, reasoning: 75 });
    expect(first.model).toBe('gpt-5-codex');
    expect(p.parse(tc('2026-04-09T10:00:06Z', [1000, 250, 125, 75], [1000, 250, 125, 75]), 'c')).toBe('duplicate');
    expect(p.parse('{"type":"event_msg","payload":{"type":"token_count","info":null}}', 'd')).toBe('no_usage');
    // Not parsed, but not an object either: counted as invalid, not as a line without usage.
    expect(p.parse('{"type":"response_item","payload":{"type":"message"}}\r', 'd')).toBe('no_usage');
    expect(p.parse('\u0000\u0007PK\u0003\u0004 garbage', 'd')).toBe('invalid_json');
    expect(p.parse('{"type":"response_item","payload":{"type":"mess', 'd')).toBe('invalid_json');
    // No last_token_usage: the difference of the cumulative totals.
    const third = p.parse(tc('2026-04-09T10:01:05Z', [3000, 1250, 325, 175], null), 'e') as ParsedUsage;
    expect(third.usage.input).toMatchObject({ total: 2000, cacheRead: 1000 });
    expect(third.usage.output).toMatchObject({ total: 200, reasoning: 100 });
    expect(third.key).toBe('t\u00000199a7c2-5b1e-7d30-9a4f-1c2d3e4f5a6b\u00003000\u00001250\u0000325\u0000175\u00003325');
    expect(third.usage.raw).toEqual({ input_tokens: 2000, cached_input_tokens: 1000, output_tokens: 200, reasoning_output_tokens: 100, total_tokens: 2200 });
  });

  it("gives a fork's requests the fork's session, not its parent's named later in the file, also resuming a state saved without it", () => {
    const path = `/x/rollout-2026-11-25T12-00-00-${FORK}.jsonl`;
    const p = createCodexParser(path, null);
    p.parse(JSON.stringify({ type: 'session_meta', payload: { id: FORK, forked_from_id: PARENT, cwd: '/w/fork', git: { branch: 'fork-branch' } } }), 'a');
    p.parse(JSON.stringify({ type: 'session_meta', payload: { id: PARENT, cwd: '/w/app', git: { branch: 'main' } } }), 'b');
    const r = p.parse(tc('2026-11-25T12:01:05Z', [8000, 3000, 400, 0], [5000, 2000, 100, 0]), 'c') as ParsedUsage;
    expect([r.sessionId, r.cwd, r.branch]).toEqual([FORK, '/w/fork', 'fork-branch']);
    // The key counts in the parent's session, as before: the fork's copies share the parent's event ids.
    expect(r.key.split('\u0000')[1]).toBe(PARENT);
    const resumed = createCodexParser(path, { sessionId: PARENT, cwd: '/w/app', branch: null, repoUrl: null, model: 'gpt-5-codex', total: null });
    expect((resumed.parse(tc('2026-11-25T12:02:05Z', [9000, 3000, 500, 0], [1000, 0, 100, 0]), 'd') as ParsedUsage).sessionId).toBe(FORK);
  });

  it("imports an auto-compaction request, whose usage Codex 0.154+ writes as a token_usage_record and never adds to the totals, once", async () => {
    // The fixture's 0.155 session: a turn, an auto-compaction (record, then the compacted line naming it, then a
    // token_count repeating the totals), a turn. Each turn's record is also in its token_count: not counted twice.
    const root = join(FIXTURES.codex, 'sessions', '2026', '04', '10');
    const store = new SqliteStore(join(dir, 'compaction.db'));
    const s = await importInto(store, 'codex', [root]);
    expect(s).toMatchObject({ eventsAdded: 3, duplicates: 1 });
    const events = await store.listEvents({ order: 'asc' });
    expect(events.map((e) => [e.tags, e.inputTokens, e.cacheReadTokens, e.outputTokens, e.providerRequestId, e.modelServed])).toEqual([
      [[], 150000, 120000, 2000, null, 'gpt-5-codex'],
      [['compaction'], 180000, 150000, 3000, 'resp_0199b0c1', 'gpt-5-codex'],
      [[], 20000, 5000, 500, null, 'gpt-5-codex'],
    ]);
    expect(events[1]).toMatchObject({ startedAt: Date.parse('2026-04-10T09:10:30.000Z'), sessionId: '0199b000-0000-7000-8000-00000000000c', projectId: 'svc' });
    expect(events[1]!.costUsd).toBeGreaterThan(0);
    // Imported again (--full), or line by line across runs: the same three.
    expect(await importInto(store, 'codex', [root], { full: true })).toMatchObject({ eventsAdded: 0 });
    const lines = readFileSync(join(root, 'rollout-2026-04-10T09-00-00-0199b000-0000-7000-8000-00000000000c.jsonl'), 'utf8').split('\n');
    const path = join(dir, 'compaction-split', 'rollout-2026-04-10T09-00-00-0199b000-0000-7000-8000-00000000000c.jsonl');
    mkdirSync(join(dir, 'compaction-split'), { recursive: true });
    const split = new SqliteStore(join(dir, 'compaction-split.db'));
    // Cut between the compaction's record and its compacted line.
    writeFileSync(path, `${lines.slice(0, 11).join('\n')}\n`);
    await importInto(split, 'codex', [path]);
    writeFileSync(path, lines.join('\n'));
    await importInto(split, 'codex', [path]);
    const ids = (es: { id: string }[]) => es.map((e) => e.id).sort();
    expect(ids(await split.listEvents({}))).toEqual(ids(events));
    await split.close();
    // Fingerprints: the compaction sends history to be summarised, not the turn typed before it (the next request's).
    const fp = new SqliteStore(join(dir, 'compaction-fp.db'));
    await importInto(fp, 'codex', [root], { fingerprints: { secret: 'compaction-test-secret-0123456789', since: 0 } });
    const fps = await fp.findings.listFingerprints({ since: 0, until: Number.MAX_SAFE_INTEGER });
    expect(fps.map((f) => [f.eventId, f.humanTurn]).sort()).toEqual([[events[0]!.id, true], [events[2]!.id, true]].sort());
    await fp.close();
    await store.close();
  });

  it('does not count a compaction twice should Codex report it in token_count too', () => {
    const u = (c: number[]) => ({ input_tokens: c[0], cached_input_tokens: c[1], output_tokens: c[2], reasoning_output_tokens: c[3], total_tokens: c[0]! + c[2]! });
    const rec = (id: string, c: number[]) => JSON.stringify({ timestamp: '2026-04-10T09:10:30Z', type: 'token_usage_record', payload: { thread_id: 'th', response_id: id, usage: u(c) } });
    const compacted = (id: string) => JSON.stringify({ timestamp: '2026-04-10T09:10:31Z', type: 'compacted', payload: { replacement_history: [], compaction_response_id: id } });
    const kinds = (lines: string[]) => {
      const p = createCodexParser('/x/rollout-2026-04-10T09-00-00-0199b000-0000-7000-8000-00000000000d.jsonl', null);
      return lines.map((l, i) => {
        const r = p.parse(l, String(i));
        return r === null || typeof r === 'string' ? r : r.tags.includes('compaction') ? 'compaction' : r.usage.input.total;
      });
    };
    const first = tc('2026-04-10T09:00:05Z', [1000, 0, 10, 0], [1000, 0, 10, 0]);
    // As 0.154/0.155 write it: the totals never include it.
    expect(kinds([first, rec('c', [5000, 0, 50, 0]), compacted('c'), tc('2026-04-10T09:11:00Z', [1200, 0, 20, 0], [200, 0, 10, 0])])).toEqual([1000, null, 'compaction', 200]);
    // Its own token_count after the compacted line: a duplicate of the request imported.
    expect(kinds([first, rec('c', [5000, 0, 50, 0]), compacted('c'), tc('2026-04-10T09:10:32Z', [6000, 0, 60, 0], [5000, 0, 50, 0]), tc('2026-04-10T09:11:00Z', [6200, 0, 70, 0], [200, 0, 10, 0])])).toEqual([1000, null, 'compaction', 'duplicate', 200]);
    // Its own token_count before the compacted line: counted there, not again.
    expect(kinds([first, rec('c', [5000, 0, 50, 0]), tc('2026-04-10T09:10:30Z', [6000, 0, 60, 0], [5000, 0, 50, 0]), compacted('c')])).toEqual([1000, null, 5000, null]);
    // Folded into the next turn's totals: the turn is its last_token_usage, the compaction counted once.
    expect(kinds([first, rec('c', [5000, 0, 50, 0]), compacted('c'), tc('2026-04-10T09:11:00Z', [6200, 0, 70, 0], [200, 0, 10, 0])])).toEqual([1000, null, 'compaction', 200]);
    // A normal response's record, even named by a compacted line: its token_count counted it.
    expect(kinds([rec('r', [1000, 0, 10, 0]), first, compacted('r')])).toEqual([null, 1000, null]);
  });

  it('falls back to gpt-5 without a turn_context, tagged as a guess', () => {
    const p = createCodexParser('/x/r.jsonl', null);
    const r = p.parse(tc('2026-04-09T10:00:05Z', [10, 0, 5, 0], [10, 0, 5, 0]), 'a') as ParsedUsage;
    expect(r.model).toBe(FALLBACK_MODEL);
    expect(r.tags).toEqual(['model-guessed']);
  });

  it('an import split across two runs (appended file) gives the same events as one run', async () => {
    const file = 'sessions/2026/04/09/rollout-2026-04-09T10-00-00-0199a7c2-5b1e-7d30-9a4f-1c2d3e4f5a6b.jsonl';
    const text = readFileSync(join(FIXTURES.codex, file), 'utf8');
    const lines = text.split('\n');
    const path = join(dir, 'split', 'rollout-2026-04-09T10-00-00-0199a7c2-5b1e-7d30-9a4f-1c2d3e4f5a6b.jsonl');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, 'split'), { recursive: true });
    // Up to the line with info null: the model and the last total must survive into the second run.
    writeFileSync(path, `${lines.slice(0, 5).join('\n')}\n`);
    const split = new SqliteStore(join(dir, 'split.db'));
    await importInto(split, 'codex', [join(dir, 'split')]);
    writeFileSync(path, text);
    const second = await importInto(split, 'codex', [join(dir, 'split')]);
    expect(second).toMatchObject({ filesRestarted: 0, eventsAdded: 4 });
    const whole = new SqliteStore(join(dir, 'whole.db'));
    const s = await importInto(whole, 'codex', [join(dir, 'split')]);
    expect(s).toMatchObject({ eventsAdded: 5, duplicates: 1, skipped: { no_usage: 2, invalid_json: 1 } });
    const strip = (e: { id: string; modelServed: string | null; inputTokens: number; outputTokens: number; costUsd: number | null }) => [e.id, e.modelServed, e.inputTokens, e.outputTokens, e.costUsd];
    expect((await split.listEvents({})).map(strip)).toEqual((await whole.listEvents({})).map(strip));
    const [first] = await whole.listEvents({});
    expect(first).toMatchObject({ repo: 'github.com/acme/repo', projectId: 'repo', branch: 'main', sessionId: '0199a7c2-5b1e-7d30-9a4f-1c2d3e4f5a6b' });
    await split.close();
    await whole.close();
  });

  it("dates and attributes a forked session's copy of its parent's requests as the parent's, in one run or two, in either order", async () => {
    const daily = async (store: SqliteStore) => {
      const sessions = (await store.listEvents({})).map((e) => `${new Date(e.startedAt).toISOString().slice(0, 10)} ${e.sessionId}`);
      return [(await store.aggregate('day', {})).map((d) => [d.key, d.requests, d.inputTokens]), [...new Set(sessions)].sort()];
    };
    // Each request on its day and in its session: the parent's two, and the fork's own one.
    const want = [[['2026-11-20', 2, 3000], ['2026-11-25', 1, 5000]], [`2026-11-20 ${PARENT}`, `2026-11-25 ${FORK}`]];
    const root = join(dir, 'forked');
    const { parent, fork } = writeForkedSessions(root);
    const once = new SqliteStore(join(dir, 'fork-once.db'));
    expect(await importInto(once, 'codex', [root])).toMatchObject({ eventsAdded: 3 });
    expect(await daily(once)).toEqual(want);
    for (const [first, second] of [[fork, parent], [parent, fork]] as const) {
      const twice = new SqliteStore(join(dir, `fork-${first === fork ? 'fork' : 'parent'}-first.db`));
      await importInto(twice, 'codex', [first]);
      await importInto(twice, 'codex', [second]);
      expect(await daily(twice)).toEqual(want);
      await twice.close();
    }
    // The fork alone: its copies of the parent's requests are the only record of them, at the fork's date.
    const alone = new SqliteStore(join(dir, 'fork-alone.db'));
    expect(await importInto(alone, 'codex', [fork])).toMatchObject({ eventsAdded: 3 });
    expect((await alone.listEvents({})).map((e) => e.sessionId)).toEqual([FORK, FORK, FORK]);
    await alone.close();
    await once.close();
  });
});
