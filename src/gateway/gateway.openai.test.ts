import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encode } from 'gpt-tokenizer/encoding/o200k_base';
import { startHarness, type Harness } from '../testing/harness.js';

/** Published prices, USD per million tokens (openai.com/api/pricing), written out by hand on purpose. */
const GPT_4O_MINI = { input: 0.15, cached: 0.075, output: 0.6 };
const GPT_5 = { input: 1.25, cached: 0.125, output: 10 };

const cost = (p: { input: number; cached: number; output: number }, input: number, cached: number, output: number) =>
  ((input - cached) * p.input + cached * p.cached + output * p.output) / 1e6;

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

async function lastEvent() {
  const events = await h.events();
  return events.at(-1)!;
}

describe('OpenAI chat completions through the gateway', () => {
  it('meters a non-streamed request exactly and prices it at the catalogue rate', async () => {
    const res = await h.openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Explain optimistic locking in two sentences.' }],
    });
    const u = res.usage!;
    expect(u.prompt_tokens).toBeGreaterThan(5);
    const ev = await lastEvent();
    expect(ev).toMatchObject({
      source: 'gateway',
      endpoint: 'chat.completions',
      provider: 'openai',
      modelRequested: 'gpt-4o-mini',
      userId: 'alice',
      teamId: 'platform',
      projectId: 'checkout',
      inputTokens: u.prompt_tokens,
      outputTokens: u.completion_tokens,
      cacheReadTokens: 0,
      streamed: false,
      usageEstimated: false,
      status: 200,
      errorClass: null,
      providerRequestId: res.id,
    });
    expect(ev.costUsd).toBeCloseTo(cost(GPT_4O_MINI, u.prompt_tokens, 0, u.completion_tokens), 12);
  });

  it('asks for stream usage on the client’s behalf and hides the extra chunk from a client that did not ask', async () => {
    const content = 'Write a haiku about connection pools.';
    const plain = await h.openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] });
    const stream = await h.openai.chat.completions.create({
      model: 'gpt-4o-mini',
      stream: true,
      messages: [{ role: 'user', content }],
    });
    let text = '';
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      expect(chunk.choices.length).toBe(1);
      text += chunk.choices[0]!.delta.content ?? '';
    }
    expect(chunks).toBeGreaterThan(2);
    const ev = await lastEvent();
    expect(ev.streamed).toBe(true);
    expect(ev.usageEstimated).toBe(false);
    expect(ev.inputTokens).toBe(plain.usage!.prompt_tokens);
    expect(ev.outputTokens).toBe(encode(text).length);
    expect(ev.firstTokenAt).not.toBeNull();
    expect(ev.costUsd).toBeCloseTo(cost(GPT_4O_MINI, ev.inputTokens, 0, ev.outputTokens), 12);
  });

  it('passes the usage chunk through when the client asked for it', async () => {
    const stream = await h.openai.chat.completions.create({
      model: 'gpt-4o-mini',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'List three prime numbers.' }],
    });
    let usage;
    for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
    expect(usage).toBeDefined();
    const ev = await lastEvent();
    expect(ev.inputTokens).toBe(usage!.prompt_tokens);
    expect(ev.outputTokens).toBe(usage!.completion_tokens);
  });

  it('meters reasoning and cached tokens, priced at their own rates', async () => {
    const long = 'The quarterly report covers revenue, churn, hiring and infrastructure costs in detail. '.repeat(120);
    const ask = () =>
      h.openai.chat.completions.create({
        model: 'gpt-5',
        messages: [
          { role: 'system', content: long },
          { role: 'user', content: 'What are the three biggest risks?' },
        ],
      });
    await ask();
    const second = await ask();
    const u = second.usage!;
    const cached = u.prompt_tokens_details!.cached_tokens!;
    const reasoning = u.completion_tokens_details!.reasoning_tokens!;
    expect(cached).toBeGreaterThan(1000);
    expect(reasoning).toBeGreaterThan(0);
    const ev = await lastEvent();
    expect(ev.cacheReadTokens).toBe(cached);
    expect(ev.reasoningTokens).toBe(reasoning);
    expect(ev.outputTokens).toBe(u.completion_tokens);
    expect(ev.costUsd).toBeCloseTo(cost(GPT_5, u.prompt_tokens, cached, u.completion_tokens), 12);
  });

  it('meters a streamed tool call', async () => {
    const stream = await h.openai.chat.completions.create({
      model: 'gpt-4o-mini',
      stream: true,
      stream_options: { include_usage: true },
      tools: [
        {
          type: 'function',
          function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
        },
      ],
      messages: [{ role: 'user', content: 'Weather in Oslo?' }],
    });
    let usage;
    let toolName = '';
    let finish;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      const c = chunk.choices[0];
      toolName += c?.delta.tool_calls?.[0]?.function?.name ?? '';
      finish = c?.finish_reason ?? finish;
    }
    expect(toolName).toBe('get_weather');
    expect(finish).toBe('tool_calls');
    const ev = await lastEvent();
    expect(ev.outputTokens).toBe(usage!.completion_tokens);
    expect(ev.inputTokens).toBe(usage!.prompt_tokens);
  });

  it('records a client that aborts mid-stream, with tokens counted by the tokenizer and marked estimated', async () => {
    // A provider that streams at a human pace, so the client can leave while it is still generating.
    const slow = await startHarness({ sim: { interTokenMs: 5 } });
    try {
      const stream = await slow.openai.chat.completions.create({
        model: 'gpt-4o-mini',
        stream: true,
        messages: [{ role: 'user', content: 'Write a long essay about databases. [[sim:tokens=2000]]' }],
      });
      let text = '';
      let n = 0;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? '';
        if (++n === 5) break; // leaving the loop aborts the HTTP request
      }
      await new Promise((r) => setTimeout(r, 150));
      const ev = (await slow.events()).at(-1)!;
      expect(ev.clientAborted).toBe(true);
      expect(ev.errorClass).toBe('client_aborted');
      expect(ev.usageEstimated).toBe(true);
      // The gateway counts what it forwarded: at least what the client read, far less than the full 2000.
      expect(ev.outputTokens).toBeGreaterThanOrEqual(encode(text).length);
      expect(ev.outputTokens).toBeLessThan(1000);
      expect(ev.inputTokens).toBeGreaterThan(5);
      expect(ev.costUsd).toBeCloseTo(cost(GPT_4O_MINI, ev.inputTokens, 0, ev.outputTokens), 12);
    } finally {
      await slow.close();
    }
  });

  it('records an upstream that dies mid-stream: the client sees the break, tokens are estimated exactly', async () => {
    const stream = await h.openai.chat.completions.create({
      model: 'gpt-4o-mini',
      stream: true,
      messages: [{ role: 'user', content: 'Tell me a story. [[sim:die-after=6]]' }],
    });
    let text = '';
    await expect(
      (async () => {
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      })(),
    ).rejects.toThrow();
    const ev = await lastEvent();
    expect(ev.errorClass).toBe('upstream_disconnected');
    expect(ev.usageEstimated).toBe(true);
    expect(ev.clientAborted).toBe(false);
    expect(text.length).toBeGreaterThan(0);
    expect(ev.outputTokens).toBe(encode(text).length);
  });
});

describe('OpenAI responses and embeddings through the gateway', () => {
  it('meters a streamed Responses API call from response.completed', async () => {
    const stream = await h.openai.responses.create({ model: 'gpt-5', input: 'Name two sorting algorithms.', stream: true });
    let usage;
    for await (const ev of stream) if (ev.type === 'response.completed') usage = ev.response.usage;
    const ev = await lastEvent();
    expect(ev.endpoint).toBe('responses');
    expect(ev.inputTokens).toBe(usage!.input_tokens);
    expect(ev.outputTokens).toBe(usage!.output_tokens);
    expect(ev.reasoningTokens).toBe(usage!.output_tokens_details.reasoning_tokens);
    expect(ev.costUsd).toBeCloseTo(cost(GPT_5, usage!.input_tokens, 0, usage!.output_tokens), 12);
  });

  it('meters a non-streamed Responses API call', async () => {
    const res = await h.openai.responses.create({ model: 'gpt-5-mini', input: 'Say hi.' });
    const ev = await lastEvent();
    expect(ev.inputTokens).toBe(res.usage!.input_tokens);
    expect(ev.outputTokens).toBe(res.usage!.output_tokens);
  });

  it("names the session from Codex's session_id header (Codex sends no `user`), else its conversation_id", async () => {
    await h.openai.responses.create({ model: 'gpt-5', input: 'hi' }, { headers: { session_id: '0199a1b2-codex', conversation_id: '0199a1b2-conv', originator: 'codex_cli_rs' } });
    await h.openai.responses.create({ model: 'gpt-5', input: 'hi' }, { headers: { conversation_id: '0199a1b2-conv' } });
    await h.openai.responses.create({ model: 'gpt-5', input: 'hi' }, { headers: { session_id: '0199a1b2-codex', 'x-goodhart-session': 'mine' } });
    expect((await h.events()).slice(-3).map((e) => e.sessionId)).toEqual(['0199a1b2-codex', '0199a1b2-conv', 'mine']);
  });

  it('meters embeddings at the embedding price', async () => {
    const res = await h.openai.embeddings.create({ model: 'text-embedding-3-small', input: ['alpha beta', 'gamma delta epsilon'] });
    expect(res.data).toHaveLength(2);
    const ev = await lastEvent();
    expect(ev.endpoint).toBe('embeddings');
    expect(ev.inputTokens).toBe(res.usage.prompt_tokens);
    expect(ev.outputTokens).toBe(0);
    expect(ev.costUsd).toBeCloseTo((res.usage.prompt_tokens * 0.02) / 1e6, 14);
  });
});
