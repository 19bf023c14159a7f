import { randomBytes } from 'node:crypto';
import { fingerprintText } from '../detect/fingerprint/fingerprint.js';
import { similarity } from '../detect/fingerprint/text.js';
import type { RequestObserver } from '../gateway/proxy.js';
import type { UsageEvent } from '../usage/event.js';
import type { TaskClass } from './classifier.js';
import type { GuardHistoryRow } from './decisions.js';
import type { QualityGuardConfig } from './config.js';
import { extractFeatures } from './features.js';
import type { Ladders } from './ladder.js';

/**
 * The quality guard. A request routing sent down (mode on) and then, within minutes, asked again by the same
 * person on a more capable model of the same ladder, deliberately, is a routing miss: the cheap answer was not good
 * enough. Deliberately means pinned with `x-goodhart-route: off` (the policy notes it, `notePinned`): the one way a
 * person keeps a request routing would otherwise judge off the cheaper model. A request that is on the premium model
 * for routing's own reasons is no judgement of the cheap answer, however alike its text: served there after the
 * cheaper model failed (a fallback), held by a capability the cheaper model lacks, scored complex, or the class
 * stopped. Nor is an agent's next step (the newest message a tool result), pinned or not: it carries the turn's
 * user text forward, it does not ask it again. When a team's misses for a task class pass both a count
 * and a rate over the period, routing stops for that class and team for `disableHours`; `trips()` lists those
 * for findings. Trips are written to the decision store as they happen (`onTrip`), and `restore()` puts back, after
 * a restart, the trips still in force and the period's routed and missed counts (rebuilt from the stored
 * decisions); `adoptTrips()` takes trips other replicas wrote. What stays per process: the recent routed
 * questions' signatures (under a per-process secret), so a re-ask is judged only on the replica, and within the
 * process lifetime, of the routed answer.
 *
 * Near-duplicates are judged by waste detection's keyed MinHash of the new user text (src/detect/fingerprint), under
 * a per-process secret: the signatures live only here, so they need not match stored fingerprints, and no text is
 * kept. Texts of fewer than three content words have no signature and are never judged re-asks.
 */

export interface RoutedNote {
  decisionId: string;
  teamId: string | null;
  taskClass: TaskClass;
  family: string;
  /** Rung index of the model that served it. */
  routedIndex: number;
}

export interface GuardTrip {
  teamId: string | null;
  taskClass: TaskClass;
  misses: number;
  routed: number;
  trippedAt: number;
  until: number;
}

interface Recent extends RoutedNote {
  at: number;
  sig: Uint32Array;
}

interface Pending {
  body: Readonly<Record<string, unknown>>;
  event: Readonly<UsageEvent>;
  routed: RoutedNote | undefined;
  pinned: boolean;
}

/** Routed requests remembered per person: a re-ask is about one of the last few. */
const RECENT_PER_USER = 20;
/** People remembered at once; the least recently active are forgotten first. */
const MAX_USERS = 10_000;
/** Requests waiting to be looked at; beyond this (a stalled event loop) new ones are skipped, not queued. */
const MAX_PENDING = 10_000;

const classKey = (teamId: string | null, taskClass: string) => `${teamId ?? ''}\u0000${taskClass}`;

export class QualityGuard implements RequestObserver {
  /** Bodies of routed requests, noted by the policy at admission (the proxy hands observers the same object). */
  private readonly notes = new WeakMap<object, RoutedNote>();
  /** Bodies of requests pinned with `x-goodhart-route: off`: the only ones judged as re-asks. */
  private readonly pinned = new WeakSet<object>();
  private readonly recent = new Map<string, Recent[]>();
  private readonly routedAt = new Map<string, number[]>();
  private readonly missedAt = new Map<string, number[]>();
  private readonly tripped = new Map<string, GuardTrip>();
  private pending: Pending[] = [];
  private scheduled = false;
  private readonly secret = randomBytes(32).toString('base64');

  constructor(
    private readonly config: QualityGuardConfig,
    private readonly ladders: Ladders,
    private readonly onMiss: (decisionId: string, at: number) => void = () => {},
    private readonly onTrip: (trip: GuardTrip) => void = () => {},
  ) {}

  /**
   * After a restart: the stored routed decisions of the last period (ordered by time) become the routed and missed
   * counts, and the stored trips still in force stop their classes again. Stored history counts every routed
   * request, where the live guard skips failed ones and texts too short to fingerprint, so after a restart a
   * class's miss rate can read a little lower than it would have: it never trips sooner than live.
   */
  restore(history: readonly GuardHistoryRow[], trips: readonly GuardTrip[]): void {
    const misses = new Map<string, number[]>();
    for (const h of history) {
      const key = classKey(h.teamId, h.taskClass);
      push(this.routedAt, key, h.at);
      if (h.missAt !== null) push(misses, key, h.missAt);
    }
    for (const [key, xs] of misses) {
      const merged = [...(this.missedAt.get(key) ?? []), ...xs].sort((a, b) => a - b);
      this.missedAt.set(key, merged);
    }
    for (const xs of this.routedAt.values()) xs.sort((a, b) => a - b);
    this.adoptTrips(trips);
  }

  /** Trips recorded elsewhere (the store: an earlier run, another replica); the later end wins. */
  adoptTrips(trips: readonly GuardTrip[]): void {
    for (const t of trips) {
      const key = classKey(t.teamId, t.taskClass);
      const old = this.tripped.get(key);
      if (!old || old.until < t.until) this.tripped.set(key, { ...t });
    }
  }

  /** Called by the routing policy, on the request path: one WeakMap set. */
  noteRouted(body: object, note: RoutedNote): void {
    this.notes.set(body, note);
  }

  /** Called by the routing policy, on the request path: one WeakSet add. */
  notePinned(body: object): void {
    this.pinned.add(body);
  }

  /** The routed request was served by the model asked for after all (the cheaper one failed): not a routed answer. */
  forget(body: object): void {
    this.notes.delete(body);
  }

  /** Called by the routing policy, on the request path: one Map get. */
  isDisabled(teamId: string | null, taskClass: TaskClass, now: number): boolean {
    const trip = this.tripped.get(classKey(teamId, taskClass));
    if (trip === undefined) return false;
    if (now < trip.until) return true;
    this.tripped.delete(classKey(teamId, taskClass));
    return false;
  }

  /** Tripped classes still in force, for findings. */
  trips(now: number): GuardTrip[] {
    return [...this.tripped.values()].filter((t) => now < t.until).map((t) => ({ ...t }));
  }

  /** RequestObserver: only queues; the work runs on a later turn of the event loop. */
  observe(body: Readonly<Record<string, unknown>>, event: Readonly<UsageEvent>): void {
    if (event.userId === null || this.pending.length >= MAX_PENDING) return;
    this.pending.push({ body, event, routed: this.notes.get(body), pinned: this.pinned.has(body) });
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  /** Processes everything queued (tests call it to avoid waiting a turn). */
  drain(): void {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    for (const p of batch) this.process(p);
  }

  private process({ body, event, routed, pinned }: Pending): void {
    const userId = event.userId!;
    if (routed) {
      if (event.status >= 400 || event.errorClass !== null) return;
      const sig = this.sign(extractFeatures(body, event.endpoint).newText);
      if (sig === null) return;
      this.remember(userId, { ...routed, at: event.endedAt, sig });
      const key = classKey(routed.teamId, routed.taskClass);
      push(this.routedAt, key, event.endedAt);
      trim(this.routedAt.get(key)!, event.endedAt - this.config.periodHours * 3_600_000);
      return;
    }
    if (!pinned) return;
    const list = this.recent.get(userId);
    const rung = event.modelRequested === null ? undefined : this.ladders.find(event.modelRequested);
    if (!list || !rung) return;
    const windowMs = this.config.windowMinutes * 60_000;
    const candidates = list.filter(
      (r) => r.family === rung.family && rung.index < r.routedIndex && event.startedAt - r.at <= windowMs && event.startedAt >= r.at,
    );
    if (candidates.length === 0) return;
    const x = extractFeatures(body, event.endpoint);
    if (x.features.toolStep) return;
    const sig = this.sign(x.newText);
    const hit = sig === null ? undefined : candidates.find((r) => similarity(sig, r.sig) >= this.config.similarity);
    if (!hit) return;
    list.splice(list.indexOf(hit), 1);
    this.onMiss(hit.decisionId, event.startedAt);
    this.countMiss(hit, event.startedAt);
  }

  private sign(newText: string): Uint32Array | null {
    return fingerprintText(newText, this.secret).signature;
  }

  private remember(userId: string, r: Recent): void {
    const list = this.recent.get(userId) ?? [];
    this.recent.delete(userId); // re-inserted last: Map order is then least recently active first
    list.push(r);
    if (list.length > RECENT_PER_USER) list.shift();
    this.recent.set(userId, list);
    if (this.recent.size > MAX_USERS) this.recent.delete(this.recent.keys().next().value!);
  }

  private countMiss(r: Recent, at: number): void {
    const key = classKey(r.teamId, r.taskClass);
    push(this.missedAt, key, at);
    const since = at - this.config.periodHours * 3_600_000;
    const misses = trim(this.missedAt.get(key)!, since);
    const routed = trim(this.routedAt.get(key) ?? [], since);
    if (misses >= this.config.minMisses && misses / Math.max(routed, 1) >= this.config.maxMissRate) {
      const trip: GuardTrip = {
        teamId: r.teamId,
        taskClass: r.taskClass,
        misses,
        routed,
        trippedAt: at,
        until: at + this.config.disableHours * 3_600_000,
      };
      this.tripped.set(key, trip);
      this.onTrip({ ...trip });
    }
  }
}

function push(map: Map<string, number[]>, key: string, at: number): void {
  const xs = map.get(key);
  if (xs) xs.push(at);
  else map.set(key, [at]);
}

/** Drops times before `since` (in place) and returns how many remain. */
function trim(xs: number[], since: number): number {
  let i = 0;
  while (i < xs.length && xs[i]! < since) i++;
  if (i > 0) xs.splice(0, i);
  return xs.length;
}
