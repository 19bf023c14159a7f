import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../testing/harness.js';

/** Routing configured in goodhart.yaml alone: the gateway composes it with governance (budgets) by itself. */
let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    config: (simUrl) => ({
      providers: {
        openai: { type: 'openai', baseUrl: `${simUrl}/v1`, apiKey: 'sk-sim-openai' },
        anthropic: { type: 'anthropic', baseUrl: simUrl, apiKey: 'sk-ant-sim' },
      },
      routing: { mode: 'off', teams: { platform: 'on' } },
      budgets: [{ id: 'platform-daily', scope: 'team:platform', amount: 100, period: 'day' }],
    }),
  });
});
afterAll(async () => {
  await h.close();
});

describe('routing from config, alongside budgets', () => {
  it("routes the team's simple request down the ladder and charges the budget the served model's price", async () => {
    const { data, response } = await h.openai.chat.completions
      .create({ model: 'gpt-5', messages: [{ role: 'user', content: 'What is the capital of France?' }] })
      .withResponse();
    expect(response.headers.get('x-goodhart-routed-from')).toBe('gpt-5');
    expect(data.model).not.toBe('gpt-5');
    expect(response.headers.get('x-goodhart-budget-remaining')).not.toBeNull();
    const ev = (await h.events()).at(-1)!;
    expect(ev.modelRequested).toBe('gpt-5');
    expect(ev.modelServed).toBe(data.model);

    const pinned = await h.openai.chat.completions
      .create({ model: 'gpt-5', messages: [{ role: 'user', content: 'What is the capital of France?' }] }, { headers: { 'x-goodhart-route': 'off' } })
      .withResponse();
    expect(pinned.data.model).toBe('gpt-5');
    expect(pinned.response.headers.get('x-goodhart-routed-from')).toBeNull();
  });
});
