import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../testing/harness.js';

/**
 * A configured fallback is a request for another model: it passes the tier check and reserves budget at its own price.
 * It used to be served on the first model's admission, so a member reached a premium model and a fallback to a
 * dearer model passed a hard cap ($0.15 spent of $0.02 with ten parallel requests).
 */
let h: Harness;
let member: OpenAI;
let senior: OpenAI;

const ask = (c: OpenAI) => c.chat.completions.create({ model: 'cheap', max_tokens: 1000, messages: [{ role: 'user', content: 'Go. [[sim:tokens=1000]]' }] });

beforeAll(async () => {
  h = await startHarness({
    config: (simUrl) => ({
      providers: {
        openai: { type: 'openai', baseUrl: `${simUrl}/v1`, apiKey: 'sk-sim-openai' },
        down: { type: 'openai-compatible', baseUrl: 'http://127.0.0.1:9/v1', models: [] },
      },
      // $0.10 and $10 per million output tokens: 1,000 tokens reserve $0.0001 and $0.01.
      models: [
        { name: 'cheap', provider: 'down', upstreamName: 'gpt-4o-mini', price: { input: 0, output: 0.1 } },
        { name: 'dear', provider: 'openai', upstreamName: 'gpt-4.1', price: { input: 0, output: 10 } },
      ],
      fallbacks: { cheap: ['dear'] },
      tiers: { economy: ['cheap'], premium: ['dear'] },
      roles: { member: { tiers: ['economy'] }, senior: { tiers: ['economy', 'premium'] } },
      users: [{ id: 'mia', team: 'lab', role: 'member' }, { id: 'sam', team: 'ops', role: 'senior' }],
      budgets: [{ id: 'ops-day', scope: 'team:ops', amount: 0.025, period: 'day', thresholds: [] }],
    }),
  });
  member = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: await h.addKey('mia', 'lab'), maxRetries: 0 });
  senior = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: await h.addKey('sam', 'ops'), maxRetries: 0 });
});
afterAll(async () => {
  await h.close();
});

describe('fallbacks under governance', () => {
  it("never serve a model the person's tier does not allow: the provider's failure is the answer", async () => {
    const err = (await ask(member).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err.status).toBe(502);
    const ev = (await h.events()).filter((e) => e.userId === 'mia').at(-1)!;
    expect([ev.status, ev.modelServed, ev.costUsd]).toEqual([502, null, 0]);
  });

  it('reserve at the fallback model’s price, so parallel fallbacks stop at a hard cap', async () => {
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => ask(senior)));
    const served = results.filter((r) => r.status === 'fulfilled').length;
    // $0.025 holds two $0.01 answers from the dear model, not ten.
    expect(served).toBe(2);
    const events = (await h.events()).filter((e) => e.userId === 'sam');
    const spent = events.reduce((a, e) => a + (e.costUsd ?? 0), 0);
    expect(spent).toBeCloseTo(0.02, 9);
    expect(events.filter((e) => e.status === 200).every((e) => e.fallbackFrom?.startsWith('down/gpt-4o-mini: upstream_unreachable'))).toBe(true);
  });
});
