import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../testing/harness.js';

/**
 * What a response reports beyond text tokens that the provider bills: built-in tool calls (per call), audio tokens
 * (at the audio rates) and the tier that served it (flex, priority, fast mode). Official SDKs against the gateway and
 * the simulator, which answers in the providers' formats; expected costs from the published prices, written out.
 */

/** USD per million tokens, and per call for searches (openai.com/api/pricing, anthropic.com/pricing). */
const GPT5 = { input: 1.25, cached: 0.125, output: 10 };
const SONNET45 = { input: 3, output: 15 };
const OPUS46 = { input: 5, output: 25 };
const GPT_AUDIO = { input: 2.5, output: 10, audioInput: 32, audioOutput: 64 };
const WEB_SEARCH = 10 / 1000;
const FILE_SEARCH = 2.5 / 1000;

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const lastEvent = async () => (await h.events()).at(-1)!;
/** The recorded cost, in cents, to a millionth of a cent. */
const expectCents = (usd: number | null, expectedUsd: number): void => {
  expect(usd).not.toBeNull();
  expect(usd! * 100).toBeCloseTo(expectedUsd * 100, 6);
};

describe('built-in tool calls are billed per call', () => {
  it('OpenAI Responses: web_search_call and file_search_call items, streamed and not', async () => {
    const tools = [{ type: 'web_search' as const }, { type: 'file_search' as const, vector_store_ids: ['vs_1'] }];
    const input = 'Find the 2026 price list for our vendors. [[sim:searches=2]]';
    const res = await h.openai.responses.create({ model: 'gpt-5', input, tools });
    expect(res.output.filter((o) => o.type === 'web_search_call')).toHaveLength(2);
    expect(res.output.filter((o) => o.type === 'file_search_call')).toHaveLength(2);
    const u = res.usage!;
    const tokens = ((u.input_tokens - u.input_tokens_details.cached_tokens) * GPT5.input + u.input_tokens_details.cached_tokens * GPT5.cached + u.output_tokens * GPT5.output) / 1e6;
    let ev = await lastEvent();
    expect(ev.toolCalls).toEqual({ web_search: 2, file_search: 2 });
    expectCents(ev.costUsd, tokens + 2 * WEB_SEARCH + 2 * FILE_SEARCH);

    const stream = await h.openai.responses.create({ model: 'gpt-5', input: `${input} (streamed)`, tools, stream: true });
    let usage = null;
    for await (const e of stream) if (e.type === 'response.completed') usage = e.response.usage;
    const su = usage!;
    ev = await lastEvent();
    expect(ev.streamed).toBe(true);
    expect(ev.toolCalls).toEqual({ web_search: 2, file_search: 2 });
    const streamedTokens = ((su.input_tokens - su.input_tokens_details.cached_tokens) * GPT5.input + su.input_tokens_details.cached_tokens * GPT5.cached + su.output_tokens * GPT5.output) / 1e6;
    expectCents(ev.costUsd, streamedTokens + 2 * WEB_SEARCH + 2 * FILE_SEARCH);
  });

  it('Anthropic: usage.server_tool_use.web_search_requests, streamed (message_delta) and not', async () => {
    const params = {
      model: 'claude-sonnet-4-5',
      max_tokens: 400,
      tools: [{ type: 'web_search_20250305' as const, name: 'web_search' as const, max_uses: 5 }],
      messages: [{ role: 'user' as const, content: 'What changed in the EU AI Act this year? [[sim:searches=3]]' }],
    };
    const res = await h.anthropic.messages.create(params);
    expect(res.usage.server_tool_use?.web_search_requests).toBe(3);
    expect(res.content.filter((b) => b.type === 'web_search_tool_result')).toHaveLength(3);
    let ev = await lastEvent();
    expect(ev.toolCalls).toEqual({ web_search: 3 });
    expectCents(ev.costUsd, (res.usage.input_tokens * SONNET45.input + res.usage.output_tokens * SONNET45.output) / 1e6 + 3 * WEB_SEARCH);

    const final = await h.anthropic.messages.stream({ ...params, messages: [{ role: 'user', content: `${params.messages[0]!.content} (streamed)` }] }).finalMessage();
    expect(final.usage.server_tool_use?.web_search_requests).toBe(3);
    ev = await lastEvent();
    expect(ev.streamed).toBe(true);
    expect(ev.toolCalls).toEqual({ web_search: 3 });
    expectCents(ev.costUsd, (final.usage.input_tokens * SONNET45.input + final.usage.output_tokens * SONNET45.output) / 1e6 + 3 * WEB_SEARCH);
  });

  it('records no tool calls for a plain request', async () => {
    await h.openai.responses.create({ model: 'gpt-5', input: 'Say hello.' });
    expect((await lastEvent()).toolCalls).toBeUndefined();
  });
});

describe('audio tokens are priced at the audio rates', () => {
  /** One second of 24 kHz 16-bit mono PCM: 10 input audio tokens in the simulator. */
  const second = Buffer.alloc(48_000).toString('base64');
  const messages = [
    {
      role: 'user' as const,
      content: [
        { type: 'text' as const, text: 'Answer the question in the recording.' },
        { type: 'input_audio' as const, input_audio: { data: second, format: 'wav' as const } },
      ],
    },
  ];
  const expected = (u: { prompt_tokens: number; completion_tokens: number; prompt_tokens_details?: { audio_tokens?: number }; completion_tokens_details?: { audio_tokens?: number } }) => {
    const audioIn = u.prompt_tokens_details!.audio_tokens!;
    const audioOut = u.completion_tokens_details!.audio_tokens!;
    return (
      ((u.prompt_tokens - audioIn) * GPT_AUDIO.input + audioIn * GPT_AUDIO.audioInput + (u.completion_tokens - audioOut) * GPT_AUDIO.output + audioOut * GPT_AUDIO.audioOutput) /
      1e6
    );
  };

  it('gpt-audio chat completions, streamed and not: audio in and out priced apart from the text, and recorded', async () => {
    const res = await h.openai.chat.completions.create({ model: 'gpt-audio', modalities: ['text', 'audio'], audio: { voice: 'alloy', format: 'wav' }, messages });
    const u = res.usage!;
    expect(u.prompt_tokens_details?.audio_tokens).toBe(10);
    expect(u.completion_tokens_details?.audio_tokens).toBeGreaterThan(0);
    expect(res.choices[0]!.message.audio?.transcript.length).toBeGreaterThan(0);
    let ev = await lastEvent();
    expect(ev).toMatchObject({ inputTokens: u.prompt_tokens, outputTokens: u.completion_tokens, audioInputTokens: 10, audioOutputTokens: u.completion_tokens_details!.audio_tokens });
    expectCents(ev.costUsd, expected(u));

    const stream = await h.openai.chat.completions.create({
      model: 'gpt-audio',
      modalities: ['text', 'audio'],
      audio: { voice: 'alloy', format: 'pcm16' },
      messages: [{ ...messages[0]!, content: [{ type: 'text', text: 'Answer again, streamed.' }, messages[0]!.content[1]!] }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let su = null;
    for await (const chunk of stream) if (chunk.usage) su = chunk.usage;
    ev = await lastEvent();
    expect(ev.streamed).toBe(true);
    expect(ev.audioOutputTokens).toBe(su!.completion_tokens_details!.audio_tokens);
    expectCents(ev.costUsd, expected(su!));
  });
});

describe('the tier the response reports changes the price', () => {
  const chatCost = (u: { prompt_tokens: number; completion_tokens: number }) => (u.prompt_tokens * GPT5.input + u.completion_tokens * GPT5.output) / 1e6;

  it('OpenAI service_tier: flex at half, priority at 2× for gpt-5 (chat, streamed and not; Responses)', async () => {
    const ask = (tier: 'flex' | 'priority', content: string) => h.openai.chat.completions.create({ model: 'gpt-5', service_tier: tier, messages: [{ role: 'user', content }] });
    const flex = await ask('flex', 'Summarise the incident report.');
    expect(flex.service_tier).toBe('flex');
    expectCents((await lastEvent()).costUsd, chatCost(flex.usage!) * 0.5);
    const priority = await ask('priority', 'Summarise the incident report, fast.');
    expect(priority.service_tier).toBe('priority');
    expectCents((await lastEvent()).costUsd, chatCost(priority.usage!) * 2);

    const stream = await h.openai.chat.completions.create({ model: 'gpt-5', service_tier: 'flex', messages: [{ role: 'user', content: 'Stream the summary.' }], stream: true });
    for await (const _ of stream) {
      /* drained: the gateway hid the usage chunk it asked for */
    }
    const ev = await lastEvent();
    expect(ev.streamed).toBe(true);
    expect(ev.costUsd).not.toBeNull();
    // The usage the client never saw: priced at half the standard rate for the tokens the gateway recorded.
    expectCents(ev.costUsd, ((ev.inputTokens * GPT5.input + ev.outputTokens * GPT5.output) / 1e6) * 0.5);

    const res = await h.openai.responses.create({ model: 'gpt-5', input: 'Summarise it once more.', service_tier: 'priority', stream: false });
    expect(res.service_tier).toBe('priority');
    const u = res.usage!;
    expectCents((await lastEvent()).costUsd, ((u.input_tokens * GPT5.input + u.output_tokens * GPT5.output) / 1e6) * 2);
  });

  it('prices the tier the response says served it, not the one asked for', async () => {
    // `auto` asks for whatever is available; the simulator serves it at the default tier and says so.
    const res = await h.openai.chat.completions.create({ model: 'gpt-5', service_tier: 'auto', messages: [{ role: 'user', content: 'Any tier will do.' }] });
    expect(res.service_tier).toBe('default');
    expectCents((await lastEvent()).costUsd, chatCost(res.usage!));
  });

  it('Anthropic usage.speed "fast" on claude-opus-4-6 at 6×, streamed and not', async () => {
    const params = { model: 'claude-opus-4-6', max_tokens: 300, speed: 'fast' as const, messages: [{ role: 'user' as const, content: 'Refactor this module.' }] };
    const res = await h.anthropic.messages.create(params, { headers: { 'anthropic-beta': 'fast-mode-2026-02-01' } });
    expect(res.usage.speed).toBe('fast');
    const cost = (u: { input_tokens: number; output_tokens: number }) => ((u.input_tokens * OPUS46.input + u.output_tokens * OPUS46.output) / 1e6) * 6;
    expectCents((await lastEvent()).costUsd, cost(res.usage));
    const final = await h.anthropic.messages.stream({ ...params, messages: [{ role: 'user', content: 'Refactor this module, streamed.' }] }, { headers: { 'anthropic-beta': 'fast-mode-2026-02-01' } }).finalMessage();
    const ev = await lastEvent();
    expect(ev.streamed).toBe(true);
    expectCents(ev.costUsd, cost(final.usage));
    // Standard speed: the standard price.
    const standard = await h.anthropic.messages.create({ ...params, speed: 'standard' });
    expectCents((await lastEvent()).costUsd, cost(standard.usage) / 6);
  });
});
