import { createHash } from 'node:crypto';
import { periodWindow, type Window } from '../policy/period.js';
import type { UsageEvent } from '../usage/event.js';
import type { Pricer } from '../usage/pricing.js';
import type { NormalisedUsage } from '../usage/types.js';
import type { Evidence, Finding, RuleId, SubjectKind } from './types.js';

/** Shared helpers of the detectors: pure functions of data. */

export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

/** At most this many request ids per finding: enough to look at, small enough to store. */
export const MAX_REQUEST_IDS = 20;

export const modelOf = (e: UsageEvent): string => e.modelServed ?? e.modelRequested ?? '';
export const costOf = (e: UsageEvent): number => e.costUsd ?? 0;

/** Deterministic finding id: the same rule, subject and start always give the same id. */
export function findingId(rule: RuleId, kind: SubjectKind, subject: string, start: number): string {
  return createHash('sha256').update(`${rule}\u0000${kind}\u0000${subject}\u0000${start}`).digest('hex').slice(0, 24);
}

export function evidence(counts: Record<string, number>, ratios: Record<string, number>, ids: readonly string[]): Evidence {
  const round = (r: Record<string, number>): Record<string, number> =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Math.round(v * 1000) / 1000]));
  return { counts, ratios: round(ratios), requestIds: sampleIds(ids) };
}

/**
 * Ids of a growing run in bounded memory: every `step`-th id is kept, and when 200 are kept every other one is
 * dropped and the step doubles, so what remains stays evenly spaced (the last id is kept apart). An agent left
 * running for a day is millions of requests in one bucket; its evidence needs twenty of them.
 */
export class IdSample {
  private kept: string[] = [];
  private step = 1;
  private seen = 0;
  private last: string | null = null;

  add(id: string): void {
    if (this.seen++ % this.step === 0) {
      this.kept.push(id);
      if (this.kept.length >= 200) {
        this.kept = this.kept.filter((_, i) => i % 2 === 0);
        this.step *= 2;
      }
    }
    this.last = id;
  }

  /** The kept ids, then the last one added. */
  ids(): string[] {
    return this.last === null || this.kept.at(-1) === this.last ? [...this.kept] : [...this.kept, this.last];
  }
}

/** The first, the last and evenly spaced ids in between. */
export function sampleIds(ids: readonly string[]): string[] {
  if (ids.length <= MAX_REQUEST_IDS) return [...ids];
  const out: string[] = [];
  for (let i = 0; i < MAX_REQUEST_IDS; i++) out.push(ids[Math.round((i * (ids.length - 1)) / (MAX_REQUEST_IDS - 1))]!);
  return out;
}

export function makeFinding(f: Omit<Finding, 'id' | 'detectedAt' | 'wastedUsd' | 'confidence'> & { wastedUsd: number; confidence: number }, now: number): Finding {
  return {
    ...f,
    id: findingId(f.rule, f.subject.kind, f.subject.id, f.start),
    wastedUsd: Math.round(f.wastedUsd * 100) / 100,
    confidence: Math.round(Math.min(1, Math.max(0, f.confidence)) * 100) / 100,
    detectedAt: now,
  };
}

export const usd = (n: number): string => `$${n >= 100 ? n.toFixed(0) : n.toFixed(2)}`;

/** `prefix*` globs, and `*` anywhere ("gemini-*-pro*"). */
export function globMatcher(globs: readonly string[]): (name: string) => boolean {
  const res = globs.map((g) => new RegExp(`^${g.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i'));
  const memo = new Map<string, boolean>();
  return (name) => {
    let hit = memo.get(name);
    if (hit === undefined) {
      hit = res.some((r) => r.test(name));
      if (memo.size > 10_000) memo.clear();
      memo.set(name, hit);
    }
    return hit;
  };
}

/** An event's usage as the pricer takes it: its token buckets, audio tokens and built-in tool calls (not its tier). */
export function eventUsage(e: UsageEvent): NormalisedUsage {
  const cached = e.cacheReadTokens + e.cacheWrite5mTokens + e.cacheWrite1hTokens;
  const usage: NormalisedUsage = {
    input: {
      total: e.inputTokens,
      noCache: Math.max(0, e.inputTokens - cached),
      cacheRead: e.cacheReadTokens,
      cacheWrite5m: e.cacheWrite5mTokens,
      cacheWrite1h: e.cacheWrite1hTokens,
    },
    output: { total: e.outputTokens, text: e.outputTokens - e.reasoningTokens - (e.audioOutputTokens ?? 0), reasoning: e.reasoningTokens },
    raw: null,
  };
  if (e.audioInputTokens) usage.input.audio = e.audioInputTokens;
  if (e.audioOutputTokens) usage.output.audio = e.audioOutputTokens;
  if (e.toolCalls) usage.toolCalls = e.toolCalls;
  return usage;
}

/** The price of an event's usage (optionally changed) under a model: null when the catalogue lacks the model. */
export function priceAs(pricer: Pricer, e: UsageEvent, model: string, usage = eventUsage(e)): number | null {
  return pricer.price(usage, model, e.provider).costUsd;
}

/**
 * A person's working day as they live it: activity separated by less than 6 hours, at most 24 hours long. Calendar
 * days in one zone would cut the day of someone eight time zones away in two.
 */
export const ACTIVITY_GAP = 6 * HOUR;
export const ACTIVITY_SPAN = 24 * HOUR;

/** Whether `at` starts a new activity day after one that began at `first` and was last active at `last`. */
export function newActivityDay(first: number, last: number, at: number): boolean {
  return at - last > ACTIVITY_GAP || at - first > ACTIVITY_SPAN;
}

/** Calendar days in the configured zone, cached: detectors ask for every event, the zone math runs once a day. */
export class DayClock {
  private current: Window = { start: 0, end: 0 };
  private index = -1;
  constructor(private readonly timeZone: string) {}

  /** A day number (increasing; days since the epoch in UTC) and its window. */
  day(at: number): { index: number; window: Window } {
    if (at < this.current.start || at >= this.current.end) {
      this.current = periodWindow('day', at, this.timeZone);
      this.index = Math.round((this.current.start + 12 * HOUR) / DAY - 0.5);
    }
    return { index: this.index, window: this.current };
  }
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function hasExemptTag(e: UsageEvent, exempt: ReadonlySet<string>): boolean {
  for (const t of e.tags) if (exempt.has(t)) return true;
  return false;
}
