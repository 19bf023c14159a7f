import { createServer, type Server } from 'node:http';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../testing/harness.js';

/**
 * A configured fallback is admitted as a fallback (AdmissionRequest.fallback): its tier and budgets at its own price,
 * but the same request for rate limits and routing. Each case is one a reviewer broke the first version with.
 */
let failing: Server;
let failingUrl: string;
beforeAll(async () => {
  failing = createServer((req, res) => {
    req.resume();
    res.writeHead(503, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message: 'overloaded', type: 'server_error', code: null, param: null } }));
  });
  await new Promise<void>((r) => failing.listen(0, '127.0.0.1', r));
  failingUrl = `http://127.0.0.1:${(failing.address() as { port: number }).port}/v1`;
});
afterAll(async () => {
  await new Promise((r) => failing.close(r));
});

async function withHarness(config: NonNullable<NonNullable<Parameters<typeof startHarness>[0]>['config']>, run: (h: Harness, c: OpenAI) => Promise<void>): Promise<void> {
  const h = await startHarness({ config });
  try {
    await run(h, new OpenAI({ baseURL: `${h.url}/v1`, apiKey: h.key, maxRetries: 0 }));
  } finally {
    await h.close();
  }
}

const priced = [
  { name: 'dear', provider: 'openai', upstreamName: 'gpt-4.1', price: { input: 0, output: 10 } },
  { name: 'team', provider: 'flaky', upstreamName: 'x', price: { input: 0, output: 0.1 } },
  { name: 'cheap', provider: 'flaky', upstreamName: 'y', price: { input: 0, output: 0.1 } },
  { name: 'mid', provider: 'flaky', upstreamName: 'z', price: { input: 0, output: 0.1 } },
];

describe('fallbacks admitted as fallbacks', () => {
  it('count once against a rate limit: one request from the client under rpm 1 is served by its fallback', async () => {
    await withHarness(
      (simUrl) => ({
        providers: { openai: { type: 'openai', baseUrl: `${simUrl}/v1`, apiKey: 'sk-sim-openai' }, flaky: { type: 'openai-compatible', baseUrl: failingUrl, models: ['team-gpt'] } },
        fallbacks: { 'team-gpt': ['gpt-4o-mini'] },
        rateLimits: [{ id: 'per-user', scope: 'user:*', rpm: 1 }],
      }),
      async (h, c) => {
        const res = await c.chat.completions.create({ model: 'team-gpt', messages: [{ role: 'user', content: 'hi' }] });
        expect(res.model).toBe('gpt-4o-mini');
        expect((await h.events()).map((e) => [e.status, e.modelServed])).toEqual([[200, 'gpt-4o-mini']]);
      },
    );
  });

  it('are not routed, and say nothing about routing', async () => {
    await withHarness(
      (simUrl) => ({
        providers: { openai: { type: 'openai', baseUrl: `${simUrl}/v1`, apiKey: 'sk-sim-openai' }, flaky: { type: 'openai-compatible', baseUrl: failingUrl, models: ['team-gpt'] } },
        fallbacks: { 'team-gpt': ['gpt-5'] },
        routing: { mode: 'on', ladders: { house: ['gpt-5', 'gpt-5-mini'] } },
      }),
      async (_h, c) => {
        const { data, response } = await c.chat.completions.create({ model: 'team-gpt', messages: [{ role: 'user', content: 'What is the capital of France?' }] }).withResponse();
        expect([data.model, response.headers.get('x-goodhart-route-reason'), response.headers.get('x-goodhart-routed-from')]).toEqual(['gpt-5', null, null]);
      },
    );
  });

  it('hold a hard cap when a routed request falls back through another fallback to the model asked for', async () => {
    // dear → routed to cheap → cheap fails → mid (re-admitted, releasing dear's reservation) fails → dear again.
    await withHarness(
      (simUrl) => ({
        providers: { openai: { type: 'openai', baseUrl: `${simUrl}/v1`, apiKey: 'sk-sim-openai' }, flaky: { type: 'openai-compatible', baseUrl: failingUrl, models: [] } },
        models: priced,
        fallbacks: { cheap: ['mid'] },
        routing: { mode: 'on', ladders: { house: ['dear', 'cheap'] }, thresholds: [0.95] },
        budgets: [{ id: 'org-day', scope: 'org', amount: 0.025, period: 'day', thresholds: [] }],
      }),
      async (h, c) => {
        const ask = () => c.chat.completions.create({ model: 'dear', max_tokens: 1000, messages: [{ role: 'user', content: 'What is the capital of France? [[sim:tokens=1000]]' }] });
        const results = await Promise.allSettled(Array.from({ length: 10 }, ask));
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
        expect((await h.events()).reduce((a, e) => a + (e.costUsd ?? 0), 0)).toBeCloseTo(0.02, 9);
      },
    );
  });

  it('leave a request a budget downgraded, then routing stepped down, saying it was not routed when the downgrade model served it', async () => {
    // dear → downgraded by the budget to mid → routed to cheap → cheap fails → mid, the model routing stepped down from.
    await withHarness(
      (simUrl) => ({
        providers: { openai: { type: 'openai', baseUrl: `${simUrl}/v1`, apiKey: 'sk-sim-openai' }, flaky: { type: 'openai-compatible', baseUrl: failingUrl, models: [] } },
        models: [...priced.filter((m) => m.name !== 'mid'), { name: 'mid', provider: 'openai', upstreamName: 'gpt-4.1-mini', price: { input: 0, output: 1 } }],
        routing: { mode: 'on', ladders: { house: ['dear', 'mid', 'cheap'] }, thresholds: [0.95, 0.9] },
        budgets: [{ id: 'org-day', scope: 'org', amount: 1, period: 'day', thresholds: [], action: 'downgrade', downgradeAt: 0.5, downgradeTo: 'mid' }],
      }),
      async (h, c) => {
        const { data, response } = await c.chat.completions
          .create({ model: 'dear', max_tokens: 1000, messages: [{ role: 'user', content: 'What is the capital of France?' }] })
          .withResponse();
        expect(data.model).toBe('gpt-4.1-mini');
        expect(response.headers.get('x-goodhart-downgraded')).toMatch(/^dear -> mid;/);
        expect(response.headers.get('x-goodhart-routed-from')).toBeNull();
        expect((await h.events()).map((e) => [e.modelRequested, e.modelServed, e.fallbackFrom])).toEqual([['dear', 'gpt-4.1-mini', 'flaky/y: upstream_5xx (503)']]);
      },
    );
  });

  it('are not sent when the client left while one waited for its admission', async () => {
    await withHarness(
      (simUrl) => ({
        providers: { openai: { type: 'openai', baseUrl: `${simUrl}/v1`, apiKey: 'sk-sim-openai' }, flaky: { type: 'openai-compatible', baseUrl: failingUrl, models: [] } },
        models: priced,
        fallbacks: { team: ['dear'] },
        budgets: [{ id: 'org-day', scope: 'org', amount: 0.025, period: 'day', thresholds: [] }],
      }),
      async (h, c) => {
        // Two slow requests hold $0.02 of the $0.025: the fallback's $0.01 waits for room.
        const slow = [1, 2].map(() => c.chat.completions.create({ model: 'dear', max_tokens: 1000, messages: [{ role: 'user', content: 'x [[sim:ttft=1500,tokens=10]]' }] }));
        await new Promise((r) => setTimeout(r, 200));
        const ac = new AbortController();
        const third = c.chat.completions.create({ model: 'team', max_tokens: 1000, messages: [{ role: 'user', content: 'y' }] }, { signal: ac.signal }).catch((e: Error) => e);
        setTimeout(() => ac.abort(), 400);
        expect(await third).toBeInstanceOf(OpenAI.APIUserAbortError);
        await Promise.all(slow);
        const t = (await h.events()).find((e) => e.modelRequested === 'team')!;
        expect([t.modelServed, t.clientAborted, t.costUsd]).toEqual([null, true, 0]);
      },
    );
  });
});

describe('an error body in a coding it is not in', () => {
  it("says the provider's body was not what its Content-Encoding said", async () => {
    const bad = createServer((req, res) => {
      req.resume();
      res.writeHead(500, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      res.end('{"error":{"message":"plain text, not gzip"}}');
    });
    await new Promise<void>((r) => bad.listen(0, '127.0.0.1', r));
    const badUrl = `http://127.0.0.1:${(bad.address() as { port: number }).port}/v1`;
    try {
      await withHarness(
        () => ({ providers: { flaky: { type: 'openai-compatible', baseUrl: badUrl, models: ['x'] } } }),
        async (_h, c) => {
          const err = (await c.chat.completions.create({ model: 'x', messages: [{ role: 'user', content: 'y' }] }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
          expect(err.status).toBe(500);
          expect(err.message).toMatch(/answered 500, but its error body could not be read: The provider's response is not valid gzip data, as its Content-Encoding header says \(incorrect header check\)\. Operators/);
        },
      );
    } finally {
      await new Promise((r) => bad.close(r));
    }
  });
});
