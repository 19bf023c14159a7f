import type { OutcomeEvent } from '../../outcomes/event.js';
import type { OtelCommit, OtelInterval, OtelRead, PreviousInterval, SpanTotals, SpanWindow } from '../../store/types.js';
import { storable } from '../../store/rows.js';
import type { UsageEvent } from '../../usage/event.js';
import { stableId } from '../ids.js';
import { nanosToMs, resourceTag } from './attributes.js';
import { addPoints, countedBefore, intervalFrom, intervalUsage, legacyDeltaIds, parseState, topUpUsage, TOP_UP_TAG, type IntervalState } from './intervals.js';
import { outcomesOf, type IntervalGroup, type MetricPoint, type planPoints } from './map-metrics.js';
import type { OtelOutcome, OtelUsage } from './types.js';

/**
 * What an OTLP request asks of the store's transaction (Store.commitOtel), and what it writes from what the store
 * holds. Pure: the store calls `windows` and `build` inside its transaction, again if it has to run it again.
 */

/** Pricing and attribution of the request's records (process.ts), as functions of data. */
export interface Makers {
  event(u: OtelUsage): UsageEvent;
  outcome(o: OtelOutcome): OutcomeEvent;
  /** The cost of a GenAI histogram's event with its usage changed (aggregate pricing). */
  reprice(e: UsageEvent, usage: OtelUsage['usage']): number | null;
}

const lockOf = (w: Pick<SpanWindow, 'resource' | 'model'>): string => `resource:${w.resource}|${w.model}`;

/**
 * A metrics request: its CUMULATIVE points move their series; each interval it has points of takes those it has
 * not counted yet, and its event is made again (a GenAI histogram's less the spans of its window).
 */
export function metricsCommit(points: readonly MetricPoint[], plan: ReturnType<typeof planPoints>, make: Makers): OtelCommit {
  const cumulative = points.flatMap((p, i) => (p.cumulative ? [i] : []));
  const counterOf = new Map(cumulative.map((i, j) => [i, j]));
  const ids = plan.groups.map((g) => stableId('otel', g.key));
  // A DELTA request the release before otel_intervals stored, retried after the upgrade: found by its old ids.
  const legacy = plan.groups.map((g) => legacyDeltaIds(g, points));
  // Where the stored intervals of each cumulative histogram's resource, model and endpoint ended, for a series that
  // joins it later (intervalFrom).
  const previous: PreviousInterval[] = [];
  const previousOf = new Map<number, number>();
  plan.groups.forEach((g, j) => {
    if (g.spans === undefined || !g.members.some((m) => points[m.index]!.cumulative)) return;
    previousOf.set(j, previous.length);
    previous.push({ ...g.spans, beforeMs: nanosToMs(g.timeNs) });
  });
  const increasesOf = (read: OtelRead): number[] => points.map((p, i) => (p.cumulative ? (read.counters[counterOf.get(i)!]?.increase ?? 0) : p.value));
  /** The intervals this request adds to, with their states and windows once it has. */
  const changed = (read: OtelRead) => {
    const increases = increasesOf(read);
    const since = (i: number): string | null => read.counters[counterOf.get(i)!]?.sinceNs ?? null;
    const out: { group: IntervalGroup; id: string; state: IntervalState; fromMs: number; toMs: number }[] = [];
    plan.groups.forEach((group, j) => {
      const stored = read.intervals.get(ids[j]!);
      const before = stored === undefined ? legacy[j]!.flatMap((l) => (read.events.has(l.id) ? l.members : [])) : [];
      const state = addPoints(countedBefore(parseState(stored?.state), points, before), group, points, increases);
      const previousEndMs = previousOf.has(j) ? read.previousEnds[previousOf.get(j)!] : null;
      if (state !== null) out.push({ group, id: ids[j]!, state, fromMs: intervalFrom(group, points, since, stored?.fromMs, previousEndMs), toMs: nanosToMs(group.timeNs) });
    });
    return out;
  };
  const windowsOf = (read: OtelRead): SpanWindow[] => changed(read).flatMap((c) => (c.group.spans === undefined ? [] : [{ ...c.group.spans, fromMs: c.fromMs, toMs: c.toMs }]));
  return {
    counters: cumulative.map((i) => ({ seriesKey: points[i]!.seriesKey, startTimeNs: points[i]!.startNs, timeNs: points[i]!.timeNs, value: points[i]!.value })),
    perRequest: [],
    intervals: ids,
    covering: [],
    events: [...new Set(legacy.flat().map((l) => l.id))],
    previous,
    locks: plan.groups.flatMap((g) => (g.spans === undefined ? [] : [lockOf(g.spans)])),
    windows: windowsOf,
    build: (read) => {
      const intervals: OtelInterval[] = [];
      const events: UsageEvent[] = [];
      const drop: string[] = [];
      let w = 0;
      for (const c of changed(read)) {
        const spans = c.group.spans === undefined ? undefined : read.spans[w++];
        intervals.push({ id: c.id, resource: c.group.spans?.resource ?? null, model: c.group.spans?.model ?? null, endpoint: c.group.spans?.endpoint ?? null, fromMs: c.fromMs, toMs: c.toMs, state: JSON.stringify(c.state) });
        const u = intervalUsage(c.group, c.state, spans);
        if (u !== null) events.push(make.event(u));
        // A histogram's event the spans of its window now account for in full.
        else if (read.events.has(c.id)) drop.push(c.id);
      }
      return { intervals, events, drop, outcomes: outcomesOf(points, increasesOf(read), plan.outcomePoints).map(make.outcome) };
    },
  };
}

/**
 * GenAI span events (per request): stored, and each GenAI histogram interval of their resource, model and endpoint
 * that overlaps them made again, since its event is what the spans of its window leave over (spans reach the
 * receiver seconds after the requests they describe, often after the histogram of their minute did).
 */
export function spansCommit(spans: readonly UsageEvent[], make: Pick<Makers, 'reprice'>): OtelCommit {
  const covering = new Map<string, SpanWindow>();
  for (const e of spans) {
    const tag = e.tags.find((t) => t.startsWith(resourceTag('')));
    if (tag === undefined || e.modelServed === null) continue;
    const w: SpanWindow = { resource: tag.slice(resourceTag('').length), model: storable(e.modelServed), endpoint: e.endpoint, fromMs: e.endedAt, toMs: e.endedAt };
    const k = `${lockOf(w)}|${w.endpoint}`;
    const seen = covering.get(k);
    covering.set(k, seen === undefined ? w : { ...seen, fromMs: Math.min(seen.fromMs, w.fromMs), toMs: Math.max(seen.toMs, w.toMs) });
  }
  const histograms = (read: OtelRead): OtelInterval[] => [...read.intervals.values()].filter((i) => i.resource !== null && i.model !== null && i.endpoint !== null);
  return {
    counters: [],
    perRequest: spans,
    intervals: [],
    covering: [...covering.values()],
    events: [],
    previous: [],
    locks: [...covering.values()].map(lockOf),
    windows: (read) => histograms(read).map((i) => ({ resource: i.resource!, model: i.model!, endpoint: i.endpoint!, fromMs: i.fromMs, toMs: i.toMs })),
    build: (read) => {
      const events: UsageEvent[] = [];
      const drop: string[] = [];
      histograms(read).forEach((interval, k) => {
        const stored = read.events.get(interval.id);
        // None stored: the spans accounted for all of it already, and they only grow.
        if (stored === undefined) return;
        const usage = topUpUsage(parseState(interval.state), read.spans[k] as SpanTotals);
        if (usage === null) drop.push(interval.id);
        else if (usage.input.total !== stored.inputTokens || usage.output.total !== stored.outputTokens) {
          events.push({
            ...stored,
            inputTokens: usage.input.total,
            outputTokens: usage.output.total,
            costUsd: make.reprice(stored, usage),
            tags: stored.tags.includes(TOP_UP_TAG) ? stored.tags : [...stored.tags, TOP_UP_TAG],
            rawUsage: JSON.stringify(usage.raw),
          });
        }
      });
      return { intervals: [], events, drop, outcomes: [] };
    },
  };
}
