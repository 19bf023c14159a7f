import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../testing/harness.js';

/**
 * The core promise: a budget is never overshot by concurrent requests, and it is not under-used either.
 * 200 requests at once, a budget that affords about 50. The provider takes 1.5 s to answer, so all 200 are in
 * flight together: worst-case reservations (larger than the real costs) fill the budget before anything settles,
 * and the requests near the limit must wait for settlements rather than be refused (without that, 48 are served).
 */

/** gpt-4o-mini's published prices, USD per million tokens. */
const INPUT = 0.15;
const OUTPUT = 0.6;
const OUT_TOKENS = 1000;

let h: Harness;
let bob: OpenAI;
let budget = 0;
let oneRequest = 0;
let worstCase = 0;

const ask = (client: OpenAI) =>
  client.chat.completions.create({
    model: 'gpt-4o-mini',
    max_tokens: OUT_TOKENS,
    messages: [{ role: 'user', content: `Count the sheep. [[sim:tokens=${OUT_TOKENS},ttft=1500]]` }],
  });

beforeAll(async () => {
  // Price one request first (as alice, outside the budget), then give bob's key a budget for ~50 of them.
  const probe = await startHarness();
  const res = await ask(probe.openai);
  const u = res.usage!;
  oneRequest = (u.prompt_tokens * INPUT + u.completion_tokens * OUTPUT) / 1e6;
  // The exact bound the engine reserves near the limit: tokenizer count (+ message framing) + 64 + max_tokens.
  worstCase = ((u.prompt_tokens + 10 + 64) * INPUT + OUT_TOKENS * OUTPUT) / 1e6;
  await probe.close();
  budget = oneRequest * 50.5;
  h = await startHarness({
    config: () => ({ budgets: [{ id: 'bob-daily', scope: 'user:bob', amount: budget, period: 'day', thresholds: [] }] }),
  });
  bob = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: await h.addKey('bob'), maxRetries: 0 });
});
afterAll(async () => {
  await h.close();
});

describe('200 concurrent requests against a budget that affords about 50', () => {
  it('never overspends, and serves what the budget affords', async () => {
    const results = await Promise.allSettled(Array.from({ length: 200 }, () => ask(bob)));
    const served = results.filter((r) => r.status === 'fulfilled').length;
    const refused = results.filter((r) => r.status === 'rejected');
    for (const r of refused) {
      expect((r.reason as InstanceType<typeof OpenAI.APIError>).status).toBe(429);
    }

    const events = (await h.events()).filter((e) => e.userId === 'bob');
    const spent = events.reduce((sum, e) => sum + (e.costUsd ?? 0), 0);
    const ok = events.filter((e) => e.status === 200);
    expect(ok.length).toBe(served);
    expect(events.length).toBe(200);
    expect(refused.length).toBe(200 - served);

    // Spend never exceeds the budget…
    expect(spent).toBeLessThanOrEqual(budget);
    // …and what is left could not pay for one more request's worst case: the budget was used, not wasted.
    expect(budget - spent).toBeLessThan(worstCase);
    // 50.5 requests' worth: 50 served (the 51st's worst case does not fit in the half left).
    expect(served).toBe(Math.floor((budget - worstCase) / oneRequest) + 1);
    expect(served).toBe(50);
    expect(spent).toBeCloseTo(served * oneRequest, 12);
    // Every reservation was settled or released.
    expect(h.gateway.governance!.policy.state.inFlight()).toBe(0);
  });

  it('then refuses with a 429 that names the budget, what is left and when it resets', async () => {
    const err = await ask(bob).catch((e: unknown) => e as InstanceType<typeof OpenAI.APIError>);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    const e = err as InstanceType<typeof OpenAI.APIError>;
    expect(e.status).toBe(429);
    expect(e.message).toMatch(/Budget "bob-daily" \(user:bob, per day\) cannot cover this request/);
    expect(e.message).toMatch(/It resets \d{4}-\d{2}-\d{2} 00:00:00 UTC/);
    expect(e.message).toMatch(/ask a Goodhart admin/);
    expect(Number(e.headers?.get('x-goodhart-budget-remaining'))).toBeLessThan(worstCase);
    expect(e.headers?.get('x-goodhart-budget-reset')).toMatch(/T00:00:00.000Z$/);
    expect(Number(e.headers?.get('retry-after'))).toBeGreaterThan(0);
  });
});
