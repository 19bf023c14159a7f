import {
  ArcElement,
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  DoughnutController,
  Filler,
  Legend,
  LineController,
  LineElement,
  LinearScale,
  PointElement,
  Tooltip,
  type ChartConfiguration,
} from 'chart.js';
import { h, usd } from './dom.js';

/**
 * Charts (Chart.js, bundled). Each canvas keeps its chart as `canvas.ghChart` and shows its numbers in a table
 * under "Numbers" (for screen readers, for copying, and for the end-to-end tests that check them against the store).
 */
Chart.register(ArcElement, BarController, BarElement, CategoryScale, DoughnutController, Filler, Legend, LineController, LineElement, LinearScale, PointElement, Tooltip);
Chart.defaults.animation = false;
Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", sans-serif';

const PALETTE = ['#3b6fb6', '#e07b39', '#4f9d69', '#b5527c', '#8c6bb1', '#c9a227', '#5aa5b8', '#7a7a7a'];

export type ChartCanvas = HTMLCanvasElement & { ghChart?: Chart };

/** What each kind of chart shows, for screen readers (the numbers themselves are in the table under it). */
const TITLES = { daily: 'Spend per day this month', forecast: 'Spend so far, projection to month end, and budget', mix: 'Share of spend', budget: 'Budget, spent and projected' } as const;

function mount(id: string, kind: keyof typeof TITLES, config: ChartConfiguration, rows: [string, string][], small = false): HTMLElement {
  const canvas = h('canvas', { 'data-chart': id, role: 'img', 'aria-label': `${TITLES[kind]}: see the numbers below` }) as ChartCanvas;
  const wrap = h('div', { class: small ? 'chart small' : 'chart' }, canvas);
  const numbers = h('details', { class: 'numbers' }, h('summary', {}, 'Numbers'), h('table', { 'data-chart-table': id }, h('tbody', {}, rows.map(([k, v]) => h('tr', {}, h('td', {}, k), h('td', { class: 'num' }, v))))));
  // Drawn once in the document, so the canvas has a size.
  queueMicrotask(() => {
    canvas.ghChart = new Chart(canvas, { ...config, options: { responsive: true, maintainAspectRatio: false, ...config.options } });
  });
  return h('div', {}, wrap, numbers);
}

/**
 * Axis labels in dollars with as many decimals as the tick step needs: a person spending cents a day gets $0.002,
 * $0.004… rather than $0.00 on every tick, and whole-dollar steps none ($500, $1,000: "$1,000.00" is wide enough
 * that neighbouring labels on a narrow axis ran together).
 */
export function moneyTick(v: string | number, _i: number, ticks: readonly { value: number }[]): string {
  const step = ticks.length > 1 ? Math.abs(ticks[1]!.value - ticks[0]!.value) : Math.abs(Number(v));
  const digits = step > 0 && step < 0.01 ? Math.min(6, Math.ceil(-Math.log10(step))) : step >= 1 && Number.isInteger(step) && Number.isInteger(Number(v)) ? 0 : 2;
  return new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: digits, maximumFractionDigits: digits }).format(Number(v));
}
// From $0: a month with no spend yet draws an axis at $0, not one from -$1 to $1.
const money = { beginAtZero: true, suggestedMax: 1, ticks: { callback: moneyTick } };
/** A horizontal money axis: labels side by side need more room between them than Chart.js's default 3 px. */
const moneyAcross = { ticks: { callback: moneyTick, autoSkipPadding: 16, maxRotation: 0 } };

/** Spend per day of the month. */
export function dailySpend(id: string, labels: string[], values: (number | null)[]): HTMLElement {
  return mount(
    id,
    'daily',
    { type: 'bar', data: { labels: labels.map((l) => l.slice(5)), datasets: [{ label: 'Spend per day', data: values, backgroundColor: PALETTE[0] }] }, options: { plugins: { legend: { display: false } }, scales: { y: money } } },
    labels.map((l, i) => [l, usd(values[i])]),
  );
}

/** Cumulative spend so far, the projection to the month's end, and the budget as a line. */
export function forecastChart(id: string, labels: string[], daily: (number | null)[], elapsed: number, forecast: { projected: number } | null, budget: number | null): HTMLElement {
  const cumulative: (number | null)[] = [];
  let sum = 0;
  daily.forEach((v, i) => {
    sum += v ?? 0;
    cumulative.push(i < elapsed ? Math.round(sum * 100) / 100 : null);
  });
  const spent = elapsed > 0 ? (cumulative[elapsed - 1] ?? 0) : 0;
  const projection = labels.map((_, i) => {
    if (forecast === null || i < elapsed - 1) return null;
    const days = labels.length - elapsed;
    return days <= 0 ? spent : Math.round((spent + ((forecast.projected - spent) * (i - elapsed + 1)) / days) * 100) / 100;
  });
  const datasets: ChartConfiguration<'line'>['data']['datasets'] = [
    { label: 'Spent so far', data: cumulative, borderColor: PALETTE[0], backgroundColor: 'rgba(59,111,182,0.12)', fill: true, pointRadius: 0 },
  ];
  if (forecast !== null) datasets.push({ label: 'Projected', data: projection, borderColor: PALETTE[1], borderDash: [6, 4], pointRadius: 0 });
  if (budget !== null) datasets.push({ label: 'Budget', data: labels.map(() => budget), borderColor: '#c0392b', borderDash: [2, 3], pointRadius: 0 });
  const rows: [string, string][] = [['Spent so far', usd(spent)]];
  if (forecast !== null) rows.push(['Projected at month end', usd(forecast.projected)]);
  if (budget !== null) rows.push(['Budget', usd(budget)]);
  return mount(id, 'forecast', { type: 'line', data: { labels: labels.map((l) => l.slice(5)), datasets }, options: { scales: { y: money } } } as ChartConfiguration, rows);
}

/**
 * Shares of spend (model mix, teams). The legend is HTML beside the chart, not drawn in the canvas: Chart.js cuts a
 * label at the canvas's edge ("claude-sonnet-", "gemini-2.5-flas"), where text in the page wraps.
 */
export function mixChart(id: string, labels: string[], values: number[], shown?: string[]): HTMLElement {
  const colours = labels.map((_, i) => PALETTE[i % PALETTE.length]!);
  const chart = mount(
    id,
    'mix',
    { type: 'doughnut', data: { labels, datasets: [{ data: values, backgroundColor: colours }] }, options: { plugins: { legend: { display: false } } } },
    // `shown`: the spend as the page words it (a model with no known price is `n/a`, not $0.00).
    labels.map((l, i) => [l, shown?.[i] ?? usd(values[i])]),
    true,
  );
  const swatch = (colour: string): HTMLElement => {
    const el = h('span', { class: 'swatch' });
    el.style.backgroundColor = colour; // CSSOM: the page's CSP refuses style attributes
    return el;
  };
  const legend = h('ul', { class: 'legend', 'data-legend': id }, labels.map((l, i) => h('li', {}, swatch(colours[i]!), h('span', { class: 'name' }, l))));
  const numbers = chart.querySelector('details');
  return h('div', {}, h('div', { class: 'mix' }, chart.firstElementChild, legend), numbers);
}

/** Budget against spent and projected, side by side; `counted` names what the spent and projected bars count (`gateway`). */
export function budgetBars(id: string, budget: number | null, spent: number, projected: number | null, counted: string | null = null): HTMLElement {
  const labels = ['Budget', ...['Spent', 'Projected'].map((l) => (counted === null ? l : `${l} (${counted})`))];
  const values = [budget ?? 0, spent, projected ?? 0];
  return mount(
    id,
    'budget',
    { type: 'bar', data: { labels, datasets: [{ label: 'USD', data: values, backgroundColor: ['#9aa4b2', PALETTE[0]!, PALETTE[1]!] }] }, options: { indexAxis: 'y', plugins: { legend: { display: false } }, scales: { x: moneyAcross } } },
    labels.map((l, i) => [l, budget === null && i === 0 ? 'no budget' : projected === null && i === 2 ? 'n/a' : usd(values[i])]),
    true,
  );
}
