import Table from 'cli-table3';
import { boxTable } from './box-table.js';
import { visible } from './visible.js';

/**
 * Every table the command line prints, drawn the same way: no colours (the same in a terminal, a pipe and a test),
 * each cell's control characters made visible (visible.ts) before it is measured, so text from the store can neither
 * drive the terminal nor break the columns. A cell given as lines is drawn on several lines, each made visible.
 */
export type Cell = string | number | readonly string[];

export interface TableSpec {
  head: readonly string[];
  aligns?: readonly ('left' | 'right')[];
  /** No rule between rows. */
  compact?: boolean;
  /** Fixed widths (null: as wide as the content), with word wrap. */
  colWidths?: readonly (number | null)[];
}

const cellText = (c: Cell): string => (typeof c === 'number' ? String(c) : typeof c === 'string' ? visible(c) : c.map(visible).join('\n'));

export function drawTable(spec: TableSpec, rows: readonly (readonly Cell[])[]): string {
  const head = spec.head.map(visible);
  const body = rows.map((r) => r.map(cellText));
  const aligns = spec.aligns ?? head.map(() => 'left' as const);
  // ASCII cells (dates, ids, numbers) are drawn directly; anything else is measured by cli-table3.
  if (spec.compact !== true && spec.colWidths === undefined) {
    const text = boxTable(head, body, aligns);
    if (text !== null) return text;
  }
  const table = new Table({
    head,
    colAligns: [...aligns],
    style: { head: [], border: [], ...(spec.compact === true ? { compact: true } : {}) },
    ...(spec.colWidths !== undefined ? { colWidths: [...spec.colWidths], wordWrap: true } : {}),
  } as ConstructorParameters<typeof Table>[0]);
  for (const r of body) table.push(r);
  return table.toString();
}
