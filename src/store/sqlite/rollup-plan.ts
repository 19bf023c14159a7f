import type { EventFilter, GroupBy } from '../types.js';
import { HOUR_MS, ROLLUP_LEVELS, type RollupDim, type RollupLevel } from './rollups.js';

/**
 * Which rollup answers an aggregate, and which parts must be read from raw events: pure, so the choice is
 * testable without a database. The hours lying wholly inside [since, until) come from the smallest level whose
 * dimensions cover the filter and the group; the partial hours at either end from `events`. Session groups and
 * session filters need raw events (no level has a session column).
 */
export interface RollupPlan {
  level: RollupLevel;
  /** Whole hours read from the rollup: [hourFrom, hourTo), either bound open. */
  hourFrom: number | undefined;
  hourTo: number | undefined;
  /** Ranges read from raw events (the partial hours at the ends). */
  raw: { since: number; until: number }[];
}

const GROUP_DIMS = {
  day: [],
  month: [],
  team: ['team_id'],
  user: ['user_id'],
  project: ['project_id'],
  model: ['model_requested', 'model_served'],
} as const satisfies Record<Exclude<GroupBy, 'session'>, readonly RollupDim[]>;

/** The dimensions a filter and a group need. */
export function neededDims(groupBy: Exclude<GroupBy, 'session'>, filter: EventFilter): Set<RollupDim> {
  const dims = new Set<RollupDim>(GROUP_DIMS[groupBy]);
  if (filter.teamId !== undefined) dims.add('team_id');
  if (filter.userId !== undefined) dims.add('user_id');
  if (filter.projectId !== undefined) dims.add('project_id');
  if (filter.source !== undefined) dims.add('source');
  if (filter.model !== undefined) {
    dims.add('model_requested');
    dims.add('model_served');
  }
  return dims;
}

const floorHour = (t: number): number => Math.floor(t / HOUR_MS) * HOUR_MS;
const ceilHour = (t: number): number => Math.ceil(t / HOUR_MS) * HOUR_MS;

/** The plan, or null when the whole answer must come from raw events. */
export function planRollup(groupBy: GroupBy, filter: EventFilter): RollupPlan | null {
  if (groupBy === 'session' || filter.sessionId !== undefined) return null;
  const dims = neededDims(groupBy, filter);
  const level = ROLLUP_LEVELS.find((l) => [...dims].every((d) => (l.dims as readonly RollupDim[]).includes(d)));
  if (level === undefined) return null;
  const hourFrom = filter.since === undefined ? undefined : ceilHour(filter.since);
  const hourTo = filter.until === undefined ? undefined : floorHour(filter.until);
  if (hourFrom !== undefined && hourTo !== undefined && hourFrom >= hourTo) return null;
  const raw: RollupPlan['raw'] = [];
  if (filter.since !== undefined && hourFrom !== undefined && filter.since < hourFrom) raw.push({ since: filter.since, until: hourFrom });
  if (filter.until !== undefined && hourTo !== undefined && hourTo < filter.until) raw.push({ since: hourTo, until: filter.until });
  return { level, hourFrom, hourTo, raw };
}
