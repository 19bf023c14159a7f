import { describe, expect, it } from 'vitest';
import { aggregateSql } from './aggregate-sql.js';

const at = (iso: string): number => Date.parse(iso);
const opts = { timeZone: 'UTC', rollups: true };

describe('aggregateSql', () => {
  it('reads the rollup for day, month, team, user, project and model', () => {
    for (const g of ['day', 'month', 'team', 'user', 'project', 'model'] as const) {
      const plan = aggregateSql(g, { teamId: 'core', model: 'gpt-4o', source: 'codex' }, opts);
      expect(plan.usesRollup, g).toBe(true);
      expect(plan.text).toContain('usage_hourly');
    }
  });

  it('reads raw events for sessions, session filters, rollups off, and ranges without a whole hour', () => {
    expect(aggregateSql('session', {}, opts).usesRollup).toBe(false);
    expect(aggregateSql('day', { sessionId: 's1' }, opts).usesRollup).toBe(false);
    expect(aggregateSql('day', {}, { ...opts, rollups: false }).usesRollup).toBe(false);
    const inOneHour = { since: at('2025-03-10T10:05:00Z'), until: at('2025-03-10T10:55:00Z') };
    expect(aggregateSql('team', inOneHour, opts).usesRollup).toBe(false);
    expect(aggregateSql('session', {}, opts).text).not.toContain('usage_hourly');
  });

  it('takes whole hours from the rollup and the partial hours at either end from events', () => {
    const since = at('2025-03-10T10:05:00Z');
    const until = at('2025-03-10T14:30:00Z');
    const { text, params } = aggregateSql('team', { since, until }, opts);
    // [10:05, 11:00) and [14:00, 14:30) raw; [11:00, 14:00) from the rollup.
    expect(params).toEqual([since, at('2025-03-10T11:00:00Z'), at('2025-03-10T14:00:00Z'), until, at('2025-03-10T11:00:00Z'), at('2025-03-10T14:00:00Z')]);
    expect(text.match(/FROM events/g)).toHaveLength(2);
  });

  it('passes every value as a parameter, never in the SQL text', () => {
    const { text, params } = aggregateSql('day', { teamId: "o'brien", userId: 'x; DROP TABLE events' }, { ...opts, timeZone: 'Asia/Kolkata' });
    expect(text).not.toContain('brien');
    expect(text).not.toContain('DROP');
    expect(text).not.toContain('Kolkata');
    expect(params).toEqual(["o'brien", 'x; DROP TABLE events', 'Asia/Kolkata']);
  });
});
