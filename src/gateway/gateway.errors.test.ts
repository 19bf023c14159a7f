import { connect, createServer } from 'node:net';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../testing/harness.js';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitFor<T>(get: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const v = await get();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('not found in time');
}

let h: Harness;
let deadPort: number;
beforeAll(async () => {
  deadPort = await freePort();
  h = await startHarness({
    config: (simUrl) => ({
      server: { bodyLimitBytes: 64 * 1024 },
      providers: {
        openai: { type: 'openai', baseUrl: `${simUrl}/v1`, apiKey: 'sk-sim-openai' },
        anthropic: { type: 'anthropic', baseUrl: simUrl, apiKey: 'sk-ant-sim', timeoutMs: 300 },
        gone: { type: 'openai-compatible', baseUrl: `http://127.0.0.1:${deadPort}/v1`, models: ['local-*'] },
      },
    }),
  });
});
afterAll(async () => {
  await h.close();
});

const post = (path: string, body: string, headers: Record<string, string> = {}) =>
  request(h.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${h.key}`, ...headers },
    body,
  });

describe('errors in the wire format the client expects', () => {
  it('401 for an unknown key, in OpenAI format via the OpenAI SDK', async () => {
    const client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: 'gh_not-a-real-key', maxRetries: 0 });
    const err = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((err as InstanceType<typeof OpenAI.AuthenticationError>).message).toMatch(/Unknown or revoked Goodhart key/);
  });

  it('401 for a provider key sent by mistake, in Anthropic format via the Anthropic SDK', async () => {
    const client = new Anthropic({ baseURL: h.url, apiKey: 'sk-ant-sim', maxRetries: 0 });
    const err = await client.messages
      .create({ model: 'claude-haiku-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.AuthenticationError);
    const body = (err as InstanceType<typeof Anthropic.AuthenticationError>).error as { type: string; error: { type: string; message: string } };
    expect(body.type).toBe('error');
    expect(body.error.type).toBe('authentication_error');
    expect(body.error.message).toMatch(/provider API key/);
  });

  it('takes the Goodhart key from x-api-key when a Bearer token that is not one is sent too', async () => {
    // A client with both headers (a proxy's token in Authorization, the Goodhart key in x-api-key).
    const body = JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
    const send = (apiKey: string) =>
      request(`${h.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', authorization: 'Bearer corp-proxy-token-123', 'x-api-key': apiKey }, body });
    const ok = await send(h.key);
    expect([ok.statusCode, ((await ok.body.json()) as { type: string }).type]).toEqual([200, 'message']);
    const bad = await send('gh_not_a_key_at_all');
    expect([bad.statusCode, ((await bad.body.json()) as { error: { type: string } }).error.type]).toEqual([401, 'authentication_error']);
  });

  it('refuses a request without a valid key before reading its body', async () => {
    // Headers announce 60 KB (under the 64 KB limit); 1 KB is sent and the rest never comes: the answer can only be the key check's.
    const { port } = new URL(h.url);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer gh_unknown\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n`);
        socket.write('{"model":"gpt-4o-mini","messages":[{"role":"user","content":"' + 'x'.repeat(1000));
      });
      let got = '';
      socket.on('data', (d) => {
        got += String(d);
        if (got.includes('\r\n\r\n{')) {
          socket.destroy();
          resolve(got);
        }
      });
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 401 /);
    expect(answer).toContain('invalid_api_key');
  });

  it('says what to fix for headers too large and bytes that are not HTTP, and keeps serving', async () => {
    const { port } = new URL(h.url);
    const raw = (text: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), '127.0.0.1', () => socket.end(text));
        let got = '';
        socket.on('data', (d) => (got += String(d)));
        socket.on('close', () => resolve(got));
        socket.on('error', reject);
      });
    const huge = await raw(`GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(huge).toMatch(/^HTTP\/1\.1 431 /);
    expect(JSON.parse(huge.slice(huge.indexOf('\r\n\r\n') + 4))).toMatchObject({ error: { code: 'headers_too_large', type: 'invalid_request_error' } });
    const garbage = await raw('\u0000\u0001 not http at all\r\n\r\n');
    expect(garbage).toMatch(/^HTTP\/1\.1 400 /);
    expect(garbage).toContain('is not valid HTTP/1.1');
    expect((await request(`${h.url}/healthz`)).statusCode).toBe(200);
  });

  it('a revoked key stops working', async () => {
    const key = await h.addKey('bob');
    const client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: key, maxRetries: 0 });
    await client.embeddings.create({ model: 'text-embedding-3-small', input: 'ok' });
    const keys = await h.store.listKeys();
    await h.store.revokeKey(keys.find((k) => k.userId === 'bob')!.id, Date.now());
    await h.gateway.keys.refresh();
    await expect(client.embeddings.create({ model: 'text-embedding-3-small', input: 'ok' })).rejects.toBeInstanceOf(
      OpenAI.AuthenticationError,
    );
  });

  it('400 for malformed JSON, 400 for a body without a model; the server keeps serving', async () => {
    let res = await post('/v1/chat/completions', '{"model": "gpt-4o-mini", "messages": [');
    expect(res.statusCode).toBe(400);
    const body = (await res.body.json()) as { error: { type: string; message: string } };
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.message).toMatch(/not valid JSON/);

    res = await post('/v1/messages', '[1,2,3]');
    expect(res.statusCode).toBe(400);
    expect(((await res.body.json()) as { type: string }).type).toBe('error');

    res = await post('/v1/messages', '{"max_tokens": 5, "messages": []}');
    expect(res.statusCode).toBe(400);
    expect(JSON.stringify(await res.body.json())).toMatch(/needs a \\"model\\"/);

    const deep = '['.repeat(200_00) + ']'.repeat(200_00);
    res = await post('/v1/chat/completions', deep);
    expect([400, 413]).toContain(res.statusCode);
    await res.body.dump();

    const ok = await h.openai.embeddings.create({ model: 'text-embedding-3-small', input: 'still alive' });
    expect(ok.data).toHaveLength(1);
  });

  it('reads compressed and BOM-prefixed bodies, and refuses an encoding it cannot read or a body too large once decoded', async () => {
    const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'zipped [[sim:tokens=7]]' }] });
    for (const [encoding, bytes] of [['gzip', gzipSync(body)], ['deflate', deflateSync(body)], ['br', brotliCompressSync(body)], ['identity', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(body)])]] as const) {
      const res = await post('/v1/chat/completions', bytes as unknown as string, { 'content-encoding': encoding });
      const json = (await res.body.json()) as { usage: { completion_tokens: number } };
      expect([encoding, res.statusCode, json.usage.completion_tokens]).toEqual([encoding, 200, 7]);
    }
    const zstd = await post('/v1/chat/completions', body, { 'content-encoding': 'zstd' });
    expect(zstd.statusCode).toBe(415);
    expect(((await zstd.body.json()) as { error: { message: string } }).error.message).toMatch(/Content-Encoding "zstd" is not supported/);
    // 1 MB of JSON in 1 KB of gzip: the 64 KB limit holds for what it decodes to.
    const bomb = gzipSync(JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x'.repeat(1 << 20) }] }));
    const big = await post('/v1/chat/completions', bomb as unknown as string, { 'content-encoding': 'gzip' });
    expect(big.statusCode).toBe(413);
    expect(((await big.body.json()) as { error: { message: string } }).error.message).toMatch(/once decompressed/);
    const broken = await post('/v1/chat/completions', 'not gzip at all', { 'content-encoding': 'gzip' });
    expect(broken.statusCode).toBe(400);
    await broken.body.dump();
  });

  it('413 for a body over the configured limit, before anything is forwarded', async () => {
    const before = h.sim.requests;
    const big = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x'.repeat(100 * 1024) }] });
    const res = await post('/v1/chat/completions', big);
    expect(res.statusCode).toBe(413);
    const body = (await res.body.json()) as { error: { message: string } };
    expect(body.error.message).toMatch(/larger than this gateway accepts \(65536 bytes\)/);
    expect(h.sim.requests).toBe(before);
  });

  it('404 for an unknown model, and 400 for a model on the other wire', async () => {
    const err = await h.openai.chat.completions
      .create({ model: 'gpt-99-imaginary-preview', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    // gpt-* is routed to OpenAI, which answers 404 model_not_found itself: passed through with its status.
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(404);

    const unknown = await h.openai.chat.completions
      .create({ model: 'mistral-large', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
    expect((unknown as Error).message).toMatch(/not served by any configured provider/);

    const wrongWire = await h.openai.chat.completions
      .create({ model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(wrongWire).toBeInstanceOf(OpenAI.BadRequestError);
    expect((wrongWire as Error).message).toMatch(/POST \/v1\/messages/);
  });

  it('400 for a model name too long to be one, neither kept nor echoed (unknown names are cached)', async () => {
    const model = `m-${'x'.repeat(60_000)}`;
    const res = await fetch(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'x' }] }),
    });
    const text = await res.text();
    expect(res.status).toBe(400);
    expect(text.length).toBeLessThan(400);
    expect(JSON.parse(text).error.message).toMatch(/^The model name is 60002 characters long; model names are at most 256\./);
    const ev = (await h.events()).at(-1)!;
    expect([ev.status, ev.modelRequested!.length]).toEqual([400, 256]);
  });

  it("names the refused request's event in x-goodhart-request-id, as an answered request's", async () => {
    const res = await post('/v1/chat/completions', JSON.stringify({ model: 'mistral-large', messages: [{ role: 'user', content: 'x' }] }));
    expect(res.statusCode).toBe(404);
    await res.body.dump();
    const id = res.headers['x-goodhart-request-id'];
    expect(typeof id).toBe('string');
    const ev = await waitFor(async () => (await h.events()).find((e) => e.id === id));
    expect([ev.status, ev.modelRequested, ev.errorClass]).toEqual([404, 'mistral-large', 'model_not_found']);
  });

  it('answers Anthropic clients in their format behind a doubled /v1, and on any route they call', async () => {
    // ANTHROPIC_BASE_URL=http://HOST:PORT/v1, the mistake the README warns about.
    const doubled = new Anthropic({ baseURL: `${h.url}/v1`, apiKey: h.key, maxRetries: 0 });
    const err = await doubled.messages.create({ model: 'claude-haiku-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.NotFoundError);
    const body = (err as InstanceType<typeof Anthropic.APIError>).error as { type: string; error: { type: string; message: string } };
    expect(body.type).toBe('error');
    expect(body.error.type).toBe('not_found_error');
    expect(body.error.message).toMatch(/\/v1 twice.*no \/v1\) for Anthropic clients/);
    const wrongKey = new Anthropic({ baseURL: h.url, apiKey: 'gh_not_a_key', maxRetries: 0 });
    const denied = await wrongKey.models.list().catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(Anthropic.AuthenticationError);
    expect(((denied as InstanceType<typeof Anthropic.APIError>).error as { error: { type: string } }).error.type).toBe('authentication_error');
    // An OpenAI route that merely ends in /messages is not Anthropic's.
    const threads = await request(`${h.url}/v1/threads/t1/messages`, { method: 'GET' });
    const openaiShaped = (await threads.body.json()) as { type?: string; error: { code: string } };
    expect([openaiShaped.type, openaiShaped.error.code]).toEqual([undefined, 'not_found']);
  });

  it('502 when the provider cannot be reached, recorded on the event', async () => {
    const err = await h.openai.chat.completions
      .create({ model: 'local-llama', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    expect((err as Error).message).toMatch(/could not be reached/);
    const ev = (await h.events()).at(-1)!;
    expect(ev.status).toBe(502);
    expect(ev.errorClass).toBe('upstream_unreachable');
    expect(ev.costUsd).toBe(0);
  });

  it('502 that says the provider closed the connection, when it did so before answering', async () => {
    const err = await h.openai.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x [[sim:die-after=0]]' }] }, { maxRetries: 0 })
      .catch((e: unknown) => e);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    expect((err as Error).message).toMatch(/closed the connection before answering/);
  });

  it('504 when the provider does not answer in time', async () => {
    const err = await h.anthropic.messages
      .create({ model: 'claude-haiku-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'x [[sim:hang]]' }] })
      .catch((e: unknown) => e);
    expect((err as InstanceType<typeof Anthropic.APIError>).status).toBe(504);
    const body = (err as InstanceType<typeof Anthropic.APIError>).error as { error: { type: string } };
    expect(body.error.type).toBe('timeout_error');
  });

  it('passes provider errors through with their status and body', async () => {
    const err = await h.openai.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x [[sim:status=429]]' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    const ev = (await h.events()).at(-1)!;
    expect(ev.status).toBe(429);
    expect(ev.errorClass).toBe('upstream_rate_limited');

    const err2 = await h.anthropic.messages
      .create({ model: 'claude-haiku-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'x [[sim:status=529]]' }] })
      .catch((e: unknown) => e);
    expect((err2 as InstanceType<typeof Anthropic.APIError>).status).toBe(529);
    expect(((err2 as InstanceType<typeof Anthropic.APIError>).error as { error: { type: string } }).error.type).toBe(
      'overloaded_error',
    );
  });

  it('never leaks provider keys into responses or events', async () => {
    const res = await post('/v1/chat/completions', JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }));
    const text = JSON.stringify(res.headers) + (await res.body.text());
    expect(text).not.toContain('sk-sim-openai');
    const events = JSON.stringify(await h.events());
    expect(events).not.toContain('sk-sim-openai');
    expect(events).not.toContain('sk-ant-sim');
    expect(events).not.toContain(h.key);
  });

  it('answers unknown routes with 404 in the right format and serves /healthz and /v1/models', async () => {
    const res = await request(`${h.url}/v1/fine_tuning/jobs`, { method: 'GET' });
    expect(res.statusCode).toBe(404);
    expect(((await res.body.json()) as { error: { message: string } }).error.message).toMatch(/No route GET \/v1\/fine_tuning\/jobs\. Goodhart serves POST \/v1\/chat\/completions/);
    // A mistyped dashboard or admin path is pointed at its own API, not the providers'.
    for (const [path, hint] of [['/api/team/core', /dashboard API serves .*\/api\/teams\/TEAM/], ['/admin/budgets', /admin API is under \/admin\/v1/]] as const) {
      const miss = await request(`${h.url}${path}`, { method: 'GET' });
      expect(miss.statusCode).toBe(404);
      expect(((await miss.body.json()) as { error: { message: string } }).error.message).toMatch(hint);
    }
    // Paths the router refuses before any route: in the client's format, saying what to fix; ids up to 128 characters
    // (ID_RULE) reach their route, whose check names the rule.
    const anthropicHeaders = { 'x-api-key': h.key, 'anthropic-version': '2023-06-01' };
    const badUrl = await request(`${h.url}/v1/models/%ff`, { headers: anthropicHeaders });
    expect([badUrl.statusCode, await badUrl.body.json()]).toEqual([400, { type: 'error', error: { type: 'invalid_request_error', message: expect.stringMatching(/^The path \/v1\/models\/%ff has a %-escape that is not UTF-8 text\. Percent-encode/) } }]);
    const long = await request(`${h.url}/admin/v1/teams/${'t'.repeat(2000)}`);
    expect([long.statusCode, ((await long.body.json()) as { error: { message: string; type: string } }).error]).toEqual([414, { message: expect.stringMatching(/^A part of the path \/admin\/v1\/teams\/t+… is longer than 1024 characters/), type: 'invalid_request_error', param: null, code: 'invalid_request' }]);
    const id128 = await request(`${h.url}/admin/v1/teams/${'t'.repeat(128)}`);
    expect(id128.statusCode).toBe(401);
    const id129 = await request(`${h.url}/api/teams/${'t'.repeat(129)}`);
    expect(((await id129.body.json()) as { error: { message: string } }).error.message).not.toMatch(/FST_ERR/);
    const health = await request(`${h.url}/healthz`);
    expect(await health.body.json()).toEqual({ status: 'ok' });
    const models = await h.openai.models.list();
    const ids = models.data.map((m) => m.id);
    expect(ids).toContain('gpt-4o-mini');
    // Each client is offered what it can call on its own API.
    expect(ids.filter((id) => id.startsWith('claude-'))).toEqual([]);
    const claudeIds = (await h.anthropic.models.list()).data.map((m) => m.id);
    expect(claudeIds).toContain('claude-haiku-4-5');
    expect(claudeIds.filter((id) => id.startsWith('gpt-'))).toEqual([]);
    await expect(h.openai.models.retrieve('claude-haiku-4-5')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    // models.retrieve, in each SDK's shape; a model not listed is a 404 in the caller's format.
    expect(await h.openai.models.retrieve('gpt-4o-mini')).toMatchObject({ id: 'gpt-4o-mini', object: 'model' });
    expect(await h.anthropic.models.retrieve('claude-haiku-4-5')).toMatchObject({ id: 'claude-haiku-4-5', type: 'model' });
    await expect(h.openai.models.retrieve('no-such-model')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(h.anthropic.models.retrieve('no-such-model')).rejects.toBeInstanceOf(Anthropic.NotFoundError);
  });
});

describe('a client that leaves while its request waits for admission', () => {
  it('is not sent upstream, is recorded as client_aborted, and its reservation is settled with no usage', async () => {
    const settled: unknown[] = [];
    const slow = await startHarness({
      // A budget near its limit holds a request while others finish (up to 15 s): here, 400 ms.
      policy: {
        admit: () =>
          new Promise((resolve) =>
            setTimeout(() => resolve({ headers: {}, settle: (outcome) => void settled.push(outcome.usage) }), 400),
          ),
      },
    });
    try {
      const before = slow.sim.requests;
      const controller = new AbortController();
      const sent = fetch(`${slow.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${slow.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
        signal: controller.signal,
      });
      setTimeout(() => controller.abort(), 100);
      await expect(sent).rejects.toThrow();
      await new Promise((r) => setTimeout(r, 900));
      expect(slow.sim.requests).toBe(before);
      expect(settled).toEqual([null]);
      const events = await slow.store.listEvents({});
      expect(events.map((e) => [e.errorClass, e.inputTokens, e.outputTokens])).toEqual([['client_aborted', 0, 0]]);
    } finally {
      await slow.close();
    }
  });
});
