import { appendFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runReport } from '../../cli/commands/report.js';
import { SqliteStore } from '../../store/sqlite/sqlite-store.js';
import { createPricer } from '../../usage/pricing.js';
import { parseBook } from '../price-book.js';
import { formatSummaryLine } from '../summary.js';
import { FIXTURES, copyFixture, importInto, tempDir } from '../testing.js';

const { dir, cleanup } = tempDir('cc-import');
afterAll(cleanup);
let n = 0;
const freshStore = (): { store: SqliteStore; path: string } => {
  const path = join(dir, `db-${++n}.db`);
  return { store: new SqliteStore(path), path };
};

const MAIN = 'projects/-home-dev-acme-app/0a1b2c3d-1111-4aaa-8bbb-000000000001.jsonl';
const OTHER = 'projects/-home-dev-tools/0a1b2c3d-2222-4aaa-8bbb-000000000002.jsonl';

/** Per-day totals in ccusage's terms (input without cache; cache writes 5m+1h together). */
async function daily(store: SqliteStore) {
  return (await store.aggregate('day', { source: 'claude-code' })).map((d) => ({
    date: d.key,
    input: d.inputTokens - d.cacheReadTokens - d.cacheWrite5mTokens - d.cacheWrite1hTokens,
    cacheWrite: d.cacheWrite5mTokens + d.cacheWrite1hTokens,
    cacheRead: d.cacheReadTokens,
    output: d.outputTokens,
    cost: Math.round(d.costUsd * 1e6) / 1e6,
  }));
}

const line = (o: Record<string, unknown>): string => `${JSON.stringify(o)}\n`;
const assistant = (uuid: string, ts: string, req: string, id: string, out: number, extra: Record<string, unknown> = {}) =>
  line({
    isSidechain: false,
    cwd: '/home/dev/acme/app',
    sessionId: '0a1b2c3d-1111-4aaa-8bbb-000000000001',
    gitBranch: 'feature-x',
    type: 'assistant',
    uuid,
    timestamp: ts,
    requestId: req,
    message: { model: 'claude-sonnet-4-6', id, content: [], usage: { input_tokens: 3, cache_creation_input_tokens: 781, cache_read_input_tokens: 42507, output_tokens: out } },
    ...extra,
  });

describe('goodhart import claude-code (fixture corpus)', () => {
  it('applies every rule of the format: dedup, sidechains, synthetic, API errors, cache buckets, fast mode, costUSD', async () => {
    const { store } = freshStore();
    const s = await importInto(store, 'claude-code', [FIXTURES.claude]);
    expect(s).toMatchObject({
      files: 3,
      filesRead: 3,
      linesRead: 23,
      eventsAdded: 10,
      eventsUpdated: 0,
      duplicates: 4,
      skipped: { no_usage: 6, invalid_json: 1, synthetic: 1, api_error: 1 },
    });
    expect(s.problems).toEqual([{ file: expect.stringContaining(MAIN), line: 13, reason: 'invalid_json' }]);
    // The same numbers ccusage 20.0.24 reports for this corpus (see ccusage.test.ts, which checks it live).
    expect(await daily(store)).toEqual([
      { date: '2026-04-09', input: 49, cacheWrite: 4129, cacheRead: 91995, output: 1086, cost: 0.069817 },
      { date: '2026-04-10', input: 1100, cacheWrite: 0, cacheRead: 0, output: 1050, cost: 0.1923 },
      { date: '2026-04-11', input: 4, cacheWrite: 500, cacheRead: 9000, output: 77, cost: 0.005742 },
    ]);
    const events = await store.listEvents({ source: 'claude-code' });
    const byReq = (req: string) => events.filter((e) => e.providerRequestId === req);
    // msg_A: the last of three content-block lines (largest output); msg_D: the main-chain line, not the bigger sidechain one.
    expect(byReq('msg_A').map((e) => e.outputTokens)).toEqual([236]);
    expect(byReq('msg_D').map((e) => [e.outputTokens, e.tags])).toEqual([[20, []]]);
    expect(byReq('msg_G').map((e) => [e.outputTokens, e.tags])).toEqual([[80, ['sidechain']]]);
    expect(byReq('msg_B')[0]).toMatchObject({ cacheWrite1hTokens: 2048, cacheWrite5mTokens: 0 });
    expect(byReq('msg_F')[0]).toMatchObject({ tags: ['fast'], costUsd: expect.closeTo(0.18, 9) });
    expect(byReq('msg_A')[0]).toMatchObject({
      sessionId: '0a1b2c3d-1111-4aaa-8bbb-000000000001',
      branch: 'feature-x',
      repo: '/home/dev/acme/app',
      projectId: 'app',
      userId: 'dev',
      provider: 'anthropic',
      modelServed: 'claude-sonnet-4-6',
    });
    await store.close();
  });

  it('re-running reads nothing and adds nothing', async () => {
    const { store } = freshStore();
    await importInto(store, 'claude-code', [FIXTURES.claude]);
    const again = await importInto(store, 'claude-code', [FIXTURES.claude]);
    expect(again).toMatchObject({ files: 3, filesRead: 0, bytesRead: 0, eventsAdded: 0 });
    // --full reads everything again and still adds nothing.
    const full = await importInto(store, 'claude-code', [FIXTURES.claude], { full: true });
    expect(full).toMatchObject({ filesRead: 3, eventsAdded: 0, eventsUpdated: 0, duplicates: 14 });
    expect((await store.listEvents({})).length).toBe(10);
    await store.close();
  });

  it('reads only appended bytes, and keeps the best line of a request across runs', async () => {
    const { store } = freshStore();
    const logs = copyFixture(FIXTURES.claude, join(dir, `copy-${++n}`));
    await importInto(store, 'claude-code', [logs]);
    const main = join(logs, MAIN);
    const before = statSync(main).size;
    const appended =
      // msg_A again with a larger output count: replaces the stored event.
      assistant('x-1', '2026-04-09T01:00:08.000Z', 'req_A', 'msg_A', 300) +
      // msg_B again from a sidechain with more tokens: a main-chain event stays.
      assistant('x-2', '2026-04-09T01:01:01.000Z', 'req_B', 'msg_B', 9999, { isSidechain: true }) +
      assistant('x-3', '2026-04-12T08:00:00.000Z', 'req_J', 'msg_J', 42);
    appendFileSync(main, appended);
    const s = await importInto(store, 'claude-code', [logs]);
    expect(s).toMatchObject({ filesRead: 1, bytesRead: Buffer.byteLength(appended), linesRead: 3, eventsAdded: 1, eventsUpdated: 1, duplicates: 2 });
    const events = await store.listEvents({});
    expect(events.find((e) => e.providerRequestId === 'msg_A')?.outputTokens).toBe(300);
    expect(events.find((e) => e.providerRequestId === 'msg_B')?.outputTokens).toBe(310);
    expect(events).toHaveLength(11);
    expect(statSync(main).size).toBe(before + Buffer.byteLength(appended));
    await store.close();
  });

  it('prices a re-import from the price book, loading the catalogue only for what the book does not cover', async () => {
    const { store } = freshStore();
    const logs = copyFixture(FIXTURES.claude, join(dir, `copy-${++n}`));
    let loads = 0;
    const pricer = async () => {
      loads += 1;
      return createPricer();
    };
    await importInto(store, 'claude-code', [logs], { pricer, priceBookKey: 'test-catalogue' });
    expect(loads).toBe(1);
    const book = parseBook(await store.readPriceBook('test-catalogue'));
    expect(book.map((e) => e.model).sort()).toEqual(['claude-haiku-4-5-20251001', 'claude-opus-4-6', 'claude-sonnet-4-5-20250929', 'claude-sonnet-4-6']);
    expect(await store.readPriceBook('another-catalogue')).toBeNull();

    // New lines of a model and days the book covers (no dated price after 2026-03-13): the catalogue stays unloaded.
    const main = join(logs, MAIN);
    appendFileSync(main, assistant('p-1', '2026-04-20T08:00:00.000Z', 'req_P', 'msg_P', 42) + assistant('p-2', '2026-05-02T08:00:00.000Z', 'req_Q', 'msg_Q', 4200));
    expect(await importInto(store, 'claude-code', [logs], { pricer, priceBookKey: 'test-catalogue' })).toMatchObject({ eventsAdded: 2 });
    expect(loads).toBe(1);
    // A model the book lacks: loaded once for it.
    const opus = { message: { model: 'claude-opus-4-1-20250805', id: 'msg_R', content: [], usage: { input_tokens: 9, cache_read_input_tokens: 1000, output_tokens: 70 } } };
    appendFileSync(main, assistant('p-3', '2026-05-03T08:00:00.000Z', 'req_R', 'msg_R', 70, opus));
    expect(await importInto(store, 'claude-code', [logs], { pricer, priceBookKey: 'test-catalogue' })).toMatchObject({ eventsAdded: 1 });
    expect(loads).toBe(2);
    expect(parseBook(await store.readPriceBook('test-catalogue')).map((e) => e.model).sort()).toEqual(['claude-haiku-4-5-20251001', 'claude-opus-4-1-20250805', 'claude-opus-4-6', 'claude-sonnet-4-5-20250929', 'claude-sonnet-4-6']);

    // Every cost equals a fresh import's, priced by the catalogue itself.
    const fresh = freshStore();
    await importInto(fresh.store, 'claude-code', [logs]);
    const costs = async (st: SqliteStore) => (await st.listEvents({})).map((e) => [e.providerRequestId, e.costUsd]).sort();
    const want = await costs(fresh.store);
    expect(want.find(([id]) => id === 'msg_Q')?.[1]).toBeGreaterThan(0);
    expect(await costs(store)).toEqual(want);
    await Promise.all([store.close(), fresh.store.close()]);
  });

  it('starts over on a rewritten file without double counting, and waits for an unfinished last line', async () => {
    const { store } = freshStore();
    const logs = copyFixture(FIXTURES.claude, join(dir, `copy-${++n}`));
    await importInto(store, 'claude-code', [logs]);
    const other = join(logs, OTHER);
    // Rewritten: a new first line (Claude Code compacting a session rewrites it).
    writeFileSync(other, `{"type":"summary","summary":"compacted"}\n${readFileSync(other, 'utf8')}`);
    const half = assistant('y-1', '2026-04-12T09:00:00.000Z', 'req_K', 'msg_K', 5);
    appendFileSync(other, half.slice(0, 60));
    const s = await importInto(store, 'claude-code', [logs]);
    expect(s).toMatchObject({ filesRead: 1, filesRestarted: 1, eventsAdded: 0, duplicates: 2 });
    appendFileSync(other, half.slice(60));
    const s2 = await importInto(store, 'claude-code', [logs]);
    expect(s2).toMatchObject({ filesRead: 1, filesRestarted: 0, linesRead: 1, eventsAdded: 1 });
    expect(await store.listEvents({})).toHaveLength(11);
    await store.close();
  });

  it('waits for an unfinished last user line with fingerprints on, as without them', async () => {
    const user = line({ type: 'user', sessionId: '0a1b2c3d-1111-4aaa-8bbb-000000000001', uuid: 'u-9', timestamp: '2026-04-12T09:00:00.000Z', message: { role: 'user', content: 'and now the tests' } });
    for (const fingerprints of [{ secret: 'partial-line-test-secret-0123456789', since: 0 }, null]) {
      const { store } = freshStore();
      const root = join(dir, `partial-${++n}`, 'projects', 'p');
      mkdirSync(root, { recursive: true });
      const path = join(root, 's.jsonl');
      writeFileSync(path, assistant('p-1', '2026-04-12T08:59:00.000Z', 'req_P', 'msg_P', 5) + user.slice(0, 40));
      const first = await importInto(store, 'claude-code', [join(dir, `partial-${n}`)], { fingerprints });
      expect(first).toMatchObject({ linesRead: 1, eventsAdded: 1, problems: [] });
      appendFileSync(path, user.slice(40));
      const second = await importInto(store, 'claude-code', [join(dir, `partial-${n}`)], { fingerprints });
      expect(second).toMatchObject({ linesRead: 1, skipped: { no_usage: 1 }, problems: [] });
      await store.close();
    }
  });

  it('survives a hostile file: huge lines, binary garbage, deep nesting, with the good lines still counted', async () => {
    const { store } = freshStore();
    const hostile = join(dir, `hostile-${++n}`, 'projects', 'x');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(hostile, { recursive: true });
    const good = assistant('g-1', '2026-04-09T05:00:00.000Z', 'req_Z', 'msg_Z', 7);
    const huge = `{"message":{"usage":{"input_tokens":1}},"pad":"${'a'.repeat(3 << 20)}"}\n`;
    const deep = `{"message":{"usage":${'['.repeat(200_000)}${']'.repeat(200_000)}}}\n`;
    const garbage = Buffer.from([0xff, 0xfe, 0x00, 0x75, 0x73, 0x61, 0x67, 0x65, 0x22, 0x3a, 0x7b, 0x0a]); // ÿþ\0usage":{
    writeFileSync(join(hostile, 'h.jsonl'), Buffer.concat([Buffer.from(good + huge + deep), garbage, Buffer.from(good)]));
    const s = await importInto(store, 'claude-code', [join(dir, `hostile-${n}`)], { maxLineBytes: 1 << 20 });
    expect(s).toMatchObject({ linesRead: 5, eventsAdded: 1, duplicates: 1, skipped: { too_long: 1, no_usage: 1, invalid_json: 1 } });
    expect(s.problems.map((p) => [p.line, p.reason]).sort()).toEqual([[2, 'too_long'], [4, 'invalid_json']]);
    await store.close();
  });

  it('counts a line that is not JSON as invalid, with its file and line, though it has no usage to read', async () => {
    const root = join(dir, `garbage-${++n}`);
    mkdirSync(join(root, 'projects', 'x'), { recursive: true });
    const user = line({ type: 'user', sessionId: 's', uuid: 'u-1', timestamp: '2026-04-09T04:59:00.000Z', message: { role: 'user', content: 'hi' } });
    const lines = [
      Buffer.from(user),
      Buffer.from([0x00, 0x07, 0x50, 0x4b, 0x03, 0x04, 0x0a]), // binary, no needle
      Buffer.from(`{"type":"summary","summary":"fine"}  \r\n`),
      Buffer.from('PK\u0003"type":"user" not json\n'), // the transcript's needle, but not JSON
      Buffer.from(assistant('g-1', '2026-04-09T05:00:00.000Z', 'req_Z', 'msg_Z', 7)),
      Buffer.from('{"type":"progress","cut short\n'),
    ];
    writeFileSync(join(root, 'projects', 'x', 'g.jsonl'), Buffer.concat(lines));
    for (const fingerprints of [{ secret: 'garbage-line-test-secret-0123456789', since: 0 }, null]) {
      const { store } = freshStore();
      const s = await importInto(store, 'claude-code', [root], { fingerprints });
      expect(s).toMatchObject({ linesRead: 6, eventsAdded: 1, skipped: { no_usage: 2, invalid_json: 3 } });
      expect(s.problems.map((p) => [p.file.endsWith('g.jsonl'), p.line, p.reason]).sort()).toEqual([[true, 2, 'invalid_json'], [true, 4, 'invalid_json'], [true, 6, 'invalid_json']]);
      await store.close();
    }
  });

  it('`goodhart report --source` separates imported sources', async () => {
    const { store, path } = freshStore();
    await importInto(store, 'claude-code', [FIXTURES.claude]);
    await importInto(store, 'codex', [FIXTURES.codex]);
    await store.close();
    const claude = JSON.parse(await runReport({ kind: 'daily', db: path, json: true, source: 'claude-code' })) as { rows: { key: string; requests: number }[] };
    const codex = JSON.parse(await runReport({ kind: 'daily', db: path, json: true, source: 'codex' })) as { rows: { key: string; requests: number }[] };
    const all = JSON.parse(await runReport({ kind: 'daily', db: path, json: true })) as { rows: { key: string; requests: number }[] };
    const total = (r: { rows: { requests: number }[] }) => r.rows.reduce((a, x) => a + x.requests, 0);
    expect(total(claude)).toBe(10);
    expect(total(codex)).toBe(9);
    expect(total(all)).toBe(19);
    expect(codex.rows.map((r) => r.key)).toEqual(['2026-04-08', '2026-04-09', '2026-04-10']);
  });
});

describe('goodhart import claude-code on worker threads', () => {
  it('gives the same events as the main thread, written by the workers themselves', async () => {
    const fingerprints = { secret: 'worker-test-secret-0123456789', since: 0 };
    const inline = freshStore();
    await importInto(inline.store, 'claude-code', [FIXTURES.claude], { fingerprints });
    const threaded = freshStore();
    const s = await importInto(threaded.store, 'claude-code', [FIXTURES.claude], {
      fingerprints,
      priceBookKey: 'test-catalogue',
      workerThresholdBytes: 0,
      workers: {
        count: 2,
        recipe: {
          source: 'claude-code',
          config: { identities: [], users: [], projects: [] },
          priceOverrides: {},
          identity: { osUser: 'dev', account: null },
          gitScope: 'repository',
          maxWholeFileBytes: 1 << 20,
          fingerprints,
          dbPath: threaded.path,
        },
      },
    });
    expect(s).toMatchObject({ filesRead: 3, linesRead: 23, eventsAdded: 10, duplicates: 4, skipped: { no_usage: 6, invalid_json: 1, synthetic: 1, api_error: 1 } });
    const strip = (e: { id: string; outputTokens: number; costUsd: number | null; tags: string[] }) => [e.id, e.outputTokens, e.costUsd, e.tags];
    expect((await threaded.store.listEvents({})).map(strip)).toEqual((await inline.store.listEvents({})).map(strip));
    expect((await threaded.store.listImportStates('claude-code')).map((x) => x.offset)).toEqual((await inline.store.listImportStates('claude-code')).map((x) => x.offset));
    const fps = await threaded.store.findings.listFingerprints({ since: 0, until: Number.MAX_SAFE_INTEGER });
    expect(fps.length).toBeGreaterThan(0);
    expect(fps).toEqual(await inline.store.findings.listFingerprints({ since: 0, until: Number.MAX_SAFE_INTEGER }));
    // What the workers learnt of prices is kept for the next run.
    expect(parseBook(await threaded.store.readPriceBook('test-catalogue')).map((e) => e.model).sort()).toEqual(['claude-haiku-4-5-20251001', 'claude-opus-4-6', 'claude-sonnet-4-5-20250929', 'claude-sonnet-4-6']);
    await inline.store.close();
    await threaded.store.close();
  });
});

describe('a request that went through the gateway and is in the agent log too', () => {
  it('is counted once: the gateway metered it, the import says so', async () => {
    const { startHarness } = await import('../../testing/harness.js');
    const h = await startHarness();
    try {
      const m = await h.anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'hi [[sim:tokens=12]]' }] });
      let gateway;
      for (let i = 0; i < 100 && gateway === undefined; i++) {
        gateway = (await h.events()).find((e) => e.providerRequestId === m.id);
        if (gateway === undefined) await new Promise((r) => setTimeout(r, 20));
      }
      expect(gateway?.outputTokens).toBe(12);
      // Claude Code logs the same response (its message id), and one that did not go through the gateway.
      const root = join(dir, 'through-gateway');
      const file = join(root, MAIN);
      mkdirSync(join(root, 'projects/-home-dev-acme-app'), { recursive: true });
      writeFileSync(file, assistant('u1', new Date().toISOString(), 'req_1', m.id, 12) + assistant('u2', new Date().toISOString(), 'req_2', 'msg_direct', 30));
      const s = await importInto(h.store as SqliteStore, 'claude-code', [root]);
      expect(s).toMatchObject({ eventsAdded: 1, duplicates: 1, meteredByGateway: 1 });
      expect(formatSummaryLine(s)).toContain('1 event added, 1 duplicate (1 already metered by the gateway)');
      const stored = await h.store.listEvents({});
      expect(stored.filter((e) => e.providerRequestId === m.id).map((e) => e.source)).toEqual(['gateway']);
      expect(stored.filter((e) => e.providerRequestId === 'msg_direct').map((e) => e.source)).toEqual(['claude-code']);
    } finally {
      await h.close();
    }
  });
});

describe('import --full after the config changed', () => {
  it('applies a price given since, and the identity rules, to the events already stored', async () => {
    const { store } = freshStore();
    const root = join(dir, 'reprice');
    mkdirSync(join(root, 'projects/-home-dev-acme-app'), { recursive: true });
    const local = (uuid: string, id: string) => assistant(uuid, '2025-10-01T10:00:00.000Z', `req_${uuid}`, id, 1000).replace('claude-sonnet-4-6', 'my-local-model');
    writeFileSync(join(root, MAIN), local('u1', 'msg_l1') + local('u2', 'msg_l2'));
    const first = await importInto(store, 'claude-code', [root]);
    expect(first.eventsAdded).toBe(2);
    expect((await store.listEvents({})).map((e) => [e.costUsd, e.userId])).toEqual([[null, 'dev'], [null, 'dev']]);
    // The model gets a price and the OS user a person; a plain re-run reads nothing new, a full one refreshes.
    const pricer = createPricer({ 'my-local-model': { input: 1, output: 2 } });
    const config = { identities: [{ match: { osUser: 'dev' }, user: 'ada' }], users: [], projects: [] };
    expect((await importInto(store, 'claude-code', [root], { pricer, config })).eventsUpdated).toBe(0);
    const full = await importInto(store, 'claude-code', [root], { pricer, config, full: true });
    expect([full.eventsAdded, full.eventsUpdated]).toEqual([0, 2]);
    // 3 + 781 + 42,507 input tokens at $1 (no cache rates given: input's), 1,000 output at $2, per million.
    const each = ((3 + 781 + 42_507) * 1 + 1000 * 2) / 1e6;
    expect((await store.listEvents({})).map((e) => [e.costUsd, e.userId])).toEqual([[expect.closeTo(each, 12), 'ada'], [expect.closeTo(each, 12), 'ada']]);
    expect((await store.aggregate('day', {}))[0]?.costUsd).toBeCloseTo(2 * each, 12);
    await store.close();
  });
});
