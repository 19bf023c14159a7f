import { hash } from 'node:crypto';
import { isRecord } from '../../usage/usage-fields.js';
import { stableId } from '../ids.js';
import { nanosToMs } from './attributes.js';
import type { IntervalGroup, MetricPoint } from './map-metrics.js';
import type { SpanTotals } from '../../store/types.js';
import type { OtelUsage } from './types.js';

/**
 * What the metric points of one interval event said so far, kept with it in the store (`otel_intervals`), so that
 * points of one interval that arrive in several requests make one event: an OpenTelemetry Collector's batch processor
 * with `send_batch_max_size` splits an export anywhere (input and output tokens in one request, cache tokens and the
 * cost in the next), and a sender may export a cost point apart from its tokens. Each point is counted once, by its
 * own identity (its series and start, within the interval the event is: a retried or replayed request adds
 * nothing); the event is made again from the sums. Pure.
 */
export interface IntervalState {
  /** The points counted (hashes of series key and start): a point sent again adds nothing. */
  points: string[];
  /** Their sums by what they count: token types (`input`, `output`, `cacheRead`, `cacheCreation`) and `cost` (USD). */
  sums: Record<string, number>;
  /** The earliest start (unix ns) of its DELTA points; null when none sent one, or CUMULATIVE. */
  startNs: string | null;
}

/** A point's identity within its interval: its series and its start. */
export function pointId(p: Pick<MetricPoint, 'seriesKey' | 'startNs'>): string {
  return hash('sha256', `${p.seriesKey}\u0002${p.startNs}`, 'hex').slice(0, 20);
}

/**
 * The ids the release before `otel_intervals` (a5a7090) gave a DELTA interval's events: one per series group
 * (`MetricPoint.groupKey`), keyed by the earliest start of its points. An exporter retries a request for minutes, so
 * one stored by that release can come again after the upgrade: its points are counted already (`countedBefore`).
 */
export function legacyDeltaIds(group: IntervalGroup, points: readonly MetricPoint[]): { id: string; members: number[] }[] {
  if (group.cumulative) return [];
  const bySeries = new Map<string, { start: string | null; members: number[] }>();
  for (const { index } of group.members) {
    const p = points[index]!;
    if (!(p.value > 0)) continue;
    const g = bySeries.get(p.groupKey) ?? { start: null, members: [] };
    g.start = earlier(g.start, p.startNs === '0' ? null : p.startNs);
    g.members.push(index);
    bySeries.set(p.groupKey, g);
  }
  return [...bySeries].map(([groupKey, g]) => ({ id: stableId('otel', `${group.kind}\u0002${groupKey}\u0002${g.start ?? '0'}-${group.timeNs}`), members: g.members }));
}

/** The state with these points taken as counted, adding nothing to its sums (an event of them is stored already). */
export function countedBefore(state: IntervalState, points: readonly MetricPoint[], indexes: readonly number[]): IntervalState {
  return indexes.length === 0 ? state : { ...state, points: [...state.points, ...indexes.map((i) => pointId(points[i]!))] };
}

/** A stored state, or an empty one (none stored, or not one this release wrote). */
export function parseState(json: string | undefined): IntervalState {
  if (json !== undefined) {
    try {
      const o: unknown = JSON.parse(json);
      if (isRecord(o) && Array.isArray(o['points']) && isRecord(o['sums'])) {
        const sums: Record<string, number> = {};
        for (const [k, v] of Object.entries(o['sums'])) if (typeof v === 'number' && Number.isFinite(v)) sums[k] = v;
        return { points: o['points'].filter((x): x is string => typeof x === 'string'), sums, startNs: typeof o['startNs'] === 'string' ? o['startNs'] : null };
      }
    } catch {
      // Not a state: start afresh.
    }
  }
  return { points: [], sums: {}, startNs: null };
}

/**
 * The state with the group's points of this request added, each whose increase is positive and which the state has
 * not counted yet; null when none is new (a replay, a retry, a cumulative point that did not move).
 */
export function addPoints(state: IntervalState, group: IntervalGroup, points: readonly MetricPoint[], increase: readonly number[]): IntervalState | null {
  const seen = new Set(state.points);
  const next: IntervalState = { points: [...state.points], sums: { ...state.sums }, startNs: state.startNs };
  let added = false;
  for (const { index, type } of group.members) {
    const p = points[index]!;
    const inc = increase[index] ?? 0;
    const id = pointId(p);
    if (!(inc > 0) || seen.has(id)) continue;
    seen.add(id);
    next.points.push(id);
    next.sums[type] = (next.sums[type] ?? 0) + (type === 'cost' ? inc : Math.round(inc));
    if (!p.cumulative && p.startNs !== '0') next.startNs = earlier(next.startNs, p.startNs);
    added = true;
  }
  return added ? next : null;
}

/**
 * The usage the interval's event records, or null when it records nothing. Claude Code's: its token types, at the
 * cost it reported when a cost point is counted. A GenAI histogram's: what it counts beyond `spans`, the span events
 * of its resource, model and window (`topUpUsage`). A DELTA event runs from the earliest start of its points (none
 * sent: its end) to its end; a CUMULATIVE one is dated at its end.
 */
export function intervalUsage(group: IntervalGroup, state: IntervalState, spans?: SpanTotals): OtelUsage | null {
  let usage: OtelUsage['usage'] | null;
  let tags = group.what.tags;
  if (group.kind === 'genai-metric') {
    usage = topUpUsage(state, spans);
    if (spans !== undefined && spans.requests > 0) tags = [...tags, TOP_UP_TAG];
  } else {
    usage = claudeCodeUsage(state);
  }
  if (usage === null) return null;
  const end = nanosToMs(group.timeNs);
  return {
    key: group.key,
    at: group.cumulative ? end : nanosToMs(state.startNs ?? group.timeNs),
    endedAt: end,
    ...group.what,
    tags,
    usage,
    reportedCostUsd: group.kind === 'ccm' ? (state.sums['cost'] ?? null) : null,
    providerRequestId: null,
    errorClass: null,
  };
}

/** The tag of a GenAI histogram's event from which the tokens of spans in its window were taken. */
export const TOP_UP_TAG = 'top-up';

function claudeCodeUsage(state: IntervalState): OtelUsage['usage'] | null {
  const n = (type: string): number => state.sums[type] ?? 0;
  const usage = emptyUsage({ ...state.sums });
  // Claude Code counts cache reads and writes apart from input.
  usage.input.noCache = n('input');
  usage.input.cacheRead = n('cacheRead');
  // Claude Code does not say which TTL; Anthropic's default is 5 minutes.
  usage.input.cacheWrite5m = n('cacheCreation');
  usage.input.total = usage.input.noCache + usage.input.cacheRead + usage.input.cacheWrite5m;
  usage.output.total = usage.output.text = n('output');
  const cost = state.sums['cost'];
  return usage.input.total + usage.output.total === 0 && !(cost !== undefined && cost > 0) ? null : usage;
}

/**
 * What a GenAI token histogram's interval counts beyond the span events of its resource, model and window (spans are
 * sampled, the histogram is not: the spans are the per-request record of the requests they describe, and this is
 * the rest), or null when the spans account for all of it. The semantic conventions count input tokens with the
 * cached ones included; the histogram does not split them.
 */
export function topUpUsage(state: IntervalState, spans: SpanTotals = { inputTokens: 0, outputTokens: 0, requests: 0 }): OtelUsage['usage'] | null {
  const input = Math.max(0, (state.sums['input'] ?? 0) - spans.inputTokens);
  const output = Math.max(0, (state.sums['output'] ?? 0) - spans.outputTokens);
  if (input + output === 0) return null;
  const usage = emptyUsage({ histogram: { ...state.sums }, spans: { ...spans } });
  usage.input.total = usage.input.noCache = input;
  usage.output.total = usage.output.text = output;
  return usage;
}

function emptyUsage(raw: unknown): OtelUsage['usage'] {
  return { input: { total: 0, noCache: 0, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 0 }, output: { total: 0, text: 0, reasoning: 0 }, raw };
}

/**
 * Where the interval starts once this request's points are in it (epoch ms): the earliest of its stored start, the
 * starts of its DELTA points and what its CUMULATIVE points' increases count from (`since`: the series' previous
 * point, or its start); its end when none is known.
 *
 * A CUMULATIVE series with no stored point before this one (`since` is its own start) counts from the later of its
 * start and `previousEndMs`, the end of the latest stored interval of the same resource, model and endpoint: SDKs
 * date every cumulative series from the SDK's start (Java, .NET), so a series that first appears later (another
 * server address, a first error type) would stretch the window back over spans earlier intervals already took.
 */
export function intervalFrom(group: IntervalGroup, points: readonly MetricPoint[], since: (index: number) => string | null, storedFromMs?: number, previousEndMs?: number | null): number {
  let fromMs: number | null = null;
  for (const { index } of group.members) {
    const p = points[index]!;
    const start = p.cumulative ? since(index) : p.startNs === '0' ? null : p.startNs;
    if (start === null) continue;
    let ms = nanosToMs(start);
    if (p.cumulative && start === p.startNs && previousEndMs != null) ms = Math.max(ms, previousEndMs);
    fromMs = fromMs === null ? ms : Math.min(fromMs, ms);
  }
  const ms = fromMs ?? nanosToMs(group.timeNs);
  return storedFromMs === undefined ? ms : Math.min(ms, storedFromMs);
}

/** The earlier of two nanosecond times (null: none). */
function earlier(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  return BigInt(b) < BigInt(a) ? b : a;
}
