import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../testing/harness.js';

/**
 * Hard caps against what a request body asks for beyond text tokens at the standard tier, which billing prices:
 * built-in tool calls (per call), a dearer service tier (priority, fast mode), spoken output (the audio rate). The
 * reservation must cover them, or one request, or a burst, spends a budget many times over. Official SDKs against
 * the gateway and the simulator; each test a person of its own with a budget of its own.
 */

let h: Harness;
const budgets: Record<string, number> = { vic: 0.01, wes: 0.1, ann: 0.03, pia: 0.01, fay: 0.05, flo: 0.01, yan: 0.05 };
const people = Object.keys(budgets);
const clients: Record<string, { openai: OpenAI; anthropic: Anthropic }> = {};

beforeAll(async () => {
  h = await startHarness({
    config: () => ({
      budgets: people.map((p) => ({ id: `${p}-daily`, scope: `user:${p}`, amount: budgets[p]!, period: 'day' as const, thresholds: [] })),
    }),
  });
  for (const p of people) {
    const key = await h.addKey(p);
    clients[p] = { openai: new OpenAI({ baseURL: `${h.url}/v1`, apiKey: key, maxRetries: 0 }), anthropic: new Anthropic({ baseURL: h.url, apiKey: key, maxRetries: 0 }) };
  }
});
afterAll(async () => {
  await h.close();
});

const spentBy = async (user: string) => (await h.events()).filter((e) => e.userId === user).reduce((s, e) => s + (e.costUsd ?? 0), 0);
const statusOf = (p: Promise<unknown>) => p.then(() => 200, (e: { status?: number }) => e.status ?? 0);

describe('built-in tool calls are reserved', () => {
  it('refuses a Responses web search that could cost far more than the budget (20 searches, $0.20 of $0.01)', async () => {
    const ask = clients['vic']!.openai.responses.create({ model: 'gpt-4.1', max_output_tokens: 100, tools: [{ type: 'web_search' }], input: 'find [[sim:searches=20,tokens=50]]' });
    const err = (await ask.catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err.status).toBe(429);
    // Ten searches at $0.01 and what they read: the refusal says how to ask for less.
    expect(err.message).toMatch(/may cost up to \$0\.2\d\d/);
    expect(err.message).toContain('fewer built-in tool calls (max_tool_calls');
    expect(await spentBy('vic')).toBeLessThanOrEqual(0.01);
  });

  it('a burst of searches limited by max_tool_calls stays within the budget', async () => {
    // Each costs 2 searches ($0.02) and a few tokens: ten of them are $0.20 against $0.10.
    const ask = () =>
      clients['wes']!.openai.responses.create({
        model: 'gpt-4.1',
        max_output_tokens: 50,
        max_tool_calls: 2, // (not in this SDK's types yet)
        tools: [{ type: 'web_search' }],
        input: 'find [[sim:searches=2,tokens=50]]',
      } as OpenAI.Responses.ResponseCreateParamsNonStreaming);
    const statuses = await Promise.all(Array.from({ length: 10 }, () => statusOf(ask())));
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(0);
    expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
    const events = (await h.events()).filter((e) => e.userId === 'wes' && e.status === 200);
    expect(events.every((e) => e.toolCalls?.web_search === 2)).toBe(true);
    expect(await spentBy('wes')).toBeLessThanOrEqual(0.1);
  });

  it('Anthropic web search: reserves max_uses searches, else a default number', async () => {
    const ask = (tool: Record<string, unknown>, searches: number) =>
      clients['ann']!.anthropic.messages.create({
        model: 'claude-haiku-4-5',
        max_tokens: 100,
        tools: [{ type: 'web_search_20250305', name: 'web_search', ...tool } as Anthropic.WebSearchTool20250305],
        messages: [{ role: 'user', content: `find [[sim:searches=${searches},tokens=50]]` }],
      });
    // Unlimited: ten searches reserved ($0.10 and what they read), more than $0.03.
    expect(await statusOf(ask({}, 5))).toBe(429);
    // One search allowed: served.
    expect(await statusOf(ask({ max_uses: 1 }, 5))).toBe(200);
    expect((await h.events()).filter((e) => e.userId === 'ann').at(-1)?.toolCalls).toEqual({ web_search: 1 });
    expect(await spentBy('ann')).toBeLessThanOrEqual(0.03);
  });
});

describe('a dearer service tier is reserved at its price', () => {
  it('OpenAI priority processing (2× for gpt-5): 900 tokens at $20 per million do not fit $0.01', async () => {
    const ask = clients['pia']!.openai.chat.completions.create({
      model: 'gpt-5',
      max_completion_tokens: 900,
      service_tier: 'priority',
      messages: [{ role: 'user', content: 'go [[sim:tokens=900]]' }],
    });
    expect(await statusOf(ask)).toBe(429);
    expect(await spentBy('pia')).toBeLessThanOrEqual(0.01);
  });

  it('Claude fast mode (6× for Opus 4.6): 1,000 tokens at $150 per million do not fit $0.05', async () => {
    const ask = clients['fay']!.anthropic.messages.create({
      model: 'claude-opus-4-6',
      max_tokens: 1000,
      speed: 'fast',
      messages: [{ role: 'user', content: 'go [[sim:tokens=1000]]' }],
    } as Anthropic.MessageCreateParamsNonStreaming);
    expect(await statusOf(ask)).toBe(429);
    expect(await spentBy('fay')).toBeLessThanOrEqual(0.05);
  });

  it('a cheaper tier (flex) is reserved at the standard price, and served', async () => {
    const ask = clients['flo']!.openai.chat.completions.create({
      model: 'gpt-5',
      max_completion_tokens: 900,
      service_tier: 'flex',
      messages: [{ role: 'user', content: 'go [[sim:tokens=900]]' }],
    });
    expect(await statusOf(ask)).toBe(200);
    expect(await spentBy('flo')).toBeCloseTo((900 * 10 * 0.5) / 1e6, 3);
  });
});

describe('spoken output is reserved at the audio rate', () => {
  it('gpt-audio asked for audio: 900 tokens at $64 per million do not fit $0.05', async () => {
    const ask = clients['yan']!.openai.chat.completions.create({
      model: 'gpt-audio',
      max_completion_tokens: 900,
      modalities: ['text', 'audio'],
      audio: { voice: 'alloy', format: 'wav' },
      messages: [{ role: 'user', content: 'go [[sim:tokens=900]]' }],
    });
    expect(await statusOf(ask)).toBe(429);
    expect(await spentBy('yan')).toBeLessThanOrEqual(0.05);
  });
});
