import { randomBytes } from 'node:crypto';
import type { Unit } from '../config.js';
import { DayClock, dayWindows, type Window } from '../period.js';
import type { Amounts, BudgetLine, BudgetState, LedgerRow, LineSnapshot, Reservation, ReserveOutcome } from '../state.js';
import { neverSent, redisUnavailable, type SharedRedis } from './connection.js';
import { BUILD, REFRESH, RESERVE, SEED, SETTLE, SWEEP, Script } from './scripts.js';

/**
 * Budget state shared by gateway replicas through Redis (the scripts and key layout are in scripts.ts).
 *
 * Spend is counted per scope value and window ("team:core" this month), whatever budget reads it, and kept in
 * two forms: a ledger per local day (seeded from the store, then booked by every settlement) and a counter per
 * window that a budget uses, built once from the ledger days and kept current by settlements.
 *
 * Seeding is idempotent per day: a day is seeded once (a marker in the day's hash), and a settlement books only on
 * a seeded day (else it seeds the day first). So an event is counted either from the store (it was written
 * before the day was seeded) or by its settlement in Redis (which ran after the marker, so its event could not yet
 * be in the store when the seeding replica read it): never both, however many replicas seed, however often.
 * When Redis loses its data (a restart without persistence), days are re-seeded from the store on first use; the
 * spend of requests that had settled but whose events were not yet written (one flush interval) is missed then.
 */

/** Where past spend comes from (the governance store). */
export interface SpendHistory {
  firstGatewayEventAt(): Promise<number | null>;
  spendByDay(days: readonly Window[], until: number): Promise<LedgerRow[]>;
}

export interface RedisBudgetStateOptions {
  shared: SharedRedis;
  /** For messages (password redacted there). */
  url: string;
  timeZone: string;
  history: SpendHistory;
  now: () => number;
  /**
   * A reservation not seen in flight for this long belonged to a request that died (or a replica that did): it is
   * released. The engine refreshes those of requests in flight (`refresh`) well within it.
   */
  reservationTtlMs: number;
  /** Where held settlements are reported (see hold). */
  log?: (message: string) => void;
  /** Called when a retry has taken every held settlement (tests). */
  onHeldBooked?: () => void;
}

interface RedisReservation extends Reservation {
  readonly startedAt: number;
  readonly member: string;
  readonly lines: readonly BudgetLine[];
  readonly wins: readonly string[];
  readonly scopeKeys: readonly string[];
  settled: boolean;
}

const DAY_MS = 86_400_000;
/**
 * Ledger days are kept 100 days: longer than a quarter, so quarter counters rebuild from Redis. A year or all-time
 * counter that must be rebuilt re-seeds its older days from the store (one query).
 */
const LEDGER_DAYS_KEPT = 100;
/** All-time windows end at 2^53 - 1 in key names (Lua reads numbers as doubles; Infinity has no digits). */
const NO_END = Number.MAX_SAFE_INTEGER;
/** Settlements are announced this long after a refusal on their window: longer than a request may wait (15 s). */
const WAIT_ANNOUNCE_MS = 20_000;
/** Days per SEED call: keeps one script (which blocks Redis while it runs) short. */
const SEED_CHUNK = 31;

/** Settlements held while Redis does not answer, at most (a request each: bounded memory in a long outage). */
const MAX_HELD = 100_000;
const HELD_RETRY_MS = 1_000;

const amount = (x: number): string => (Number.isFinite(x) ? String(x) : '0');
const endOf = (w: Window): number => (Number.isFinite(w.end) ? w.end : NO_END);
const winOf = (line: BudgetLine): string => `${line.scopeKey}|${line.window.start}|${endOf(line.window)}`;
const unitOf = (u: Unit): 'u' | 't' => (u === 'usd' ? 'u' : 't');
const contains = (w: Window, t: number): boolean => t >= w.start && t < w.end;
/** A TTL of at least a minute: a key whose time is up (a late request) still serves the scripts that need it. */
const keepMs = (ms: number): number => Math.max(60_000, Math.round(ms));

const reserveScript = new Script(RESERVE);
const settleScript = new Script(SETTLE);
const seedScript = new Script(SEED);
const buildScript = new Script(BUILD);
const sweepScript = new Script(SWEEP);
const refreshScript = new Script(REFRESH);

export class RedisBudgetState implements BudgetState {
  readonly seedsItself = true;
  /** Waiting requests retry this often: a dead replica's reservations expire without a settlement to wake them. */
  readonly pollMs = 1_000;
  private readonly shared: SharedRedis;
  private readonly days: DayClock;
  private readonly tag = randomBytes(4).toString('hex');
  private seq = 0;
  private local = 0;
  /** Builds and seedings under way in this process, by window or day: concurrent requests share one. */
  private readonly pending = new Map<string, Promise<void>>();
  private held: { r: RedisReservation; actual: Amounts }[] = [];
  private heldDropped = 0;
  private retryTimer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: RedisBudgetStateOptions) {
    this.shared = opts.shared;
    this.days = new DayClock(opts.timeZone);
  }

  async reserve(lines: readonly BudgetLine[], cost: Amounts, scopeKeys: readonly string[], at: number): Promise<ReserveOutcome> {
    const member = `${this.tag}${(++this.seq).toString(36)}|${amount(cost.usd)}|${amount(cost.tokens)}`;
    if (lines.length === 0) {
      // No budget applies: nothing to check, but the settlement still books the spend for budgets to come.
      this.local++;
      return { ok: true, reservation: { startedAt: at, member, lines, wins: [], scopeKeys, settled: false } as RedisReservation, snapshots: [] };
    }
    const reply = await this.withCounters(lines, member, cost);
    const snapshots = snapshotsOf(reply, reply[0] === 2 ? 2 : 1);
    if (reply[0] === 2) return { ok: false, failed: Number(reply[1]) - 1, snapshots };
    this.local++;
    const wins = [...new Set(lines.map(winOf))];
    const r: RedisReservation = { startedAt: at, member, lines, wins, scopeKeys, settled: false };
    return { ok: true, reservation: r, snapshots };
  }

  settle(reservation: Reservation, actual: Amounts): Promise<{ line: BudgetLine; snapshot: LineSnapshot }[]> {
    const r = reservation as RedisReservation;
    if (r.settled) return Promise.resolve([]);
    r.settled = true;
    this.local--;
    return this.shared.track(
      this.book(r, actual).then((booked) => booked ?? [], (err: unknown) => {
        if (!neverSent(err)) throw err;
        this.hold(r, actual);
        return [];
      }),
    );
  }

  /**
   * A settlement that never reached Redis (it was down: commands are refused, not queued) is held and booked once
   * it answers again, so the spend of requests that finished during an outage is not lost for the rest of the
   * period. Only a command that was never sent is retried: one that timed out may have run, and booking twice would
   * overcount. A retry never seeds a day: when Redis lost its data meanwhile, the day is seeded from the store on
   * first use, which holds the request's event if it was written by then (else it is missed, as the class says).
   */
  private hold(r: RedisReservation, actual: Amounts): void {
    if (this.held.length >= MAX_HELD) {
      this.heldDropped++;
      return;
    }
    if (this.held.length === 0 && this.heldDropped === 0) this.opts.log?.(`goodhart: Redis does not answer: budget settlements are held and booked when it answers again.`);
    this.held.push({ r, actual });
    this.retryTimer ??= setTimeout(() => void this.retryHeld(), HELD_RETRY_MS).unref();
  }

  private async retryHeld(): Promise<void> {
    const batch = this.held;
    this.held = [];
    let booked = 0;
    let reseeded = 0;
    for (const [i, h] of batch.entries()) {
      try {
        if ((await this.book(h.r, h.actual, true)) === null) reseeded++;
        else booked++;
      } catch (err) {
        if (!neverSent(err)) {
          this.opts.log?.(`goodhart: booking a held budget settlement failed: ${err instanceof Error ? err.message : String(err)}`);
          continue;
        }
        // Still down: the rest waits for the next try.
        this.held = [...batch.slice(i), ...this.held];
        break;
      }
    }
    this.retryTimer = null;
    if (this.held.length > 0) this.retryTimer = setTimeout(() => void this.retryHeld(), HELD_RETRY_MS).unref();
    else if (booked > 0 || reseeded > 0 || this.heldDropped > 0) {
      const notes = [
        ...(reseeded > 0 ? [`${reseeded} not booked (Redis restarted empty: their days were read from the store again)`] : []),
        ...(this.heldDropped > 0 ? [`${this.heldDropped} dropped (more than ${MAX_HELD} were held)`] : []),
      ];
      this.opts.log?.(`goodhart: Redis answers again: ${booked} held budget settlement(s) booked${notes.map((n) => `, ${n}`).join('')}.`);
      this.heldDropped = 0;
    }
    if (this.held.length === 0 && booked + reseeded > 0) this.opts.onHeldBooked?.();
  }

  /** Settlements held while Redis did not answer (see hold). */
  heldSettlements(): number {
    return this.held.length;
  }

  /** Books a settlement; a held one (`retry`) gives null when it is not booked (see hold). */
  private async book(r: RedisReservation, actual: Amounts, retry = false): Promise<{ line: BudgetLine; snapshot: LineSnapshot }[] | null> {
    const day = this.days.dayOf(r.startedAt);
    const args = [
      this.shared.prefix,
      r.startedAt,
      day.start,
      r.member,
      amount(actual.usd),
      amount(actual.tokens),
      this.opts.reservationTtlMs,
      r.scopeKeys.length,
      ...r.scopeKeys,
      r.wins.length,
      ...r.wins,
      WAIT_ANNOUNCE_MS,
      // A held settlement books only on a day seeded before its request started: a day seeded since (Redis lost its
      // data) was read from the store, which may hold the request's event already.
      retry ? r.startedAt : 0,
    ];
    let reply = (await this.run(settleScript, args)) as (string | number)[];
    if (reply[0] === 0) {
      if (retry) return null;
      await this.seed([day]);
      reply = (await this.run(settleScript, args)) as (string | number)[];
    }
    const now = this.opts.now();
    const out: { line: BudgetLine; snapshot: LineSnapshot }[] = [];
    for (const line of r.lines) {
      if (!contains(line.window, now)) continue;
      const i = 2 + r.wins.indexOf(winOf(line)) * 4;
      const u = line.unit === 'usd' ? 0 : 1;
      out.push({ line, snapshot: { spent: Number(reply[i + u] ?? 0), reserved: Number(reply[i + 2 + u] ?? 0) } });
    }
    return out;
  }

  /**
   * Keeps the reservations of requests still in flight: each is listed in its windows with the time it was last seen
   * (the score RESERVE and SWEEP expire by), set to `at` here. One script for all of them, from the sweeper. A
   * replica that dies stops refreshing its own, which then expire a TTL later.
   */
  async refresh(reservations: readonly Reservation[], at: number): Promise<void> {
    const args: (string | number)[] = [this.shared.prefix, at, 0];
    let n = 0;
    for (const reservation of reservations) {
      const r = reservation as RedisReservation;
      if (r.settled || r.wins.length === 0) continue;
      args.push(r.member, r.wins.length, ...r.wins);
      n++;
    }
    if (n === 0) return;
    args[2] = n;
    await this.run(refreshScript, args);
  }

  async expire(before: number): Promise<number> {
    return Number(await this.run(sweepScript, [this.shared.prefix, before]));
  }

  async peek(lines: readonly BudgetLine[]): Promise<LineSnapshot[]> {
    return snapshotsOf(await this.withCounters(lines, '', { usd: 0, tokens: 0 }), 1);
  }

  /** Past windows (hybrid budgets' trailing periods) are complete in the store: read from there, in one query. */
  async windowSpend(unit: Unit, windows: readonly Window[], accept: (scopeKey: string) => boolean): Promise<Map<string, number[]>> {
    const rows = await this.opts.history.spendByDay(windows, this.opts.now());
    const out = new Map<string, number[]>();
    for (const row of rows) {
      if (!accept(row.scopeKey)) continue;
      const i = windows.findIndex((w) => w.start === row.day);
      if (i < 0) continue;
      let spend = out.get(row.scopeKey);
      if (spend === undefined) out.set(row.scopeKey, (spend = windows.map(() => 0)));
      spend[i]! += row[unit];
    }
    return out;
  }

  /** History is seeded per day from the store when first needed (see the class comment), not loaded up front. */
  load(): void {}

  /** Counters are per scope and window, shared by every budget reading them; they expire with their window. */
  retain(): void {}

  inFlight(): number {
    return this.local;
  }

  watchSettlements(wake: () => void): void {
    this.shared.subscribe('settled', wake);
  }

  /** Runs RESERVE (or a peek), building the counters it lacks first. */
  private async withCounters(lines: readonly BudgetLine[], member: string, cost: Amounts): Promise<(string | number)[]> {
    const args: (string | number)[] = [this.shared.prefix, 0, 0, member, amount(cost.usd), amount(cost.tokens), lines.length];
    for (const l of lines) args.push(winOf(l), unitOf(l.unit), amount(l.limit));
    for (let attempt = 0; ; attempt++) {
      // A reservation expires a TTL after it was made, not after its request started: a request that waited near
      // a limit must not get a reservation that is already old.
      const now = this.opts.now();
      args[1] = now;
      args[2] = now - this.opts.reservationTtlMs;
      const reply = (await this.run(reserveScript, args)) as (string | number)[];
      if (reply[0] !== 0) return reply;
      if (attempt >= 3) throw redisUnavailable(this.opts.url, new Error('budget counters vanished while being built (is Redis evicting keys? use maxmemory-policy noeviction)'));
      await Promise.all(reply.slice(1).map((i) => this.build(lines[Number(i) - 1]!)));
    }
  }

  /** Builds a window's counter from its ledger days, seeding the days the ledger does not have yet. */
  private build(line: BudgetLine): Promise<void> {
    const win = winOf(line);
    return this.once(`w:${win}`, async () => {
      const days = await this.daysOf(line.window);
      // Kept until its window is over (TTLs are relative: the gateway's clock, not Redis's, says when that is).
      const keep = Number.isFinite(line.window.end) ? keepMs(line.window.end + Math.max(DAY_MS, 2 * this.opts.reservationTtlMs) - this.opts.now()) : 0;
      const args = [this.shared.prefix, line.scopeKey, line.window.start, endOf(line.window), keep, days.length, ...days.map((d) => d.start)];
      for (let attempt = 0; attempt < 3; attempt++) {
        const reply = (await this.run(buildScript, args)) as number[];
        if (reply[0] === 1) return;
        await this.seed(reply.slice(1).map((i) => days[i - 1]!));
      }
      throw redisUnavailable(this.opts.url, new Error(`seeded ledger days of ${win} vanished (is Redis evicting keys? use maxmemory-policy noeviction)`));
    });
  }

  /** The window's local days from its start (or the first stored event, for all-time windows) up to today. */
  private async daysOf(w: Window): Promise<Window[]> {
    const now = this.opts.now();
    let from = w.start;
    if (from <= 0) from = Math.min(now, (await this.opts.history.firstGatewayEventAt()) ?? now);
    return dayWindows(from, Math.min(w.end, now + 1), this.opts.timeZone);
  }

  /**
   * Seeds days from the store, in chunks of one query and one script each; a day another replica seeded meanwhile
   * is left alone by the script, and a day this process is seeding already is waited for, not queried again.
   */
  private async seed(days: readonly Window[]): Promise<void> {
    const waits: Promise<void>[] = [];
    const fresh = days.filter((d) => {
      const p = this.pending.get(`d:${d.start}`);
      if (p !== undefined) waits.push(p);
      return p === undefined;
    });
    for (let i = 0; i < fresh.length; i += SEED_CHUNK) {
      const chunk = fresh.slice(i, i + SEED_CHUNK);
      const p = this.seedChunk(chunk).finally(() => {
        for (const d of chunk) this.pending.delete(`d:${d.start}`);
      });
      for (const d of chunk) this.pending.set(`d:${d.start}`, p);
      waits.push(p);
    }
    await Promise.all(waits);
  }

  private async seedChunk(days: readonly Window[]): Promise<void> {
    const rows = await this.opts.history.spendByDay(days, this.opts.now());
    const cells = new Map<number, string[]>(days.map((d) => [d.start, []]));
    for (const r of rows) cells.get(r.day)?.push(r.scopeKey, amount(r.usd), amount(r.tokens));
    const now = this.opts.now();
    const payload = JSON.stringify(days.map((d) => [String(d.start), String(keepMs(d.end + LEDGER_DAYS_KEPT * DAY_MS - now)), cells.get(d.start)]));
    await this.run(seedScript, [this.shared.prefix, this.opts.now(), payload]);
  }

  private once(key: string, f: () => Promise<void>): Promise<void> {
    let p = this.pending.get(key);
    if (p === undefined) {
      p = f().finally(() => this.pending.delete(key));
      this.pending.set(key, p);
    }
    return p;
  }

  private async run(script: Script, args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await script.run(this.shared.redis, args);
    } catch (err) {
      throw redisUnavailable(this.opts.url, err);
    }
  }
}

/** Line snapshots from a RESERVE reply, whose pairs (spent, reserved) start at `from`. */
function snapshotsOf(reply: readonly (string | number)[], from: number): LineSnapshot[] {
  const out: LineSnapshot[] = [];
  for (let i = from; i + 1 < reply.length; i += 2) out.push({ spent: Number(reply[i]), reserved: Number(reply[i + 1]) });
  return out;
}
