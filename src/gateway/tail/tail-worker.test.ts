import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fingerprintRequest } from '../../detect/fingerprint/fingerprint.js';
import { event } from '../../detect/testing.js';
import { SqliteStore } from '../../store/sqlite/sqlite-store.js';
import { startHarness } from '../../testing/harness.js';
import postgres from 'postgres';
import { findingsStoreOf } from '../../detect/store.js';
import { openStore } from '../../store/open.js';
import { startRelay } from '../../testing/relay.js';
import { TailWorker } from './tail-worker.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'goodhart-tail-'));
  dirs.push(dir);
  return join(dir, 'goodhart.db');
}

describe('the gateway tail thread', () => {
  it('fingerprints each conversation request off the main thread, the same as the in-process function', async () => {
    const h = await startHarness({ config: () => ({ detect: { fingerprints: { enabled: true, retentionDays: 30 } } }) });
    const prompts = [
      'Refactor the billing retry loop so that failed invoices back off exponentially',
      'Why does the checkout service deadlock when two carts share a coupon?',
      'Summarise the incident timeline for the payment outage last Tuesday',
    ];
    for (const content of prompts) await h.openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] });
    await h.anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 64, messages: [{ role: 'user', content: prompts[0]! }] });
    await h.openai.embeddings.create({ model: 'text-embedding-3-small', input: 'not a conversation: never fingerprinted' });
    const events = await h.events();
    await h.gateway.close(); // drains the tail thread
    const findings = (h.store as SqliteStore).findings;
    const fps = await findings.listFingerprints({ since: 0, until: Date.now() + 1 });
    const conversations = events.filter((e) => e.endpoint !== 'embeddings');
    expect(conversations).toHaveLength(4);
    expect(fps.map((f) => f.eventId).sort()).toEqual(conversations.map((e) => e.id).sort());
    // What the thread computed equals what the fingerprint function gives for the same body and secret.
    const secret = await findings.fingerprintSecret();
    const first = fps.find((f) => f.eventId === conversations[0]!.id)!;
    const expected = fingerprintRequest({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: prompts[0] }] }, 'chat.completions', secret)!;
    expect(first.humanTurn).toBe(true);
    expect([...first.prompt!]).toEqual([...expected.prompt!]);
    expect(first.userId).toBe('alice');
    // The same prompt through the Anthropic route has the same MinHash (rephrase detection works across wires).
    const viaAnthropic = fps.find((f) => f.eventId === conversations[3]!.id)!;
    expect([...viaAnthropic.prompt!]).toEqual([...expected.prompt!]);
    await h.store.close();
    await h.sim.close();
  });

  it('writes event batches for a SQLite file and skips fingerprints beyond its byte bound', async () => {
    const path = tempDb();
    const store = new SqliteStore(path);
    const secret = await store.findings.fingerprintSecret();
    const tail = await TailWorker.start({ spec: { kind: 'sqlite', path }, fingerprints: { secret, retentionDays: 30 }, maxPendingBytes: 1000, log: () => {} });
    const now = Date.now();
    const body = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'explain the flaky integration test in the ledger service' }] };
    const raw = Buffer.from(JSON.stringify(body));
    const events = Array.from({ length: 40 }, (_, i) => event({ id: `ev-${i}`, startedAt: now + i, endpoint: 'chat.completions' }));
    expect(await tail.insertEvents(events)).toBe(40);
    expect(await tail.insertEvents(events)).toBe(0); // replays add nothing
    for (const e of events) tail.observe(body, e, raw);
    const fit = Math.floor(1000 / raw.length);
    expect(tail.dropped).toBe(40 - fit);
    await tail.close();
    expect(tail.written).toBe(fit);
    expect(await store.listEvents({})).toHaveLength(40);
    expect(await store.findings.listFingerprints({ since: 0, until: now + 100 })).toHaveLength(fit);
    await store.close();
  });

  it('waits for Postgres to answer again before giving up on fingerprints', async () => {
    const PG_URL = process.env['GOODHART_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
    const schema = `gh_tail_${Date.now().toString(36)}`;
    const admin = postgres(PG_URL, { max: 1, onnotice: () => {} });
    await admin`CREATE SCHEMA ${admin(schema)}`;
    const target = new URL(PG_URL);
    const relay = await startRelay(target.hostname, Number(target.port || 5432));
    const via = new URL(PG_URL);
    via.host = `${relay.host}:${relay.port}`;
    const store = await openStore(`${PG_URL}${PG_URL.includes('?') ? '&' : '?'}search_path=${schema}`);
    try {
      const secret = await findingsStoreOf(store)!.fingerprintSecret();
      const logged: string[] = [];
      const tail = await TailWorker.start({ spec: { kind: 'postgres', url: via.toString(), searchPath: schema }, fingerprints: { secret, retentionDays: 30 }, log: (m) => logged.push(m) });
      await relay.cut();
      const now = Date.now();
      const body = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'why does the ledger sync loop forever on an empty batch' }] };
      for (let i = 0; i < 5; i++) tail.observe(body, event({ id: `pg-${i}`, startedAt: now + i, endpoint: 'chat.completions' }), Buffer.from(JSON.stringify(body)));
      await new Promise((r) => setTimeout(r, 800)); // posted to the thread, whose first writes fail
      await relay.restore();
      await tail.close();
      expect([tail.written, tail.failed]).toEqual([5, 0]);
      expect(logged.filter((m) => m.startsWith('writing request fingerprints'))).toEqual([]);
      expect(await findingsStoreOf(store)!.listFingerprints({ since: 0, until: now + 100 })).toHaveLength(5);
    } finally {
      await store.close();
      await relay.close();
      await admin`DROP SCHEMA IF EXISTS ${admin(schema)} CASCADE`;
      await admin.end({ timeout: 5 });
    }
  }, 30_000);

  it('refuses to start on a store it cannot open, saying so', async () => {
    await expect(TailWorker.start({ spec: { kind: 'sqlite', path: '/proc/no/such/dir/x.db' }, fingerprints: null })).rejects.toThrow(/writer thread could not start/);
  });
});
