/**
 * The box-drawn table cli-table3 prints with its default characters, no colours and one space of padding, for
 * cells of printable ASCII: the same output in a fraction of the time (cli-table3 measures every cell with
 * string-width and ANSI parsing, which is most of a `goodhart report daily`'s run). Returns null for any other
 * text, so the caller falls back to cli-table3, which measures wide and combining characters properly.
 */
const ASCII = /^[\x20-\x7e]*$/;

export function boxTable(head: readonly string[], rows: readonly (readonly string[])[], aligns: readonly ('left' | 'right')[]): string | null {
  const all = [head, ...rows];
  for (const r of all) for (const c of r) if (!ASCII.test(c)) return null;
  const widths = head.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)) + 2);
  const line = (l: string, m: string, r: string): string => `${l}${widths.map((w) => '─'.repeat(w)).join(m)}${r}`;
  const row = (cells: readonly string[]): string =>
    `│${widths
      .map((w, i) => {
        const c = cells[i] ?? '';
        const pad = ' '.repeat(w - 2 - c.length);
        return ` ${aligns[i] === 'right' ? pad + c : c + pad} `;
      })
      .join('│')}│`;
  const out = [line('┌', '┬', '┐'), row(head)];
  for (const r of rows) out.push(line('├', '┼', '┤'), row(r));
  out.push(line('└', '┴', '┘'));
  return out.join('\n');
}
