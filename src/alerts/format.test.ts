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
  reason: 'threshold',
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

  it('name a team budget everywhere', () => {
    expect(render({ type: 'slack' }, { ...alert, budgetId: 'platform-day', scope: 'team:platform' })).toContain('Budget \\"platform-day\\" (team:platform) reached 80%');
  });
});
