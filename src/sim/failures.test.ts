import Anthropic from '@anthropic-ai/sdk';
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { request } from 'node:http';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimProvider, type SimProvider } from './index.js';

let sim: SimProvider;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  sim = await startSimProvider();
  openai = new OpenAI({ baseURL: sim.url + '/v1', apiKey: 'sk-sim-openai', maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: sim.url, apiKey: 'sk-ant-sim', maxRetries: 0 });
});
afterAll(() => sim.close());

const chat = (content: string, extra: Partial<OpenAI.ChatCompletionCreateParamsNonStreaming> = {}) =>
  openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }], ...extra });
const message = (content: string) =>
  anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 1000, messages: [{ role: 'user', content }] });

describe('status directive', () => {
  it('OpenAI: any status with an OpenAI error body; retry-after on 429', async () => {
    await expect(chat('boom [[sim:status=503]]')).rejects.toMatchObject({ status: 503, type: 'server_error', code: null, param: null });
    const limited = await chat('slow down [[sim:status=429,retry-after=7]]').catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    expect(limited).toMatchObject({ status: 429, code: 'rate_limit_exceeded' });
    expect((limited as InstanceType<typeof OpenAI.APIError>).headers?.get('retry-after')).toBe('7');
    await expect(chat('bad [[sim:status=400]]')).rejects.toMatchObject({ status: 400, type: 'invalid_request_error' });
  });

  it('Anthropic: the error type that matches the status, and request_id', async () => {
    const cases: Array<[number, string]> = [
      [400, 'invalid_request_error'],
      [401, 'authentication_error'],
      [403, 'permission_error'],
      [404, 'not_found_error'],
      [429, 'rate_limit_error'],
      [500, 'api_error'],
      [529, 'overloaded_error'],
    ];
    for (const [status, type] of cases) {
      const err = (await message(`x [[sim:status=${status}]]`).catch((e: unknown) => e)) as InstanceType<typeof Anthropic.APIError>;
      expect(err.status).toBe(status);
      expect(err.error).toMatchObject({ type: 'error', error: { type } });
      expect((err.error as { request_id: string }).request_id).toMatch(/^req_011C/);
      expect(err.requestID).toBe((err.error as { request_id: string }).request_id);
      if (status === 429) expect(err.headers?.get('retry-after')).toBe('1');
    }
  });

  it('errors a stream request before it starts, and reads only the LAST user message', async () => {
    await expect(
      anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 100, stream: true, messages: [{ role: 'user', content: '[[sim:status=529]]' }] }),
    ).rejects.toMatchObject({ status: 529 });
    const ok = await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'user', content: 'earlier [[sim:status=500]]' },
        { role: 'assistant', content: 'fine' },
        { role: 'user', content: 'latest' },
      ],
    });
    expect(ok.choices[0]?.finish_reason).toBe('stop');
  });

  it('rejects unknown directives with a 400', async () => {
    await expect(chat('[[sim:explode]]')).rejects.toMatchObject({ status: 400, message: expect.stringContaining('Unknown sim directive') as unknown });
  });
});

describe('tokens directive', () => {
  it('emits exactly N tokens, streamed or not', async () => {
    const plain = await chat('[[sim:tokens=37]]');
    expect(plain.usage?.completion_tokens).toBe(37);
    expect(countTokens(plain.choices[0]?.message.content ?? '')).toBe(37);
    const zero = await chat('[[sim:tokens=0]]');
    expect(zero.choices[0]?.message.content).toBe('');
    expect(zero.usage?.completion_tokens).toBe(0);
    const stream = await anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 1000, stream: true, messages: [{ role: 'user', content: 'go [[sim:tokens=123]]' }] });
    let text = '';
    let reported = 0;
    for await (const e of stream) {
      if (e.type === 'content_block_delta' && e.delta.type === 'text_delta') text += e.delta.text;
      if (e.type === 'message_delta') reported = e.usage.output_tokens;
    }
    expect(countTokens(text)).toBe(123);
    expect(reported).toBe(123);
  });
});

describe('die-after directive', () => {
  it('OpenAI: N content chunks, then the socket dies: no usage, no [DONE]', async () => {
    const stream = await openai.chat.completions.create({
      model: 'gpt-4o',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'cut me [[sim:die-after=3,tokens=60]]' }],
    });
    const contents: string[] = [];
    let usageSeen = false;
    const err = await (async () => {
      for await (const chunk of stream) {
        const c = chunk.choices[0]?.delta.content;
        if (c) contents.push(c);
        if (chunk.usage) usageSeen = true;
      }
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(contents).toHaveLength(3);
    expect(usageSeen).toBe(false);
    // what the gateway must estimate: the tokens of the text that did arrive
    expect(countTokens(contents.join(''))).toBeGreaterThanOrEqual(3);
  });

  it('Anthropic: message_start and N deltas, never message_delta or message_stop', async () => {
    const stream = await anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 1000, stream: true, messages: [{ role: 'user', content: '[[sim:die-after=2]]' }] });
    const types: string[] = [];
    const err = await (async () => {
      for await (const e of stream) types.push(e.type);
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(types.filter((t) => t === 'content_block_delta')).toHaveLength(2);
    expect(types[0]).toBe('message_start');
    expect(types).not.toContain('message_delta');
    expect(types).not.toContain('message_stop');
  });

  it('non-stream: the connection dies without an answer', async () => {
    await expect(chat('[[sim:die-after=0]]')).rejects.toBeInstanceOf(OpenAI.APIConnectionError);
  });
});

describe('timing', () => {
  it('ttft delays the first byte; interTokenMs paces chunks', async () => {
    let t = performance.now();
    await chat('[[sim:ttft=150,tokens=5]]');
    expect(performance.now() - t).toBeGreaterThanOrEqual(145);

    const paced = await startSimProvider({ firstTokenMs: 40, interTokenMs: 15 });
    try {
      const client = new OpenAI({ baseURL: paced.url + '/v1', apiKey: 'sk-sim-openai', maxRetries: 0 });
      t = performance.now();
      const stream = await client.chat.completions.create({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: '[[sim:tokens=20]]' }] });
      const arrivals: number[] = [];
      for await (const chunk of stream) if (chunk.choices[0]?.delta.content) arrivals.push(performance.now() - t);
      expect(arrivals[0]).toBeGreaterThanOrEqual(38);
      const span = (arrivals[arrivals.length - 1] ?? 0) - (arrivals[0] ?? 0);
      expect(span).toBeGreaterThanOrEqual(15 * (arrivals.length - 1) - 5);
      // the itl directive overrides the server's pacing
      t = performance.now();
      const fast = await client.chat.completions.create({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: '[[sim:tokens=20,itl=0,ttft=0]]' }] });
      for await (const chunk of fast) void chunk;
      expect(performance.now() - t).toBeLessThan(15 * (arrivals.length - 1));
    } finally {
      await paced.close();
    }
  });
});

describe('hang and close', () => {
  it('hang never answers: the client times out; close() ends hung sockets at once', async () => {
    const local = await startSimProvider();
    const client = new OpenAI({ baseURL: local.url + '/v1', apiKey: 'sk-sim-openai', maxRetries: 0, timeout: 200 });
    await expect(client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: '[[sim:hang]]' }] })).rejects.toBeInstanceOf(
      OpenAI.APIConnectionTimeoutError,
    );
    const patient = new OpenAI({ baseURL: local.url + '/v1', apiKey: 'sk-sim-openai', maxRetries: 0, timeout: 60_000 });
    // catch at once: the rejections happen during close(), before the assertions run
    const pending = patient.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: '[[sim:hang]]' }] }).catch((e: unknown) => e);
    const slow = patient.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: '[[sim:ttft=30000]]' }] }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    const t = performance.now();
    await local.close();
    expect(performance.now() - t).toBeLessThan(1000);
    expect(await pending).toBeInstanceOf(OpenAI.APIConnectionError);
    expect(await slow).toBeInstanceOf(OpenAI.APIConnectionError);
    expect(local.requests).toBe(3);
  });
});

describe('auth, routing and hostile input', () => {
  it('401 for missing or wrong keys, in each provider format', async () => {
    const wrong = new OpenAI({ baseURL: sim.url + '/v1', apiKey: 'sk-wrong-key-123', maxRetries: 0 });
    await expect(wrong.models.list()).rejects.toMatchObject({ status: 401, code: 'invalid_api_key', type: 'invalid_request_error' });
    const missing = await fetch(`${sim.url}/v1/chat/completions`, { method: 'POST', body: '{}' });
    expect(missing.status).toBe(401);
    expect(await missing.json()).toMatchObject({ error: { type: 'invalid_request_error', message: expect.stringContaining("didn't provide an API key") as unknown } });
    const wrongAnt = new Anthropic({ baseURL: sim.url, apiKey: 'sk-ant-wrong', maxRetries: 0 });
    await expect(wrongAnt.messages.create({ model: 'claude-haiku-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({
      status: 401,
      error: { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } },
    });
    const custom = await startSimProvider({ openaiKeys: ['k1'], anthropicKeys: ['k2'] });
    try {
      const ok = new OpenAI({ baseURL: custom.url + '/v1', apiKey: 'k1', maxRetries: 0 });
      expect((await ok.models.retrieve('gpt-4o')).id).toBe('gpt-4o');
      const ant = new Anthropic({ baseURL: custom.url, apiKey: 'k2', maxRetries: 0 });
      expect((await ant.messages.countTokens({ model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'hi' }] })).input_tokens).toBe(1);
    } finally {
      await custom.close();
    }
  });

  it('400 for malformed JSON, too-deep nesting and invalid fields; 413 for oversized bodies; 404 for unknown routes', async () => {
    const oa = { authorization: 'Bearer sk-sim-openai', 'content-type': 'application/json' };
    const an = { 'x-api-key': 'sk-ant-sim', 'anthropic-version': '2023-06-01', 'content-type': 'application/json' };
    const bad = await fetch(`${sim.url}/v1/chat/completions`, { method: 'POST', headers: oa, body: '{"model": "gpt-4o", "messages": [' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { type: 'invalid_request_error', code: 'invalid_json' } });
    const badAnt = await fetch(`${sim.url}/v1/messages`, { method: 'POST', headers: an, body: 'not json' });
    expect(badAnt.status).toBe(400);
    expect(await badAnt.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    const deep = await fetch(`${sim.url}/v1/messages`, { method: 'POST', headers: an, body: '['.repeat(5000) + ']'.repeat(5000) });
    expect(deep.status).toBe(400);
    const missing = await fetch(`${sim.url}/v1/chat/completions`, { method: 'POST', headers: oa, body: '{"model":"gpt-4o"}' });
    expect(await missing.json()).toMatchObject({ error: { message: "Missing required parameter: 'messages'.", param: 'messages', code: 'missing_required_parameter' } });
    const unknown = await fetch(`${sim.url}/v1/nope`, { headers: oa });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { message: 'Invalid URL (GET /v1/nope)' } });

    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${sim.url}/v1/chat/completions`, { method: 'POST', headers: { ...oa, 'content-length': String(40 * 1024 * 1024) } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.write('{"model":');
    });
    expect(status).toBe(413);
  });

  it('never crashes on hostile bodies, and keeps serving', async () => {
    const oa = { authorization: 'Bearer sk-sim-openai', 'content-type': 'application/json' };
    const an = { 'x-api-key': 'sk-ant-sim', 'anthropic-version': '2023-06-01', 'content-type': 'application/json' };
    const weird: unknown[] = [
      null,
      42,
      'str',
      [],
      {},
      { model: 'gpt-4o', messages: 'x' },
      { model: 'gpt-4o', messages: [null] },
      { model: 'gpt-4o', messages: [{ role: 'user', content: [null, 1, { type: 'text' }, { type: 'image_url' }] }] },
      { model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }], tools: [{ function: { name: 'f', parameters: { type: 'object', properties: { a: { type: ['null', 'array'], items: { $ref: '#' } } } } } }] },
      { model: 'claude-haiku-4-5', max_tokens: 5, messages: [{ role: 'user', content: [{ type: 'tool_result', content: [{ type: 'tool_result', content: [] }] }, 7] }] },
      { model: 'claude-haiku-4-5', max_tokens: -1, messages: [] },
      { model: 'claude-haiku-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'x <|endoftext|> y' }], system: [{ type: 'text' }] },
      { model: 'text-embedding-3-small', input: [] },
      { model: 'text-embedding-3-small', input: [[1, 2], [3]] },
      { model: 'gpt-4o', input: [{ type: 'function_call_output', output: 5 }, 'x'] },
    ];
    const routes: Array<[string, Record<string, string>]> = [
      ['/v1/chat/completions', oa],
      ['/v1/responses', oa],
      ['/v1/embeddings', oa],
      ['/v1/messages', an],
      ['/v1/messages/count_tokens', an],
    ];
    for (const [path, headers] of routes) {
      for (const body of weird) {
        const res = await fetch(sim.url + path, { method: 'POST', headers, body: JSON.stringify(body) });
        expect(res.status, `${path} ${JSON.stringify(body)}`).toBeLessThan(500);
        await res.arrayBuffer();
      }
    }
    const before = sim.requests;
    await chat('still alive?');
    expect(sim.requests).toBe(before + 1);
  });
});
