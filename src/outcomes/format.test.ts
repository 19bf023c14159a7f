import { describe, expect, it } from 'vitest';
import { compact, formatEfficiencyTable } from './format.js';
import { efficiency } from './metrics.js';
import { counted, makeSlice } from './testing.js';

describe('the efficiency table', () => {
  it('groups thousands of dollars and shows spend under a cent, as report does', () => {
    const since = Date.parse('2026-03-09T00:00:00Z');
    const rows = efficiency({
      slices: [makeSlice({ userId: 'ann', teamId: 'core', costUsd: 259_219.4 }), makeSlice({ userId: 'bo', teamId: 'data', costUsd: 0.0042 })],
      outcomes: [counted({ userId: 'bo', teamId: 'data' })],
      links: [],
      since,
      until: since + 7 * 86_400_000,
    }, 'team');
    const table = formatEfficiencyTable(rows);
    expect(table).toMatch(/│ core +│ +\$259,219 │/);
    expect(table).toMatch(/│ data +│ +\$0\.0042 │ +1 │ .*│ +\$0\.0042 │/);
  });

  it('writes large token counts with B and T, and a trend beyond ten times as >+999%', () => {
    expect([12, 999, 1_500, 999_400, 999_999, 3_400_000, 44_691_400_000, 1_200_000_000_000, 1_234_000_000_000_000].map(compact)).toEqual([
      '12', '999', '2k', '999k', '1.0M', '3.4M', '44.7B', '1.2T', '1,234T',
    ]);
    const since = Date.parse('2026-03-09T00:00:00Z');
    const [row] = efficiency({ slices: [makeSlice({ teamId: 'core' })], outcomes: [counted()], links: [], since, until: since + 7 * 86_400_000 }, 'team');
    const table = formatEfficiencyTable([
      { ...row!, tokensPerOutcome: 44_691_400_000, trend: { change: 3_565_014.31, direction: 'worsening' } },
      { ...row!, subject: { kind: 'team', id: 'data' }, trend: { change: -0.25, direction: 'improving' } },
    ]);
    expect(table).toMatch(/│ +44\.7B │.*│ ↑ >\+999% │/);
    expect(table).toMatch(/│ data .*│ +↓ -25% │/);
    expect(table).not.toContain('M │');
  });
});
