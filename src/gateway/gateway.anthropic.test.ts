import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encode } from 'gpt-tokenizer/encoding/o200k_base';
import { startHarness, type Harness } from '../testing/harness.js';

/** claude-sonnet-4-20250514, USD per million tokens, from Anthropic's published price list. */
const SONNET = { input: 3, write5m: 3.75, write1h: 6, read: 0.3, output: 15 };

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

async function lastEvent() {
  return (await h.events()).at(-1)!;
}

const longSystem = (ttl?: '1h') => [
  {
    type: 'text' as const,
    text: 'You review pull requests for a payments company. Be precise about money and rounding. '.repeat(150),
    cache_control: ttl ? { type: 'ephemeral' as const, ttl } : { type: 'ephemeral' as const },
  },
];

describe('Anthropic messages through the gateway', () => {
  it('converts disjoint cache buckets and prices each at its own rate (5-minute writes, then reads)', async () => {
    const ask = () =>
      h.anthropic.messages.create({
        model: 'claude-sonnet-4-20250514',
        max_tokens: 300,
        system: longSystem(),
        messages: [{ role: 'user', content: 'Is rounding half-even right for invoices?' }],
      });
    const first = await ask();
    const u1 = first.usage;
    expect(u1.cache_creation_input_tokens).toBeGreaterThan(1000);
    let ev = await lastEvent();
    expect(ev.inputTokens).toBe(u1.input_tokens + u1.cache_creation_input_tokens! + (u1.cache_read_input_tokens ?? 0));
    expect(ev.cacheWrite5mTokens).toBe(u1.cache_creation_input_tokens);
    expect(ev.cacheWrite1hTokens).toBe(0);
    expect(ev.outputTokens).toBe(u1.output_tokens);
    expect(ev.costUsd).toBeCloseTo(
      (u1.input_tokens * SONNET.input + u1.cache_creation_input_tokens! * SONNET.write5m + u1.output_tokens * SONNET.output) / 1e6,
      12,
    );

    const second = await ask();
    const u2 = second.usage;
    expect(u2.cache_read_input_tokens).toBe(u1.cache_creation_input_tokens);
    ev = await lastEvent();
    expect(ev.cacheReadTokens).toBe(u2.cache_read_input_tokens);
    expect(ev.cacheWrite5mTokens).toBe(0);
    expect(ev.inputTokens).toBe(u2.input_tokens + u2.cache_read_input_tokens!);
    expect(ev.costUsd).toBeCloseTo(
      (u2.input_tokens * SONNET.input + u2.cache_read_input_tokens! * SONNET.read + u2.output_tokens * SONNET.output) / 1e6,
      12,
    );
  });

  it('prices 1-hour cache writes at the 1-hour rate', async () => {
    const res = await h.anthropic.messages.create({
      model: 'claude-sonnet-4-20250514',
      max_tokens: 200,
      system: [{ ...longSystem('1h')[0]!, text: `Different prefix. ${longSystem('1h')[0]!.text}` }],
      messages: [{ role: 'user', content: 'Summarise your role.' }],
    });
    const u = res.usage;
    const ev = await lastEvent();
    expect(ev.cacheWrite1hTokens).toBe(u.cache_creation_input_tokens);
    expect(ev.cacheWrite1hTokens).toBeGreaterThan(1000);
    expect(ev.costUsd).toBeCloseTo(
      (u.input_tokens * SONNET.input + u.cache_creation_input_tokens! * SONNET.write1h + u.output_tokens * SONNET.output) / 1e6,
      12,
    );
  });

  it('meters a stream from message_start + message_delta, never summing the cumulative output count', async () => {
    const stream = h.anthropic.messages.stream({
      model: 'claude-sonnet-4-20250514',
      max_tokens: 500,
      messages: [{ role: 'user', content: 'Describe a B-tree.' }],
    });
    const final = await stream.finalMessage();
    const ev = await lastEvent();
    expect(ev.streamed).toBe(true);
    expect(ev.usageEstimated).toBe(false);
    expect(ev.inputTokens).toBe(final.usage.input_tokens);
    expect(ev.outputTokens).toBe(final.usage.output_tokens);
    expect(ev.providerRequestId).toBe(final.id);
    expect(ev.costUsd).toBeCloseTo((final.usage.input_tokens * SONNET.input + final.usage.output_tokens * SONNET.output) / 1e6, 12);
  });

  it('meters streamed tool use and thinking', async () => {
    const stream = h.anthropic.messages.stream({
      model: 'claude-sonnet-4-20250514',
      max_tokens: 2000,
      thinking: { type: 'enabled', budget_tokens: 1024 },
      tools: [{ name: 'lookup_invoice', input_schema: { type: 'object', properties: { id: { type: 'string' } } } }],
      messages: [{ role: 'user', content: 'Find invoice 42.' }],
    });
    const final = await stream.finalMessage();
    expect(final.stop_reason).toBe('tool_use');
    const ev = await lastEvent();
    expect(ev.outputTokens).toBe(final.usage.output_tokens);
    expect(ev.inputTokens).toBe(final.usage.input_tokens);
  });

  it('keeps the exact input from message_start when the upstream dies mid-stream, and estimates the output', async () => {
    const stream = h.anthropic.messages.stream({
      model: 'claude-sonnet-4-20250514',
      max_tokens: 1000,
      messages: [{ role: 'user', content: 'A long answer please [[sim:die-after=4]]' }],
    });
    let text = '';
    stream.on('text', (t) => {
      text += t;
    });
    await expect(stream.finalMessage()).rejects.toThrow();
    const counted = await h.anthropic.messages.countTokens({
      model: 'claude-sonnet-4-20250514',
      messages: [{ role: 'user', content: 'A long answer please [[sim:die-after=4]]' }],
    });
    const events = await h.events();
    const ev = events.at(-2)!;
    expect(ev.errorClass).toBe('upstream_disconnected');
    expect(ev.usageEstimated).toBe(true);
    expect(ev.inputTokens).toBe(counted.input_tokens);
    expect(ev.outputTokens).toBe(encode(text).length);
  });

  it('forwards count_tokens and records it at no cost', async () => {
    const res = await h.anthropic.messages.countTokens({
      model: 'claude-haiku-4-5',
      messages: [{ role: 'user', content: 'How many tokens is this?' }],
    });
    expect(res.input_tokens).toBeGreaterThan(3);
    const ev = await lastEvent();
    expect(ev.endpoint).toBe('messages.count_tokens');
    expect(ev.costUsd).toBe(0);
    expect(ev.inputTokens).toBe(0);
  });

  it('attributes tags and sessions, from headers or from metadata.user_id', async () => {
    await h.anthropic.messages.create(
      { model: 'claude-haiku-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] },
      { headers: { 'x-goodhart-tags': 'feature:search, exp-7', 'x-goodhart-session': 'sess-123' } },
    );
    let ev = await lastEvent();
    expect(ev.tags).toEqual(['feature:search', 'exp-7']);
    expect(ev.sessionId).toBe('sess-123');
    await h.anthropic.messages.create({
      model: 'claude-haiku-4-5',
      max_tokens: 50,
      metadata: { user_id: 'claude-code-session-9' },
      messages: [{ role: 'user', content: 'hi' }],
    });
    ev = await lastEvent();
    expect(ev.sessionId).toBe('claude-code-session-9');
    // A header's UTF-8 bytes (as curl sends them) are the same session as the same text in metadata.user_id.
    const session = 'café-セッション';
    await h.anthropic.messages.create(
      { model: 'claude-haiku-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] },
      { headers: { 'x-goodhart-session': Buffer.from(session).toString('latin1') } },
    );
    await h.anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 50, metadata: { user_id: session }, messages: [{ role: 'user', content: 'hi' }] });
    expect((await h.events()).slice(-2).map((e) => e.sessionId)).toEqual([session, session]);
    // Bytes that are not UTF-8 are kept as they came.
    await h.anthropic.messages.create(
      { model: 'claude-haiku-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] },
      { headers: { 'x-goodhart-session': 'caf\xe9' } },
    );
    expect((await lastEvent()).sessionId).toBe('caf\xe9');
  });
});
