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

function add(b: SavingsBucket, d: RouteDecision): void {
  b.requests++;
  if (d.requestedCostUsd === null || d.routedCostUsd === null) {
    b.unpriced++;
    return;
  }
  b.requestedUsd += d.requestedCostUsd;
  b.routedUsd += d.routedCostUsd;
  b.savedUsd += d.requestedCostUsd - d.routedCostUsd;
}

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

export function summariseSavings(decisions: readonly RouteDecision[]): SavingsReport {
  const rows = new Map<string, SavingsRow>();
  for (const d of decisions) {
    const key = `${d.teamId ?? ''}\u0000${d.modelRequested}\u0000${d.modelRouted}`;
    let row = rows.get(key);
    if (!row) {
      row = { teamId: d.teamId, modelRequested: d.modelRequested, modelRouted: d.modelRouted, realised: emptyBucket(), potential: emptyBucket(), misses: 0 };
      rows.set(key, row);
    }
    add(d.applied ? row.realised : row.potential, d);
    if (d.missAt !== null) row.misses++;
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
