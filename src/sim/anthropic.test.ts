import Anthropic from '@anthropic-ai/sdk';
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimProvider, type SimProvider } from './index.js';

let sim: SimProvider;
let client: Anthropic;

beforeAll(async () => {
  sim = await startSimProvider({ seed: 11 });
  client = new Anthropic({ baseURL: sim.url, apiKey: 'sk-ant-sim', maxRetries: 0 });
});
afterAll(() => sim.close());

function longText(tag: string, words = 1500): string {
  return Array.from({ length: words }, (_, i) => `${tag}${i}`).join(' ');
}

function textOf(message: Anthropic.Message): string {
  return message.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
}

const weather: Anthropic.Tool = {
  name: 'get_weather',
  description: 'Weather for a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } }, required: ['city'] },
};

describe('messages, non-stream', () => {
  it('returns the real shape, request-id header and exact disjoint usage', async () => {
    const { data, response } = await client.messages
      .create({ model: 'claude-sonnet-4-5', max_tokens: 1000, system: 'Be kind.', messages: [{ role: 'user', content: 'Hello Claude' }] })
      .withResponse();
    expect(response.headers.get('request-id')).toMatch(/^req_011C/);
    expect(data.id).toMatch(/^msg_01/);
    expect(data).toMatchObject({ type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', stop_reason: 'end_turn', stop_sequence: null });
    expect(data.usage).toEqual({
      input_tokens: countTokens('Be kind.') + countTokens('Hello Claude'),
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
      output_tokens: countTokens(textOf(data)),
      service_tier: 'standard',
    });
  });

  it('stops at max_tokens and at stop sequences', async () => {
    const capped = await client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 7, messages: [{ role: 'user', content: 'long [[sim:tokens=90]]' }] });
    expect(capped.stop_reason).toBe('max_tokens');
    expect(capped.usage.output_tokens).toBe(7);
    expect(countTokens(textOf(capped))).toBe(7);
    const stopped = await client.messages.create({
      model: 'claude-haiku-4-5',
      max_tokens: 500,
      stop_sequences: ['.'],
      messages: [{ role: 'user', content: 'sentences [[sim:tokens=90]]' }],
    });
    expect(stopped.stop_reason).toBe('stop_sequence');
    expect(stopped.stop_sequence).toBe('.');
    expect(textOf(stopped)).not.toContain('.');
    expect(stopped.usage.output_tokens).toBe(countTokens(textOf(stopped)));
  });

  it('answers with tool_use, and with text after a tool_result', async () => {
    const call = await client.messages.create({ model: 'claude-opus-4-1', max_tokens: 500, tools: [weather], messages: [{ role: 'user', content: 'Weather in Rome?' }] });
    expect(call.stop_reason).toBe('tool_use');
    const block = call.content[0];
    if (block?.type !== 'tool_use') throw new Error('expected tool_use');
    expect(block.id).toMatch(/^toolu_01/);
    expect(block.name).toBe('get_weather');
    expect(Object.keys(block.input as object)).toEqual(['city', 'days']);
    expect(call.usage.output_tokens).toBe(countTokens(JSON.stringify(block.input)));
    const after = await client.messages.create({
      model: 'claude-opus-4-1',
      max_tokens: 500,
      tools: [weather],
      messages: [
        { role: 'user', content: 'Weather in Rome?' },
        { role: 'assistant', content: [block] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: block.id, content: '21C' }] },
      ],
    });
    expect(after.stop_reason).toBe('end_turn');
    expect(after.content[0]?.type).toBe('text');
  });

  it('puts a thinking block first and bills it in output_tokens', async () => {
    const m = await client.messages.create({
      model: 'claude-sonnet-4-5',
      max_tokens: 3000,
      thinking: { type: 'enabled', budget_tokens: 1024 },
      messages: [{ role: 'user', content: 'Think first [[sim:tokens=30]]' }],
    });
    const thinking = m.content[0];
    if (thinking?.type !== 'thinking') throw new Error('expected thinking');
    expect(thinking.signature.length).toBeGreaterThan(20);
    expect(countTokens(textOf(m))).toBe(30);
    expect(m.usage.output_tokens).toBe(countTokens(thinking.thinking) + 30);
  });

  it('rejects a thinking budget not below max_tokens, and thinking on a model without it', async () => {
    await expect(
      client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 1024, thinking: { type: 'enabled', budget_tokens: 1024 }, messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toMatchObject({ status: 400, error: { type: 'error', error: { type: 'invalid_request_error' } } });
    await expect(
      client.messages.create({ model: 'claude-3-5-haiku-20241022', max_tokens: 4000, thinking: { type: 'enabled', budget_tokens: 1024 }, messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toMatchObject({ status: 400 });
  });
});

describe('messages, stream', () => {
  it('emits the event sequence with placeholder then final cumulative output_tokens', async () => {
    const stream = await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 1000, stream: true, messages: [{ role: 'user', content: 'Stream it' }] });
    const events: Anthropic.RawMessageStreamEvent[] = [];
    for await (const e of stream) events.push(e);
    const types = events.map((e) => e.type);
    expect(types.slice(0, 3)).toEqual(['message_start', 'content_block_start', 'content_block_delta']);
    expect(types.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    const start = events[0];
    if (start?.type !== 'message_start') throw new Error('no message_start');
    expect(start.message.usage.output_tokens).toBe(1);
    expect(start.message.usage.input_tokens).toBe(countTokens('Stream it'));
    let text = '';
    for (const e of events) if (e.type === 'content_block_delta' && e.delta.type === 'text_delta') text += e.delta.text;
    const delta = events.find((e) => e.type === 'message_delta');
    if (delta?.type !== 'message_delta') throw new Error('no message_delta');
    expect(delta.delta).toEqual({ stop_reason: 'end_turn', stop_sequence: null });
    expect(delta.usage.output_tokens).toBe(countTokens(text));
    expect(delta.usage.input_tokens).toBe(countTokens('Stream it'));
    expect(types.filter((t) => t === 'content_block_delta').length).toBeGreaterThan(4);
  });

  it('sends ping, thinking, signature and input_json deltas; the SDK assembles them', async () => {
    const raw = await fetch(`${sim.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': 'sk-ant-sim', 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'claude-sonnet-4-5',
        max_tokens: 4000,
        stream: true,
        thinking: { type: 'enabled', budget_tokens: 2000 },
        tools: [weather],
        messages: [{ role: 'user', content: 'Weather?' }],
      }),
    });
    expect(raw.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const body = await raw.text();
    for (const kind of ['event: ping', '"thinking_delta"', '"signature_delta"', '"input_json_delta"', '"stop_reason":"tool_use"']) {
      expect(body).toContain(kind);
    }
    const final = await client.messages
      .stream({ model: 'claude-sonnet-4-5', max_tokens: 4000, thinking: { type: 'enabled', budget_tokens: 2000 }, tools: [weather], messages: [{ role: 'user', content: 'Weather?' }] })
      .finalMessage();
    const [thinking, tool] = final.content;
    if (thinking?.type !== 'thinking' || tool?.type !== 'tool_use') throw new Error('expected thinking then tool_use');
    expect(tool.input).toHaveProperty('city');
    expect(final.usage.output_tokens).toBe(countTokens(thinking.thinking) + countTokens(JSON.stringify(tool.input)));
  });
});

describe('prompt caching and count_tokens', () => {
  it('writes then reads a cached system prefix; buckets are disjoint and sum to count_tokens', async () => {
    const system = longText('gamma');
    const S = countTokens(system);
    const params = {
      model: 'claude-sonnet-4-5' as const,
      max_tokens: 200,
      system: [{ type: 'text' as const, text: system, cache_control: { type: 'ephemeral' as const } }],
      messages: [{ role: 'user' as const, content: 'What is in it?' }],
    };
    const first = await client.messages.create(params);
    const U = countTokens('What is in it?');
    expect(first.usage).toMatchObject({
      input_tokens: U,
      cache_creation_input_tokens: S,
      cache_read_input_tokens: 0,
      cache_creation: { ephemeral_5m_input_tokens: S, ephemeral_1h_input_tokens: 0 },
    });
    const second = await client.messages.create(params);
    expect(second.usage).toMatchObject({
      input_tokens: U,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: S,
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
    });
    const counted = await client.messages.countTokens({ model: params.model, system: params.system, messages: params.messages });
    expect(counted.input_tokens).toBe(S + U);
    // another model does not share the cache
    const other = await client.messages.create({ ...params, model: 'claude-opus-4-1' });
    expect(other.usage.cache_read_input_tokens).toBe(0);
  });

  it('bills 1h writes separately, and a conversation reads its earlier turns through lookback', async () => {
    const doc = longText('delta');
    const D = countTokens(doc);
    const turn1: Anthropic.MessageParam[] = [
      { role: 'user', content: [{ type: 'text', text: doc, cache_control: { type: 'ephemeral', ttl: '1h' } }] },
    ];
    const a = await client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 100, messages: turn1 });
    expect(a.usage.cache_creation).toEqual({ ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: D });
    expect(a.usage.input_tokens).toBe(0);
    const turn2: Anthropic.MessageParam[] = [
      { role: 'user', content: [{ type: 'text', text: doc }] },
      { role: 'assistant', content: textOf(a) },
      { role: 'user', content: [{ type: 'text', text: 'And now?', cache_control: { type: 'ephemeral' } }] },
    ];
    const b = await client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 100, messages: turn2 });
    const rest = countTokens(textOf(a)) + countTokens('And now?');
    expect(b.usage.cache_read_input_tokens).toBe(D);
    expect(b.usage.cache_creation).toEqual({ ephemeral_5m_input_tokens: rest, ephemeral_1h_input_tokens: 0 });
    expect(b.usage.input_tokens).toBe(0);
    const counted = await client.messages.countTokens({ model: 'claude-haiku-4-5', messages: turn2 });
    expect(counted.input_tokens).toBe(b.usage.input_tokens + (b.usage.cache_read_input_tokens ?? 0) + (b.usage.cache_creation_input_tokens ?? 0));
  });

  it('count_tokens equals the messages input total, tools included', async () => {
    const params = { model: 'claude-opus-4-1' as const, system: 'sys', tools: [weather], tool_choice: { type: 'none' as const }, messages: [{ role: 'user' as const, content: 'count me' }] };
    const counted = await client.messages.countTokens(params);
    const m = await client.messages.create({ ...params, max_tokens: 100 });
    expect(counted.input_tokens).toBe(m.usage.input_tokens);
    expect(counted.input_tokens).toBe(
      countTokens(`get_weather\nWeather for a city\n${JSON.stringify(weather.input_schema)}`) + countTokens('sys') + countTokens('count me'),
    );
  });
});

describe('errors and models', () => {
  it('404 not_found_error for unknown models; lists its own models', async () => {
    await expect(client.messages.create({ model: 'claude-9', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({
      status: 404,
      error: { type: 'error', error: { type: 'not_found_error', message: 'model: claude-9' } },
    });
    const ids = [];
    for await (const m of client.models.list()) ids.push(m.id);
    expect(ids).toContain('claude-sonnet-4-5');
    expect(ids.some((id) => id.startsWith('gpt'))).toBe(false);
    const m = await client.models.retrieve('claude-haiku-4-5');
    expect(m).toMatchObject({ type: 'model', id: 'claude-haiku-4-5', display_name: 'Claude Haiku 4.5' });
  });

  it('requires anthropic-version and max_tokens, answering 400 in Anthropic format', async () => {
    const post = (headers: Record<string, string>, body: unknown) =>
      fetch(`${sim.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    const noVersion = await post({ 'x-api-key': 'sk-ant-sim' }, { model: 'claude-haiku-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] });
    expect(noVersion.status).toBe(400);
    const body = (await noVersion.json()) as { type: string; error: { type: string; message: string }; request_id: string };
    expect(body).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: 'anthropic-version: header is required' } });
    expect(body.request_id).toMatch(/^req_011C/);
    const noMax = await post({ 'x-api-key': 'sk-ant-sim', 'anthropic-version': '2023-06-01' }, { model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'x' }] });
    expect(noMax.status).toBe(400);
    expect(await noMax.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: 'max_tokens: Field required' } });
    // Bearer auth works too
    const bearer = await post(
      { authorization: 'Bearer sk-ant-sim', 'anthropic-version': '2023-06-01' },
      { model: 'claude-haiku-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] },
    );
    expect(bearer.status).toBe(200);
  });
});
