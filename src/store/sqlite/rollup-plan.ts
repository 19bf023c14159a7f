import type { EventFilter, GroupBy, SplitBy } from '../types.js';
import { DAY_MS, HOUR_MS, ROLLUP_LEVELS, tableOf, type Grain, type RollupDim, type RollupLevel } from './rollups.js';

/**
 * Which rollups answer an aggregate, and which parts must be read from raw events: pure, so the choice is
 * testable without a database. The level is the smallest whose dimensions cover the filter and the group. The
 * range is cut into the whole UTC days (daily rows), the whole hours around them (hourly rows) and the partial
 * hours at either end (raw events). Daily rows serve only where a UTC day lies on one report bucket: always for
 * team, user, project and model groups, for day and month groups only in UTC. Session groups and session filters
 * need raw events (no rollup has a session column).
 */
export interface RollupPart {
  table: string;
  grain: Grain;
  /** [from, to), either bound open. */
  from: number | undefined;
  to: number | undefined;
}

export interface RollupPlan {
  level: RollupLevel;
  parts: RollupPart[];
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

/** The dimensions a filter and a group (and a second group, `by`) need. */
export function neededDims(groupBy: Exclude<GroupBy, 'session'>, filter: EventFilter, by?: SplitBy): Set<RollupDim> {
  const dims = new Set<RollupDim>(GROUP_DIMS[groupBy]);
  if (by !== undefined) for (const d of GROUP_DIMS[by]) dims.add(d);
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

const floorTo = (t: number, ms: number): number => Math.floor(t / ms) * ms;
const ceilTo = (t: number, ms: number): number => Math.ceil(t / ms) * ms;
const before = (a: number | undefined, b: number | undefined): boolean => a === undefined || b === undefined || a < b;

/**
 * The plan, or null when the whole answer must come from raw events. `utcDays`: daily rows may serve day/month
 * groups; `by`: the aggregate is split by a second key too.
 */
export function planRollup(groupBy: GroupBy, filter: EventFilter, opts: { utcDays?: boolean; by?: SplitBy } = {}): RollupPlan | null {
  if (groupBy === 'session' || filter.sessionId !== undefined) return null;
  const dims = neededDims(groupBy, filter, opts.by);
  const level = ROLLUP_LEVELS.find((l) => [...dims].every((d) => (l.dims as readonly RollupDim[]).includes(d)));
  if (level === undefined) return null;
  const hourFrom = filter.since === undefined ? undefined : ceilTo(filter.since, HOUR_MS);
  const hourTo = filter.until === undefined ? undefined : floorTo(filter.until, HOUR_MS);
  if (!before(hourFrom, hourTo)) return null;
  const raw: RollupPlan['raw'] = [];
  if (filter.since !== undefined && hourFrom !== undefined && filter.since < hourFrom) raw.push({ since: filter.since, until: hourFrom });
  if (filter.until !== undefined && hourTo !== undefined && hourTo < filter.until) raw.push({ since: hourTo, until: filter.until });

  const part = (grain: Grain, from: number | undefined, to: number | undefined): RollupPart => ({ table: tableOf(level, grain), grain, from, to });
  const daily = (groupBy !== 'day' && groupBy !== 'month') || opts.utcDays === true;
  const dayFrom = hourFrom === undefined ? undefined : ceilTo(hourFrom, DAY_MS);
  const dayTo = hourTo === undefined ? undefined : floorTo(hourTo, DAY_MS);
  if (!daily || !before(dayFrom, dayTo)) return { level, parts: [part('hour', hourFrom, hourTo)], raw };
  const parts = [part('day', dayFrom, dayTo)];
  if (hourFrom !== undefined && dayFrom !== undefined && hourFrom < dayFrom) parts.push(part('hour', hourFrom, dayFrom));
  if (hourTo !== undefined && dayTo !== undefined && dayTo < hourTo) parts.push(part('hour', dayTo, hourTo));
  return { level, parts, raw };
}
