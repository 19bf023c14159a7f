import Table from 'cli-table3';
import { describe, expect, it } from 'vitest';
import { boxTable } from './box-table.js';

describe('boxTable', () => {
  it('prints exactly what cli-table3 prints for ASCII cells', () => {
    const head = ['Date', 'Requests', 'Cost USD'];
    const aligns = ['left', 'right', 'right'] as const;
    const rows = [
      ['2026-10-01', '1,234', '12.3400'],
      ['2026-10-02', '7', 'n/a'],
      ['Total', '1,241', '12.3400 (+7 n/a)'],
    ];
    const t = new Table({ head, colAligns: [...aligns], style: { head: [], border: [] } });
    for (const r of rows) t.push(r);
    expect(boxTable(head, rows, aligns)).toBe(t.toString());
  });

  it('declines wide or non-ASCII text, for cli-table3 to measure', () => {
    expect(boxTable(['Team'], [['数据']], ['left'])).toBeNull();
    expect(boxTable(['Model'], [['claude-…']], ['left'])).toBeNull();
  });
});
