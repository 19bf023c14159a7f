import { createServer, type Server } from 'node:http';
import OpenAI from 'openai';
import { configSchema } from '../config/schema.js';
import { checkFallbacks, ModelRouter } from './router.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../testing/harness.js';

/** An OpenAI-compatible server that is always overloaded. */
let failing: Server;
let failingUrl: string;
let hits = 0;
let h: Harness;

beforeAll(async () => {
  failing = createServer((req, res) => {
    hits++;
    req.resume();
    res.writeHead(503, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message: 'overloaded', type: 'server_error', code: null, param: null } }));
  });
  await new Promise<void>((r) => failing.listen(0, '127.0.0.1', r));
  failingUrl = `http://127.0.0.1:${(failing.address() as { port: number }).port}/v1`;
  h = await startHarness({
    config: (simUrl) => ({
      providers: {
        openai: { type: 'openai', baseUrl: `${simUrl}/v1`, apiKey: 'sk-sim-openai' },
        anthropic: { type: 'anthropic', baseUrl: simUrl, apiKey: 'sk-ant-sim' },
        flaky: { type: 'openai-compatible', baseUrl: failingUrl, models: ['team-gpt', 'cheap-gpt', 'local-*'] },
        gone: { type: 'openai-compatible', baseUrl: 'http://127.0.0.1:9/v1', models: ['old-gpt'] },
        gpu: { type: 'openai-compatible', baseUrl: `${simUrl}/v1`, apiKey: 'sk-sim-openai', models: [] },
      },
      // A self-hosted model priced in config, served by the simulator under another name.
      // The same model hosted on a second provider at another price.
      models: [
        // Routing's cheaper model needs a price (savings are a price difference).
        { name: 'cheap-gpt', provider: 'flaky', price: { input: 0.1, output: 0.4 } },
        { name: 'tiny-local', provider: 'openai', upstreamName: 'gpt-4o-mini', price: { input: 0.01, output: 0.02 } },
        { name: 'tiny-local', provider: 'gpu', upstreamName: 'gpt-4o-mini', price: { input: 100, output: 100 } },
      ],
      fallbacks: {
        'team-gpt': ['gpt-4o-mini'],
        'old-gpt': ['gpt-4o-mini'],
        'local-big': ['tiny-local'],
      },
      // Simple requests for gpt-5 step down to cheap-gpt, whose provider is down and which has no fallback.
      routing: { mode: 'on', ladders: { house: ['gpt-5', 'cheap-gpt'] } },
    }),
  });
});
afterAll(async () => {
  await h.close();
  await new Promise((r) => failing.close(r));
});

describe('fallbacks', () => {
  it('serves a 503 from an equivalent model on the same wire, streaming included', async () => {
    const before = hits;
    const res = await h.openai.chat.completions.create({ model: 'team-gpt', messages: [{ role: 'user', content: 'hi' }] });
    expect(res.model).toBe('gpt-4o-mini');
    expect(hits).toBe(before + 1);
    const ev = (await h.events()).at(-1)!;
    expect(ev).toMatchObject({
      status: 200,
      provider: 'openai',
      modelRequested: 'team-gpt',
      modelServed: 'gpt-4o-mini',
      errorClass: null,
      fallbackFrom: 'flaky/team-gpt: upstream_5xx (503)',
    });
    expect(ev.inputTokens).toBe(res.usage!.prompt_tokens);

    const stream = await h.openai.chat.completions.create({
      model: 'team-gpt',
      stream: true,
      messages: [{ role: 'user', content: 'hi' }],
    });
    let chunks = 0;
    for await (const chunk of stream) {
      expect(chunk.choices).toHaveLength(1); // the usage chunk Goodhart asked for stays hidden after a fallback too
      chunks++;
    }
    expect(chunks).toBeGreaterThan(1);
    expect((await h.events()).at(-1)!.usageEstimated).toBe(false);
  });

  it('falls back when the provider cannot be reached', async () => {
    const res = await h.openai.chat.completions.create({ model: 'old-gpt', messages: [{ role: 'user', content: 'hi' }] });
    expect(res.model).toBe('gpt-4o-mini');
    expect((await h.events()).at(-1)!.fallbackFrom).toBe('gone/old-gpt: upstream_unreachable');
  });

  it('passes the error through when no fallback is configured', async () => {
    const client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: h.key, maxRetries: 0 });
    const err = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x [[sim:status=503]]' }] })
      .catch((e: unknown) => e);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    expect((await h.events()).at(-1)).toMatchObject({ status: 503, errorClass: 'upstream_5xx' });
    expect((await h.events()).at(-1)!.fallbackFrom).toBeUndefined();
  });

  it('serves a routed request from the model asked for when the cheaper one fails, and says it was not routed', async () => {
    const before = hits;
    const { data, response } = await h.openai.chat.completions
      .create({ model: 'gpt-5', messages: [{ role: 'user', content: 'What is the capital of France?' }] })
      .withResponse();
    expect(hits).toBe(before + 1); // cheap-gpt was tried first
    expect(data.model).toBe('gpt-5');
    expect(response.headers.get('x-goodhart-routed-from')).toBeNull();
    // The reason says what happened: routed, and back on the model asked for.
    expect(response.headers.get('x-goodhart-route-reason')).toMatch(/^simple; score=0\.\d+; .*; tiers=1; ladder end; fell back to gpt-5 \(cheap-gpt: upstream_5xx \(503\)\)$/);
    const ev = (await h.events()).at(-1)!;
    expect(ev).toMatchObject({ status: 200, modelRequested: 'gpt-5', modelServed: 'gpt-5', fallbackFrom: 'flaky/cheap-gpt: upstream_5xx (503)' });
    // Priced as gpt-5 ($1.25 / $10 per million), the model that served it.
    expect(ev.costUsd).toBeCloseTo((ev.inputTokens * 1.25 + ev.outputTokens * 10) / 1e6, 12);
  });

  it('prices a fallback to a model priced in config at that price', async () => {
    const res = await h.openai.chat.completions.create({ model: 'local-big', messages: [{ role: 'user', content: 'hi' }] });
    expect(res.model).toBe('gpt-4o-mini');
    const ev = (await h.events()).at(-1)!;
    expect(ev.fallbackFrom).toBe('flaky/local-big: upstream_5xx (503)');
    expect(ev.inputTokens).toBeGreaterThan(0);
    expect(ev.costUsd).toBeCloseTo((ev.inputTokens * 0.01 + ev.outputTokens * 0.02) / 1e6, 15);

    // Named with its provider, it has the same price.
    await h.openai.chat.completions.create({ model: 'openai/tiny-local', messages: [{ role: 'user', content: 'hi' }] });
    const named = (await h.events()).at(-1)!;
    expect(named.inputTokens).toBeGreaterThan(0);
    expect(named.costUsd).toBeCloseTo((named.inputTokens * 0.01 + named.outputTokens * 0.02) / 1e6, 15);
    // Named with the other provider, the other price (it was priced by whichever entry came last).
    await h.openai.chat.completions.create({ model: 'gpu/tiny-local', messages: [{ role: 'user', content: 'hi' }] });
    const other = (await h.events()).at(-1)!;
    expect(other.costUsd).toBeCloseTo(((other.inputTokens + other.outputTokens) * 100) / 1e6, 12);
  });
});

describe('fallbacks in config', () => {
  const check = (fallbacks: Record<string, string[]>): void => {
    const config = configSchema.parse({
      providers: {
        openai: { type: 'openai', baseUrl: 'http://127.0.0.1:9/v1', apiKey: 'sk' },
        anthropic: { type: 'anthropic', baseUrl: 'http://127.0.0.1:9', apiKey: 'sk-ant' },
      },
      fallbacks,
    });
    checkFallbacks(config, new ModelRouter(config));
  };

  it('are refused at start when they could never be used', () => {
    expect(() => check({ 'gpt-4o': ['gpt-4o-mini'], 'claude-sonnet-4-5': ['claude-haiku-4-5'] })).not.toThrow();
    expect(() => check({ 'gpt-4o': ['claude-sonnet-4-5'] })).toThrow(/fallbacks\.gpt-4o: "claude-sonnet-4-5" speaks the anthropic API and "gpt-4o" the openai API/);
    expect(() => check({ 'gpt-4o': ['no-such-model'] })).toThrow(/fallbacks\.gpt-4o: no configured provider serves "no-such-model"/);
    expect(() => check({ 'no-such-model': ['gpt-4o'] })).toThrow(/fallbacks\.no-such-model: no configured provider serves "no-such-model", so its fallbacks would never be tried/);
  });
});
