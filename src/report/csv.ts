import type { UsageAggregate } from '../store/types.js';
import { roundUsd } from './format.js';
import { visible } from './visible.js';

/**
 * CSV of aggregate rows (RFC 4180: CRLF line ends, fields quoted when they hold a comma, quote or line break),
 * one header line, no total line: spreadsheets sum columns themselves. Times are ISO 8601 UTC. Control characters in
 * text (ESC, line breaks, bidi overrides) are written as their escapes, `\x1b`, as in the tables.
 */

const COLUMNS = [
  'requests',
  'inputTokens',
  'cacheReadTokens',
  'cacheWrite5mTokens',
  'cacheWrite1hTokens',
  'outputTokens',
  'reasoningTokens',
  'costUsd',
  'unpricedRequests',
  'estimatedRequests',
] as const satisfies readonly (keyof UsageAggregate)[];

export function csvField(value: string | number): string {
  // Control characters shown as their escapes (visible.ts): a CSV is read in terminals too, and no cell needs them.
  const s = typeof value === 'string' ? visible(value) : String(value);
  // A leading =, +, - or @ makes spreadsheets evaluate the cell: prefix a quote (OWASP's CSV injection advice).
  const safe = /^[=+\-@\t\r]/.test(s) && typeof value === 'string' ? `'${s}` : s;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/**
 * A cost as a plain decimal (`0.00000006`, never JavaScript's `6e-8`, which spreadsheets and CSV readers may take
 * for text): up to the nano-dollar the costs are rounded to, without trailing zeros.
 */
export function plainDecimal(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(9).replace(/0+$/, '');
}

export function toCsv(rows: readonly UsageAggregate[], keyLabel: string): string {
  const lines = [[keyLabel, ...COLUMNS, 'firstAt', 'lastAt', 'models'].map(csvField).join(',')];
  for (const r of rows) {
    lines.push(
      [
        r.key,
        ...COLUMNS.map((c) => (c === 'costUsd' ? plainDecimal(roundUsd(r.costUsd)) : r[c])),
        new Date(r.firstAt).toISOString(),
        new Date(r.lastAt).toISOString(),
        r.models.join(' '),
      ]
        .map(csvField)
        .join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}
