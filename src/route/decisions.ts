import type { Endpoint } from '../usage/event.js';
import type { TaskClass } from './classifier.js';
import type { GuardTrip } from './guard.js';
import { groupDecisions, type SavingsGroup } from './savings.js';

/**
 * One routing decision that stepped (or, in shadow mode, would have stepped) a request down a ladder. Requests
 * routing leaves alone are not stored. Both costs price the request's real usage: one at the model that served
 * it, the other at the model it did not go to. That assumes the other model would have used the same tokens,
 * which is the usual approximation (a smaller model often writes more, and reasoning models think differently).
 */
export interface RouteDecision {
  id: string;
  at: number;
  mode: 'shadow' | 'on';
  /** True when the cheaper model really served the request (mode on). */
  applied: boolean;
  keyId: string;
  userId: string;
  teamId: string | null;
  projectId: string | null;
  provider: string;
  endpoint: Endpoint;
  taskClass: TaskClass;
  score: number;
  modelRequested: string;
  modelRouted: string;
  /** USD at the requested model's prices; null when unpriced or nothing was generated. */
  requestedCostUsd: number | null;
  /** USD at the routed model's prices. */
  routedCostUsd: number | null;
  /** Set by the quality guard when the same person re-asked on the premium model within minutes. */
  missAt: number | null;
}

/** A routed (mode on) decision as the quality guard counts it: when, for which team and class, and if re-asked. */
export interface GuardHistoryRow {
  teamId: string | null;
  taskClass: TaskClass;
  at: number;
  missAt: number | null;
}

export interface DecisionFilter {
  since?: number;
  until?: number;
  teamId?: string;
}

/**
 * Where decisions live: SQLite beside the events (sqlite-decisions.ts), Postgres beside the events
 * (postgres-decisions.ts), or memory (tests, `:memory:` stores). Also keeps the quality guard's trips, so a
 * restart (or another replica) does not route a class the guard stopped.
 */
export interface RouteDecisionStore {
  insertDecisions(decisions: readonly RouteDecision[]): Promise<void>;
  markMiss(id: string, at: number): Promise<void>;
  /** Ordered by `at`, then id. */
  listDecisions(filter: DecisionFilter): Promise<RouteDecision[]>;
  /** Decisions summed per team, model pair and mode (savings.ts savingsFromGroups turns them into a report). */
  savingsGroups(filter: DecisionFilter): Promise<SavingsGroup[]>;
  /** Routed (applied) decisions from `since` on, ordered by `at`: what the guard's counters are rebuilt from. */
  guardHistory(since: number): Promise<GuardHistoryRow[]>;
  /** Records a trip; for a team and class already tripped, the later `until` wins. */
  saveTrip(trip: GuardTrip): Promise<void>;
  /** Trips still in force at `now`. */
  activeTrips(now: number): Promise<GuardTrip[]>;
  close(): Promise<void>;
}

export class MemoryDecisionStore implements RouteDecisionStore {
  readonly rows: RouteDecision[] = [];
  readonly trips = new Map<string, GuardTrip>();

  async insertDecisions(decisions: readonly RouteDecision[]): Promise<void> {
    for (const d of decisions) if (!this.rows.some((r) => r.id === d.id)) this.rows.push({ ...d });
  }

  async markMiss(id: string, at: number): Promise<void> {
    const row = this.rows.find((r) => r.id === id);
    if (row) row.missAt = at;
  }

  async listDecisions(f: DecisionFilter): Promise<RouteDecision[]> {
    return this.rows
      .filter((r) => (f.since === undefined || r.at >= f.since) && (f.until === undefined || r.at < f.until))
      .filter((r) => f.teamId === undefined || r.teamId === f.teamId)
      .sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : 1))
      .map((r) => ({ ...r }));
  }

  async savingsGroups(f: DecisionFilter): Promise<SavingsGroup[]> {
    return groupDecisions(await this.listDecisions(f));
  }

  async guardHistory(since: number): Promise<GuardHistoryRow[]> {
    return (await this.listDecisions({ since }))
      .filter((d) => d.applied)
      .map((d) => ({ teamId: d.teamId, taskClass: d.taskClass, at: d.at, missAt: d.missAt }));
  }

  async saveTrip(t: GuardTrip): Promise<void> {
    const key = `${t.teamId ?? ''}\u0000${t.taskClass}`;
    const old = this.trips.get(key);
    if (!old || old.until < t.until) this.trips.set(key, { ...t });
  }

  async activeTrips(now: number): Promise<GuardTrip[]> {
    return [...this.trips.entries()]
      .filter(([, t]) => now < t.until)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, t]) => ({ ...t }));
  }

  async close(): Promise<void> {}
}

/** 50k decisions (~300 bytes each, ~15 MB) covers minutes of a store outage at hundreds of routed requests a second. */
const MAX_QUEUED = 50_000;

/**
 * Takes decisions, misses and guard trips off the request path and writes them in batches, every `intervalMs`. A failed write
 * keeps its batch for the next tick; past MAX_QUEUED the oldest are dropped (routing keeps working regardless).
 */
export class DecisionWriter {
  private queue: RouteDecision[] = [];
  private misses: { id: string; at: number }[] = [];
  private trips: GuardTrip[] = [];
  private flushing: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;
  dropped = 0;

  constructor(
    private readonly store: RouteDecisionStore,
    intervalMs = 500,
    private readonly log: (message: string) => void = (m) => console.error(`[goodhart] ${m}`),
  ) {
    this.timer = setInterval(() => void this.flush(), intervalMs);
    this.timer.unref();
  }

  add(d: RouteDecision): void {
    if (this.queue.length >= MAX_QUEUED) {
      this.queue.shift();
      this.dropped++;
    }
    this.queue.push(d);
  }

  miss(id: string, at: number): void {
    if (this.misses.length < MAX_QUEUED) this.misses.push({ id, at });
  }

  trip(t: GuardTrip): void {
    if (this.trips.length < MAX_QUEUED) this.trips.push({ ...t });
  }

  /** Writes everything queued so far (tests and shutdown). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.queue.length === 0 && this.misses.length === 0 && this.trips.length === 0) return;
    const batch = this.queue;
    const misses = this.misses;
    const trips = this.trips;
    this.queue = [];
    this.misses = [];
    this.trips = [];
    this.flushing = (async () => {
      try {
        await this.store.insertDecisions(batch);
        for (const m of misses) await this.store.markMiss(m.id, m.at);
        for (const t of trips) await this.store.saveTrip(t);
      } catch (err) {
        // Writing again is harmless: decisions are inserted once by id, a miss sets one column, a trip keeps the later end.
        this.queue = [...batch, ...this.queue].slice(-MAX_QUEUED);
        this.misses = [...misses, ...this.misses].slice(-MAX_QUEUED);
        this.trips = [...trips, ...this.trips].slice(-MAX_QUEUED);
        this.log(`routing decisions not written yet (${batch.length} queued): ${String(err)}`);
      }
    })();
    try {
      await this.flushing;
    } finally {
      this.flushing = undefined;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
