import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { findingAlert, forecastAlert, forecastCrosses } from '../../alerts/findings.js';
import type { OutboundAlert } from '../../alerts/dispatcher.js';
import type { BudgetConfig } from '../../policy/config.js';
import { periodWindow } from '../../policy/period.js';
import { loadBudgetStatuses } from '../../report/budget-status.js';
import { supportsImports, type Store } from '../../store/types.js';
import type { UsageEvent } from '../../usage/event.js';
import type { Pricer } from '../../usage/pricing.js';
import type { DetectConfig } from '../config.js';
import { DetectionEngine } from '../engine.js';
import type { Fingerprint } from '../fingerprint/types.js';
import { detectHistory, lookbackDays } from '../history.js';
import type { FindingsStore, LiveSource } from '../store.js';
import type { Finding } from '../types.js';
import { DAY, DayClock, HOUR, MINUTE } from '../util.js';
import { byStart, ReorderBuffer } from './reorder.js';

/**
 * Live detection: the detectors run as events arrive, in the background of `goodhart serve` (a worker thread, see
 * runner.ts), never on a request's path. Each tick:
 *
 * 1. reads the events stored since the last tick from the store's feed (src/detect/store.ts, `LiveSource`): gateway
 *    traffic, OTLP and imports alike;
 * 2. holds them `reorderSeconds` so they reach the detectors in start order, with their fingerprints;
 * 3. runs them through one DetectionEngine whose state lives across ticks (rebuilt from the look-back window when
 *    this process takes over), closing windows on the clock even when traffic stops;
 * 4. upserts the findings (ids are stable: rule, subject and start, so a re-emitted finding replaces itself) and
 *    sends each new one, once, through the alert sinks; budget forecasts that cross their amount, likewise;
 * 5. re-detects from history, now and then, the days that received events too late for the running state.
 *
 * With several replicas on one database a lease (in the store, renewed each tick) lets one of them run it; the
 * others check each tick and take over within a lease's length when it stops renewing.
 */

export interface LiveDeps {
  store: Store;
  source: FindingsStore & LiveSource;
  detect: DetectConfig;
  pricer: Pricer;
  /** The zone budgets' periods are in (the config's `timeZone`). */
  timeZone: string;
  /** The budgets in force now (the admin API may change them). */
  budgets: () => readonly BudgetConfig[];
  /** Sends an alert (the dispatcher: deduplicated, retried, off this thread's critical path); null: no sinks. */
  publish: ((alert: OutboundAlert) => void) | null;
  now?: () => number;
  /** Who this process is, for the lease (default: host, pid and a random part). */
  holder?: string;
  log?: (message: string) => void;
  /** Events read from the feed, and released to the detectors, per tick at most (default MAX_PER_TICK). */
  maxPerTick?: number;
  /**
   * `dashboard.minGroupSize` (default 3): a finding on a team fewer people used in the finding's month is sent to
   * team-detail sinks without the team's name (alerts/findings.ts hidesTeam), as the dashboard withholds its totals.
   */
  minGroupSize?: number;
}

export interface LiveStats {
  leader: boolean;
  /** Times this process took the lease and rebuilt the state. */
  warmups: number;
  /** Events read during warm-ups, and from the feed since. */
  warmupEvents: number;
  events: number;
  /** Events that arrived after their start was behind the stream, clamped to it (within lateMinutes)… */
  late: number;
  /** …and those later than that, left to a re-detection of their day. */
  tooLate: number;
  redetections: number;
  findings: number;
  alerts: number;
  forecastAlerts: number;
  buffered: number;
  /** The stream's watermark: events that started before it have been through the detectors. */
  watermark: number | null;
  /** The last tick stopped at its limit with more to read or release: the next should follow at once (catchUp). */
  backlog: boolean;
  lastTickMs: number;
}

/** Events per read of the feed. */
const PAGE = 5_000;
/** Events per read of the warm-up. */
const WARMUP_PAGE = 2_000;
/**
 * At most this many events read from the feed, and as many released to the detectors, per tick; the rest in the
 * ticks that follow at once (`catchUp`). A busy gateway stores 200,000 events in 30 s: in one tick, their garbage
 * grew the detection thread's heap to 430 MB before V8 collected it (75 MB live); in ticks of 20,000, with a
 * collection between them, it stays near what is live.
 */
export const MAX_PER_TICK = 20_000;
/** Outcomes (commits, merged PRs) that arrive up to a day late still count for their day. */
const OUTCOME_SLACK = DAY;
const OUTCOME_SWEEP_MS = 10 * MINUTE;
const LEASE = 'live';

interface LiveState {
  engine: DetectionEngine;
  cursor: string;
  buffer: ReorderBuffer;
  /** The stream's clock: events that started before it have been pushed to the engine (later ones are late). */
  released: number;
  tick: number;
  /** Findings made and not yet stored (kept across a failed write). */
  unsaved: Finding[];
  /** Findings that start before this come from a window the warm-up cut: never stored or sent. */
  floor: number;
  outcomesSeen: Map<string, number>;
  /** When outcomes were last read. */
  lastOutcomeSweep: number;
  /** Calendar days in the detectors' zone (cached: the zone arithmetic is not free). */
  days: DayClock;
  lateDays: Set<number>;
  lastLateAt: number;
  lastRedetect: number;
  lastForecast: number;
}

export class LiveDetector {
  readonly stats: LiveStats = {
    leader: false, warmups: 0, warmupEvents: 0, events: 0, late: 0, tooLate: 0, redetections: 0,
    findings: 0, alerts: 0, forecastAlerts: 0, buffered: 0, watermark: null, backlog: false, lastTickMs: 0,
  };
  readonly holder: string;
  private state: LiveState | null = null;
  private aborted = false;
  private readonly now: () => number;
  private readonly log: (m: string) => void;
  private readonly cfg: DetectConfig['live'];
  private readonly maxPerTick: number;

  constructor(private readonly deps: LiveDeps) {
    this.now = deps.now ?? Date.now;
    this.log = deps.log ?? ((m) => process.stderr.write(`${m}\n`));
    this.holder = deps.holder ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    this.cfg = deps.detect.live;
    this.maxPerTick = Math.max(1, Math.floor(deps.maxPerTick ?? MAX_PER_TICK));
  }

  /** Lease length: three ticks, and at least 90 s, so a slow tick or a GC pause does not hand it over. */
  private get ttlMs(): number {
    return Math.max(90_000, 3 * this.cfg.intervalSeconds * 1000);
  }

  /**
   * One round: take or keep the lease, read, detect, store, alert. Errors are logged; the next tick retries.
   * `continuing`: a tick that reads on where the last one stopped at its limit (catchUp): what it reads is held to
   * the next scheduled tick, as what the first tick read is (so a fingerprint written after its event is there).
   */
  async tick(opts: { continuing?: boolean } = {}): Promise<void> {
    const started = performance.now();
    // Set again only by a tick that reached its limit; a tick that fails or loses the lease ends any catching up.
    this.stats.backlog = false;
    if (this.aborted) return;
    try {
      if (this.state === null) {
        this.state = await this.lead();
        this.stats.leader = this.state !== null;
        if (this.state === null) return;
      }
      const s = this.state;
      if (opts.continuing !== true) s.tick++;
      await this.readFeed(s);
      await this.advance(s);
      await this.flush(s);
      await this.guard('re-detecting late days', () => this.redetect(s));
      await this.guard('checking budget forecasts', () => this.forecasts(s));
      if (!(await this.deps.source.saveCursor(LEASE, this.holder, s.cursor, this.ttlMs))) {
        this.log('goodhart: live detection: another process took the lease; standing by.');
        this.state = null;
        this.stats.leader = false;
        this.stats.backlog = false;
      }
    } catch (err) {
      this.stats.backlog = false;
      this.log(`goodhart: live detection tick failed (retrying next tick): ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      this.stats.buffered = this.state?.buffer.size ?? 0;
      this.stats.lastTickMs = performance.now() - started;
    }
  }

  /**
   * Ticks until the backlog is read (one tick when there is none), yielding to the event loop between ticks and
   * calling `between` after each (the detection thread collects its garbage there). A round lasts one interval at
   * most: under more traffic than the detectors keep up with, the next scheduled tick starts a new round, so what
   * this one read is released and the clock moves on.
   */
  async catchUp(between: () => void = () => {}): Promise<void> {
    const until = performance.now() + this.cfg.intervalSeconds * 1000;
    for (let continuing = false; ; continuing = true) {
      await this.tick({ continuing });
      between();
      if (!this.stats.backlog || this.aborted || performance.now() >= until) return;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** Makes a running warm-up stop at its next day (shutdown should not wait for weeks of history). */
  abort(): void {
    this.aborted = true;
  }

  /** Gives the lease up so another replica takes over at once (at shutdown). */
  async close(): Promise<void> {
    this.aborted = true;
    this.state = null;
    this.stats.leader = false;
    // Also after a warm-up cut short: the lease was taken before it began. A no-op when another process has it.
    await this.deps.source.releaseLease(LEASE, this.holder).catch(() => {});
  }

  private async guard(what: string, run: () => Promise<void>): Promise<void> {
    try {
      await run();
    } catch (err) {
      this.log(`goodhart: live detection: ${what} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /**
   * Takes the lease and rebuilds the state: every event stored up to now that started in the look-back window
   * (the longest baseline, four weeks), a day at a time, so the running state is what it would be had this process
   * run all along. That also covers whatever arrived while no process ran detection.
   */
  private async lead(): Promise<LiveState | null> {
    const { source, store, detect } = this.deps;
    const lease = await source.acquireLease(LEASE, this.holder, this.ttlMs);
    if (lease === null) return null;
    const now = this.now();
    const mark = await source.feedMark();
    const engine = new DetectionEngine({ config: detect, pricer: this.deps.pricer, onFinding: (f) => s.unsaved.push(f) });
    const from = now - lookbackDays(detect) * DAY;
    const watermark = now - this.cfg.reorderSeconds * 1000;
    const s: LiveState = {
      engine, cursor: mark, buffer: new ReorderBuffer(), released: watermark, tick: 0, unsaved: [],
      // A window open at `from` was cut by it: its finding would carry the wrong start (and id).
      floor: from + DAY,
      outcomesSeen: new Map(), lastOutcomeSweep: now, days: new DayClock(detect.timeZone), lateDays: new Set(), lastLateAt: 0, lastRedetect: now, lastForecast: 0,
    };
    for (let t = from; t <= now; t += DAY) {
      if (this.aborted) return null;
      const range = { since: t, until: t + DAY };
      for (const o of supportsImports(store) ? await store.listOutcomes(range) : []) {
        s.outcomesSeen.set(o.id, o.at);
        engine.pushOutcome(o);
      }
      // A page of events at a time, with their fingerprints: a busy day is millions of events.
      for (let after: UsageEvent | undefined; ; ) {
        const events = await source.listEventsUpTo({ ...range, limit: WARMUP_PAGE, ...(after ? { after } : {}) }, mark);
        if (events.length === 0) break;
        const fps = new Map((await source.fingerprintsOf(events.map((e) => e.id))).map((f) => [f.eventId, f]));
        for (const event of events) {
          if (event.startedAt < watermark) engine.push({ event, fp: fps.get(event.id) ?? null });
          else s.buffer.add(event, 0);
        }
        this.stats.warmupEvents += events.length;
        after = events[events.length - 1];
        if (events.length < WARMUP_PAGE) break;
      }
      // Long warm-ups keep the lease.
      if (!(await source.saveCursor(LEASE, this.holder, mark, this.ttlMs))) return null;
    }
    engine.tick(watermark);
    this.stats.warmups++;
    this.stats.watermark = watermark;
    return s;
  }

  /** Events stored since the cursor: into the reorder buffer, or (too late for it) to a later re-detection. */
  private async readFeed(s: LiveState): Promise<void> {
    const { source } = this.deps;
    const mark = await source.feedMark();
    const lateMs = this.cfg.lateMinutes * MINUTE;
    let read = 0;
    for (;;) {
      const limit = Math.min(PAGE, this.maxPerTick - read);
      const page = await source.readFeed(s.cursor, mark, limit);
      for (const e of page.events) {
        if (e.startedAt >= s.released - lateMs) {
          if (e.startedAt < s.released) this.stats.late++;
          s.buffer.add(e, s.tick);
        } else {
          this.stats.tooLate++;
          s.lateDays.add(s.days.day(e.startedAt).window.start);
          s.lastLateAt = this.now();
        }
      }
      s.cursor = page.next;
      read += page.events.length;
      this.stats.events += page.events.length;
      if (page.events.length < limit) break;
      if (read >= this.maxPerTick) {
        this.stats.backlog = true;
        break;
      }
    }
  }

  /** Moves the stream to now − reorderSeconds: outcomes, then the released events in start order, then the clock. */
  private async advance(s: LiveState): Promise<void> {
    const { store, source } = this.deps;
    const watermark = Math.max(s.released, this.now() - this.cfg.reorderSeconds * 1000);
    // Outcomes every 10 minutes, the whole last day each time (outcomes are often recorded late: a nightly git
    // import), and always before the clock crosses midnight: only the period-end rule uses them, by day.
    const newDay = s.days.day(s.released).window.end <= watermark;
    if (supportsImports(store) && (newDay || this.now() - s.lastOutcomeSweep >= OUTCOME_SWEEP_MS)) {
      s.lastOutcomeSweep = this.now();
      const outcomes = await store.listOutcomes({ since: Math.max(0, s.released - OUTCOME_SLACK), until: watermark });
      for (const o of outcomes) {
        if (s.outcomesSeen.has(o.id)) continue;
        s.outcomesSeen.set(o.id, o.at);
        s.engine.pushOutcome(o);
      }
      for (const [id, at] of s.outcomesSeen) if (at < watermark - 2 * OUTCOME_SLACK) s.outcomesSeen.delete(id);
    }
    // Released in start order, read back a thousand at a time: a tick's memory is one page of events, not the
    // hundreds of thousands a busy gateway stores between ticks.
    const released = s.buffer.release(watermark, s.tick);
    // The earliest `maxPerTick` now; the rest stay held (and hold the clock) for the ticks that follow at once.
    const refs = released.length > this.maxPerTick ? released.slice(0, this.maxPerTick) : released;
    if (refs.length < released.length) {
      for (const r of released.slice(refs.length)) s.buffer.add(r, -1);
      this.stats.backlog = true;
    }
    for (let i = 0; i < refs.length; i += 1_000) {
      const page = refs.slice(i, i + 1_000);
      let events: UsageEvent[];
      try {
        events = (await source.eventsOf(page)).sort(byStart);
      } catch (err) {
        // The rest is held again (released next tick) rather than lost; the clock does not move this tick.
        for (const r of refs.slice(i)) s.buffer.add(r, -1);
        throw err;
      }
      const fps = new Map<string, Fingerprint>();
      await this.guard('reading fingerprints', async () => {
        for (const f of await source.fingerprintsOf(page.map((e) => e.id))) fps.set(f.eventId, f);
      });
      for (const e of events) {
        // Late (it arrived after the clock passed its start), within lateMinutes: pushed as if it started at the
        // clock, because detectors assume their clock never goes back.
        const event: UsageEvent = e.startedAt < s.released ? { ...e, startedAt: s.released, endedAt: Math.max(e.endedAt, s.released) } : e;
        s.engine.push({ event, fp: fps.get(e.id) ?? null });
      }
    }
    // The clock moves to the watermark, but not past an event still held (one that arrived this tick).
    s.released = Math.max(s.released, Math.min(watermark, s.buffer.earliest()));
    s.engine.tick(s.released);
    this.stats.watermark = s.released;
  }

  private shouldSend(f: Finding, now: number): boolean {
    const a = this.cfg.alerts;
    return (
      a.findings &&
      a.rules.includes(f.rule) &&
      (f.rule === 'spend-anomaly' || f.wastedUsd >= a.minWastedUsd) &&
      f.end >= now - a.maxAgeHours * HOUR
    );
  }

  /** Stores what the detectors found (replacing same-id findings), then sends the new ones. */
  private async flush(s: LiveState): Promise<void> {
    if (s.unsaved.length === 0) return;
    const byId = new Map<string, Finding>();
    for (const f of s.unsaved) if (f.start >= s.floor) byId.set(f.id, f);
    const findings = [...byId.values()];
    await this.deps.source.upsertFindings(findings);
    s.unsaved = [];
    this.stats.findings += findings.length;
    await this.send(findings);
  }

  private async send(findings: readonly Finding[]): Promise<void> {
    const publish = this.deps.publish;
    if (publish === null) return;
    const now = this.now();
    const sizes = new Map<string, Promise<number>>();
    for (const f of findings) {
      if (!this.shouldSend(f, now)) continue;
      const small = f.teamId !== null && (await this.teamSize(f.teamId, f.start, now, sizes)) < (this.deps.minGroupSize ?? 3);
      // The dispatcher claims `finding|id` in the store first: a finding already sent (before a restart, by the
      // replica that had the lease) is not sent again.
      publish(findingAlert(f, this.deps.detect.timeZone, small));
      this.stats.alerts++;
    }
  }

  /** People who spent on a team in the month `at` falls in, up to now (the dashboard's contributors). */
  private teamSize(teamId: string, at: number, now: number, memo: Map<string, Promise<number>>): Promise<number> {
    if ((this.deps.minGroupSize ?? 3) <= 1) return Promise.resolve(Number.POSITIVE_INFINITY);
    const month = periodWindow('month', at, this.deps.timeZone);
    const key = `${teamId}|${month.start}`;
    let size = memo.get(key);
    if (size === undefined) {
      size = this.deps.store
        .aggregate('user', { teamId, since: month.start, until: Math.max(month.start + 1, Math.min(month.end, now)) }, { timeZone: this.deps.timeZone })
        .then((rows) => rows.filter((r) => r.key !== '(none)' && r.costUsd > 0).length);
      memo.set(key, size);
    }
    return size;
  }

  /**
   * Days that received events too late for the running state are detected again from history (the same as
   * `goodhart detect --since`), once the late arrivals have paused for a minute and at most every redetectMinutes.
   */
  private async redetect(s: LiveState): Promise<void> {
    if (s.lateDays.size === 0) return;
    const now = this.now();
    if (now - s.lastLateAt < Math.max(60_000, 2 * this.cfg.intervalSeconds * 1000)) return;
    if (now - s.lastRedetect < this.cfg.redetectMinutes * MINUTE) return;
    const days = [...s.lateDays].sort((a, b) => a - b);
    s.lateDays.clear();
    s.lastRedetect = now;
    const since = days[0]!;
    const until = Math.min(periodWindow('day', days[days.length - 1]!, this.deps.detect.timeZone).end, s.released);
    if (until <= since) return;
    const result = await detectHistory(this.deps.store, this.deps.source, { since, until, config: this.deps.detect, pricer: this.deps.pricer });
    this.stats.redetections++;
    this.stats.findings += result.findings.length;
    await this.send(result.findings);
  }

  /** Budgets whose upper projection reaches their amount this period: one alert per instance and period. */
  private async forecasts(s: LiveState): Promise<void> {
    const publish = this.deps.publish;
    if (publish === null || !this.cfg.alerts.forecasts) return;
    const now = this.now();
    if (now - s.lastForecast < this.cfg.forecastMinutes * MINUTE) return;
    s.lastForecast = now;
    const budgets = this.deps.budgets().filter((b) => b.period !== 'none');
    if (budgets.length === 0) return;
    const statuses = await loadBudgetStatuses({ store: this.deps.store, budgets, now, timeZone: this.deps.timeZone, maxInstances: 500 });
    for (const st of statuses) {
      if (!forecastCrosses(st)) continue;
      publish(forecastAlert(st, now));
      this.stats.forecastAlerts++;
    }
  }
}
