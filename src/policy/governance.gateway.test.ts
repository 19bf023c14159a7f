import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../testing/harness.js';

/**
 * Budgets through the real gateway and the official SDKs, with an injected clock: downgrades, every route,
 * period boundaries in a non-UTC zone, changes through the admin API, rate limits.
 */

const ADMIN_KEY = 'admin-secret-key-0123456789';
const clock = { t: Date.parse('2025-03-31T21:30:00Z') }; // 23:30 in Paris (CEST), the last day of Q1
let h: Harness;
let carol: { openai: OpenAI; anthropic: Anthropic };

async function admin(method: string, path: string, body?: unknown): Promise<number> {
  const res = await fetch(`${h.url}/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  await res.text();
  return res.status;
}

/** A chat request costing exactly `tokens` µ$ (free input, $1 per million output tokens). */
const chat = (c: OpenAI, tokens: number, model = 'dear') =>
  c.chat.completions.create({ model, max_tokens: tokens, messages: [{ role: 'user', content: `Go. [[sim:tokens=${tokens}]]` }] }).withResponse();

beforeAll(async () => {
  h = await startHarness({
    now: () => clock.t,
    config: () => ({
      timeZone: 'Europe/Paris',
      models: [
        { name: 'dear', provider: 'openai', upstreamName: 'gpt-4.1', price: { input: 0, output: 1 } },
        { name: 'cheap', provider: 'openai', upstreamName: 'gpt-4.1-nano', price: { input: 0, output: 0.1 } },
        { name: 'emb', provider: 'openai', upstreamName: 'text-embedding-3-small', price: { input: 1, output: 0 } },
        { name: 'claude', provider: 'anthropic', upstreamName: 'claude-haiku-4-5', price: { input: 0, output: 1 } },
      ],
      budgets: [
        // alice: a team budget that downgrades past 80%.
        { id: 'platform-q', scope: 'team:platform', amount: 0.01, period: 'quarter', action: 'downgrade', downgradeAt: 80, downgradeTo: 'cheap', thresholds: [] },
        // carol (team "lab"): a small day budget of her own (a person's: its header is exact, to check the arithmetic;
        // a team's is rounded down to 1% of its amount).
        { id: 'lab-day', scope: 'user:carol', amount: 0.005, period: 'day', thresholds: [] },
      ],
      rateLimits: [{ id: 'per-key', scope: 'key:*', rpm: 30 }],
      admin: { keys: [{ id: 'ops', key: ADMIN_KEY }] },
    }),
  });
  const key = await h.addKey('carol', 'lab');
  carol = {
    openai: new OpenAI({ baseURL: `${h.url}/v1`, apiKey: key, maxRetries: 0 }),
    anthropic: new Anthropic({ baseURL: h.url, apiKey: key, maxRetries: 0 }),
  };
});
afterAll(async () => {
  await h.close();
});

describe('downgrade mode', () => {
  it('serves the cheaper model past the downgrade point and says so', async () => {
    const first = await chat(h.openai, 7000);
    expect(first.response.headers.get('x-goodhart-downgraded')).toBeNull();
    expect(first.data.model).toMatch(/^gpt-4\.1/);
    const second = await chat(h.openai, 2000); // 7000 + 2000 > 80% of 10000
    expect(second.response.headers.get('x-goodhart-downgraded')).toBe('dear -> cheap; budget=platform-q');
    expect(second.data.model).toMatch(/^gpt-4\.1-nano/);
    // (Both events start at the same frozen instant, so their order in the store is arbitrary.)
    const events = (await h.events()).filter((e) => e.userId === 'alice');
    const served = events.map((e) => `${e.modelRequested} -> ${e.modelServed?.replace(/-\d{4}-\d{2}-\d{2}$/, '')}`).sort();
    expect(served).toEqual(['dear -> gpt-4.1', 'dear -> gpt-4.1-nano']);
    // Each priced at the model that served it: 7000 tokens of "dear" ($1/M), 2000 of "cheap" ($0.1/M).
    expect(events.map((e) => e.costUsd).sort()).toEqual([0.0002, 0.007]);
  });

  it('past the downgrade point, serves as asked what the downgrade model cannot: Anthropic, embeddings, the model itself', async () => {
    // Alice's team stands at 72% (the test above): the downgrade model itself, asked for 9000 tokens, takes it past
    // 80%, as asked (it was refused: "no downgrade target").
    const cheap = await chat(h.openai, 9000, 'cheap');
    expect([cheap.response.status, cheap.response.headers.get('x-goodhart-downgraded')]).toEqual([200, null]);
    // Past 80%. "cheap" is an OpenAI model: no answer to /v1/messages, nor to embeddings.
    const anthropic = new Anthropic({ baseURL: h.url, apiKey: h.key, maxRetries: 0 });
    const m = await anthropic.messages.create({ model: 'claude', max_tokens: 5, messages: [{ role: 'user', content: 'Go. [[sim:tokens=5]]' }] }).withResponse();
    expect([m.response.status, m.response.headers.get('x-goodhart-downgraded'), m.data.model]).toEqual([200, null, expect.stringMatching(/^claude-haiku-4-5/)]);
    const counted = await anthropic.messages.countTokens({ model: 'claude', messages: [{ role: 'user', content: 'How long?' }] });
    expect(counted.input_tokens).toBeGreaterThan(0);
    const emb = await h.openai.embeddings.create({ model: 'emb', input: 'x' }).withResponse();
    expect([emb.response.status, emb.response.headers.get('x-goodhart-downgraded')]).toEqual([200, null]);
    // A chat request for the dear model is still downgraded.
    expect((await chat(h.openai, 100)).response.headers.get('x-goodhart-downgraded')).toBe('dear -> cheap; budget=platform-q');
  });

  it('resets at the quarter boundary in the configured zone (Paris midnight, not UTC)', async () => {
    clock.t = Date.parse('2025-03-31T21:59:59Z'); // 23:59:59 in Paris
    expect((await chat(h.openai, 1000)).response.headers.get('x-goodhart-downgraded')).not.toBeNull();
    clock.t = Date.parse('2025-03-31T22:00:00Z'); // 1 April 00:00 in Paris: Q2
    const q2 = await chat(h.openai, 1000);
    expect(q2.response.headers.get('x-goodhart-downgraded')).toBeNull();
    expect(q2.response.headers.get('x-goodhart-budget-reset')).toBe('2025-06-30T22:00:00.000Z');
  });
});

describe('every route counts', () => {
  it('books chat, responses, embeddings, messages and count_tokens, and refuses them all once the budget is used', async () => {
    clock.t = Date.parse('2025-04-02T08:00:00Z');
    await chat(carol.openai, 1000);
    await carol.openai.responses.create({ model: 'dear', max_output_tokens: 1000, input: 'Go. [[sim:tokens=1000]]' });
    await carol.openai.embeddings.create({ model: 'emb', input: 'x '.repeat(500) });
    await carol.anthropic.messages.create({ model: 'claude', max_tokens: 1000, messages: [{ role: 'user', content: 'Go. [[sim:tokens=1000]]' }] });
    await carol.anthropic.messages.countTokens({ model: 'claude', messages: [{ role: 'user', content: 'How long is this?' }] });
    const spent = (await h.events()).filter((e) => e.userId === 'carol').reduce((s, e) => s + (e.costUsd ?? 0), 0);
    expect(spent).toBeGreaterThan(0.003);
    expect(spent).toBeLessThanOrEqual(0.005);
    const attempts: Promise<unknown>[] = [
      chat(carol.openai, 2000),
      carol.openai.responses.create({ model: 'dear', max_output_tokens: 2000, input: 'Go.' }),
      carol.anthropic.messages.create({ model: 'claude', max_tokens: 2000, messages: [{ role: 'user', content: 'Go.' }] }),
    ];
    for (const a of attempts) await expect(a).rejects.toMatchObject({ status: 429 });
    // With their default retries, the SDKs show the refusal at once rather than sleeping until the budget resets
    // (retry-after: hours); one request each reaches the gateway.
    const before = (await h.events()).length;
    const patient = { openai: new OpenAI({ baseURL: `${h.url}/v1`, apiKey: carol.openai.apiKey }), anthropic: new Anthropic({ baseURL: h.url, apiKey: carol.anthropic.apiKey }) };
    const refused = (await patient.openai.chat.completions.create({ model: 'dear', max_tokens: 2000, messages: [{ role: 'user', content: 'Go.' }] }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    await expect(patient.anthropic.messages.create({ model: 'claude', max_tokens: 2000, messages: [{ role: 'user', content: 'Go.' }] })).rejects.toMatchObject({ status: 429 });
    expect([refused.status, Number(refused.headers?.get('retry-after')) > 3600, refused.headers?.get('x-should-retry')]).toEqual([429, true, 'false']);
    expect((await h.events()).length - before).toBe(2);
    // Free count_tokens still works while something is left…
    await expect(carol.anthropic.messages.countTokens({ model: 'claude', messages: [{ role: 'user', content: 'hi' }] })).resolves.toBeDefined();
    // …and once nothing is (here: the amount lowered below what was spent): it costs nothing at the provider.
    expect(await admin('PUT', '/budgets/lab-day', { scope: 'user:carol', amount: 0.001, period: 'day', thresholds: [] })).toBe(200);
    await expect(carol.anthropic.messages.countTokens({ model: 'claude', messages: [{ role: 'user', content: 'hi' }] })).resolves.toBeDefined();
    const err = (await carol.anthropic.messages.create({ model: 'claude', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e)) as InstanceType<typeof Anthropic.APIError>;
    expect(err).toBeInstanceOf(Anthropic.RateLimitError);
    expect(err.error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error', message: expect.stringMatching(/is used up: .*nothing is left until it resets/) } });
  });

  it('a raised amount applies at once; a changed period does not keep the old window’s spend', async () => {
    const carolSpent = async (since = 0) =>
      (await h.events()).filter((e) => e.userId === 'carol' && e.startedAt >= since).reduce((s, e) => s + (e.costUsd ?? 0), 0);
    const remaining = (r: { response: Response }) => Number(r.response.headers.get('x-goodhart-budget-remaining'));
    expect(await admin('PUT', '/budgets/lab-day', { scope: 'user:carol', amount: 0.01, period: 'day', thresholds: [] })).toBe(200);
    const before = await carolSpent();
    const raised = await chat(carol.openai, 1000); // reserves exactly 1000 µ$ (free input)
    expect(remaining(raised)).toBeCloseTo(0.01 - before - 0.001, 9);
    // The next day, a month budget counts the whole month (yesterday included)…
    clock.t = Date.parse('2025-04-03T08:00:00Z');
    expect(await admin('PUT', '/budgets/lab-day', { scope: 'user:carol', amount: 0.01, period: 'month', thresholds: [] })).toBe(200);
    const month = await chat(carol.openai, 10);
    expect(remaining(month)).toBeCloseTo(0.01 - (await carolSpent()) , 9);
    expect(month.response.headers.get('x-goodhart-budget-reset')).toBe('2025-04-30T22:00:00.000Z');
    // …and back to a day budget: only today's spend counts, not yesterday's.
    expect(await admin('PUT', '/budgets/lab-day', { scope: 'user:carol', amount: 0.01, period: 'day', thresholds: [] })).toBe(200);
    const day = await chat(carol.openai, 10);
    expect(remaining(day)).toBeCloseTo(0.01 - (await carolSpent(Date.parse('2025-04-02T22:00:00Z'))), 9);
    expect(remaining(day)).toBeCloseTo(0.01 - 0.00002, 9);
    expect(day.response.headers.get('x-goodhart-budget-reset')).toBe('2025-04-03T22:00:00.000Z');
  });
});

describe('rate limits', () => {
  it('refuses past the requests-per-minute limit of a key, in the client’s format, until the window slides', async () => {
    clock.t = Date.parse('2025-04-10T08:00:00Z');
    const bob = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: await h.addKey('bob', 'other'), maxRetries: 0 });
    const ask = () => bob.chat.completions.create({ model: 'dear', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
    for (let i = 0; i < 30; i++) await ask();
    const err = (await ask().catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(err.message).toContain('Rate limit "per-key"');
    expect(err.message).toContain('30 of 30 requests per minute');
    expect(err.code).toBe('rate_limit_exceeded');
    // When the request first fits: 2 s into the next minute, 30 × (1 − 2/60) + 1 = 30.
    expect(err.headers?.get('retry-after')).toBe('62');
    clock.t += 61_000;
    await expect(ask()).rejects.toBeInstanceOf(OpenAI.RateLimitError);
    clock.t += 1_000;
    await expect(ask()).resolves.toBeDefined();
  });
});
