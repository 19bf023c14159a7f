import type { RouteDecision } from './decisions.js';

/**
 * Savings from routing, per team and model pair: realised where routing was on (the cheaper model served),
 * potential where it ran in shadow (what turning it on would have saved). Pure: stored decisions in, rows out.
 * A decision with an unpriced model counts as a request but not in the dollars (`unpriced`).
 */

export interface SavingsBucket {
  requests: number;
  /** What the requests cost (realised) or would have cost (potential) at the requested model. */
  requestedUsd: number;
  /** At the routed model. */
  routedUsd: number;
  savedUsd: number;
  unpriced: number;
}

export interface SavingsRow {
  teamId: string | null;
  modelRequested: string;
  modelRouted: string;
  realised: SavingsBucket;
  potential: SavingsBucket;
  /** Routed requests the quality guard saw re-asked on the premium model. */
  misses: number;
}

export interface SavingsReport {
  rows: SavingsRow[];
  /** Per team, over all model pairs (team null = keys without a team). */
  teams: { teamId: string | null; realised: SavingsBucket; potential: SavingsBucket; misses: number }[];
  total: { realised: SavingsBucket; potential: SavingsBucket; misses: number };
}

const emptyBucket = (): SavingsBucket => ({ requests: 0, requestedUsd: 0, routedUsd: 0, savedUsd: 0, unpriced: 0 });

/** Drops float noise from sums at a nano-dollar. */
const round = (usd: number) => Math.round(usd * 1e9) / 1e9;

function merge(into: SavingsBucket, b: SavingsBucket): void {
  into.requests += b.requests;
  into.requestedUsd += b.requestedUsd;
  into.routedUsd += b.routedUsd;
  into.savedUsd += b.savedUsd;
  into.unpriced += b.unpriced;
}

function rounded(b: SavingsBucket): SavingsBucket {
  return { ...b, requestedUsd: round(b.requestedUsd), routedUsd: round(b.routedUsd), savedUsd: round(b.savedUsd) };
}

/**
 * Decisions summed per team, model pair and mode: what a store can compute in one GROUP BY (sqlite-decisions.ts),
 * so a month of decisions never has to be loaded to be summarised.
 */
export interface SavingsGroup {
  teamId: string | null;
  modelRequested: string;
  modelRouted: string;
  /** True: mode on (realised); false: shadow (potential). */
  applied: boolean;
  requests: number;
  /** Decisions with a null cost on either side: counted in requests, not in the dollars. */
  unpriced: number;
  requestedUsd: number;
  routedUsd: number;
  misses: number;
}

/** What a savings group is per: team, model pair and mode. */
const groupKey = (g: Pick<SavingsGroup, 'teamId' | 'modelRequested' | 'modelRouted' | 'applied'>): string =>
  `${g.teamId ?? ''}\u0000${g.modelRequested}\u0000${g.modelRouted}\u0000${g.applied ? 1 : 0}`;

/** The same grouping in memory (tests, the in-memory store). */
export function groupDecisions(decisions: readonly RouteDecision[]): SavingsGroup[] {
  const groups = new Map<string, SavingsGroup>();
  for (const d of decisions) {
    const key = groupKey(d);
    let g = groups.get(key);
    if (!g) {
      g = { teamId: d.teamId, modelRequested: d.modelRequested, modelRouted: d.modelRouted, applied: d.applied, requests: 0, unpriced: 0, requestedUsd: 0, routedUsd: 0, misses: 0 };
      groups.set(key, g);
    }
    countDecision(g, d);
  }
  return [...groups.values()];
}

/** Adds one decision to its group's sums (a decision with an unpriced side counts in requests only). */
function countDecision(g: SavingsGroup, d: RouteDecision): void {
  g.requests++;
  if (d.missAt !== null) g.misses++;
  if (d.requestedCostUsd === null || d.routedCostUsd === null) g.unpriced++;
  else {
    g.requestedUsd += d.requestedCostUsd;
    g.routedUsd += d.routedCostUsd;
  }
}

/** Groups of the same team, model pair and mode summed into one (parts of a range read from different tables). */
export function mergeGroups(groups: readonly SavingsGroup[]): SavingsGroup[] {
  const merged = new Map<string, SavingsGroup>();
  for (const g of groups) {
    const m = merged.get(groupKey(g));
    if (!m) merged.set(groupKey(g), { ...g });
    else {
      m.requests += g.requests;
      m.unpriced += g.unpriced;
      m.requestedUsd += g.requestedUsd;
      m.routedUsd += g.routedUsd;
      m.misses += g.misses;
    }
  }
  return [...merged.values()];
}

export function summariseSavings(decisions: readonly RouteDecision[]): SavingsReport {
  return savingsFromGroups(groupDecisions(decisions));
}

export function savingsFromGroups(groups: readonly SavingsGroup[]): SavingsReport {
  const rows = new Map<string, SavingsRow>();
  for (const g of groups) {
    const key = `${g.teamId ?? ''}\u0000${g.modelRequested}\u0000${g.modelRouted}`;
    let row = rows.get(key);
    if (!row) {
      row = { teamId: g.teamId, modelRequested: g.modelRequested, modelRouted: g.modelRouted, realised: emptyBucket(), potential: emptyBucket(), misses: 0 };
      rows.set(key, row);
    }
    merge(g.applied ? row.realised : row.potential, {
      requests: g.requests,
      requestedUsd: g.requestedUsd,
      routedUsd: g.routedUsd,
      savedUsd: g.requestedUsd - g.routedUsd,
      unpriced: g.unpriced,
    });
    row.misses += g.misses;
  }
  const teams = new Map<string, SavingsReport['teams'][number]>();
  const total = { realised: emptyBucket(), potential: emptyBucket(), misses: 0 };
  for (const r of rows.values()) {
    const k = r.teamId ?? '';
    let t = teams.get(k);
    if (!t) {
      t = { teamId: r.teamId, realised: emptyBucket(), potential: emptyBucket(), misses: 0 };
      teams.set(k, t);
    }
    for (const into of [t, total]) {
      merge(into.realised, r.realised);
      merge(into.potential, r.potential);
      into.misses += r.misses;
    }
  }
  const saved = (x: { realised: SavingsBucket; potential: SavingsBucket }) => x.realised.savedUsd + x.potential.savedUsd;
  const byTeam = (a: string | null, b: string | null) => (a ?? '').localeCompare(b ?? '');
  return {
    rows: [...rows.values()]
      .sort((a, b) => byTeam(a.teamId, b.teamId) || saved(b) - saved(a) || a.modelRequested.localeCompare(b.modelRequested) || a.modelRouted.localeCompare(b.modelRouted))
      .map((r) => ({ ...r, realised: rounded(r.realised), potential: rounded(r.potential) })),
    teams: [...teams.values()]
      .sort((a, b) => byTeam(a.teamId, b.teamId))
      .map((t) => ({ ...t, realised: rounded(t.realised), potential: rounded(t.potential) })),
    total: { realised: rounded(total.realised), potential: rounded(total.potential), misses: total.misses },
  };
}
