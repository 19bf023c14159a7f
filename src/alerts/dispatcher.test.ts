import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteGovernanceStore } from '../store/sqlite/governance-store.js';
import { AlertDispatcher, RETRY_EVERY_MS, RETRY_FOR_MS, sinkId, type DispatcherOptions, type OutboundAlert, type Sink } from './dispatcher.js';

/**
 * Delivery through a real local webhook receiver and a real SQLite governance store: an alert whose webhook is down
 * for every attempt stays pending and goes out once it is back (after a restart), exactly once across processes.
 */

let receiver: Server;
let url = '';
let up = false;
const received: unknown[] = [];
/** The paths of posts to /refused (answered 404, as a revoked Slack webhook does) and /slow-down (408). */
const refused: string[] = [];
/** Posts to /trickle: answered 200 at once, then a body trickled over 4 s. */
let trickled = 0;
/** The x-route header of each post to /routed (one URL, routed by a header), with the body's text. */
const routed: string[] = [];
let dir = '';
const stores: SqliteGovernanceStore[] = [];

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString()));
    req.on('end', () => {
      if (req.url === '/trickle') {
        trickled++;
        res.writeHead(200, { 'content-type': 'text/plain' });
        let chunks = 0;
        const timer = setInterval(() => {
          res.write('.');
          if (++chunks === 8) (clearInterval(timer), res.end());
        }, 500);
        return void res.on('close', () => clearInterval(timer));
      }
      if (req.url === '/routed') return void (routed.push(`${String(req.headers['x-route'])} ${(JSON.parse(text) as { text: string }).text}`), res.end());
      if (req.url === '/refused') return void (refused.push(req.url), res.writeHead(404).end('no_service'));
      if (req.url === '/slow-down') return void (refused.push(req.url), res.writeHead(408).end());
      // /down: a sink that stays down (503).
      if (req.url === '/down' || !up) return void res.writeHead(503).end('down');
      received.push(JSON.parse(text));
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  dir = mkdtempSync(join(tmpdir(), 'goodhart-dispatch-'));
});
afterAll(async () => {
  for (const s of stores) await s.close();
  receiver.closeAllConnections();
  await new Promise((resolve) => receiver.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

const clock = { t: Date.parse('2025-09-15T10:00:00Z') };

/** A gateway process: its own connection to the file, its own dispatcher. */
function replica(sinks: Sink[], file = 'goodhart.db', opts: Partial<DispatcherOptions> = {}): AlertDispatcher {
  const store = new SqliteGovernanceStore(join(dir, file));
  stores.push(store);
  return new AlertDispatcher({ sinks, timeZone: 'UTC', maxAttempts: 2, initialBackoffMs: 1, outbox: store, now: () => clock.t, log: () => {}, ...opts });
}

const alert = (key: string): OutboundAlert => ({ dedupKey: key, at: clock.t, payload: { key }, render: () => ({ text: key }) });

describe('AlertDispatcher', () => {
  it('retries an alert whose webhook was down for every attempt once it is back, after a restart, once', async () => {
    const sinks: Sink[] = [{ type: 'webhook', url: `${url}/hook` }];
    const first = replica(sinks);
    first.publishOutbound(alert('b|team:x|0|10|80'));
    await first.drain();
    expect(first.stats).toMatchObject({ delivered: 0, failed: 1, attempts: 2 });
    expect(received).toEqual([]);
    await first.close();

    up = true;
    clock.t += RETRY_EVERY_MS;
    // Two replicas start at once: both sweep, one delivers. (In one thread their takes never interleave: that a take
    // is atomic is shown by processes on one SQLite file and by Postgres replicas, in the stores' tests.)
    const [a, b] = [replica(sinks), replica(sinks)];
    a.start();
    b.start();
    await Promise.all([a.drain(), b.drain()]);
    expect(received).toEqual([{ text: 'b|team:x|0|10|80' }]);
    // Recorded as delivered: neither a sweep nor the same alert published again sends it twice.
    await Promise.all([a.retryPending(), b.retryPending()]);
    a.publishOutbound(alert('b|team:x|0|10|80'));
    await a.drain();
    expect(received).toHaveLength(1);
    expect(a.stats.duplicates + b.stats.duplicates).toBe(1);
    await Promise.all([a.close(), b.close()]);
  });

  it('retries at the next start what failed, without waiting for its retry time', async () => {
    up = false;
    received.length = 0;
    const sinks: Sink[] = [{ type: 'webhook', url: `${url}/hook` }];
    const logs: string[] = [];
    const first = replica(sinks, 'restart.db', { log: (m) => logs.push(m) });
    first.publishOutbound(alert('b|team:z|0|10|80'));
    await first.drain();
    expect(logs.join('\n')).toMatch(/failed \(.*\); trying again in 5 minutes and at the next start, for a day\./);
    await first.close();

    // The webhook is fixed and the gateway restarted a minute later: sent at start, not 4 minutes on.
    up = true;
    clock.t += 60_000;
    const second = replica(sinks, 'restart.db');
    second.start();
    await second.drain();
    expect(received).toEqual([{ text: 'b|team:z|0|10|80' }]);
    // The sweeps after the start take only what is due: nothing is sent twice.
    await second.retryPending();
    expect(received).toHaveLength(1);
    await second.close();
  });

  it('retries only the sink that failed', async () => {
    up = true;
    received.length = 0;
    const d = replica([
      { type: 'webhook', url: `${url}/hook` },
      { type: 'slack', url: 'http://127.0.0.1:9/unreachable' },
    ]);
    d.publishOutbound(alert('b|team:y|0|10|50'));
    await d.drain();
    expect(d.stats).toMatchObject({ delivered: 1, failed: 1 });
    await d.retryPending(); // not due yet
    expect(d.stats).toMatchObject({ delivered: 1, failed: 1 });
    clock.t += RETRY_EVERY_MS;
    await d.retryPending();
    expect(d.stats).toMatchObject({ delivered: 1, failed: 2 });
    expect(received).toEqual([{ text: 'b|team:y|0|10|50' }]);
    await d.close();
  });

  it('reaches a newer alert through a backlog of alerts for a sink that stays down', async () => {
    up = true;
    received.length = 0;
    const d = replica(
      [
        { type: 'slack', url: `${url}/down` },
        { type: 'webhook', url: `${url}/hook` },
      ],
      'backlog.db',
    );
    // A sweep's worth (100) of alerts the webhook took and Slack did not: pending for Slack, due every 5 minutes.
    for (let i = 0; i < 100; i++) {
      d.publishOutbound(alert(`b|team:old|${i}|10|80`));
      clock.t += 1000;
    }
    await d.drain();
    expect(received).toHaveLength(100);
    up = false; // the webhook's blip
    d.publishOutbound(alert('b|team:new|0|10|100'));
    await d.drain();
    up = true;
    received.length = 0;
    for (let sweep = 0; sweep < 3; sweep++) {
      clock.t += RETRY_EVERY_MS;
      await d.retryPending();
    }
    expect(received).toEqual([{ text: 'b|team:new|0|10|100' }]);
    await d.close();
  });

  it('does not try again a delivery the webhook refused for good (404), but does one it timed out (408)', async () => {
    refused.length = 0;
    const d = replica(
      [
        { type: 'slack', url: `${url}/refused` },
        { type: 'webhook', url: `${url}/slow-down` },
      ],
      'refused.db',
    );
    d.publishOutbound(alert('b|team:z|0|10|80'));
    await d.drain();
    // maxAttempts 2: the 404 once, the 408 twice.
    expect(refused.sort()).toEqual(['/refused', '/slow-down', '/slow-down']);
    clock.t += RETRY_EVERY_MS;
    await d.retryPending();
    expect(refused.sort()).toEqual(['/refused', '/slow-down', '/slow-down', '/slow-down', '/slow-down']);
    await d.close();
  });

  it('keeps its lease while a receiver trickles its answer: another replica does not send the alert again', async () => {
    // A clock 20 times faster than real time: the lease (one 1 s attempt plus a minute) lasts 3 s of real time, and
    // a body trickled over 4 s would outlast it were the attempt not ended at its 1 s deadline.
    const started = Date.now();
    const fast = { now: () => clock.t + (Date.now() - started) * 20, timeoutMs: 1000, maxAttempts: 1 };
    const sinks: Sink[] = [{ type: 'webhook', url: `${url}/trickle` }];
    const [a, b] = [replica(sinks, 'lease.db', fast), replica(sinks, 'lease.db', fast)];
    let sent = false;
    a.publishOutbound(alert('b|team:t|0|10|80'));
    void a.drain().then(() => (sent = true));
    while (!sent) {
      await b.retryPending(); // b sweeping all along: it takes the alert over as soon as a's lease runs out
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await b.retryPending();
    await b.drain();
    expect([trickled, a.stats.delivered, b.stats.delivered]).toEqual([1, 1, 0]);
    await Promise.all([a.close(), b.close()]);
  }, 15_000);

  it('sends to each sink on one URL that differ in their headers, and once to entries that differ only in case', async () => {
    routed.length = 0;
    const d = replica(
      [
        { type: 'webhook', url: `${url}/routed`, headers: { 'x-route': 'finance' } },
        { type: 'webhook', url: `${url}/routed`, headers: { 'x-route': 'platform' } },
        { type: 'webhook', url: `${url}/routed`, headers: { 'X-Route': 'finance' } },
      ],
      'routed.db',
    );
    d.publishOutbound(alert('b|team:r|0|10|80'));
    await d.drain();
    expect(routed.sort()).toEqual(['finance b|team:r|0|10|80', 'platform b|team:r|0|10|80']);
    await d.close();
  });

  it('names a sink the same at every start, by all that makes it one: type, URL, headers and findings', () => {
    const hook = { type: 'webhook' as const, url: 'https://hooks.example.com/x' };
    expect(sinkId({ ...hook, headers: { A: '1', b: '2' } })).toBe(sinkId({ ...hook, headers: { B: '2', a: '1' } }));
    expect(sinkId({ ...hook, headers: { a: '1' } })).not.toBe(sinkId({ ...hook, headers: { a: '2' } }));
    expect(sinkId({ ...hook, findings: 'off' })).not.toBe(sinkId(hook));
    expect(sinkId({ ...hook, findings: 'person' })).toBe(sinkId(hook)); // a webhook's default
    expect(sinkId({ ...hook, headers: {} })).toBe(sinkId(hook));
  });

  it('gives up an alert its sink did not take within a day, and forgets it a day after its period', async () => {
    const logs: string[] = [];
    const d = replica([{ type: 'webhook', url: `${url}/down` }], 'kept.db', { log: (m) => logs.push(m) });
    const periodEnd = clock.t + 2 * 3_600_000;
    d.publishOutbound({ ...alert('b|team:k|0|10|80'), periodEnd });
    await d.drain();
    const rows = () => {
      const db = new Database(join(dir, 'kept.db'), { readonly: true });
      const found = db.prepare('SELECT dedup_key, pending IS NOT NULL AS pending FROM gov_alerts').all();
      db.close();
      return found;
    };
    expect(rows()).toEqual([{ dedup_key: 'b|team:k|0|10|80', pending: 1 }]);
    clock.t += RETRY_FOR_MS + 1;
    logs.length = 0;
    await d.retryPending();
    expect(logs).toEqual(['goodhart: 1 alert(s) given up: a sink did not take them within 24 hours (see the earlier failures).']);
    expect(rows()).toEqual([{ dedup_key: 'b|team:k|0|10|80', pending: 0 }]); // still kept: not sent again this period
    clock.t = periodEnd + 86_400_000 + 1;
    await d.retryPending();
    expect(rows()).toEqual([]);
    await d.close();
  });
});
