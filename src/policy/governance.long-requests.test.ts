import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../testing/harness.js';

/**
 * A request keeps its budget reservation for as long as it is in flight, not `server.upstreamTimeoutMs` (which bounds
 * silence, between chunks or before the first byte): a stream longer than that, and a provider whose own timeout is
 * longer, must not lose theirs while still running, or a second request is admitted on the same money. Here the
 * server timeout is 1 s (the sweeper runs every 250 ms) and each budget affords one request at a time.
 */

let h: Harness;
const clients: Record<string, OpenAI> = {};
/** $1 per million output tokens: a request of N tokens costs N µ$; each budget affords one 3,000-token request. */
const BUDGET = 0.005;

beforeAll(async () => {
  h = await startHarness({
    config: (simUrl) => ({
      server: { upstreamTimeoutMs: 1000 },
      providers: {
        // The provider's own timeout, longer than the server's: up to 4 s to the first byte.
        openai: { type: 'openai', baseUrl: `${simUrl}/v1`, apiKey: 'sk-sim-openai', timeoutMs: 4000 },
      },
      models: [{ name: 'flat', provider: 'openai', upstreamName: 'gpt-4.1', price: { input: 0, output: 1 } }],
      budgets: ['lou', 'sue'].map((u) => ({ id: `${u}-day`, scope: `user:${u}`, amount: BUDGET, period: 'day' as const, thresholds: [] })),
    }),
  });
  for (const u of ['lou', 'sue']) clients[u] = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: await h.addKey(u), maxRetries: 0 });
});
afterAll(async () => {
  await h.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const spentBy = async (user: string) => (await h.events()).filter((e) => e.userId === user).reduce((s, e) => s + (e.costUsd ?? 0), 0);
const statusOf = (p: Promise<unknown>) => p.then(() => 200, (e: { status?: number }) => e.status ?? 0);
const ask = (user: string, directives: string) =>
  clients[user]!.chat.completions.create({ model: 'flat', max_tokens: 3000, messages: [{ role: 'user', content: `Go. [[sim:tokens=3000${directives}]]` }] });

describe('a request in flight keeps its reservation past server.upstreamTimeoutMs', () => {
  it('a stream running 3-4 s: a second request 2 s in is not admitted on the same budget', async () => {
    const stream = await clients['lou']!.chat.completions.create({
      model: 'flat',
      max_tokens: 3000,
      stream: true,
      messages: [{ role: 'user', content: 'Go. [[sim:tokens=3000,itl=3]]' }],
    });
    const started = Date.now();
    const read = (async () => {
      let n = 0;
      for await (const _ of stream) n++;
      return n;
    })();
    await sleep(2000);
    const second = statusOf(ask('lou', ''));
    expect(await read).toBeGreaterThan(100);
    expect(Date.now() - started).toBeGreaterThan(2000);
    // It waited for the stream to settle, then did not fit next to its $0.003.
    expect(await second).toBe(429);
    expect(await spentBy('lou')).toBeLessThanOrEqual(BUDGET);
  });

  it('a provider answering after 2.5 s (its timeoutMs is 4 s): a second request 1.8 s in is not admitted', async () => {
    const first = statusOf(ask('sue', ',ttft=2500'));
    await sleep(1800);
    const second = statusOf(ask('sue', ''));
    expect(await first).toBe(200);
    expect(await second).toBe(429);
    expect(await spentBy('sue')).toBeLessThanOrEqual(BUDGET);
  });
});
