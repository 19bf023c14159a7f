import { describe, expect, it } from 'vitest';
import { budgetSchema } from './config.js';
import { budgetRefusal, type Standing } from './messages.js';
import { compileBudget } from './rules.js';

/** A budget's 429 gives advice that can work from where the budget stands. */

const DAY = { start: Date.UTC(2026, 11, 6), end: Date.UTC(2026, 11, 7) };
const standing = (over: Partial<Standing> & { contact?: string; period?: 'day' | 'none' }): Standing => ({
  rule: compileBudget(budgetSchema.parse({ id: 'alice-daily', scope: 'user:alice', amount: 0.05, period: over.period ?? 'day', ...(over.contact ? { contact: over.contact } : {}) }), 'UTC'),
  scopeKey: 'user:alice',
  window: over.period === 'none' ? { start: 0, end: Number.POSITIVE_INFINITY } : DAY,
  amount: 0.05,
  spent: 0,
  reserved: 0,
  ...over,
});

describe('budget refusals', () => {
  it('with something left, says a smaller request may still fit', () => {
    expect(budgetRefusal(standing({ spent: 0.04, contact: '#ai-budget' }), 0.016, 'UTC')).toBe(
      'Budget "alice-daily" (user:alice, per day) cannot cover this request: $0.0400 spent and $0 reserved by requests in flight, of $0.0500; $0.0100 left, and this request may cost up to $0.0160. It resets 2026-12-07 00:00:00 UTC. To get more, ask #ai-budget. A smaller max_tokens or a cheaper model may still fit.',
    );
  });

  it('with nothing left, says when it resets and whom to ask, not that a smaller request may fit', () => {
    const text = budgetRefusal(standing({ spent: 0.0512, contact: '#ai-budget' }), 0.0002, 'UTC');
    expect(text).toBe(
      'Budget "alice-daily" (user:alice, per day) is used up: $0.0512 spent and $0 reserved by requests in flight, of $0.0500; nothing is left until it resets 2026-12-07 00:00:00 UTC. To get more before then, ask #ai-budget.',
    );
    expect(budgetRefusal(standing({ spent: 0.05, period: 'none' }), 0, 'UTC')).toBe(
      'Budget "alice-daily" (user:alice, all time) is used up: $0.0500 spent and $0 reserved by requests in flight, of $0.0500; nothing is left, and an all-time budget does not reset. To get more, ask a Goodhart admin or someone in finance to raise it (`goodhart budgets set`).',
    );
  });

  it('with nothing left but requests in flight holding some, says what they do not use comes back', () => {
    const text = budgetRefusal(standing({ spent: 0.03, reserved: 0.02 }), 0.001, 'UTC');
    expect(text).toContain('nothing is left while those requests run. What they do not use comes back as they finish: try again in a minute.');
    expect(text).not.toMatch(/smaller max_tokens|may cost up to/);
  });
});
