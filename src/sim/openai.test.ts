import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimProvider, type SimProvider } from './index.js';

let sim: SimProvider;
let client: OpenAI;

beforeAll(async () => {
  sim = await startSimProvider({ seed: 7 });
  client = new OpenAI({ baseURL: sim.url + '/v1', apiKey: 'sk-sim-openai', maxRetries: 0 });
});
afterAll(() => sim.close());

const weatherTool = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } }, required: ['city'] },
  },
};

/** ~1500 tokens of distinct text. */
function longText(tag: string, words = 1500): string {
  return Array.from({ length: words }, (_, i) => `${tag}${i}`).join(' ');
}

describe('chat completions, non-stream', () => {
  it('returns the real shape, headers and exact usage', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Say hello' }] })
      .withResponse();
    expect(response.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/);
    expect(data.id).toMatch(/^chatcmpl-/);
    expect(data.object).toBe('chat.completion');
    expect(data.model).toBe('gpt-4o-mini');
    expect(data.system_fingerprint).toMatch(/^fp_/);
    expect(typeof data.created).toBe('number');
    const choice = data.choices[0];
    expect(choice?.finish_reason).toBe('stop');
    expect(choice?.message.role).toBe('assistant');
    const text = choice?.message.content ?? '';
    expect(data.usage).toEqual({
      prompt_tokens: countTokens('Be brief.') + countTokens('Say hello'),
      completion_tokens: countTokens(text),
      total_tokens: countTokens('Be brief.') + countTokens('Say hello') + countTokens(text),
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    });
    expect(data.usage?.completion_tokens).toBeGreaterThanOrEqual(20);
  });

  it('is deterministic for the same seed and prompt', async () => {
    const req = { model: 'gpt-4.1', messages: [{ role: 'user' as const, content: 'repeat me' }] };
    const a = await client.chat.completions.create(req);
    const b = await client.chat.completions.create(req);
    expect(a.choices[0]?.message.content).toBe(b.choices[0]?.message.content);
  });

  it('caps at max_completion_tokens with finish_reason length', async () => {
    const data = await client.chat.completions.create({
      model: 'gpt-4o',
      max_completion_tokens: 5,
      messages: [{ role: 'user', content: 'Write a lot [[sim:tokens=50]]' }],
    });
    expect(data.choices[0]?.finish_reason).toBe('length');
    expect(data.usage?.completion_tokens).toBe(5);
    expect(countTokens(data.choices[0]?.message.content ?? '')).toBe(5);
  });

  it('reports reasoning tokens for reasoning models, inside completion_tokens', async () => {
    const data = await client.chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: 'Think about it' }] });
    const text = data.choices[0]?.message.content ?? '';
    const reasoning = data.usage?.completion_tokens_details?.reasoning_tokens ?? 0;
    expect(reasoning).toBeGreaterThan(0);
    expect(data.usage?.completion_tokens).toBe(reasoning + countTokens(text));
    const again = await client.chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: 'Think about it' }] });
    expect(again.usage?.completion_tokens_details?.reasoning_tokens).toBe(reasoning);
    const low = await client.chat.completions.create({ model: 'o4-mini', reasoning_effort: 'low', messages: [{ role: 'user', content: 'x' }] });
    const high = await client.chat.completions.create({ model: 'o4-mini', reasoning_effort: 'high', messages: [{ role: 'user', content: 'x' }] });
    expect(high.usage?.completion_tokens_details?.reasoning_tokens).toBe(4 * (low.usage?.completion_tokens_details?.reasoning_tokens ?? 0));
  });

  it('refuses a reasoning parameter for a model without reasoning, as OpenAI does (400 unsupported_parameter)', async () => {
    const chat = await client.chat.completions.create({ model: 'gpt-4o-mini', reasoning_effort: 'low', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(chat).toMatchObject({ status: 400, code: 'unsupported_parameter', param: 'reasoning_effort' });
    const responses = await client.responses.create({ model: 'gpt-4.1', reasoning: { effort: 'low' }, input: 'x' }).catch((e: unknown) => e);
    expect(responses).toMatchObject({ status: 400, code: 'unsupported_parameter', param: 'reasoning.effort' });
    const plain = await client.chat.completions.create({ model: 'gpt-4o-mini', reasoning_effort: null, messages: [{ role: 'user', content: 'x' }] });
    expect(plain.model).toBe('gpt-4o-mini');
  });

  it('calls the first tool when the last message is from the user', async () => {
    const data = await client.chat.completions.create({ model: 'gpt-4.1-mini', tools: [weatherTool], messages: [{ role: 'user', content: 'Weather in Paris?' }] });
    const choice = data.choices[0];
    expect(choice?.finish_reason).toBe('tool_calls');
    expect(choice?.message.content).toBeNull();
    const call = choice?.message.tool_calls?.[0];
    expect(call?.type).toBe('function');
    expect(call?.id).toMatch(/^call_/);
    if (call?.type !== 'function') throw new Error('expected a function call');
    expect(call.function.name).toBe('get_weather');
    const args = JSON.parse(call.function.arguments) as Record<string, unknown>;
    expect(typeof args.city).toBe('string');
    expect(args.unit).toBe('celsius');
    expect(data.usage?.completion_tokens).toBe(countTokens(call.function.arguments));
    const toolText = `get_weather\nCurrent weather for a city\n${JSON.stringify(weatherTool.function.parameters)}`;
    expect(data.usage?.prompt_tokens).toBe(countTokens(toolText) + countTokens('Weather in Paris?'));
  });

  it('answers in text after a tool result, or when tool_choice is none', async () => {
    const after = await client.chat.completions.create({
      model: 'gpt-4.1-mini',
      tools: [weatherTool],
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: '18C and sunny' },
      ],
    });
    expect(after.choices[0]?.finish_reason).toBe('stop');
    const none = await client.chat.completions.create({ model: 'gpt-4.1-mini', tools: [weatherTool], tool_choice: 'none', messages: [{ role: 'user', content: 'hi' }] });
    expect(none.choices[0]?.finish_reason).toBe('stop');
  });
});

describe('chat completions, stream', () => {
  it('without include_usage: role first, finish last, no usage field at all', async () => {
    const stream = await client.chat.completions.create({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'Stream please' }] });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.every((c) => !('usage' in c))).toBe(true);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk')).toBe(true);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    expect(chunks[chunks.length - 1]?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks.slice(0, -1).every((c) => c.choices[0]?.finish_reason === null)).toBe(true);
  });

  it('with include_usage: usage null on every chunk, then one choices:[] chunk whose count matches the text', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'Stream with usage' }],
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const last = chunks[chunks.length - 1];
    expect(last?.choices).toEqual([]);
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(chunks.length).toBeGreaterThan(4);
    expect(last?.usage?.completion_tokens).toBe(countTokens(text));
    expect(last?.usage?.prompt_tokens).toBe(countTokens('Stream with usage'));
    // the same request non-streamed yields the same text
    const plain = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Stream with usage' }] });
    expect(plain.choices[0]?.message.content).toBe(text);
  });

  it('streams tool calls as fragments: id, type and name first, then arguments', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o',
      stream: true,
      stream_options: { include_usage: true },
      tools: [weatherTool],
      messages: [{ role: 'user', content: 'Weather?' }],
    });
    let args = '';
    const calls = [];
    let finish: string | null | undefined;
    let usage;
    for await (const chunk of stream) {
      for (const call of chunk.choices[0]?.delta.tool_calls ?? []) {
        calls.push(call);
        args += call.function?.arguments ?? '';
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
      usage = chunk.usage ?? usage;
    }
    expect(calls[0]).toMatchObject({ index: 0, type: 'function', function: { name: 'get_weather', arguments: '' } });
    expect(calls[0]?.id).toMatch(/^call_/);
    expect(calls.length).toBeGreaterThan(2);
    expect(calls.slice(1).every((c) => c.id === undefined && c.index === 0)).toBe(true);
    expect(JSON.parse(args)).toHaveProperty('city');
    expect(finish).toBe('tool_calls');
    expect(usage?.completion_tokens).toBe(countTokens(args));
  });
});

describe('prompt caching', () => {
  it('reports cached_tokens for a repeated long prefix, rounded down to 128', async () => {
    const system = longText('alpha');
    const S = countTokens(system);
    expect(S).toBeGreaterThan(1100);
    const ask = (user: string, model = 'gpt-4.1') =>
      client.chat.completions.create({ model, messages: [{ role: 'system', content: system }, { role: 'user', content: user }] });
    const first = await ask('first question');
    expect(first.usage?.prompt_tokens_details?.cached_tokens).toBe(0);
    const second = await ask('first question');
    const total = S + countTokens('first question');
    expect(second.usage?.prompt_tokens).toBe(total);
    expect(second.usage?.prompt_tokens_details?.cached_tokens).toBe(Math.floor(total / 128) * 128);
    const other = await ask('a different question');
    expect(other.usage?.prompt_tokens_details?.cached_tokens).toBe(Math.floor(S / 128) * 128);
    const otherModel = await ask('first question', 'gpt-4o');
    expect(otherModel.usage?.prompt_tokens_details?.cached_tokens).toBe(0);
  });

  it('shares the cache between chat completions and responses for the same model', async () => {
    const text = longText('beta');
    await client.chat.completions.create({ model: 'o3', messages: [{ role: 'user', content: text }] });
    const r = await client.responses.create({ model: 'o3', input: text });
    expect(r.usage?.input_tokens_details.cached_tokens).toBe(Math.floor(countTokens(text) / 128) * 128);
  });
});

describe('responses API', () => {
  it('non-stream: output message, usage including instructions', async () => {
    const r = await client.responses.create({ model: 'gpt-4.1', instructions: 'You are terse.', input: 'Hello responses' });
    expect(r.object).toBe('response');
    expect(r.id).toMatch(/^resp_/);
    expect(r.status).toBe('completed');
    expect(r.output[0]?.type).toBe('message');
    expect(r.usage).toEqual({
      input_tokens: countTokens('You are terse.') + countTokens('Hello responses'),
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: countTokens(r.output_text),
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: countTokens('You are terse.') + countTokens('Hello responses') + countTokens(r.output_text),
    });
  });

  it('accepts input as an array of messages', async () => {
    const r = await client.responses.create({
      model: 'gpt-4o',
      input: [
        { role: 'user', content: 'one' },
        { role: 'assistant', content: 'two' },
        { role: 'user', content: [{ type: 'input_text', text: 'three [[sim:tokens=6]]' }] },
      ],
    });
    expect(r.usage?.input_tokens).toBe(countTokens('one') + countTokens('two') + countTokens('three [[sim:tokens=6]]'));
    expect(r.usage?.output_tokens).toBe(6);
  });

  it('stream: the event sequence, increasing sequence numbers, usage on response.completed', async () => {
    const stream = await client.responses.create({ model: 'o4-mini', input: 'Stream the response', stream: true });
    const events = [];
    for await (const event of stream) events.push(event);
    const types = events.map((e) => e.type);
    expect(types.slice(0, 2)).toEqual(['response.created', 'response.in_progress']);
    const messageStart = types.lastIndexOf('response.output_item.added');
    expect(types.slice(messageStart, messageStart + 2)).toEqual(['response.output_item.added', 'response.content_part.added']);
    expect(types.slice(-4)).toEqual(['response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.completed']);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    let text = '';
    for (const e of events) if (e.type === 'response.output_text.delta') text += e.delta;
    const done = events.find((e) => e.type === 'response.output_text.done');
    expect(done?.type === 'response.output_text.done' ? done.text : '').toBe(text);
    const completed = events[events.length - 1];
    if (completed?.type !== 'response.completed') throw new Error('no response.completed');
    const usage = completed.response.usage;
    const reasoning = usage?.output_tokens_details.reasoning_tokens ?? 0;
    expect(reasoning).toBeGreaterThan(0);
    expect(usage?.output_tokens).toBe(reasoning + countTokens(text));
    expect(usage?.input_tokens).toBe(countTokens('Stream the response'));
    expect(completed.response.output.map((o) => o.type)).toEqual(['reasoning', 'message']);
  });

  it('calls function tools and stops incomplete at max_output_tokens', async () => {
    const r = await client.responses.create({
      model: 'gpt-4.1',
      tools: [{ type: 'function', name: 'lookup', description: 'Look up', parameters: { type: 'object', properties: { q: { type: 'string' } } }, strict: false }],
      input: 'find it',
    });
    const call = r.output[0];
    if (call?.type !== 'function_call') throw new Error('expected a function call');
    expect(call.name).toBe('lookup');
    expect(call.call_id).toMatch(/^call_/);
    expect(r.usage?.output_tokens).toBe(countTokens(call.arguments));

    const cut = await client.responses.create({ model: 'gpt-4.1', input: 'long [[sim:tokens=100]]', max_output_tokens: 16 });
    expect(cut.status).toBe('incomplete');
    expect(cut.incomplete_details?.reason).toBe('max_output_tokens');
    expect(cut.usage?.output_tokens).toBe(16);
  });
});

describe('embeddings and models', () => {
  it('returns unit vectors as floats or base64, with token usage', async () => {
    const inputs = ['first text', 'second, longer text'];
    // the SDK asks for base64 by default and decodes it
    const viaBase64 = await client.embeddings.create({ model: 'text-embedding-3-small', input: inputs });
    const viaFloat = await client.embeddings.create({ model: 'text-embedding-3-small', input: inputs, encoding_format: 'float' });
    expect(viaBase64.object).toBe('list');
    expect(viaBase64.data.map((d) => d.index)).toEqual([0, 1]);
    expect(viaBase64.data[0]?.object).toBe('embedding');
    expect(viaBase64.data[0]?.embedding).toHaveLength(16);
    expect(viaFloat.data[1]?.embedding).toEqual(viaBase64.data[1]?.embedding);
    const norm = Math.hypot(...(viaFloat.data[0]?.embedding ?? []));
    expect(norm).toBeCloseTo(1, 5);
    const tokens = countTokens(inputs[0] ?? '') + countTokens(inputs[1] ?? '');
    expect(viaBase64.usage).toEqual({ prompt_tokens: tokens, total_tokens: tokens });
    const wide = await client.embeddings.create({ model: 'text-embedding-3-large', input: 'x', dimensions: 256 });
    expect(wide.data[0]?.embedding).toHaveLength(256);
  });

  it('lists and retrieves models; unknown ones are 404 model_not_found', async () => {
    const ids = [];
    for await (const m of client.models.list()) ids.push(m.id);
    expect(ids).toContain('gpt-5-mini');
    expect(ids).toContain('text-embedding-3-large');
    expect(ids.some((id) => id.startsWith('claude'))).toBe(false);
    const m = await client.models.retrieve('o3');
    expect(m).toMatchObject({ id: 'o3', object: 'model', owned_by: 'system' });
    await expect(client.models.retrieve('gpt-2')).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
    await expect(client.chat.completions.create({ model: 'gpt-9', messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({
      status: 404,
      code: 'model_not_found',
    });
    await expect(
      client.chat.completions.create({ model: 'text-embedding-3-small', messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toMatchObject({ status: 404 });
  });
});
