import { h } from './dom.js';

/**
 * A table in the order it was given until the viewer asks for another: a click on a column's header sorts by that
 * column (again: the other way), announced by aria-sort. For tables of people, given in name order: the page never
 * ranks them by default, and a viewer who wants to know who spent most can still ask.
 */
export interface SortableColumn {
  label: string;
  numeric?: boolean;
}

/** What a cell shows, and the value it sorts by (null sorts last either way). */
export interface SortableCell {
  show: Node | string;
  by: string | number | null;
}

export function sortableTable(columns: SortableColumn[], rows: SortableCell[][]): HTMLTableElement {
  const tbody = h('tbody', {});
  const headers: HTMLTableCellElement[] = [];
  let sorted: { column: number; dir: 1 | -1 } | null = null;
  const cls = (i: number) => (columns[i]?.numeric ? 'num' : undefined);
  const draw = () => {
    const order = sorted === null ? rows : [...rows].sort((a, b) => compare(a[sorted!.column]?.by ?? null, b[sorted!.column]?.by ?? null, sorted!.dir));
    tbody.replaceChildren(...order.map((r) => h('tr', {}, r.map((c, i) => h('td', { class: cls(i) }, c.show)))));
    headers.forEach((th, i) => th.setAttribute('aria-sort', sorted?.column === i ? (sorted.dir === 1 ? 'ascending' : 'descending') : 'none'));
  };
  columns.forEach((c, i) => {
    const button = h('button', { type: 'button', class: 'sort', title: `Sort by ${c.label.toLowerCase()}` }, c.label);
    button.addEventListener('click', () => {
      // Numbers first from the largest, names from A; a second click the other way.
      const first: 1 | -1 = c.numeric ? -1 : 1;
      sorted = { column: i, dir: sorted?.column === i ? ((-sorted.dir) as 1 | -1) : first };
      draw();
    });
    headers.push(h('th', { class: cls(i) }, button));
  });
  draw();
  return h('table', { 'data-sortable': '' }, h('thead', {}, h('tr', {}, headers)), tbody);
}

function compare(a: string | number | null, b: string | number | null, dir: 1 | -1): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? 1 : -1;
  if (typeof a === 'number' && typeof b === 'number') return (a - b) * dir;
  return String(a).localeCompare(String(b)) * dir;
}
