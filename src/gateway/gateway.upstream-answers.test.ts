import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../testing/harness.js';
import { countTextTokens } from '../usage/estimate.js';

/**
 * Upstreams that answer in ways the gateway does not ask for: a compressed body although the gateway sent
 * `accept-encoding: identity` (some servers and proxies do), an answer without usage, an error body too large or cut
 * off. The client and the meter must both see the real response, or an error that says what happened. One raw server; the model name picks its behaviour.
 */
const USAGE = { prompt_tokens: 1000, completion_tokens: 500, total_tokens: 1500 };
const TEXT = 'Bonjour, café 日本語';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function trickle(res: ServerResponse, buf: Buffer, step = 7): Promise<void> {
  for (let i = 0; i < buf.length; i += step) {
    res.write(buf.subarray(i, i + step));
    await sleep(1);
  }
  res.end();
}

const ENCODE: Record<string, (b: Buffer) => Buffer> = { gzip: gzipSync, deflate: deflateSync, br: brotliCompressSync };

function chatJson(model: string): Record<string, unknown> {
  return {
    id: 'chatcmpl-answers',
    object: 'chat.completion',
    created: 1,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: TEXT }, finish_reason: 'stop' }],
    usage: USAGE,
  };
}

function chatStream(model: string): string {
  const base = { id: 'chatcmpl-answers', object: 'chat.completion.chunk', created: 1, model };
  const ev = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`;
  return (
    ev({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }], usage: null }) +
    ev({ ...base, choices: [{ index: 0, delta: { content: TEXT }, finish_reason: null }], usage: null }) +
    ev({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: null }) +
    ev({ ...base, choices: [], usage: USAGE }) +
    'data: [DONE]\n\n'
  );
}

function anthropicStream(model: string): string {
  const ev = (name: string, d: unknown) => `event: ${name}\ndata: ${JSON.stringify(d)}\n\n`;
  return (
    ev('message_start', { type: 'message_start', message: { id: 'msg_answers', type: 'message', role: 'assistant', model, content: [], usage: { input_tokens: 1000, output_tokens: 1 } } }) +
    ev('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }) +
    ev('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: TEXT } }) +
    ev('content_block_stop', { type: 'content_block_stop', index: 0 }) +
    ev('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 500 } }) +
    ev('message_stop', { type: 'message_stop' })
  );
}

/** `enc-<coding>-<json|sse|err>`: the answer (err: a 429) compressed with <coding>; `bad` claims gzip and sends plain bytes. */
async function encoded(req: IncomingMessage, res: ServerResponse, model: string): Promise<void> {
  const [, coding = '', kind] = model.split('-');
  const anthropic = req.url?.includes('/messages') === true;
  const sse = kind === 'sse';
  const rateLimited = { error: { message: 'Slow down: 3 requests a minute.', type: 'requests', param: null, code: 'rate_limit_exceeded' } };
  const plain = Buffer.from(sse ? (anthropic ? anthropicStream(model) : chatStream(model)) : JSON.stringify(kind === 'err' ? rateLimited : chatJson(model)));
  const encode = ENCODE[coding];
  const body = coding === 'bad' ? plain : encode ? encode(plain) : Buffer.from('(zstd bytes)');
  res.writeHead(kind === 'err' ? 429 : 200, {
    'content-type': sse ? 'text/event-stream' : 'application/json',
    'content-encoding': coding === 'bad' ? 'gzip' : coding,
  });
  await trickle(res, body);
}

const ARGS = '{"city":"Paris","unit":"celsius"}';

/** `nousage`: a complete answer in the endpoint's format, without its `usage`. */
function withoutUsage(url: string, model: string): unknown {
  if (url.endsWith('/responses')) {
    return {
      id: 'resp_answers',
      object: 'response',
      model,
      status: 'completed',
      output: [
        { type: 'message', id: 'msg_1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: TEXT, annotations: [] }] },
        { type: 'function_call', id: 'fc_1', call_id: 'call_1', name: 'get_weather', arguments: ARGS, status: 'completed' },
      ],
    };
  }
  if (url.endsWith('/messages')) {
    return {
      id: 'msg_answers',
      type: 'message',
      role: 'assistant',
      model,
      content: [
        { type: 'text', text: TEXT },
        { type: 'tool_use', id: 'tu_1', name: 'get_weather', input: JSON.parse(ARGS) as unknown },
      ],
      stop_reason: 'tool_use',
    };
  }
  const { usage: _, ...rest } = chatJson(model);
  const message = { role: 'assistant', content: TEXT, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: ARGS } }] };
  return { ...rest, choices: [{ index: 0, message, finish_reason: 'tool_calls' }] };
}

/** `errbig`: an error page over 1 MiB (Anthropic: a 529 with retry-after); `errcut`: a 503 cut mid-body; `errbomb`: 4 MiB gzipped to 4 KiB. */
function failing(req: IncomingMessage, res: ServerResponse, model: string): void {
  res.on('error', () => undefined);
  if (model === 'errbig') {
    const anthropic = req.url?.endsWith('/messages') === true;
    res.writeHead(anthropic ? 529 : 500, { 'content-type': 'text/html', ...(anthropic ? { 'retry-after': '7' } : {}) });
    res.end('<html>' + 'x'.repeat(2 * 1024 * 1024) + '</html>');
  } else if (model === 'errbomb') {
    res.writeHead(500, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    res.end(gzipSync(Buffer.alloc(4 * 1024 * 1024, 0x20)));
  } else {
    res.writeHead(503, { 'content-type': 'application/json', 'content-length': '5000' });
    res.write('{"error":{"message":"Service Unavailable","type":"server_error"');
    setTimeout(() => res.socket?.destroy(), 20);
  }
}

let upstream: Server;
let h: Harness;
beforeAll(async () => {
  upstream = createServer(async (req, res) => {
    let body = '';
    for await (const c of req) body += String(c);
    const j = JSON.parse(body) as { model: string };
    const model = j.model.replace(/^claude-/, '');
    if (model.startsWith('enc-')) await encoded(req, res, model);
    else if (model.startsWith('err')) failing(req, res, model);
    else if (model === 'sse4json') {
      // A stream, with its usage, to a request that asked for none.
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      await trickle(res, Buffer.from(req.url?.endsWith('/messages') ? anthropicStream(model) : chatStream(model)));
    } else if (model === 'nousage') res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(withoutUsage(req.url ?? '', model)));
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const rawUrl = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
  h = await startHarness({
    config: () => ({
      providers: {
        raw: { type: 'openai-compatible', baseUrl: `${rawUrl}/v1`, models: ['enc-*', 'nousage', 'err*', 'sse4json'] },
        rawant: { type: 'anthropic', baseUrl: rawUrl, models: ['claude-enc-*', 'claude-nousage', 'claude-err*', 'claude-sse4json'] },
      },
    }),
  });
});
afterAll(async () => {
  await h.close();
  await new Promise((r) => upstream.close(r));
});

async function eventOf(model: string, endpoint?: string) {
  for (let i = 0; i < 100; i++) {
    const e = (await h.events()).find((x) => x.modelRequested === model && (endpoint === undefined || x.endpoint === endpoint));
    if (e) return e;
    await sleep(20);
  }
  throw new Error(`no event for ${model}`);
}

const ask = (model: string) => h.openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }] });

describe('a compressed answer to a request for identity', () => {
  it.each(['gzip', 'deflate', 'br'])('is decoded for the client and the meter (%s JSON)', async (coding) => {
    const model = `enc-${coding}-json`;
    const res = await ask(model).withResponse();
    expect(res.data.choices[0]?.message.content).toBe(TEXT);
    expect(res.response.headers.get('content-encoding')).toBeNull();
    const e = await eventOf(model);
    expect([e.inputTokens, e.outputTokens, e.usageEstimated, e.errorClass]).toEqual([1000, 500, false, null]);
  });

  it('is decoded as it streams (gzip SSE, OpenAI chat)', async () => {
    let text = '';
    for await (const c of await h.openai.chat.completions.create({ model: 'enc-gzip-sse', stream: true, messages: [{ role: 'user', content: 'x' }] })) {
      text += c.choices[0]?.delta?.content ?? '';
    }
    expect(text).toBe(TEXT);
    const e = await eventOf('enc-gzip-sse');
    expect([e.inputTokens, e.outputTokens, e.usageEstimated, e.errorClass]).toEqual([1000, 500, false, null]);
  });

  it('is decoded as it streams (br SSE, Anthropic messages)', async () => {
    const m = await h.anthropic.messages.stream({ model: 'claude-enc-br-sse', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }).finalMessage();
    expect(m.content[0]?.type === 'text' ? m.content[0].text : null).toBe(TEXT);
    const e = await eventOf('claude-enc-br-sse');
    expect([e.inputTokens, e.outputTokens, e.usageEstimated, e.errorClass]).toEqual([1000, 500, false, null]);
  });

  it("is decoded when it is the provider's error", async () => {
    const err = await ask('enc-gzip-err').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect((err as InstanceType<typeof OpenAI.APIError>).message).toMatch(/Slow down: 3 requests a minute/);
    expect((await eventOf('enc-gzip-err')).errorClass).toBe('upstream_rate_limited');
  });

  it('in a coding Goodhart cannot decode is an upstream error in the client format', async () => {
    const err = await ask('enc-zstd-json').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    expect(String(err)).toMatch(/Content-Encoding "zstd"/);
    const aerr = await h.anthropic.messages.create({ model: 'claude-enc-zstd-json', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(aerr).toBeInstanceOf(Anthropic.APIError);
    expect((aerr as InstanceType<typeof Anthropic.APIError>).status).toBe(502);
    expect((aerr as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ type: 'error', error: { type: 'api_error', message: expect.stringMatching(/Content-Encoding "zstd"/) } });
    expect((await eventOf('enc-zstd-json')).errorClass).toBe('upstream_error');
  });

  it('that is not what its coding says is an upstream error, not garbage', async () => {
    const err = await ask('enc-bad-json').catch((e: unknown) => e);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    expect(String(err)).toMatch(/not valid gzip data/);
  });
});

describe('a complete answer without usage', () => {
  // What a stream meter counts of the same answer streamed: the text, the tool's name and its arguments.
  const generated = countTextTokens(TEXT) + countTextTokens('get_weather') + countTextTokens(ARGS);

  it('has its output counted from the message and its tool calls (chat completions)', async () => {
    const r = await ask('nousage');
    expect(r.choices[0]?.message.tool_calls?.[0]).toMatchObject({ function: { arguments: ARGS } });
    const e = await eventOf('nousage', 'chat.completions');
    expect([e.outputTokens, e.usageEstimated, e.errorClass]).toEqual([generated, true, 'usage_missing']);
    expect(e.inputTokens).toBeGreaterThan(0);
  });

  it('has its output counted from the output items (responses)', async () => {
    const r = await h.openai.responses.create({ model: 'nousage', input: 'x' });
    expect(r.output_text).toBe(TEXT);
    const e = await eventOf('nousage', 'responses');
    expect([e.outputTokens, e.usageEstimated, e.errorClass]).toEqual([generated, true, 'usage_missing']);
  });

  it('has its output counted from the content blocks (Anthropic messages)', async () => {
    const m = await h.anthropic.messages.create({ model: 'claude-nousage', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] });
    expect(m.content).toHaveLength(2);
    const e = await eventOf('claude-nousage');
    expect([e.outputTokens, e.usageEstimated, e.errorClass]).toEqual([generated, true, 'usage_missing']);
  });
});

describe('an error body that cannot be passed on', () => {
  type OpenAIError = InstanceType<typeof OpenAI.APIError>;

  it('over 1 MiB is the same status with an error that says so, in OpenAI format', async () => {
    const err = (await ask('errbig').catch((e: unknown) => e)) as OpenAIError;
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect(err.status).toBe(500);
    expect(err.error).toMatchObject({ type: 'server_error', code: 'upstream_error', message: expect.stringMatching(/answered 500, but its error body was larger than the 1 MiB/) });
    expect((await eventOf('errbig')).errorClass).toBe('upstream_5xx');
  });

  it('over 1 MiB is the same status with an error that says so, in Anthropic format, keeping retry-after', async () => {
    const err = (await h.anthropic.messages.create({ model: 'claude-errbig', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e)) as InstanceType<typeof Anthropic.APIError>;
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect(err.status).toBe(529);
    expect(err.headers?.get('retry-after')).toBe('7');
    expect(err.error).toMatchObject({ type: 'error', error: { type: 'overloaded_error', message: expect.stringMatching(/answered 529, but its error body was larger/) } });
  });

  it('over 1 MiB once decompressed is refused the same way', async () => {
    const err = (await ask('errbomb').catch((e: unknown) => e)) as OpenAIError;
    expect(err.status).toBe(500);
    expect(err.message).toMatch(/larger than the 1 MiB/);
  });

  it('cut off by the connection is the same status with an error that says so', async () => {
    const err = (await ask('errcut').catch((e: unknown) => e)) as OpenAIError;
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect(err.status).toBe(503);
    expect(err.message).toMatch(/answered 503, but its error body was cut off/);
    expect((await eventOf('errcut')).errorClass).toBe('upstream_5xx');
  });
});

describe('a stream to a request that did not ask for one', () => {
  it.each([
    ['/v1/chat/completions', 'sse4json', 'chatcmpl-answers'],
    ['/v1/messages', 'claude-sse4json', 'msg_answers'],
  ])('is passed through and metered from its usage (%s)', async (path, model, id) => {
    const res = await fetch(`${h.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.key}`, 'content-type': 'application/json', ...(model.startsWith('claude') ? { 'anthropic-version': '2023-06-01' } : {}) },
      body: JSON.stringify({ model, max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }),
    });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    expect(await res.text()).toContain(JSON.stringify(TEXT).slice(1, -1));
    const e = await eventOf(model);
    expect([e.inputTokens, e.outputTokens, e.usageEstimated, e.errorClass, e.providerRequestId, e.streamed]).toEqual([1000, 500, false, null, id, false]);
  });
});
