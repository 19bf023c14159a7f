import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../testing/harness.js';
import { countTextTokens, estimateEmbeddingsInput, estimateOpenAIChatInput } from '../usage/estimate.js';

/**
 * Answers real providers give in shapes the simulator never uses, in their exact wire format: Azure OpenAI's stream
 * that opens with prompt filter results; failures inside a stream (Responses' `response.failed` and `error` events,
 * an error chunk, Anthropic's overloaded_error) that the SDKs react to by closing the connection; float embeddings
 * too large to hold. The recorded tokens, cost and labels must be the provider's.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sse = (data: unknown, event?: string) => (event ? `event: ${event}\n` : '') + `data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;

/** gpt-4o's usage in these answers: 2000 input (1536 cached), 400 output (128 reasoning). */
const CHAT_USAGE = {
  prompt_tokens: 2000,
  completion_tokens: 400,
  total_tokens: 2400,
  prompt_tokens_details: { cached_tokens: 1536, audio_tokens: 0 },
  completion_tokens_details: { reasoning_tokens: 128, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
};
/** At gpt-4o's catalogue prices ($2.50 input, $1.25 cached input, $10 output per million): 464 × 2.5 + 1536 × 1.25 + 400 × 10 µ$. */
const CHAT_COST = 0.00708;

/** Azure OpenAI with content filtering on: a first chunk of prompt filter results whose id and model are "". */
function azureChatStream(includeUsage: boolean, served = 'gpt-4o-2024-11-20'): string[] {
  const filters = { hate: { filtered: false, severity: 'safe' }, self_harm: { filtered: false, severity: 'safe' }, sexual: { filtered: false, severity: 'safe' }, violence: { filtered: false, severity: 'safe' } };
  const base = { id: 'chatcmpl-az1', object: 'chat.completion.chunk', created: 1763600000, model: served, system_fingerprint: 'fp_az' };
  const frames = [sse({ choices: [], created: 0, id: '', model: '', object: '', prompt_filter_results: [{ prompt_index: 0, content_filter_results: filters }] })];
  for (const content of ['', 'Hi', ' there']) {
    frames.push(sse({ ...base, choices: [{ index: 0, delta: content === '' ? { role: 'assistant', content, refusal: null } : { content }, content_filter_results: content === '' ? {} : filters, finish_reason: null, logprobs: null }], ...(includeUsage ? { usage: null } : {}) }));
  }
  frames.push(sse({ ...base, choices: [{ index: 0, delta: {}, content_filter_results: {}, finish_reason: 'stop', logprobs: null }], ...(includeUsage ? { usage: null } : {}) }));
  if (includeUsage) frames.push(sse({ ...base, choices: [], usage: CHAT_USAGE }));
  frames.push(sse('[DONE]'));
  return frames;
}

async function send(res: ServerResponse, frames: string[], headers: Record<string, string>, holdMs = 0): Promise<void> {
  res.writeHead(200, headers);
  for (const f of frames) {
    res.write(f);
    await sleep(2);
  }
  if (holdMs > 0) await sleep(holdMs);
  res.end();
}

/** The Responses usage in these answers: 1200 input (1024 cached), 300 output (256 reasoning). */
const RESP_USAGE = { input_tokens: 1200, input_tokens_details: { cached_tokens: 1024 }, output_tokens: 300, output_tokens_details: { reasoning_tokens: 256 }, total_tokens: 1500 };
/** At gpt-5's catalogue prices ($1.25 input, $0.125 cached input, $10 output per million). */
const RESP_COST = (176 * 1.25 + 1024 * 0.125 + 300 * 10) / 1e6;

/** OpenAI Responses stream that fails: `failed` ends with `response.failed` alone; `error` sends an `error` event first. */
function failingResponsesStream(model: string, how: 'failed' | 'error'): string[] {
  let seq = 0;
  const ev = (type: string, p: Record<string, unknown>) => sse({ type, sequence_number: seq++, ...p }, type);
  const response = (status: string, extra: Record<string, unknown> = {}) => ({ id: 'resp_fail1', object: 'response', created_at: 1763600000, status, model, output: [], usage: null, error: null, ...extra });
  const frames = [ev('response.created', { response: response('in_progress') }), ev('response.in_progress', { response: response('in_progress') })];
  for (const delta of ['Hel', 'lo']) frames.push(ev('response.output_text.delta', { item_id: 'msg_1', output_index: 0, content_index: 0, delta, logprobs: [] }));
  if (how === 'error') frames.push(ev('error', { code: 'server_error', message: 'The server had an error while processing your request.', param: null }));
  frames.push(ev('response.failed', { response: response('failed', { error: { code: 'server_error', message: 'The model failed to generate a response.' }, usage: RESP_USAGE }) }));
  return frames;
}

/** A chat stream cut by an error chunk (OpenAI's SDK throws on it and closes), the connection held open after it. */
function chatErrorStream(): string[] {
  const base = { id: 'chatcmpl-err1', object: 'chat.completion.chunk', created: 1763600000, model: 'gpt-4o-2024-11-20' };
  return [
    sse({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }], usage: null }),
    sse({ ...base, choices: [{ index: 0, delta: { content: 'Hello wörld' }, finish_reason: null }], usage: null }),
    sse({ error: { message: 'The server had an error while processing your request.', type: 'server_error', param: null, code: null } }),
  ];
}

/** Anthropic overloaded after the stream started (an `error` event), the connection held open after it. */
function anthropicOverloaded(model: string): string[] {
  return [
    sse({ type: 'message_start', message: { id: 'msg_over1', type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 50, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1 } } }, 'message_start'),
    sse({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }, 'content_block_start'),
    sse({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hello wörld' } }, 'content_block_delta'),
    sse({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }, 'error'),
  ];
}

/** One float embedding as OpenAI writes it (`-0.01234567`), the same for every input. */
function embeddingRow(dims: number): string {
  return Array.from({ length: dims }, (_, j) => (((j * 7919) % 10007) / 10007 - 0.5).toFixed(8)).join(',');
}

/**
 * Float embeddings, 7 tokens an input, as OpenAI answers them: data, then model, then usage, last. `chunked`: written
 * in 1 MiB pieces without a content-length; `usage: false`: an answer without usage.
 */
async function embeddings(res: ServerResponse, body: Record<string, unknown>, opts: { chunked: boolean; usage: boolean }): Promise<void> {
  const inputs = body.input as string[];
  const row = embeddingRow(Number(body.dimensions));
  const parts = [Buffer.from('{"object":"list","data":[')];
  for (let i = 0; i < inputs.length; i++) parts.push(Buffer.from(`${i === 0 ? '' : ','}{"object":"embedding","index":${i},"embedding":[${row}]}`));
  const usage = opts.usage ? `,"usage":{"prompt_tokens":${inputs.length * 7},"total_tokens":${inputs.length * 7}}` : '';
  parts.push(Buffer.from(`],"model":"${String(body.model)}"${usage}}`));
  const all = Buffer.concat(parts);
  if (!opts.chunked) {
    res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': 'req_emb1' }).end(all);
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': 'req_emb1' });
  for (let i = 0; i < all.length; i += 1024 * 1024) {
    if (!res.write(all.subarray(i, i + 1024 * 1024))) await new Promise((r) => res.once('drain', r));
  }
  res.end();
}

/** How long the connection stays open after an error event: the client's SDK closes first, every time. */
const HOLD_MS = 150;

async function answer(req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>): Promise<void> {
  const url = req.url ?? '';
  const stream = body.stream === true;
  const said = JSON.stringify(body);
  const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
  if (url.startsWith('/ant/v1/messages') && stream) {
    res.on('error', () => undefined);
    await send(res, anthropicOverloaded(String(body.model)), { 'content-type': 'text/event-stream' }, HOLD_MS);
    return;
  }
  if (url.startsWith('/azure/responses') && stream) {
    return send(res, failingResponsesStream(String(body.model), said.includes('[error]') ? 'error' : 'failed'), { 'content-type': 'text/event-stream' });
  }
  if (url.startsWith('/azure/chat/completions') && stream && said.includes('[stream-error]')) {
    res.on('error', () => undefined);
    return send(res, chatErrorStream(), { 'content-type': 'text/event-stream' }, HOLD_MS);
  }
  if ((url.startsWith('/azure/responses') || url.startsWith('/oai/responses')) && !stream) {
    // What OpenAI answers to `background: true`: the response queued, to be fetched later with GET /v1/responses/{id}.
    if (body.background === true) backgroundSent++;
    // `[searched …]`: a response with two web searches, served at the priority tier, pretty-printed as OpenAI's are;
    // `[searched big]` pads its text past what the gateway holds (17 MB), sent in 1 MiB pieces.
    if (said.includes('[searched')) {
      const big = said.includes('[searched big]');
      const search = (id: string) => ({ type: 'web_search_call', id, status: 'completed', action: { type: 'search', query: 'q' } });
      const text = big ? 'lorem ipsum '.repeat(17 * 1024 * 1024 / 12) : 'lorem ipsum';
      const answer = {
        id: 'resp_search1', object: 'response', created_at: 1763600000, status: 'completed', error: null, instructions: null, model: String(body.model),
        output: [search('ws_1'), search('ws_2'), { type: 'message', id: 'msg_1', status: 'completed', role: 'assistant', content: [{ type: 'output_text', annotations: [], text }] }],
        parallel_tool_calls: true, service_tier: 'priority', store: true, usage: RESP_USAGE,
      };
      const all = Buffer.from(JSON.stringify(answer, null, 2));
      res.writeHead(200, { 'content-type': 'application/json' });
      for (let i = 0; i < all.length; i += 1024 * 1024) {
        if (!res.write(all.subarray(i, i + 1024 * 1024))) await new Promise((r) => res.once('drain', r));
      }
      res.end();
      return;
    }
    // `[failed]`: a response that failed, answered whole with its error and the usage it ran up.
    const status = body.background === true ? 'queued' : said.includes('[failed]') ? 'failed' : 'completed';
    const error = status === 'failed' ? { code: 'server_error', message: 'The model failed to generate a response.' } : null;
    const answer = { id: 'resp_bg1', object: 'response', created_at: 1763600000, status, background: body.background === true, model: body.model, output: [], error, usage: status === 'queued' ? null : RESP_USAGE };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    return;
  }
  if (url.startsWith('/azure/embeddings')) {
    return embeddings(res, body, { chunked: body.user === 'chunked', usage: body.model !== 'text-embedding-3-small' });
  }
  if (url.startsWith('/azure/chat/completions') && stream) {
    // gpt-4o-mini: a server that names the model it served by a name no catalogue knows (a deployment's).
    return send(res, azureChatStream(includeUsage, body.model === 'gpt-4o-mini' ? 'my-mini-deployment' : undefined), { 'content-type': 'text/event-stream', 'apim-request-id': 'az-req-1' });
  }
  res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `no ${url}`, type: 'invalid_request_error' } }));
}

/** Background requests that reached the provider. */
let backgroundSent = 0;
let upstream: Server;
let h: Harness;
beforeAll(async () => {
  upstream = createServer(async (req, res) => {
    let raw = '';
    for await (const c of req) raw += String(c);
    res.on('error', () => undefined);
    await answer(req, res, JSON.parse(raw) as Record<string, unknown>);
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
  h = await startHarness({
    config: () => ({
      providers: {
        // As the README configures Azure OpenAI.
        azure: { type: 'openai-compatible', baseUrl: `${url}/azure`, query: { 'api-version': '2024-10-21' }, headers: { 'api-key': 'az-key' }, models: ['gpt-4o', 'gpt-4o-mini', 'gpt-5', 'text-embedding-3-*'] },
        ant: { type: 'anthropic', baseUrl: `${url}/ant` },
        // OpenAI itself (gpt-5-mini), whose service tiers are priced.
        oai: { type: 'openai', baseUrl: `${url}/oai`, apiKey: 'sk-oai' },
      },
      models: [{ name: 'gpt-5-mini', provider: 'oai' }],
      budgets: [{ id: 'platform-month', scope: 'team:platform', amount: 10, period: 'month', thresholds: [] }],
    }),
  });
});
afterAll(async () => {
  await h.close();
  await new Promise((r) => upstream.close(r));
});

async function eventFor(requestId: string | null) {
  for (let i = 0; i < 100; i++) {
    const e = (await h.events()).find((x) => x.id === requestId);
    if (e) return e;
    await sleep(20);
  }
  throw new Error(`no event ${requestId}`);
}

/** What the team budget has booked. */
async function spent(): Promise<number> {
  const rows = await h.gateway.governance!.policy.status(Date.now());
  return rows.find((r) => r.rule.id === 'platform-month')?.spent ?? Number.NaN;
}

/** What the team budget has booked once it reaches `expected` (settlement is asynchronous), or after 2 s. */
async function spentUntil(expected: number): Promise<number> {
  let now = await spent();
  for (let i = 0; i < 100 && Math.abs(now - expected) > 1e-12; i++) {
    await sleep(20);
    now = await spent();
  }
  return now;
}

describe('Azure OpenAI streams (content filtering on)', () => {
  it.each([true, false])('take the id and model from the first chunk that has them, and are priced and booked (include_usage %s)', async (includeUsage) => {
    const before = await spent();
    const { data: stream, response } = await h.openai.chat.completions
      .create({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'x' }], ...(includeUsage ? { stream_options: { include_usage: true } } : {}) })
      .withResponse();
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const c of stream) {
      text += c.choices[0]?.delta?.content ?? '';
      usage = c.usage ?? usage;
    }
    expect(text).toBe('Hi there');
    expect(usage?.prompt_tokens).toBe(includeUsage ? 2000 : undefined);
    const e = await eventFor(response.headers.get('x-goodhart-request-id'));
    expect([e.providerRequestId, e.modelServed, e.inputTokens, e.cacheReadTokens, e.outputTokens, e.reasoningTokens, e.usageEstimated, e.errorClass]).toEqual([
      'chatcmpl-az1',
      'gpt-4o-2024-11-20',
      2000,
      1536,
      400,
      128,
      false,
      null,
    ]);
    expect(e.costUsd).toBeCloseTo(CHAT_COST, 12);
    // The budget books what the event costs: an unpriced event booked $0 and slipped past it.
    expect(await spentUntil(before + CHAT_COST)).toBeCloseTo(before + CHAT_COST, 12);
  });

  it('whose served model has no price are priced and booked as the model asked for (what admission reserved for)', async () => {
    const before = await spent();
    const { data: stream, response } = await h.openai.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'x' }] }).withResponse();
    for await (const _ of stream) {
      /* read to the end */
    }
    const e = await eventFor(response.headers.get('x-goodhart-request-id'));
    expect([e.providerRequestId, e.modelServed, e.inputTokens, e.outputTokens]).toEqual(['chatcmpl-az1', 'my-mini-deployment', 2000, 400]);
    // gpt-4o-mini: $0.15 input, $0.075 cached, $0.60 output per million.
    const cost = (464 * 0.15 + 1536 * 0.075 + 400 * 0.6) / 1e6;
    expect(e.costUsd).toBeCloseTo(cost, 12);
    expect(await spentUntil(before + cost)).toBeCloseTo(before + cost, 12);
  });
});

describe('a failure inside a stream is recorded as what it was', () => {
  it.each([
    ['response.failed alone', '[failed]'],
    ['an error event, then response.failed', '[error]'],
  ])('OpenAI Responses: %s', async (_name, marker) => {
    const { data: stream, response } = await h.openai.responses.create({ model: 'gpt-5', input: `x ${marker}`, stream: true }).withResponse();
    const types: string[] = [];
    for await (const ev of stream) types.push(ev.type);
    expect(types.at(-1)).toBe('response.failed');
    const e = await eventFor(response.headers.get('x-goodhart-request-id'));
    // The failed response reports its usage: metered exactly, and labelled with the provider's error code.
    expect([e.errorClass, e.status, e.clientAborted, e.providerRequestId, e.inputTokens, e.cacheReadTokens, e.outputTokens, e.reasoningTokens, e.usageEstimated]).toEqual([
      'upstream_stream_error: server_error',
      200,
      false,
      'resp_fail1',
      1200,
      1024,
      300,
      256,
      false,
    ]);
    expect(e.costUsd).toBeCloseTo(RESP_COST, 12);
  });

  it('OpenAI Responses, not streamed: a response whose status is failed', async () => {
    const { response } = await h.openai.responses.create({ model: 'gpt-5', input: 'x [failed]' }).withResponse();
    const e = await eventFor(response.headers.get('x-goodhart-request-id'));
    expect([e.errorClass, e.status, e.inputTokens, e.outputTokens, e.usageEstimated]).toEqual(['upstream_failed: server_error', 200, 1200, 300, false]);
    expect(e.costUsd).toBeCloseTo(RESP_COST, 12);
  });

  it('OpenAI chat: an error chunk, on which the SDK closes the connection', async () => {
    const body = { model: 'gpt-4o', stream: true as const, messages: [{ role: 'user' as const, content: 'x [stream-error]' }] };
    const { data: stream, response } = await h.openai.chat.completions.create(body).withResponse();
    const err = await (async () => {
      for await (const _ of stream) {
        /* read until the SDK throws */
      }
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    const e = await eventFor(response.headers.get('x-goodhart-request-id'));
    const input = estimateOpenAIChatInput(body);
    const output = countTextTokens('Hello wörld');
    expect([e.errorClass, e.clientAborted, e.usageEstimated, e.inputTokens, e.outputTokens]).toEqual(['upstream_stream_error: server_error', false, true, input, output]);
    expect(e.costUsd).toBeCloseTo((input * 2.5 + output * 10) / 1e6, 12);
  });

  it('Anthropic: overloaded_error, on which the SDK closes the connection (every time, not only when the provider closes first)', async () => {
    for (let i = 0; i < 3; i++) {
      const s = h.anthropic.messages.stream({ model: 'claude-haiku-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'x' }] });
      const err = await s.finalMessage().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Anthropic.APIError);
      expect(String(err)).toMatch(/overloaded/i);
      const { response } = await s.withResponse();
      const e = await eventFor(response.headers.get('x-goodhart-request-id'));
      const output = countTextTokens('Hello wörld');
      // Input as message_start reported it, output counted: claude-haiku-4-5 at $1 / $5 per million.
      expect([e.errorClass, e.clientAborted, e.usageEstimated, e.inputTokens, e.outputTokens, e.providerRequestId]).toEqual([
        'upstream_stream_error: overloaded_error',
        false,
        true,
        50,
        output,
        'msg_over1',
      ]);
      expect(e.costUsd).toBeCloseTo((50 * 1 + output * 5) / 1e6, 12);
    }
  });
});

describe('a JSON answer too large to hold', () => {
  const inputs = Array.from({ length: 2048 }, (_, i) => `doc ${i}`);

  it.each([
    ['with a content-length', 'whole'],
    ['chunked', 'chunked'],
  ])('is passed through and metered from the usage at its end: 2048 float embeddings of 3072 dimensions, 72 MB (%s)', async (_name, user) => {
    const { data, response } = await h.openai.embeddings
      .create({ model: 'text-embedding-3-large', input: inputs, encoding_format: 'float', dimensions: 3072, user })
      .withResponse();
    expect(response.status).toBe(200);
    expect(data.data).toHaveLength(2048);
    const row = embeddingRow(3072).split(',').map(Number);
    expect(data.data[2047]?.embedding).toHaveLength(3072);
    expect(data.data[2047]?.embedding.slice(-3)).toEqual(row.slice(-3));
    expect(data.usage).toEqual({ prompt_tokens: 14336, total_tokens: 14336 });
    const e = await eventFor(response.headers.get('x-goodhart-request-id'));
    expect([e.status, e.errorClass, e.inputTokens, e.outputTokens, e.usageEstimated, e.modelServed]).toEqual([200, null, 14336, 0, false, 'text-embedding-3-large']);
    // text-embedding-3-large: $0.13 per million tokens.
    expect(e.costUsd).toBeCloseTo((14336 * 0.13) / 1e6, 12);
  }, 30_000);

  it('is priced as when held: its model, service tier and built-in tool calls (a Responses answer of 17 MB)', async () => {
    const priced = async (input: string) => {
      const { data, response } = await h.openai.responses.create({ model: 'gpt-5-mini', input }).withResponse();
      return { data, e: await eventFor(response.headers.get('x-goodhart-request-id')) };
    };
    const held = await priced('x [searched small]');
    const passed = await priced('x [searched big]');
    expect(passed.data.output_text.length).toBeGreaterThan(16 * 1024 * 1024);
    // Held whole, the answer is priced at priority with its two searches ($10 per thousand): more than its tokens at
    // gpt-5-mini's standard rates ($0.25 input, $0.025 cached, $2 output per million) + $0.02.
    expect(held.e.toolCalls).toEqual({ web_search: 2 });
    expect(held.e.costUsd!).toBeGreaterThan((176 * 0.25 + 1024 * 0.025 + 300 * 2) / 1e6 + 0.02 + 1e-7);
    for (const e of [held.e, passed.e]) {
      expect([e.modelServed, e.inputTokens, e.outputTokens, e.usageEstimated, e.errorClass]).toEqual(['gpt-5-mini', 1200, 300, false, null]);
    }
    expect(passed.e.toolCalls).toEqual({ web_search: 2 });
    expect(passed.e.costUsd).toBeCloseTo(held.e.costUsd!, 12);
  }, 30_000);

  it('named by its provider (oai/gpt-5) is priced for the budget as the model that provider is sent', async () => {
    const before = await spent();
    const { response } = await h.openai.responses.create({ model: 'oai/gpt-5', input: 'x [searched small]' }).withResponse();
    expect(response.status).toBe(200);
    const e = await eventFor(response.headers.get('x-goodhart-request-id'));
    expect(e.toolCalls).toEqual({ web_search: 2 });
    expect(e.costUsd!).toBeGreaterThan(RESP_COST + 0.02);
    expect(await spentUntil(before + e.costUsd!)).toBeCloseTo(before + e.costUsd!, 12);
  });

  it('without usage at its end, has its input counted from the request and is marked estimated', async () => {
    const body = { model: 'text-embedding-3-small', input: inputs, encoding_format: 'float' as const, dimensions: 1024, user: 'chunked' };
    const { data, response } = await h.openai.embeddings.create(body).withResponse();
    expect(data.data).toHaveLength(2048);
    const e = await eventFor(response.headers.get('x-goodhart-request-id'));
    const input = estimateEmbeddingsInput(body);
    expect(input).toBeGreaterThan(2048);
    expect([e.status, e.errorClass, e.inputTokens, e.usageEstimated]).toEqual([200, 'usage_missing', input, true]);
    // text-embedding-3-small: $0.02 per million tokens.
    expect(e.costUsd).toBeCloseTo((input * 0.02) / 1e6, 12);
  }, 30_000);

  it('that the client leaves mid-way is recorded as aborted, its input counted from the request', async () => {
    const body = { model: 'text-embedding-3-large', input: inputs, encoding_format: 'float', dimensions: 1024, user: 'chunked' };
    const ctl = new AbortController();
    const res = await fetch(`${h.url}/v1/embeddings`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: ctl.signal,
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    await reader.read();
    ctl.abort();
    const e = await eventFor(res.headers.get('x-goodhart-request-id'));
    const input = estimateEmbeddingsInput(body);
    expect([e.errorClass, e.clientAborted, e.inputTokens, e.usageEstimated]).toEqual(['client_aborted', true, input, true]);
    expect(e.costUsd).toBeCloseTo((input * 0.13) / 1e6, 12);
  }, 30_000);
});

describe('Responses with background: true', () => {
  it('is refused before it reaches the provider, saying why and what to send instead', async () => {
    const err = await h.openai.responses.create({ model: 'gpt-5', input: 'a long job', background: true }).withResponse().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    const e400 = err as InstanceType<typeof OpenAI.BadRequestError>;
    expect(e400.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_request', message: expect.stringMatching(/"background": true is not supported.*neither metered nor returned.*without "background"/) });
    expect(backgroundSent).toBe(0);
    const e = await eventFor(e400.headers?.get('x-goodhart-request-id') ?? null);
    expect([e.status, e.errorClass, e.inputTokens, e.outputTokens, e.costUsd]).toEqual([400, 'invalid_request', 0, 0, 0]);
  });

  it('false is served and metered as any request', async () => {
    const { data, response } = await h.openai.responses.create({ model: 'gpt-5', input: 'x', background: false }).withResponse();
    expect(data.status).toBe('completed');
    const e = await eventFor(response.headers.get('x-goodhart-request-id'));
    expect([e.status, e.errorClass, e.inputTokens, e.outputTokens]).toEqual([200, null, 1200, 300]);
    expect(e.costUsd).toBeCloseTo(RESP_COST, 12);
  });
});

