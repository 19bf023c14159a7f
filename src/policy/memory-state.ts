import type { Unit } from './config.js';
import { DayClock, type Window } from './period.js';
import type { Amounts, BudgetLine, BudgetState, LedgerRow, LineSnapshot, Reservation, ReserveOutcome } from './state.js';

/**
 * Budget state for a single process. Everything is synchronous: a check and its reservation happen in one
 * turn of the event loop, so concurrent requests cannot both take the last of a budget.
 *
 * Two structures:
 * - the ledger: spend per scope value ("team:platform") per local day, for everything this process settled plus
 *   the history loaded from the store at start. Any window of any period is a sum of whole local days, so a new
 *   or changed budget starts from the true spend of its window, without asking the store again and without
 *   counting twice what is both in flight and in the store.
 * - counters: spent and reserved of each budget instance in its current window, kept in step with every
 *   reservation and settlement, and rebuilt from the ledger and the in-flight reservations when the window or
 *   the budget's definition changes.
 */

interface Counter {
  instance: string;
  fingerprint: string;
  scopeKey: string;
  unit: Unit;
  window: Window;
  spent: number;
  reserved: number;
}

interface MemoryReservation extends Reservation {
  readonly id: number;
  readonly startedAt: number;
  readonly cost: Amounts;
  readonly scopeKeys: readonly string[];
  readonly lines: readonly BudgetLine[];
  /** When its request was last seen in flight (made, or refreshed since). */
  seenAt: number;
  expired: boolean;
  settled: boolean;
}

const contains = (w: Window, t: number): boolean => t >= w.start && t < w.end;

export class MemoryBudgetState implements BudgetState {
  /** day start → scope key → spend that day. */
  private readonly ledger = new Map<number, Map<string, Amounts>>();
  private readonly counters = new Map<string, Counter>();
  /** scope key → its live counters, to settle a reservation on every counter that holds it. */
  private readonly byScope = new Map<string, Set<Counter>>();
  /** In flight, in the order they were made. */
  private readonly inflight = new Map<number, MemoryReservation>();
  private readonly days: DayClock;
  private seq = 0;

  constructor(timeZone: string) {
    this.days = new DayClock(timeZone);
  }

  reserve(lines: readonly BudgetLine[], cost: Amounts, scopeKeys: readonly string[], at: number): ReserveOutcome {
    const counters = lines.map((l) => this.counter(l));
    const snapshots = counters.map((c) => ({ spent: c.spent, reserved: c.reserved }));
    for (let i = 0; i < counters.length; i++) {
      const c = counters[i]!;
      const price = cost[c.unit];
      const used = c.spent + c.reserved;
      if (price > 0 ? used + price > lines[i]!.limit : used >= lines[i]!.limit) return { ok: false, failed: i, snapshots };
    }
    for (const c of counters) c.reserved += cost[c.unit];
    const r: MemoryReservation = { id: ++this.seq, startedAt: at, cost, scopeKeys, lines, seenAt: at, expired: false, settled: false };
    this.inflight.set(r.id, r);
    return { ok: true, reservation: r, snapshots: counters.map((c) => ({ spent: c.spent, reserved: c.reserved })) };
  }

  settle(reservation: Reservation, actual: Amounts): { line: BudgetLine; snapshot: LineSnapshot }[] {
    const r = reservation as MemoryReservation;
    if (r.settled) return [];
    r.settled = true;
    this.inflight.delete(r.id);
    this.book(r.scopeKeys, r.startedAt, actual);
    this.forEachHolder(r, (c) => {
      if (!r.expired) c.reserved = Math.max(0, c.reserved - r.cost[c.unit]);
      c.spent += actual[c.unit];
    });
    const out: { line: BudgetLine; snapshot: LineSnapshot }[] = [];
    for (const line of r.lines) {
      const c = this.counters.get(line.instance);
      if (c && contains(c.window, r.startedAt)) out.push({ line, snapshot: { spent: c.spent, reserved: c.reserved } });
    }
    return out;
  }

  refresh(reservations: readonly Reservation[], at: number): void {
    for (const reservation of reservations) {
      const r = reservation as MemoryReservation;
      if (r.seenAt < at) r.seenAt = at;
    }
  }

  expire(before: number): number {
    let n = 0;
    // All of them (as many as requests in flight, every few seconds): refreshed ones are no longer in order.
    for (const r of this.inflight.values()) {
      if (r.seenAt >= before) continue;
      r.expired = true;
      this.inflight.delete(r.id);
      this.forEachHolder(r, (c) => {
        c.reserved = Math.max(0, c.reserved - r.cost[c.unit]);
      });
      n++;
    }
    return n;
  }

  peek(lines: readonly BudgetLine[]): LineSnapshot[] {
    return lines.map((l) => {
      const c = this.counter(l);
      return { spent: c.spent, reserved: c.reserved };
    });
  }

  windowSpend(unit: Unit, windows: readonly Window[], accept: (scopeKey: string) => boolean): Map<string, number[]> {
    const out = new Map<string, number[]>();
    for (const [day, scopes] of this.ledger) {
      const i = windows.findIndex((w) => contains(w, day));
      if (i < 0) continue;
      for (const [scopeKey, a] of scopes) {
        if (!accept(scopeKey)) continue;
        let spend = out.get(scopeKey);
        if (spend === undefined) out.set(scopeKey, (spend = windows.map(() => 0)));
        spend[i]! += a[unit];
      }
    }
    return out;
  }

  /** Spend booked for one scope value in one window. */
  private spentIn(scopeKey: string, unit: Unit, window: Window): number {
    let spent = 0;
    for (const [day, scopes] of this.ledger) if (contains(window, day)) spent += scopes.get(scopeKey)?.[unit] ?? 0;
    return spent;
  }

  load(rows: readonly LedgerRow[]): void {
    for (const row of rows) this.add(row.day, row.scopeKey, row.usd, row.tokens);
    // Counters of windows that include the loaded days are rebuilt on their next use.
    for (const c of this.counters.values()) c.fingerprint = '';
  }

  retain(isLive: (instance: string) => boolean): void {
    for (const [instance, c] of this.counters) {
      if (isLive(instance)) continue;
      this.counters.delete(instance);
      this.byScope.get(c.scopeKey)?.delete(c);
    }
  }

  inFlight(): number {
    return this.inflight.size;
  }

  /** The counter of a line's instance for the line's window and definition, rebuilt when either changed. */
  private counter(line: BudgetLine): Counter {
    let c = this.counters.get(line.instance);
    if (c !== undefined && c.fingerprint === line.fingerprint && c.window.start === line.window.start && c.window.end === line.window.end) {
      return c;
    }
    if (c === undefined) {
      c = { instance: line.instance, fingerprint: '', scopeKey: line.scopeKey, unit: line.unit, window: line.window, spent: 0, reserved: 0 };
      this.counters.set(line.instance, c);
    } else if (c.scopeKey !== line.scopeKey) {
      this.byScope.get(c.scopeKey)?.delete(c);
    }
    c.fingerprint = line.fingerprint;
    c.scopeKey = line.scopeKey;
    c.unit = line.unit;
    c.window = line.window;
    c.spent = this.spentIn(line.scopeKey, line.unit, line.window);
    c.reserved = 0;
    for (const r of this.inflight.values()) {
      if (!r.expired && contains(line.window, r.startedAt) && r.scopeKeys.includes(line.scopeKey)) c.reserved += r.cost[line.unit];
    }
    let set = this.byScope.get(line.scopeKey);
    if (set === undefined) this.byScope.set(line.scopeKey, (set = new Set()));
    set.add(c);
    return c;
  }

  /** Every live counter that holds (or, once settled, books) this reservation: same scope value, same window. */
  private forEachHolder(r: MemoryReservation, f: (c: Counter) => void): void {
    for (const key of r.scopeKeys) {
      const set = this.byScope.get(key);
      if (set === undefined) continue;
      for (const c of set) if (contains(c.window, r.startedAt)) f(c);
    }
  }

  private book(scopeKeys: readonly string[], startedAt: number, a: Amounts): void {
    const day = this.days.dayOf(startedAt).start;
    for (const key of scopeKeys) this.add(day, key, a.usd, a.tokens);
  }

  private add(day: number, scopeKey: string, usd: number, tokens: number): void {
    let scopes = this.ledger.get(day);
    if (scopes === undefined) this.ledger.set(day, (scopes = new Map()));
    const a = scopes.get(scopeKey);
    if (a === undefined) scopes.set(scopeKey, { usd, tokens });
    else {
      a.usd += usd;
      a.tokens += tokens;
    }
  }
}
