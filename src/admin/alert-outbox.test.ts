import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertDispatcher, type OutboundAlert } from '../alerts/dispatcher.js';
import { claimAlertInRedis, connectRedis, type SharedRedis } from '../policy/redis/connection.js';
import { SqliteGovernanceStore } from '../store/sqlite/governance-store.js';
import { redisPrefix } from '../testing/replicas.js';
import { budgetAlertOutbox } from './install.js';

/**
 * Budget alerts recorded in the governance store and in Redis, as a gateway with `redis.url` records them: a real
 * SQLite store, the machine's Redis (under a key prefix of this test's own), a real local webhook receiver.
 */
const REDIS_URL = process.env['GOODHART_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
let rd: Awaited<ReturnType<typeof redisPrefix>>;
let shared: SharedRedis;
let receiver: Server;
let url = '';
const received: unknown[] = [];
const dir = mkdtempSync(join(tmpdir(), 'goodhart-outbox-'));
const stores: SqliteGovernanceStore[] = [];

beforeAll(async () => {
  rd = await redisPrefix(REDIS_URL, 'outbox');
  shared = await connectRedis(REDIS_URL, rd.prefix, () => {});
  receiver = createServer((req, res) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString()));
    req.on('end', () => {
      received.push(JSON.parse(text));
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
});
afterAll(async () => {
  for (const s of stores) await s.close();
  await shared.close();
  await rd.drop();
  await new Promise((resolve) => receiver.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

const at = Date.parse('2025-09-15T10:00:00Z');
const alert = (key: string): OutboundAlert => ({ dedupKey: key, at, payload: { windowEnd: at + 86_400_000 }, render: () => ({ text: key }) });

function gateway(path: string): { d: AlertDispatcher; logs: string[] } {
  const store = new SqliteGovernanceStore(path);
  stores.push(store);
  const logs: string[] = [];
  const d = new AlertDispatcher({ sinks: [{ type: 'webhook', url }], timeZone: 'UTC', maxAttempts: 1, initialBackoffMs: 1, outbox: budgetAlertOutbox(store, shared), now: () => at, log: (m) => logs.push(m) });
  return { d, logs };
}

describe('budgetAlertOutbox', () => {
  it('sends an alert the store failed to record once it is raised again, though Redis saw it', async () => {
    const path = join(dir, 'failing.db');
    const first = gateway(path);
    const db = new Database(path);
    db.exec("CREATE TRIGGER refuse BEFORE INSERT ON gov_alerts BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END");
    first.d.publishOutbound(alert('b|org|1|10|100'));
    await first.d.drain();
    expect(first.logs).toEqual([expect.stringMatching(/^goodhart: alert b\|org\|1\|10\|100 not sent: could not record it \(.*database or disk is full/)]);
    db.exec('DROP TRIGGER refuse');
    db.close();
    // The store is back; the engine raises the alert again (its next settlement, or a restart).
    const again = gateway(path);
    again.d.publishOutbound(alert('b|org|1|10|100'));
    await again.d.drain();
    expect(received).toEqual([{ text: 'b|org|1|10|100' }]);
    expect(again.d.stats).toMatchObject({ delivered: 1, duplicates: 0 });
  });

  it('does not send an alert another replica (with a store of its own) claimed in Redis, nor leave it pending', async () => {
    received.length = 0;
    expect(await claimAlertInRedis(shared, 'b|org|2|10|100', at, at + 86_400_000)).toBe(true);
    const path = join(dir, 'own.db');
    const { d } = gateway(path);
    d.publishOutbound(alert('b|org|2|10|100'));
    await d.drain();
    expect(d.stats).toMatchObject({ delivered: 0, duplicates: 1 });
    const store = new SqliteGovernanceStore(path);
    stores.push(store);
    expect(await store.takePendingAlerts(at + 86_400_000, 0, at + 86_500_000, 10, 'sweeper')).toEqual([]);
    expect(received).toEqual([]);
  });
});
