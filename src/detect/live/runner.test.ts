import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.js';
import type { BudgetConfig } from '../../policy/config.js';
import { budgetSchema } from '../../policy/config.js';
import { openStore } from '../../store/open.js';
import { event } from '../testing.js';
import { startLiveDetection } from './runner.js';

/**
 * Live detection on its worker thread forecasts the budgets in force (the admin API's changes on top of the config
 * file) from its very first tick: a restart must not forecast a budget the API raised or deleted at the file's
 * amount before the gateway's thread posts the budgets in force.
 */

let receiver: Server;
let receiverUrl = '';
const received: { path: string; body: any }[] = [];
let dir = '';

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString()));
    req.on('end', () => {
      received.push({ path: req.url ?? '', body: JSON.parse(text) });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  dir = mkdtempSync(join(tmpdir(), 'goodhart-live-runner-'));
});
beforeEach(() => {
  received.length = 0;
});
afterAll(async () => {
  await new Promise((resolve) => receiver.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

// $1 spent a minute ago against $1.01 a month: the run rate crosses the amount on any day but the month's last.
const inFile = budgetSchema.parse({ id: 'per-person', scope: 'user:*', amount: 1.01, period: 'month' });

async function forecastsWith(name: string, inForce: readonly BudgetConfig[]): Promise<any[]> {
  const db = join(dir, `${name}.db`);
  const store = await openStore(db);
  await store.insertEvents([event({ startedAt: Date.now() - 60_000, userId: 'alice', costUsd: 1 })]);
  const config = configSchema.parse({
    budgets: [inFile],
    alerts: { sinks: [{ type: 'webhook', url: `${receiverUrl}/hook` }], initialBackoffMs: 10 },
    detect: { live: { intervalSeconds: 3600 } },
  });
  const live = await startLiveDetection({ config, db, store, budgets: () => inForce, log: () => {} });
  expect(live?.mode).toBe('worker');
  await live!.tickNow();
  // Delivers the alerts still queued.
  await live!.close();
  await store.close();
  return received.filter((r) => r.body.type === 'goodhart.budget.forecast').map((r) => r.body);
}

describe('live detection on a worker thread', () => {
  it('forecasts the budget at the amount in force (control: the file’s amount is crossed)', async () => {
    const sent = await forecastsWith('control', [inFile]);
    expect(sent.map((b) => [b.budget.id, b.budget.amount])).toEqual([['per-person', 1.01]]);
  }, 30_000);

  it('does not forecast a budget the admin API raised at the file’s amount on its first tick', async () => {
    expect(await forecastsWith('raised', [{ ...inFile, amount: 100 }])).toEqual([]);
  }, 30_000);

  it('does not forecast a budget the admin API deleted', async () => {
    expect(await forecastsWith('deleted', [])).toEqual([]);
  }, 30_000);
});
