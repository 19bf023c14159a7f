import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../config/schema.js';
import { createGateway, type Gateway } from '../gateway/server.js';
import { newKey } from '../keys/keys.js';
import { startSimProvider, type SimProvider } from '../sim/index.js';
import { EventWriter } from '../store/event-writer.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/types.js';

/**
 * Soft-cap alerts reach a real local webhook receiver (generic JSON and Slack-compatible) exactly once per
 * threshold, through a flaky receiver (retried with backoff), and not again after a restart.
 */

interface Received {
  path: string;
  body: any;
}

let receiver: Server;
let receiverUrl = '';
const received: Received[] = [];
/** Requests to /flaky fail this many times before succeeding. */
let flakyFailures = 2;

let sim: SimProvider;
let dir = '';
let store: Store;
let gateway: Gateway;
let writer: EventWriter;
let client: OpenAI;
const clock = { t: Date.parse('2025-09-15T10:00:00Z') };
const key = newKey({ userId: 'alice', teamId: 'platform' });

async function startGateway(): Promise<void> {
  const config = configSchema.parse({
    providers: { openai: { type: 'openai', baseUrl: `${sim.url}/v1`, apiKey: 'sk-sim-openai' } },
    timeZone: 'Asia/Tokyo',
    // Free input, $1 per million output tokens: 1000 output tokens cost $0.001.
    models: [{ name: 'flat-model', provider: 'openai', upstreamName: 'gpt-4o-mini', price: { input: 0, output: 1 } }],
    budgets: [{ id: 'platform-daily', scope: 'team:platform', amount: 0.01, period: 'day', thresholds: [50, 80, 100], contact: '#ai-budget' }],
    alerts: {
      sinks: [
        { type: 'webhook', url: `${receiverUrl}/hook`, headers: { 'x-secret': 's3' } },
        { type: 'slack', url: `${receiverUrl}/flaky` },
      ],
      initialBackoffMs: 20,
    },
  });
  writer = new EventWriter(store, { flushIntervalMs: 20 });
  gateway = await createGateway({ config, store, events: writer, now: () => clock.t });
  client = new OpenAI({ baseURL: `${await gateway.listen(0, '127.0.0.1')}/v1`, apiKey: key.key, maxRetries: 0 });
}

/** One request that really costs `tokens` µ$ (the sim generates exactly that many output tokens). */
const spend = (tokens: number) =>
  client.chat.completions.create({
    model: 'flat-model',
    max_tokens: tokens,
    messages: [{ role: 'user', content: `Go. [[sim:tokens=${tokens}]]` }],
  });

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString()));
    req.on('end', () => {
      if (req.url === '/flaky' && flakyFailures > 0) {
        flakyFailures--;
        res.writeHead(503).end('try later');
        return;
      }
      received.push({ path: req.url ?? '', body: { ...JSON.parse(text), secret: req.headers['x-secret'] } });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  sim = await startSimProvider();
  dir = mkdtempSync(join(tmpdir(), 'goodhart-alerts-'));
  store = await openStore(join(dir, 'goodhart.db'));
  await store.createKey(key.record);
  await startGateway();
});
afterAll(async () => {
  await gateway.close();
  await store.close();
  await sim.close();
  await new Promise((resolve) => receiver.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

const hooks = () => received.filter((r) => r.path === '/hook').map((r) => r.body);
const slack = () => received.filter((r) => r.path === '/flaky').map((r) => r.body);

describe('budget alerts to webhook sinks', () => {
  it('sends each threshold once, to every sink, as it is crossed', async () => {
    await spend(3000); // 30%
    await gateway.governance!.alerts.drain();
    expect(received).toEqual([]);
    await spend(2500); // 55%
    await spend(1000); // 65%: 50% again, not sent again
    await spend(1800); // 83%
    await gateway.governance!.alerts.drain();
    expect(hooks().map((b) => b.threshold)).toEqual([50, 80]);
    // The Slack sink failed twice (503) and got each alert on a retry, once; retries may deliver them in either order.
    expect(slack().map((b) => b.text as string).sort()).toEqual([
      expect.stringMatching(/^:warning: Budget "platform-daily" \(team:platform\) reached 50% this day: \$0\.00550 spent of \$0\.0100\. Resets 2025-09-16 00:00:00 Asia\/Tokyo\. Contact: #ai-budget\.$/),
      expect.stringMatching(/reached 80% this day: \$0\.00830 spent/),
    ]);
    expect(gateway.governance!.alerts.stats).toMatchObject({ delivered: 4, failed: 0, attempts: 6 });
  });

  it('sends the refusal when a request is refused, with the numbers in the generic JSON body and no threshold', async () => {
    await expect(spend(2000)).rejects.toMatchObject({ status: 429 });
    await gateway.governance!.alerts.drain();
    const last = hooks().at(-1);
    expect(last).toMatchObject({
      type: 'goodhart.budget.threshold',
      threshold: null,
      reason: 'blocked',
      blocked: { action: 'refused', limit: 0.01 },
      budget: { id: 'platform-daily', scope: 'team:platform', unit: 'usd', period: 'day', amount: 0.01, contact: '#ai-budget' },
      periodStart: '2025-09-14T15:00:00.000Z', // midnight in Tokyo
      periodEnd: '2025-09-15T15:00:00.000Z',
      secret: 's3',
    });
    expect(last.spent).toBeCloseTo(0.0083, 12);
    await expect(spend(2000)).rejects.toMatchObject({ status: 429 });
    await gateway.governance!.alerts.drain();
    expect(hooks().map((b) => b.threshold)).toEqual([50, 80, null]);
    expect(slack()).toHaveLength(3);
  });

  it('does not resend after a restart; a new day re-arms the thresholds', async () => {
    await gateway.close();
    clock.t += 1; // the new process starts after the last event of the old one
    await startGateway();
    // Spend of the day was seeded from stored events: still refused, and nothing resent.
    await expect(spend(2000)).rejects.toMatchObject({ status: 429 });
    await spend(100);
    await gateway.governance!.alerts.drain();
    expect(hooks()).toHaveLength(3);
    expect(gateway.governance!.alerts.stats.duplicates).toBeGreaterThan(0);
    clock.t = Date.parse('2025-09-15T15:00:00Z'); // midnight in Tokyo
    await spend(6000);
    await gateway.governance!.alerts.drain();
    expect(hooks().map((b) => [b.threshold, b.periodStart])).toEqual([
      [50, '2025-09-14T15:00:00.000Z'],
      [80, '2025-09-14T15:00:00.000Z'],
      [null, '2025-09-14T15:00:00.000Z'],
      [50, '2025-09-15T15:00:00.000Z'],
    ]);
  });
});
