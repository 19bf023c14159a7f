import { createServer, type Server } from 'node:http';
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../testing/harness.js';

/**
 * Upstreams that send valid streams in shapes the simulator never uses: bytes cut anywhere (a multi-byte character
 * split across network reads), JSON with spaces after colons (Python's json.dumps: llama.cpp's server), a last event
 * without its blank line. What the client reads and what is metered must not depend on the shape.
 */
const TEXT = '日本語のテキスト🎉 café';
const USAGE = { prompt_tokens: 1000, completion_tokens: 700, total_tokens: 1700 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Writes `text` a few bytes at a time, pausing between writes so each arrives as a read of its own. */
async function trickle(res: import('node:http').ServerResponse, text: string, step = 5): Promise<void> {
  const buf = Buffer.from(text);
  for (let i = 0; i < buf.length; i += step) {
    res.write(buf.subarray(i, i + step));
    await sleep(1);
  }
  res.end();
}

function openAIStream(model: string, withUsage: boolean): string {
  const pretty = model === 'raw-pretty';
  const S = (o: unknown) => (pretty ? JSON.stringify(o, null, 1).replace(/\n\s*/g, ' ') : JSON.stringify(o));
  const base = { id: 'chatcmpl-raw', object: 'chat.completion.chunk', created: 1, model };
  const ev = (o: unknown) => `data: ${S(o)}\n\n`;
  return (
    ev({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }], usage: null }) +
    ev({ ...base, choices: [{ index: 0, delta: { content: TEXT }, finish_reason: null }], usage: null }) +
    ev({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: null }) +
    (withUsage ? ev({ ...base, choices: [], usage: USAGE }) : '') +
    (model === 'raw-notail' ? 'data: [DONE]\n' : 'data: [DONE]\n\n')
  );
}

function anthropicStream(model: string): string {
  const ev = (name: string, d: unknown) => `event: ${name}\ndata: ${JSON.stringify(d)}\n\n`;
  if (model === 'rawclaude-overloaded') {
    // What Anthropic sends when it is overloaded after the stream started: an error event, then the end.
    return (
      ev('message_start', { type: 'message_start', message: { id: 'msg_over', type: 'message', role: 'assistant', model, content: [], usage: { input_tokens: 12, output_tokens: 1 } } }) +
      ev('error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } })
    );
  }
  return (
    ev('message_start', { type: 'message_start', message: { id: 'msg_raw', type: 'message', role: 'assistant', model, content: [], usage: { input_tokens: 12, output_tokens: 1 } } }) +
    ev('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }) +
    ev('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: TEXT } }) +
    ev('content_block_stop', { type: 'content_block_stop', index: 0 }) +
    ev('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 9 } }) +
    ev('message_stop', { type: 'message_stop' })
  );
}

let upstream: Server;
let h: Harness;
beforeAll(async () => {
  upstream = createServer(async (req, res) => {
    let body = '';
    for await (const c of req) body += String(c);
    const j = JSON.parse(body) as { model: string; stream_options?: { include_usage?: boolean } };
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    if (req.url?.includes('/messages')) await trickle(res, anthropicStream(j.model));
    else await trickle(res, openAIStream(j.model, j.stream_options?.include_usage === true), j.model === 'raw-pretty' ? 64 : 5);
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const rawUrl = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
  const price = { input: 1, output: 2 };
  h = await startHarness({
    config: () => ({
      providers: {
        raw: { type: 'openai-compatible', baseUrl: `${rawUrl}/v1`, models: ['raw-*'] },
        rawant: { type: 'anthropic', baseUrl: rawUrl, models: ['rawclaude-*'] },
      },
      models: ['raw-split', 'raw-pretty', 'raw-notail', 'rawclaude-split', 'rawclaude-overloaded'].map((name) => ({ name, provider: name.startsWith('rawclaude') ? 'rawant' : 'raw', price })),
    }),
  });
});
afterAll(async () => {
  await h.close();
  await new Promise((r) => upstream.close(r));
});

async function chatText(model: string): Promise<{ text: string; usageChunks: number }> {
  let text = '';
  let usageChunks = 0;
  for await (const c of await h.openai.chat.completions.create({ model, stream: true, messages: [{ role: 'user', content: 'x' }] })) {
    text += c.choices[0]?.delta?.content ?? '';
    if (c.usage) usageChunks += 1;
  }
  return { text, usageChunks };
}

async function eventOf(model: string) {
  for (let i = 0; i < 100; i++) {
    const e = (await h.events()).find((x) => x.modelRequested === model);
    if (e) return e;
    await sleep(20);
  }
  throw new Error(`no event for ${model}`);
}

describe('streams in any valid shape', () => {
  it('passes multi-byte characters split across reads through intact (OpenAI chat)', async () => {
    expect(await chatText('raw-split')).toEqual({ text: TEXT, usageChunks: 0 });
    const e = await eventOf('raw-split');
    expect([e.inputTokens, e.outputTokens, e.usageEstimated]).toEqual([1000, 700, false]);
  });

  it('passes multi-byte characters split across reads through intact (Anthropic messages)', async () => {
    const m = await h.anthropic.messages.stream({ model: 'rawclaude-split', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }).finalMessage();
    expect(m.content[0]?.type === 'text' ? m.content[0].text : null).toBe(TEXT);
    const e = await eventOf('rawclaude-split');
    expect([e.inputTokens, e.outputTokens, e.usageEstimated]).toEqual([12, 9, false]);
  });

  it('meters usage written with spaces after colons, and still hides the usage chunk the client did not ask for', async () => {
    expect(await chatText('raw-pretty')).toEqual({ text: TEXT, usageChunks: 0 });
    const e = await eventOf('raw-pretty');
    expect([e.inputTokens, e.outputTokens, e.usageEstimated, e.errorClass]).toEqual([1000, 700, false, null]);
    expect(e.firstTokenAt).not.toBeNull();
    // $1 and $2 per million tokens.
    expect(e.costUsd).toBeCloseTo(0.001 + 0.0014, 10);
  });

  it('records an error the provider sent inside the stream as what it was, not as missing usage', async () => {
    const err = await h.anthropic.messages
      .stream({ model: 'rawclaude-overloaded', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] })
      .finalMessage()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect(String(err)).toMatch(/overloaded/i);
    const e = await eventOf('rawclaude-overloaded');
    expect([e.errorClass, e.usageEstimated, e.inputTokens]).toEqual(['upstream_stream_error: overloaded_error', true, 12]);
  });

  it('forwards a last event that has no blank line after it', async () => {
    const res = await fetch(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'raw-notail', stream: true, messages: [{ role: 'user', content: 'x' }] }),
    });
    const body = await res.text();
    expect(body.endsWith('data: [DONE]\n')).toBe(true);
    expect(body).toContain(TEXT);
    expect((await eventOf('raw-notail')).outputTokens).toBe(700);
  });
});
