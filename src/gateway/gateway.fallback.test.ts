import { createServer, type Server } from 'node:http';
import OpenAI from 'openai';
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
        flaky: { type: 'openai-compatible', baseUrl: failingUrl, models: ['team-gpt'] },
        gone: { type: 'openai-compatible', baseUrl: 'http://127.0.0.1:9/v1', models: ['old-gpt'] },
      },
      fallbacks: {
        'team-gpt': ['claude-haiku-4-5', 'gpt-4o-mini'],
        'old-gpt': ['gpt-4o-mini'],
      },
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
});
