import { describe, expect, it } from 'vitest';
import { formatEfficiencyTable } from './format.js';
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
});
