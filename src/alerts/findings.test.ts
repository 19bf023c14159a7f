import { describe, expect, it } from 'vitest';
import { makeFinding } from '../store/findings-store-contract.js';
import type { BudgetStatus } from '../report/budget-status.js';
import { detailOf, findingAlert, forecastAlert, forecastCrosses, forecastText, summaryText } from './findings.js';

const anomaly = makeFinding({
  id: 'a1',
  rule: 'spend-anomaly',
  subject: { kind: 'user', id: 'dana' },
  userId: 'dana',
  teamId: 'web',
  start: Date.UTC(2026, 8, 7),
  end: Date.UTC(2026, 8, 8),
  wastedUsd: 0,
  summary: 'user dana spent $180.00 on a day whose usual level (same weekday, last 4 weeks) is $12.00 (robust z 9.1).',
  suggestion: 'Worth a quick look at what drove the day.',
  evidence: { counts: { weeksOfBaseline: 4 }, ratios: { excessUsd: 168 }, requestIds: ['ev-1'] },
});

describe('finding alerts', () => {
  it('defaults: Slack gets the team, a webhook the person; either can be set', () => {
    expect(detailOf({ type: 'slack' })).toBe('team');
    expect(detailOf({ type: 'webhook' })).toBe('person');
    expect(detailOf({ type: 'slack', findings: 'person' })).toBe('person');
    expect(detailOf({ type: 'webhook', findings: 'off' })).toBe('off');
  });

  it('takes the person out of a summary that names them, at team level', () => {
    expect(summaryText(anomaly, 'team')).toBe('One person spent $180.00 on a day whose usual level (same weekday, last 4 weeks) is $12.00 (robust z 9.1).');
    expect(summaryText(anomaly, 'person')).toBe(anomaly.summary);
    // Any other mention of the id: a neutral line instead.
    expect(summaryText({ ...anomaly, summary: 'Spend of dana doubled.' }, 'team')).toBe('Spend anomalies found for one person (details for them and their lead in the dashboard).');
    // A team's anomaly names the team: nothing personal to hide.
    const team = { ...anomaly, subject: { kind: 'team' as const, id: 'web' }, userId: null, summary: 'team web spent $900.00 on a day…' };
    expect(summaryText(team, 'team')).toBe(team.summary);
  });

  it('names no team smaller than dashboard.minGroupSize at team level: "one person on team ana" is ana', () => {
    const a = findingAlert({ ...anomaly, teamId: 'ana' }, 'UTC', true);
    const slack = (a.render({ type: 'slack', url: 'http://x' }) as { text: string }).text;
    expect(slack).toContain('one person on a small team');
    expect(slack).toContain('One person spent $180.00');
    expect(slack).not.toMatch(/ana|dana/);
    const team = a.render({ type: 'webhook', url: 'http://x', findings: 'team' }) as any;
    expect(team.finding).toMatchObject({ subject: { kind: 'team', id: null }, teamId: null, userId: null });
    expect(JSON.stringify(team)).not.toMatch(/ana/);
    // A sink that takes people's detail gets it whole; a team big enough is named.
    expect((a.render({ type: 'webhook', url: 'http://x' }) as any).finding).toMatchObject({ teamId: 'ana', userId: 'dana' });
    expect((findingAlert({ ...anomaly, teamId: 'ana' }, 'UTC', false).render({ type: 'slack', url: 'http://x' }) as { text: string }).text).toContain('one person on team ana');
    // A small team's own anomaly is one or two people's spend: neither the team nor its name in the summary.
    const small = { ...anomaly, subject: { kind: 'team' as const, id: 'ana' }, userId: null, teamId: 'ana', summary: 'team ana spent $300.00 on a day…' };
    const text = (findingAlert(small, 'UTC', true).render({ type: 'slack', url: 'http://x' }) as { text: string }).text;
    expect(text).toContain('a small team');
    expect(text).toContain('A small team spent $300.00');
    expect(text).not.toMatch(/ana/);
  });

  it('renders per sink: Slack text without ids, webhook JSON with them, nothing for a sink that is off', () => {
    const a = findingAlert(anomaly, 'UTC');
    expect(a.dedupKey).toBe('finding|a1');
    const text = (a.render({ type: 'slack', url: 'http://x' }) as { text: string }).text;
    expect(text).toBe(
      ':chart_with_upwards_trend: Spend anomalies: one person on team web, unusual spend (no waste claimed), 2026-09-07 00:00:00 to 2026-09-08 00:00:00 UTC. One person spent $180.00 on a day whose usual level (same weekday, last 4 weeks) is $12.00 (robust z 9.1). Suggestion: Worth a quick look at what drove the day.',
    );
    const team = a.render({ type: 'webhook', url: 'http://x', findings: 'team' }) as any;
    expect(team.finding).toMatchObject({ subject: { kind: 'team', id: 'web' }, userId: null, sessionId: null, evidence: { requestIds: [] } });
    expect(JSON.stringify(team)).not.toContain('dana');
    const person = a.render({ type: 'webhook', url: 'http://x' }) as any;
    expect(person.finding).toMatchObject({ subject: { kind: 'user', id: 'dana' }, userId: 'dana', evidence: { requestIds: ['ev-1'] } });
    expect(a.render({ type: 'slack', url: 'http://x', findings: 'off' })).toBeNull();
  });

  it('names no person’s budget at team detail, a key budget included', () => {
    const status = (scope: string): BudgetStatus => ({
      budget: 'per-key', scope, unit: 'usd', period: 'month', action: 'block', amount: 90, spent: 84, usedPercent: 93,
      windowStart: Date.UTC(2026, 8, 1), windowEnd: Date.UTC(2026, 9, 1), note: null,
      projection: { projected: 173.79, low: 150, high: 190, method: 'trend', exhaustionDate: '2026-09-16', basisDays: 9 },
    });
    for (const scope of ['key:0f3a9c', 'user:dana']) {
      expect(forecastText(status(scope), 'team')).not.toContain(scope);
      expect(forecastText(status(scope), 'person')).toContain(scope);
    }
    expect(forecastText(status('team:web'), 'team')).toContain('team:web');
  });

  it('names a personal budget by neither id nor scope at team detail: its id often carries the name', () => {
    const dana: BudgetStatus = {
      budget: 'dana-personal-cap', scope: 'user:dana', unit: 'usd', period: 'month', action: 'block', amount: 90, spent: 84, usedPercent: 93,
      windowStart: Date.UTC(2026, 8, 1), windowEnd: Date.UTC(2026, 9, 1), note: null,
      projection: { projected: 173.79, low: 150, high: 190, method: 'trend', exhaustionDate: '2026-09-16', basisDays: 9 },
    };
    // As the threshold alerts to the same sink say it ("A personal budget reached 80%…").
    expect(forecastText(dana, 'team')).toBe('A personal budget is projected to reach $173.79 (likely $150.00 to $190.00) this month against $90.00; $84.00 spent so far. At this rate it runs out around 2026-09-16.');
    const a = forecastAlert(dana, Date.UTC(2026, 8, 10));
    for (const sink of [{ type: 'slack' as const, url: 'http://x' }, { type: 'webhook' as const, url: 'http://x', findings: 'team' as const }]) {
      expect(JSON.stringify(a.render(sink))).not.toMatch(/dana/);
    }
    expect(a.render({ type: 'webhook', url: 'http://x', findings: 'team' })).toMatchObject({ id: null, budget: { id: null, scope: 'user' } });
    // A sink that takes people's detail (a webhook's default) hears which budget it is.
    expect(a.render({ type: 'webhook', url: 'http://x' })).toMatchObject({ budget: { id: 'dana-personal-cap', scope: 'user:dana' } });
    expect((a.render({ type: 'slack', url: 'http://x', findings: 'person' }) as { text: string }).text).toContain('Budget "dana-personal-cap" (user:dana)');
    // A team's budget keeps its name in a team channel.
    expect(forecastText({ ...dana, budget: 'web-month', scope: 'team:web' }, 'team')).toContain('Budget "web-month" (team:web)');
  });

  it('sends no forecast alert for a run rate of minutes: a per-person daily budget needs 6 hours, a monthly one a day', () => {
    const day = Date.UTC(2026, 11, 3);
    // $1.19 in a 4-minute burst; two hours into the day the run rate projects $14.28 against $10.
    const status = (elapsedDays: number, period: 'day' | 'month', windowEnd: number): BudgetStatus => ({
      budget: 'per-person', scope: 'user:ana', unit: 'usd', period, action: 'notify', amount: 10, spent: 1.19, usedPercent: 11.9,
      windowStart: day, windowEnd, note: null,
      projection: { projected: 1.19 / elapsedDays, low: 1.19 / elapsedDays, high: 1.19 / elapsedDays, method: 'run-rate', exhaustionDate: null, basisDays: elapsedDays },
    });
    expect(forecastCrosses(status(2 / 24, 'day', day + 86_400_000))).toBe(false);
    expect(forecastCrosses(status(2.5 / 24, 'day', day + 86_400_000))).toBe(false);
    // $1.19 in 2.5 hours of a 30-day month projects $343: still under a day of observation.
    expect(forecastCrosses(status(2.5 / 24, 'month', day + 30 * 86_400_000))).toBe(false);
    // The same rate over 6 hours of a day is a projection worth a warning ($5 by 06:00 → $20).
    const morning = { ...status(0.25, 'day', day + 86_400_000), spent: 5 };
    morning.projection = { ...morning.projection!, projected: 20, low: 20, high: 20 };
    expect(forecastCrosses(morning)).toBe(true);
  });
});
