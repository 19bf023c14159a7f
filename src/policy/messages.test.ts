import { describe, expect, it } from 'vitest';
import { budgetSchema } from './config.js';
import { budgetHeaders, budgetRefusal, downgradePointRefusal, type Standing } from './messages.js';
import { compileBudget } from './rules.js';

/** A budget's 429 gives advice that can work from where the budget stands. */

const DAY = { start: Date.UTC(2026, 11, 6), end: Date.UTC(2026, 11, 7) };
type Over = Partial<Standing> & { contact?: string; period?: 'day' | 'none'; unit?: 'usd' | 'tokens' };
const standing = (over: Over): Standing => {
  const scopeKey = over.scopeKey ?? 'user:alice';
  const amount = over.amount ?? 0.05;
  const cfg = { id: 'alice-daily', scope: scopeKey, amount, unit: over.unit ?? 'usd', period: over.period ?? 'day', ...(over.contact ? { contact: over.contact } : {}) };
  return {
    rule: compileBudget(budgetSchema.parse(cfg), 'UTC'),
    scopeKey,
    window: over.period === 'none' ? { start: 0, end: Number.POSITIVE_INFINITY } : DAY,
    amount,
    spent: 0,
    reserved: 0,
    ...over,
  };
};
const remaining = (...standings: Standing[]): string | undefined => {
  const headers: Record<string, string> = {};
  budgetHeaders(standings, headers);
  return headers['x-goodhart-budget-remaining'];
};

describe('the remaining header', () => {
  it('gives a person’s own budget (user:, key:) exactly, after this request’s reservation', () => {
    expect(remaining(standing({ spent: 0.0123456, reserved: 0.001 }))).toBe('0.036654');
    expect(remaining(standing({ scopeKey: 'key:k1', unit: 'tokens', amount: 3000, spent: 1234 }))).toBe('1766');
  });

  it('gives a shared one (org, team, project, tag) rounded down to 1% of its amount: a colleague’s request does not show', () => {
    // 73.3% left of $0.05: 73%, $0.0365. A colleague's $0.0002 request (73.3% → 72.9%) then moves it by a whole step.
    const team = (spent: number) => remaining(standing({ scopeKey: 'team:platform', spent, reserved: 0.001 }));
    expect(team(0.0123456)).toBe('0.036500');
    expect(team(0.0124456)).toBe('0.036500');
    expect(team(0.0125456)).toBe('0.036000');
    for (const scopeKey of ['org', 'project:checkout', 'tag:search']) expect(remaining(standing({ scopeKey, spent: 0.0123456 }))).toBe('0.037500');
    // Tokens alike: 1766 of 3000 is 58.9%, 1740 tokens.
    expect(remaining(standing({ scopeKey: 'tag:search', unit: 'tokens', amount: 3000, spent: 1234 }))).toBe('1740');
    // Never more than is left: just under a step is the step below; exactly a step (in floating point) is that step.
    expect(remaining(standing({ scopeKey: 'org', amount: 1, spent: 0.7000001 }))).toBe('0.290000');
    expect(remaining(standing({ scopeKey: 'org', amount: 1, spent: 0.7 }))).toBe('0.300000');
    expect(remaining(standing({ scopeKey: 'org', amount: 1, spent: 1.2 }))).toBe('0.000000');
  });

  it('names the tightest budget by what it shows', () => {
    // Alice's own: 40.5% left; the team's: 40.9%, shown as 40%: the team's is the tighter of the two as shown.
    const headers: Record<string, string> = {};
    budgetHeaders([standing({ amount: 1, spent: 0.595 }), standing({ scopeKey: 'team:platform', amount: 10, spent: 5.91 })], headers);
    expect([headers['x-goodhart-budget'], headers['x-goodhart-budget-remaining']]).toEqual(['alice-daily; scope=team:platform; unit=usd', '4.000000']);
  });
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

  it('gives a shared budget’s spent, reserved and left as whole percentages of its amount: a colleague’s request does not show', () => {
    const team = (spent: number, reserved: number) => budgetRefusal(standing({ scopeKey: 'team:platform', amount: 500, spent, reserved, contact: '#ai-budget' }), 100, 'UTC');
    const text = team(410.3, 2.1);
    expect(text).toBe(
      'Budget "alice-daily" (team:platform, per day) cannot cover this request: 82% spent and under 1% reserved by requests in flight, of $500.00; 17% left, and this request may cost up to $100.00. It resets 2026-12-07 00:00:00 UTC. To get more, ask #ai-budget. A smaller max_tokens or a cheaper model may still fit.',
    );
    // A colleague's $0.002 request, settled or still in flight, changes nothing the text says.
    expect(team(410.302, 2.1)).toBe(text);
    expect(team(410.3, 2.102)).toBe(text);
    // The advice still follows the exact figures: nothing left but requests in flight, or used up.
    expect(team(300, 200)).toContain('60% spent and 40% reserved by requests in flight, of $500.00; nothing is left while those requests run.');
    expect(team(512.345, 0)).toContain('is used up: 102% spent and 0% reserved by requests in flight, of $500.00; nothing is left until it resets');
    expect(team(499.99, 0)).toContain('99% spent and 0% reserved by requests in flight, of $500.00; under 1% left, and this request may cost up to $100.00.');
    // Tokens alike, and a person's own tokens budget exactly.
    const tokens = (scopeKey: string) => budgetRefusal(standing({ scopeKey, unit: 'tokens', amount: 3000, spent: 2000, reserved: 10 }), 1500, 'UTC');
    expect(tokens('tag:search')).toContain('66% spent and under 1% reserved by requests in flight, of 3,000 tokens; 33% left, and this request may cost up to 1,500 tokens.');
    expect(tokens('key:k1')).toContain('2,000 tokens spent and 10 tokens reserved by requests in flight, of 3,000 tokens; 990 tokens left, and this request may cost up to 1,500 tokens.');
  });
});

describe('downgrade-point refusals', () => {
  it('give a person’s own spend exactly, a shared budget’s as a whole percentage', () => {
    const refusal = (scopeKey: string) => {
      const s = standing({ scopeKey, amount: 500, spent: 399.123 });
      return downgradePointRefusal({ ...s, rule: { ...s.rule, downgradeAt: 0.8, cfg: { ...s.rule.cfg, downgradeAt: 80 } } }, 'it has no downgrade model for this request', 'UTC');
    };
    expect(refusal('user:alice')).toBe(
      'Budget "alice-daily" (user:alice, per day) would pass its downgrade point with this request (80%: $400.00 of $500.00; $399.12 spent), and it has no downgrade model for this request. It resets 2026-12-07 00:00:00 UTC.',
    );
    expect(refusal('org')).toBe(
      'Budget "alice-daily" (org, per day) would pass its downgrade point with this request (80%: $400.00 of $500.00; 79% spent), and it has no downgrade model for this request. It resets 2026-12-07 00:00:00 UTC.',
    );
  });
});
