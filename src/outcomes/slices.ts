import type { EventFilter, Store } from '../store/types.js';
import type { UsageEvent } from '../usage/event.js';
import { taskTags } from './tickets.js';

/**
 * Spend, compacted for linking: usage events summed per person, team, project, repository, branch, task tags and
 * UTC hour. Linking needs no finer grain (its windows are hours to days), and a month of an organisation's events
 * becomes a few thousand slices instead of millions of rows. Pure, except `loadSpendSlices` which reads the store.
 */
export interface SpendSlice {
  userId: string | null;
  teamId: string | null;
  projectId: string | null;
  repo: string | null;
  branch: string | null;
  /** `task:<id>` tags of the requests (clients send `x-goodhart-tags: task:PROJ-123`). */
  tasks: string[];
  /** First and last request time (epoch ms). */
  start: number;
  end: number;
  costUsd: number;
  /** Input (cache included) + output tokens. */
  tokens: number;
  requests: number;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

export class SliceBuilder {
  private readonly slices = new Map<string, SpendSlice>();

  add(e: UsageEvent): void {
    const tasks = taskTags(e.tags);
    const hour = Math.floor(e.startedAt / HOUR_MS);
    const key = [e.userId, e.teamId, e.projectId, e.repo, e.branch, tasks.join(','), hour].join('\u0000');
    let s = this.slices.get(key);
    if (s === undefined) {
      s = {
        userId: e.userId, teamId: e.teamId, projectId: e.projectId, repo: e.repo, branch: e.branch, tasks,
        start: e.startedAt, end: e.startedAt, costUsd: 0, tokens: 0, requests: 0,
      };
      this.slices.set(key, s);
    }
    s.start = Math.min(s.start, e.startedAt);
    s.end = Math.max(s.end, e.startedAt);
    s.costUsd += e.costUsd ?? 0;
    s.tokens += e.inputTokens + e.outputTokens;
    s.requests += 1;
  }

  build(): SpendSlice[] {
    return [...this.slices.values()].sort((a, b) => a.start - b.start);
  }
}

export function slicesOf(events: Iterable<UsageEvent>): SpendSlice[] {
  const b = new SliceBuilder();
  for (const e of events) b.add(e);
  return b.build();
}

/** Reads events a day at a time (bounded memory on any store) and slices them. */
export async function loadSpendSlices(store: Pick<Store, 'listEvents'>, filter: EventFilter & { since: number; until: number }): Promise<SpendSlice[]> {
  const b = new SliceBuilder();
  for (let t = filter.since; t < filter.until; t += DAY_MS) {
    for (const e of await store.listEvents({ ...filter, since: t, until: Math.min(filter.until, t + DAY_MS) })) b.add(e);
  }
  return b.build();
}
