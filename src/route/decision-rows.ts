import type { Endpoint } from '../usage/event.js';
import { storable } from '../store/rows.js';
import type { TaskClass } from './classifier.js';
import type { DecisionFilter, RouteDecision } from './decisions.js';
import type { GuardTrip } from './guard.js';
import { mergeGroups, type SavingsGroup } from './savings.js';

/**
 * The rows of the routing tables, shared by the SQLite and Postgres decision stores: the same columns in both.
 * `applied` is a boolean in Postgres and 0/1 in SQLite; rows read from either are accepted.
 */

export interface DecisionRow {
  id: string;
  at: number;
  mode: string;
  applied: boolean | number;
  key_id: string;
  user_id: string;
  team_id: string | null;
  project_id: string | null;
  provider: string;
  endpoint: string;
  task_class: string;
  score: number;
  model_requested: string;
  model_routed: string;
  requested_cost_usd: number | null;
  routed_cost_usd: number | null;
  miss_at: number | null;
}

const isTrue = (v: boolean | number): boolean => v === true || v === 1;

/** A decision as a row; `applied` as 0/1, which both stores take. */
export function decisionToRow(d: RouteDecision): DecisionRow & { applied: number } {
  return {
    id: d.id,
    at: d.at,
    mode: d.mode,
    applied: d.applied ? 1 : 0,
    key_id: storable(d.keyId),
    user_id: storable(d.userId),
    team_id: storable(d.teamId),
    project_id: storable(d.projectId),
    provider: d.provider,
    endpoint: d.endpoint,
    task_class: d.taskClass,
    score: d.score,
    model_requested: storable(d.modelRequested),
    model_routed: storable(d.modelRouted),
    requested_cost_usd: d.requestedCostUsd,
    routed_cost_usd: d.routedCostUsd,
    miss_at: d.missAt,
  };
}

export function decisionFromRow(r: DecisionRow): RouteDecision {
  return {
    id: r.id,
    at: r.at,
    mode: r.mode === 'on' ? 'on' : 'shadow',
    applied: isTrue(r.applied),
    keyId: r.key_id,
    userId: r.user_id,
    teamId: r.team_id,
    projectId: r.project_id,
    provider: r.provider,
    endpoint: r.endpoint as Endpoint,
    taskClass: r.task_class as TaskClass,
    score: r.score,
    modelRequested: r.model_requested,
    modelRouted: r.model_routed,
    requestedCostUsd: r.requested_cost_usd,
    routedCostUsd: r.routed_cost_usd,
    missAt: r.miss_at,
  };
}

/** A row of savings summed per team, model pair and mode (`savingsGroups`). */
export interface SavingsGroupRow {
  team_id: string | null;
  model_requested: string;
  model_routed: string;
  applied: boolean | number;
  requests: number;
  unpriced: number;
  requested_usd: number;
  routed_usd: number;
  misses: number;
}

export function savingsGroupFromRow(r: SavingsGroupRow): SavingsGroup {
  return {
    teamId: r.team_id,
    modelRequested: r.model_requested,
    modelRouted: r.model_routed,
    applied: isTrue(r.applied),
    requests: r.requests,
    unpriced: r.unpriced,
    requestedUsd: r.requested_usd,
    routedUsd: r.routed_usd,
    misses: r.misses,
  };
}

/** team_key: the team id, '' for keys without a team (a primary key column cannot be NULL in Postgres). */
export interface TripRow {
  team_key: string;
  task_class: string;
  misses: number;
  routed: number;
  tripped_at: number;
  until: number;
}

export function tripFromRow(r: TripRow): GuardTrip {
  return {
    teamId: r.team_key === '' ? null : r.team_key,
    taskClass: r.task_class as TaskClass,
    misses: r.misses,
    routed: r.routed,
    trippedAt: r.tripped_at,
    until: r.until,
  };
}

const HOUR = 3_600_000;
const floorHour = (t: number): number => t - (((t % HOUR) + HOUR) % HOUR);
const ceilHour = (t: number): number => (floorHour(t) === t ? t : floorHour(t) + HOUR);

/**
 * Savings of a range from an hourly rollup (both stores keep one, `route_savings_hourly`): the whole UTC hours from
 * `rolled`, the partial hours at either end from the decisions themselves (`raw`), summed per group.
 */
export async function savingsByHours(
  f: DecisionFilter,
  rolled: (f: DecisionFilter) => SavingsGroup[] | Promise<SavingsGroup[]>,
  raw: (f: DecisionFilter) => SavingsGroup[] | Promise<SavingsGroup[]>,
): Promise<SavingsGroup[]> {
  // No team is named '' (decisions without a team have none, which the rollup keys as ''): match nothing, as the
  // decisions themselves do, rather than the rollup's teamless rows.
  if (f.teamId === '') return [];
  const h0 = f.since === undefined ? undefined : ceilHour(f.since);
  const h1 = f.until === undefined ? undefined : floorHour(f.until);
  if (h0 !== undefined && h1 !== undefined && h0 >= h1) return raw(f);
  const team = f.teamId === undefined ? {} : { teamId: f.teamId };
  const parts = [rolled({ ...team, ...(h0 === undefined ? {} : { since: h0 }), ...(h1 === undefined ? {} : { until: h1 }) })];
  if (f.since !== undefined && f.since < h0!) parts.push(raw({ ...team, since: f.since, until: h0! }));
  if (f.until !== undefined && h1! < f.until) parts.push(raw({ ...team, since: h1!, until: f.until }));
  return parts.length === 1 ? parts[0]! : mergeGroups((await Promise.all(parts)).flat());
}
