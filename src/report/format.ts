import type { UsageAggregate } from '../store/types.js';
import { drawTable } from './table.js';

export { formatUsd } from './money.js';

/** The sums of a set of aggregate rows (the "Total" line). `firstAt`/`lastAt` are null for no rows. */
export interface AggregateTotals {
  requests: number;
  inputTokens: number;
  cacheReadTokens: number;
  cacheWrite5mTokens: number;
  cacheWrite1hTokens: number;
  outputTokens: number;
  reasoningTokens: number;
  costUsd: number;
  unpricedRequests: number;
  estimatedRequests: number;
  firstAt: number | null;
  lastAt: number | null;
  models: string[];
}

export function totalOf(rows: readonly UsageAggregate[]): AggregateTotals {
  const total: AggregateTotals = {
    requests: 0,
    inputTokens: 0,
    cacheReadTokens: 0,
    cacheWrite5mTokens: 0,
    cacheWrite1hTokens: 0,
    outputTokens: 0,
    reasoningTokens: 0,
    costUsd: 0,
    unpricedRequests: 0,
    estimatedRequests: 0,
    firstAt: null,
    lastAt: null,
    models: [],
  };
  const models = new Set<string>();
  for (const r of rows) {
    total.requests += r.requests;
    total.inputTokens += r.inputTokens;
    total.cacheReadTokens += r.cacheReadTokens;
    total.cacheWrite5mTokens += r.cacheWrite5mTokens;
    total.cacheWrite1hTokens += r.cacheWrite1hTokens;
    total.outputTokens += r.outputTokens;
    total.reasoningTokens += r.reasoningTokens;
    total.costUsd += r.costUsd;
    total.unpricedRequests += r.unpricedRequests;
    total.estimatedRequests += r.estimatedRequests;
    total.firstAt = total.firstAt === null ? r.firstAt : Math.min(total.firstAt, r.firstAt);
    total.lastAt = total.lastAt === null ? r.lastAt : Math.max(total.lastAt, r.lastAt);
    for (const m of r.models) models.add(m);
  }
  total.models = [...models].sort();
  total.costUsd = roundUsd(total.costUsd);
  return total;
}

/** Drops float noise from summed costs (0.1 + 0.2) at a nano-dollar, far below any price's precision. */
export function roundUsd(usd: number): number {
  return Math.round(usd * 1e9) / 1e9;
}

/** `1234567` → `1,234,567`, independent of the machine's locale. */
export function formatCount(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** A count with its noun, singular for exactly one: `1 request`, `2 requests`, `1,204 pull requests`. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}

/**
 * Cost with 4 decimals and thousands grouped (`2,092,592.5757`), `<0.0001` for a cost that rounds to nothing (never
 * `0.0000` for spend that happened); events without a price are shown as "n/a" instead of being counted as free.
 */
export function formatCost(costUsd: number, requests: number, unpricedRequests: number): string {
  if (requests > 0 && unpricedRequests === requests) return 'n/a';
  const cost = fourDecimals(roundUsd(costUsd));
  return unpricedRequests === 0 ? cost : `${cost} (+${formatCount(unpricedRequests)} n/a)`;
}

function fourDecimals(usd: number): string {
  const abs = Math.abs(usd);
  if (abs > 0 && abs < 0.00005) return usd < 0 ? '>-0.0001' : '<0.0001';
  const [whole, decimals] = abs.toFixed(4).split('.');
  return `${usd < 0 ? '-' : ''}${formatCount(Number(whole))}.${decimals}`;
}

type Counts = Omit<AggregateTotals, 'firstAt' | 'lastAt' | 'models'>;

function cells(label: string, r: Counts): string[] {
  return [
    label,
    formatCount(r.requests),
    formatCount(r.inputTokens),
    formatCount(r.cacheReadTokens),
    formatCount(r.cacheWrite5mTokens + r.cacheWrite1hTokens),
    formatCount(r.outputTokens),
    formatCount(r.reasoningTokens),
    formatCost(r.costUsd, r.requests, r.unpricedRequests),
  ];
}

/** A plain-text table of aggregate rows with a total line; notes how many requests had no price. */
export function formatAggregatesTable(rows: readonly UsageAggregate[], opts: { groupLabel: string }): string {
  if (rows.length === 0) return 'No usage events match.';
  const head = [opts.groupLabel, 'Requests', 'Input', 'Cache read', 'Cache write (5m+1h)', 'Output', 'Reasoning', 'Cost USD'];
  const aligns = ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right'] as const;
  const total = totalOf(rows);
  const body = [...rows.map((r) => cells(r.key, r)), cells('Total', total)];
  const text = drawTable({ head, aligns }, body);
  const lines = [text];
  if (total.unpricedRequests > 0) {
    const share = Math.round((total.unpricedRequests / total.requests) * 1000) / 10;
    lines.push(
      `n/a: ${formatCount(total.unpricedRequests)} of ${plural(total.requests, 'request')} (${share}%) used models with no known price; their cost is not included.`,
    );
  }
  if (total.estimatedRequests > 0) lines.push(estimatedNote(total.estimatedRequests, total.requests));
  return lines.join('\n');
}

/** The line under a table whose tokens are partly estimated (estimatedRequests in --json and --csv). */
export function estimatedNote(estimated: number, requests: number): string {
  const share = Math.round((estimated / requests) * 1000) / 10;
  return `estimated: ${formatCount(estimated)} of ${plural(requests, 'request')} (${share}%) had no usage from the provider (the client disconnected, the stream broke off); Goodhart counted their tokens itself, so they are approximate.`;
}

/** Machine-readable report: `{ ...meta, rows, totals }`, costs rounded to a nano-dollar. */
export function toJson(rows: readonly UsageAggregate[], meta: Record<string, unknown> = {}): string {
  return JSON.stringify(
    { ...meta, rows: rows.map((r) => ({ ...r, costUsd: roundUsd(r.costUsd) })), totals: totalOf(rows) },
    null,
    2,
  );
}
