import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../testing/harness.js';

/**
 * A shared budget (here a team's) counts every member's spend: its exact remaining, before and after a colleague's
 * request, would be that colleague's cost. Through the real gateway, as the reviewer reproduced it: alice probes with
 * requests the provider refuses ($0), bob (same team) spends $0.002016 in between.
 */

const clock = { t: Date.parse('2026-12-06T10:00:00Z') };
let h: Harness;
let bob: OpenAI;

/** A request the provider answers 400: it costs nothing, and its answer still carries the budget headers. */
async function probe(key: string): Promise<Headers> {
  const res = await fetch(`${h.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'dear', max_tokens: 1, messages: [{ role: 'user', content: 'Hi. [[sim:status=400]]' }] }),
  });
  await res.text();
  expect(res.status).toBe(400);
  return res.headers;
}

beforeAll(async () => {
  h = await startHarness({
    now: () => clock.t,
    config: () => ({
      models: [{ name: 'dear', provider: 'openai', upstreamName: 'gpt-4.1', price: { input: 0, output: 1 } }],
      budgets: [
        { id: 'platform-month', scope: 'team:platform', amount: 5, period: 'month', thresholds: [] },
        { id: 'alice-month', scope: 'user:alice', amount: 100, period: 'month', thresholds: [] },
      ],
    }),
  });
  bob = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: await h.addKey('bob', 'platform'), maxRetries: 0 });
});
afterAll(async () => {
  await h.close();
});

describe('a shared budget’s remaining', () => {
  it('does not move by a colleague’s small request: it is given to a step of 1% of the amount', async () => {
    const before = await probe(h.key);
    expect(before.get('x-goodhart-budget')).toBe('platform-month; scope=team:platform; unit=usd');
    await bob.chat.completions.create({ model: 'dear', max_tokens: 2016, messages: [{ role: 'user', content: 'Go. [[sim:tokens=2016]]' }] });
    const bobs = (await h.events()).filter((e) => e.userId === 'bob');
    expect(bobs.map((e) => e.costUsd)).toEqual([0.002016]);
    const after = await probe(h.key);
    // Exact, these were 4.999… and 4.997…: their difference bob's cost. Rounded down to $0.05 (1% of $5), both 4.95.
    expect([before.get('x-goodhart-budget-remaining'), after.get('x-goodhart-budget-remaining')]).toEqual(['4.950000', '4.950000']);
  });

  it('is refused with percentages of the amount, not bob’s spend in dollars', async () => {
    const err = (await h.openai.chat.completions
      .create({ model: 'dear', max_tokens: 6_000_000, messages: [{ role: 'user', content: 'Go.' }] })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err.status).toBe(429);
    // Bob's $0.002016 is 0.04% of $5; exactly, this read "$0.00202 spent … $5.00 left".
    expect(err.message).toContain(
      'Budget "platform-month" (team:platform, per month) cannot cover this request: under 1% spent and 0% reserved by requests in flight, of $5.00; 99% left, and this request may cost up to $6.00.',
    );
    expect(err.headers?.get('x-goodhart-budget-remaining')).toBe('4.950000');
  });
});
