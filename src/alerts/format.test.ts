import { describe, expect, it } from 'vitest';
import type { BudgetAlert } from '../policy/thresholds.js';
import { renderBudgetAlert } from './format.js';

/** Threshold alerts of a person's budget, as each kind of sink hears them. */
const alert: BudgetAlert = {
  dedupKey: 'carl-day|user:carl|0|0.002|80',
  budgetId: 'carl-day',
  scope: 'user:carl',
  unit: 'usd',
  period: 'day',
  amount: 0.002,
  spent: 0.00172,
  threshold: 80,
  passed: [],
  reason: 'threshold',
  blocked: null,
  windowStart: Date.UTC(2025, 8, 15),
  windowEnd: Date.UTC(2025, 8, 16),
  at: Date.UTC(2025, 8, 15, 10),
  contact: null,
};
const render = (sink: { type: 'slack' | 'webhook'; findings?: 'off' | 'team' | 'person' }, a = alert) =>
  JSON.stringify(renderBudgetAlert(a, sink, 'UTC'));

describe('budget threshold alerts of a person', () => {
  it('name nobody in a team channel (Slack by default, or findings: team/off)', () => {
    for (const sink of [{ type: 'slack' as const }, { type: 'webhook' as const, findings: 'team' as const }, { type: 'slack' as const, findings: 'off' as const }]) {
      const text = render(sink);
      expect(text).not.toMatch(/carl/);
      expect(text).toContain('A personal budget reached 80% this day: $0.00172 spent of $0.00200');
    }
  });

  it('name the person where the sink takes people (webhooks by default, or findings: person)', () => {
    expect(render({ type: 'webhook' })).toContain('"budget":{"id":"carl-day","scope":"user:carl"');
    expect(render({ type: 'slack', findings: 'person' })).toContain('Budget \\"carl-day\\" (user:carl) reached 80%');
  });

  it('say one step past several thresholds as one alert, true to the numbers', () => {
    const burst = { ...alert, budgetId: 'platform-day', scope: 'team:platform', amount: 0.01, spent: 0.018, threshold: 100, passed: [50, 80] };
    expect(JSON.parse(render({ type: 'webhook' }, burst))).toMatchObject({
      text: 'Budget "platform-day" (team:platform) passed 100% (also 50% and 80%) this day: $0.0180 spent of $0.0100. Resets 2025-09-16 00:00:00 UTC.',
      threshold: 100,
      passed: [50, 80],
    });
    expect(JSON.parse(render({ type: 'slack' }, { ...burst, threshold: 80, passed: [50] })).text).toMatch(/^:warning: .* passed 80% \(also 50%\) this day: /);
    expect(JSON.parse(render({ type: 'slack' }, { ...burst, threshold: 100, passed: [20, 50, 80] })).text).toContain('passed 100% (also 20%, 50% and 80%)');
  });

  it('name a team budget everywhere', () => {
    expect(render({ type: 'slack' }, { ...alert, budgetId: 'platform-day', scope: 'team:platform' })).toContain('Budget \\"platform-day\\" (team:platform) reached 80%');
  });
});

describe('blocked-request alerts', () => {
  it('say what happened to the request at the real spend, not a threshold reached', () => {
    const team = { ...alert, budgetId: 'platform-day', scope: 'team:platform', amount: 0.01, spent: 0.00103, dedupKey: 'platform-day|team:platform|0|0.01|refused' };
    const refusedText = JSON.parse(render({ type: 'webhook' }, { ...team, threshold: null, reason: 'blocked', blocked: { action: 'refused', cost: 0.16, limit: 0.01, reserved: 0 } })).text;
    expect(refusedText).toBe(
      'Budget "platform-day" (team:platform) refused a request at 10% spent this day ($0.00103): it could cost up to $0.160, more than the $0.00897 left of $0.0100. Resets 2025-09-16 00:00:00 UTC.',
    );
    const downgraded = { ...team, spent: 0.00312, threshold: null, reason: 'blocked' as const, blocked: { action: 'downgraded' as const, cost: 0.006, limit: 0.008, reserved: 0.0001 } };
    expect(JSON.parse(render({ type: 'slack' }, downgraded)).text).toBe(
      ':no_entry: Budget "platform-day" (team:platform) downgraded a request at 31% spent this day ($0.00312): it could cost up to $0.00600, more than the $0.00478 left under its downgrade point (80%: $0.00800 of $0.0100) ($0.000100 reserved by requests in flight). Resets 2025-09-16 00:00:00 UTC.',
    );
    // No threshold in the generic body: a consumer must not read a refusal at 10% spent as "reached 100%".
    expect(JSON.parse(render({ type: 'webhook' }, downgraded))).toMatchObject({
      threshold: null,
      reason: 'blocked',
      blocked: { action: 'downgraded', cost: 0.006, limit: 0.008, reserved: 0.0001 },
      spent: 0.00312,
    });
  });
});
