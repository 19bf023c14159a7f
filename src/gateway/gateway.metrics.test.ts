import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../testing/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

function metric(text: string, name: string, labels: Record<string, string>): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${name}{`) && want.every((w) => l.includes(w)));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('/metrics and /readyz', () => {
  it('counts requests, tokens and cost exactly as the usage events do', async () => {
    await h.openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'one' }] });
    await h.anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'two' }] });
    await h.openai.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x [[sim:status=503]]' }] })
      .catch(() => undefined);
    const events = await h.events();
    const res = await request(`${h.url}/metrics`);
    expect(res.statusCode).toBe(200);
    const text = await res.body.text();
    expect(metric(text, 'goodhart_requests_total', { endpoint: 'chat.completions', status: '200' })).toBe(1);
    expect(metric(text, 'goodhart_requests_total', { endpoint: 'chat.completions', status: '503', error_class: 'upstream_5xx' })).toBe(1);
    expect(metric(text, 'goodhart_requests_total', { endpoint: 'messages', provider: 'anthropic' })).toBe(1);
    const openaiIn = events.filter((e) => e.provider === 'openai').reduce((a, e) => a + e.inputTokens, 0);
    expect(metric(text, 'goodhart_tokens_total', { provider: 'openai', type: 'input' })).toBe(openaiIn);
    const anthropicCost = events.filter((e) => e.provider === 'anthropic').reduce((a, e) => a + (e.costUsd ?? 0), 0);
    expect(metric(text, 'goodhart_cost_usd_total', { provider: 'anthropic' })).toBeCloseTo(anthropicCost, 12);
    expect(metric(text, 'goodhart_gateway_overhead_seconds_count', { phase: 'before' })).toBe(3);
    expect(text).toContain('goodhart_event_queue_depth');
  });

  it('is ready while the store answers', async () => {
    const res = await request(`${h.url}/readyz`);
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toEqual({ status: 'ready', store: 'sqlite', checks: { store: 'ok' } });
  });
});
