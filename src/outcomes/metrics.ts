import { weekStart, type CountedOutcome, type ShippedKind } from './counted.js';
import { LINK_METHODS, type Link, type LinkMethod } from './link.js';
import type { SpendSlice } from './slices.js';

/**
 * Efficiency per person, team or the whole organisation: what the spend bought. Pure.
 *
 * Cost per outcome divides ALL spend of the subject by its outcomes (linked or not: unlinked spend was still
 * spent); the linked share says how much of the spend the linking rules could tie to something. No single number
 * here is meant as a target: they are read together, per kind, with the trend.
 */
export type SubjectKind = 'user' | 'team' | 'org';

export interface OutcomeCounts {
  commits: number;
  mergedPrs: number;
  /** Distinct tickets closed, or named by a merged pull request. */
  tickets: number;
  deployments: number;
  custom: number;
  /** Every counted outcome (commits + merged PRs + tickets closed + deployments + custom). */
  total: number;
}

/**
 * The tickets an outcome stands for, as the report counts them: those a closed ticket or a merged pull request names
 * (a ticket closed without an id: itself). One definition for `outcomes report`, the audit and the digest.
 */
export function ticketsDoneBy(o: CountedOutcome): readonly string[] {
  if (o.kind === 'ticket_closed') return o.tickets.length > 0 ? o.tickets : [o.id];
  return o.kind === 'pull_request_merged' ? o.tickets : [];
}

export interface WeekPoint {
  /** Monday (UTC) of the week, YYYY-MM-DD. */
  week: string;
  spendUsd: number;
  outcomes: number;
  costPerOutcome: number | null;
}

export type TrendDirection = 'improving' | 'worsening' | 'flat' | 'unknown';

export interface EfficiencyRow {
  subject: { kind: SubjectKind; id: string };
  spendUsd: number;
  tokens: number;
  requests: number;
  linkedUsd: number;
  /** linkedUsd / spendUsd; null without spend. */
  linkedShare: number | null;
  /** Linked spend by the rule that made the link. */
  linkedBy: Record<LinkMethod, number>;
  outcomes: OutcomeCounts;
  /** Share of counted commits an AI tool co-wrote (of those where it is knowable); null when none is. */
  aiCoAuthoredShare: number | null;
  costPerOutcome: number | null;
  costPerCommit: number | null;
  costPerMergedPr: number | null;
  costPerTicket: number | null;
  tokensPerOutcome: number | null;
  weekly: WeekPoint[];
  /** Pearson correlation of weekly spend and weekly outcomes; null with fewer than 3 weeks or no variation. */
  spendOutcomeCorrelation: number | null;
  /** Cost per outcome of the later half of the weeks against the earlier half (−0.2 = 20% cheaper). */
  trend: { change: number | null; direction: TrendDirection };
}

export interface MetricsInput {
  slices: readonly SpendSlice[];
  /** Counted outcomes of the period (linking may have used some shipped just after it: pass only the period's). */
  outcomes: readonly CountedOutcome[];
  links: readonly Link[];
  since: number;
  until: number;
}

const WEEK_MS = 7 * 86_400_000;
/** ±10%: week-to-week noise in outcome counts is larger than that, so smaller moves are called flat. */
const TREND_THRESHOLD = 0.1;

const subjectOf = (kind: SubjectKind, x: { userId: string | null; teamId: string | null }): string | null =>
  kind === 'org' ? 'org' : kind === 'user' ? x.userId : x.teamId;

export function efficiency(input: MetricsInput, kind: SubjectKind): EfficiencyRow[] {
  const inPeriod = (t: number): boolean => t >= input.since && t < input.until;
  const weeks: number[] = [];
  for (let w = weekStart(input.since); w < input.until; w += WEEK_MS) weeks.push(w);
  const acc = new Map<string, Acc>();
  const get = (id: string): Acc => {
    let a = acc.get(id);
    if (a === undefined) {
      a = newAcc(weeks);
      acc.set(id, a);
    }
    return a;
  };
  input.slices.forEach((s) => {
    const id = subjectOf(kind, s);
    if (id === null || !inPeriod(s.start)) return;
    const a = get(id);
    a.spend += s.costUsd;
    a.tokens += s.tokens;
    a.requests += s.requests;
    a.weekSpend.set(weekStart(s.start), (a.weekSpend.get(weekStart(s.start)) ?? 0) + s.costUsd);
  });
  for (const l of input.links) {
    const s = input.slices[l.slice];
    const id = s === undefined ? null : subjectOf(kind, s);
    if (s === undefined || id === null || !inPeriod(s.start)) continue;
    const a = get(id);
    a.linked += l.usd;
    a.linkedBy[l.method] += l.usd;
  }
  for (const o of input.outcomes) {
    const id = subjectOf(kind, o);
    if (id === null || !inPeriod(o.at)) continue;
    const a = get(id);
    a.kinds[o.kind] += o.count;
    a.weekOutcomes.set(weekStart(o.at), (a.weekOutcomes.get(weekStart(o.at)) ?? 0) + o.count);
    for (const t of ticketsDoneBy(o)) a.tickets.add(t);
    if (o.kind === 'commit' && o.aiCoAuthored != null) {
      a.aiKnown += o.count;
      if (o.aiCoAuthored) a.ai += o.count;
    }
  }
  return [...acc.entries()].map(([id, a]) => toRow({ kind, id }, a, weeks)).sort((x, y) => y.spendUsd - x.spendUsd || (x.subject.id < y.subject.id ? -1 : 1));
}

interface Acc {
  spend: number;
  tokens: number;
  requests: number;
  linked: number;
  linkedBy: Record<LinkMethod, number>;
  kinds: Record<ShippedKind, number>;
  tickets: Set<string>;
  ai: number;
  aiKnown: number;
  weekSpend: Map<number, number>;
  weekOutcomes: Map<number, number>;
}

function newAcc(weeks: readonly number[]): Acc {
  return {
    spend: 0, tokens: 0, requests: 0, linked: 0,
    linkedBy: Object.fromEntries(LINK_METHODS.map((m) => [m, 0])) as Record<LinkMethod, number>,
    kinds: { commit: 0, pull_request_merged: 0, ticket_closed: 0, deployment: 0, custom: 0 },
    tickets: new Set(), ai: 0, aiKnown: 0,
    weekSpend: new Map(weeks.map((w) => [w, 0])), weekOutcomes: new Map(weeks.map((w) => [w, 0])),
  };
}

const per = (num: number, den: number): number | null => (den > 0 ? num / den : null);

function toRow(subject: EfficiencyRow['subject'], a: Acc, weeks: readonly number[]): EfficiencyRow {
  const outcomes: OutcomeCounts = {
    commits: a.kinds.commit,
    mergedPrs: a.kinds.pull_request_merged,
    tickets: a.tickets.size,
    deployments: a.kinds.deployment,
    custom: a.kinds.custom,
    total: a.kinds.commit + a.kinds.pull_request_merged + a.kinds.ticket_closed + a.kinds.deployment + a.kinds.custom,
  };
  const weekly = weeks.map((w) => {
    const spendUsd = a.weekSpend.get(w) ?? 0;
    const n = a.weekOutcomes.get(w) ?? 0;
    return { week: new Date(w).toISOString().slice(0, 10), spendUsd, outcomes: n, costPerOutcome: per(spendUsd, n) };
  });
  return {
    subject,
    spendUsd: a.spend,
    tokens: a.tokens,
    requests: a.requests,
    linkedUsd: a.linked,
    linkedShare: a.spend > 0 ? Math.min(1, a.linked / a.spend) : null,
    linkedBy: a.linkedBy,
    outcomes,
    aiCoAuthoredShare: per(a.ai, a.aiKnown),
    costPerOutcome: per(a.spend, outcomes.total),
    costPerCommit: per(a.spend, outcomes.commits),
    costPerMergedPr: per(a.spend, outcomes.mergedPrs),
    costPerTicket: per(a.spend, outcomes.tickets),
    tokensPerOutcome: per(a.tokens, outcomes.total),
    weekly,
    spendOutcomeCorrelation: pearson(weekly.map((w) => w.spendUsd), weekly.map((w) => w.outcomes)),
    trend: trend(weekly),
  };
}

/** Pearson's r; null with fewer than 3 points or when either series is constant. */
export function pearson(xs: readonly number[], ys: readonly number[]): number | null {
  const n = Math.min(xs.length, ys.length);
  if (n < 3) return null;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += xs[i]!;
    my += ys[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i]! - mx;
    const dy = ys[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxx === 0 || syy === 0 ? null : sxy / Math.sqrt(sxx * syy);
}

/** The later half's cost per outcome against the earlier half's (sums, so one empty week does not dominate). */
export function trend(weekly: readonly WeekPoint[]): EfficiencyRow['trend'] {
  if (weekly.length < 2) return { change: null, direction: 'unknown' };
  const half = Math.floor(weekly.length / 2);
  const cpo = (ws: readonly WeekPoint[]): number | null =>
    per(ws.reduce((a, w) => a + w.spendUsd, 0), ws.reduce((a, w) => a + w.outcomes, 0));
  const early = cpo(weekly.slice(0, half));
  const late = cpo(weekly.slice(weekly.length - half));
  if (early === null || late === null || early === 0) return { change: null, direction: 'unknown' };
  const change = late / early - 1;
  return { change, direction: change <= -TREND_THRESHOLD ? 'improving' : change >= TREND_THRESHOLD ? 'worsening' : 'flat' };
}
