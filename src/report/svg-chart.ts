/**
 * Inline SVG charts for the HTML audit: a self-contained file needs no script and no CDN, and SVG prints well.
 * Pure: data in, markup out; every text is escaped. Each chart carries its numbers in <title> elements (hover
 * and screen readers) and `data-value` attributes.
 */

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export interface BarChartInput {
  title: string;
  labels: readonly string[];
  values: readonly number[];
  format: (v: number) => string;
  /** A horizontal line (a budget, an average), with its label. */
  line?: { value: number; label: string } | undefined;
  width?: number;
  height?: number;
}

const nice = (max: number): number => {
  if (max <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
};

/**
 * Vertical bars, one per label (days of a month, months of a trend). A null value (a day whose requests all had no
 * known price) draws no bar, only `n/a` at the foot, as the dashboard's chart does: not a $0.00 day.
 */
export function barChart(c: Omit<BarChartInput, 'values'> & { values: readonly (number | null)[] }): string {
  const width = c.width ?? 720;
  const height = c.height ?? 240;
  const pad = { left: 64, right: 12, top: 28, bottom: 36 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const top = nice(Math.max(0, ...c.values.map((v) => v ?? 0), c.line?.value ?? 0));
  const y = (v: number): number => pad.top + plotH - (v / top) * plotH;
  const step = c.labels.length > 0 ? plotW / c.labels.length : plotW;
  const every = Math.max(1, Math.ceil(c.labels.length / 12));
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeXml(c.title)}">`,
    `<text x="${pad.left}" y="16" font-size="13" font-weight="600">${escapeXml(c.title)}</text>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const v = (top * i) / 4;
    parts.push(`<line x1="${pad.left}" x2="${width - pad.right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e3e6ea"/>`);
    parts.push(`<text x="${pad.left - 6}" y="${(y(v) + 4).toFixed(1)}" font-size="10" text-anchor="end" fill="#555">${escapeXml(c.format(v))}</text>`);
  }
  c.values.forEach((v, i) => {
    const x = pad.left + i * step + step * 0.15;
    const label = c.labels[i] ?? '';
    if (v === null) {
      parts.push(
        `<text x="${(x + step * 0.35).toFixed(1)}" y="${(pad.top + plotH - 3).toFixed(1)}" font-size="8" text-anchor="middle" fill="#888" data-label="${escapeXml(label)}" data-value="n/a">n/a<title>${escapeXml(`${label}: n/a`)}</title></text>`,
      );
    } else {
      const h = Math.max(0, pad.top + plotH - y(v));
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${y(v).toFixed(1)}" width="${(step * 0.7).toFixed(1)}" height="${h.toFixed(1)}" fill="#3b6fb6" data-label="${escapeXml(label)}" data-value="${v}"><title>${escapeXml(`${label}: ${c.format(v)}`)}</title></rect>`,
      );
    }
    if (i % every === 0) {
      parts.push(`<text x="${(x + step * 0.35).toFixed(1)}" y="${height - pad.bottom + 14}" font-size="10" text-anchor="middle" fill="#555">${escapeXml(label)}</text>`);
    }
  });
  if (c.line !== undefined) {
    const ly = y(c.line.value).toFixed(1);
    parts.push(`<line x1="${pad.left}" x2="${width - pad.right}" y1="${ly}" y2="${ly}" stroke="#c0392b" stroke-dasharray="5 4"/>`);
    parts.push(`<text x="${width - pad.right}" y="${Number(ly) - 4}" font-size="10" text-anchor="end" fill="#c0392b">${escapeXml(c.line.label)}</text>`);
  }
  parts.push('</svg>');
  return parts.join('');
}

/** Horizontal bars with their values written out (model mix, teams): long labels stay readable. */
export function horizontalBars(c: Omit<BarChartInput, 'line' | 'height'> & { texts?: readonly string[] }): string {
  const width = c.width ?? 720;
  const row = 22;
  const labelW = 220;
  const height = 28 + c.labels.length * row + 8;
  const max = Math.max(0, ...c.values) || 1;
  const barW = width - labelW - 110;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeXml(c.title)}">`,
    `<text x="0" y="16" font-size="13" font-weight="600">${escapeXml(c.title)}</text>`,
  ];
  c.values.forEach((v, i) => {
    const yy = 28 + i * row;
    const label = c.labels[i] ?? '';
    const w = (v / max) * barW;
    // `texts`: each value as the table words it (a model with no known price is `n/a`, not $0.00).
    const text = c.texts?.[i] ?? c.format(v);
    parts.push(`<text x="${labelW - 8}" y="${yy + 14}" font-size="11" text-anchor="end">${escapeXml(label.length > 34 ? `${label.slice(0, 33)}…` : label)}</text>`);
    parts.push(
      `<rect x="${labelW}" y="${yy + 3}" width="${w.toFixed(1)}" height="${row - 8}" fill="#3b6fb6" data-label="${escapeXml(label)}" data-value="${v}"><title>${escapeXml(`${label}: ${text}`)}</title></rect>`,
    );
    parts.push(`<text x="${(labelW + w + 6).toFixed(1)}" y="${yy + 14}" font-size="11" fill="#333">${escapeXml(text)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}
