/** Tiny DOM helpers: every text goes through textContent, never innerHTML. */
import { formatUsd } from '../report/money.js';

type Child = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | boolean | ((e: Event) => void) | undefined> = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'string' || typeof c === 'number' ? String(c) : c);
  }
  return el;
}

const countFmt = new Intl.NumberFormat('en-US');

/** Dollars as the CLI prints them: `$1,234.56`, and spend under a cent as `$0.0042`, never `$0.00`. */
export const usd = (n: number | null | undefined): string => (n === null || n === undefined ? 'n/a' : formatUsd(n));
export const count = (n: number | null | undefined): string => (n === null || n === undefined ? 'n/a' : countFmt.format(n));
/** A count with its noun, singular for exactly one: `1 request`, `2 requests`. */
export const counted = (n: number, one: string, many = `${one}s`): string => `${count(n)} ${n === 1 ? one : many}`;
/**
 * Spend of a row that may hold requests to models with no known price (their cost is not in `costUsd`, and they are
 * not free): `n/a` when all of them are, `$12.00 + 3 unpriced` when some are, as `goodhart report` prints them.
 */
export const spendText = (costUsd: number, requests: number, unpricedRequests: number): string =>
  requests > 0 && unpricedRequests >= requests ? 'n/a' : unpricedRequests > 0 ? `${usd(costUsd)} + ${count(unpricedRequests)} unpriced` : usd(costUsd);
/** The line under a spend figure: `12 requests`, and how many of them had no price (`12 requests, 3 of them unpriced (not in the dollars)`). */
export const requestsLine = (requests: number, unpricedRequests: number): string =>
  `${counted(requests, 'request')}${unpricedRequests > 0 ? `, ${unpricedRequests >= requests ? (requests === 1 ? 'unpriced' : 'all unpriced') : `${count(unpricedRequests)} of them unpriced`} (not in the dollars)` : ''}`;
/**
 * The line under the token count: how much input came from the cache, and how many requests' tokens were estimated
 * (the provider reported no usage: Goodhart counted them itself).
 */
export const tokensLine = (cacheReadTokens: number, estimatedRequests: number): string =>
  `${count(cacheReadTokens)} input from cache${estimatedRequests > 0 ? `; ~ ${counted(estimatedRequests, 'request')} estimated (no usage reported)` : ''}`;
export const pct = (n: number | null | undefined): string => (n === null || n === undefined ? 'n/a' : `${n}%`);
const wallFmts = new Map<string, Intl.DateTimeFormat>();
/**
 * `YYYY-MM-DD HH:MM` of an instant in `timeZone` (the config's, which every page's days and months are in): a
 * finding at 19:00 on 30 November in Los Angeles is shown on the November page at that time, not at 03:00 on
 * 1 December.
 */
export function dateTime(ms: number, timeZone: string): string {
  let fmt = wallFmts.get(timeZone);
  if (fmt === undefined) {
    fmt = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
    wallFmts.set(timeZone, fmt);
  }
  const p: Record<string, string> = {};
  for (const part of fmt.formatToParts(ms)) p[part.type] = part.value;
  return `${p['year']}-${p['month']}-${p['day']} ${p['hour']}:${p['minute']}`;
}

export function table(head: string[], rows: Child[][], numeric: number[] = []): HTMLTableElement {
  const cls = (i: number) => (numeric.includes(i) ? 'num' : undefined);
  return h(
    'table',
    {},
    h('thead', {}, h('tr', {}, head.map((t, i) => h('th', { class: cls(i) }, t)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c, i) => h('td', { class: cls(i) }, c))))),
  );
}

export const card = (title: string, ...children: (Child | Child[])[]): HTMLElement => h('section', { class: 'card' }, h('h2', {}, title), ...children);
export const note = (text: string): HTMLElement => h('p', { class: 'note' }, text);
export const kpi = (label: string, value: string, sub?: string): HTMLElement =>
  h('div', { class: 'kpi' }, h('div', { class: 'label' }, label), h('div', { class: 'value' }, value), sub ? h('div', { class: 'sub' }, sub) : null);
