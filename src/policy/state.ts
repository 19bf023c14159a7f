import type { Unit } from './config.js';
import type { Window } from './period.js';

/**
 * Budget state: what has been spent and reserved, per budget instance and window. This process keeps it in
 * memory (memory-state.ts); a shared store (Redis, issue 8) implements the same interface with each call one
 * atomic script, which is why the calls may return promises. The engine never awaits when they do not.
 */
export type MaybePromise<T> = T | Promise<T>;

export interface Amounts {
  usd: number;
  tokens: number;
}

/** One budget instance applied to one request. */
export interface BudgetLine {
  /** `ruleId|scopeKey`: one per budget, or one per value for `team:*`-style scopes. */
  instance: string;
  /** Changes when the budget's scope, unit or period changes: its counter is then rebuilt from the ledger. */
  fingerprint: string;
  scopeKey: string;
  unit: Unit;
  window: Window;
  /** The reservation must keep spent + reserved within this (the amount, or the downgrade point). */
  limit: number;
}

export interface LineSnapshot {
  spent: number;
  reserved: number;
}

/** Opaque to the engine except for when the request started. */
export interface Reservation {
  readonly startedAt: number;
}

export type ReserveOutcome =
  | { ok: true; reservation: Reservation; snapshots: LineSnapshot[] }
  | { ok: false; failed: number; snapshots: LineSnapshot[] };

/** Historical spend of one scope value on one local day (loaded from stored gateway events). */
export interface LedgerRow {
  day: number;
  scopeKey: string;
  usd: number;
  tokens: number;
}

export interface BudgetState {
  /**
   * All or nothing: reserves `cost` on every line if each has room under its limit. `scopeKeys` are every scope
   * value the request belongs to (its spend is booked under all of them, budget or not).
   */
  reserve(lines: readonly BudgetLine[], cost: Amounts, scopeKeys: readonly string[], at: number): MaybePromise<ReserveOutcome>;
  /** Books the real cost and releases the reservation; a second call is ignored. Returns the lines' new state. */
  settle(reservation: Reservation, actual: Amounts): MaybePromise<{ line: BudgetLine; snapshot: LineSnapshot }[]>;
  /**
   * Marks reservations of requests still in flight as seen at `at`: `expire` keeps them. Called by the sweeper for
   * every request in flight, so that a request streaming for longer than the reservation TTL keeps its reservation.
   */
  refresh(reservations: readonly Reservation[], at: number): MaybePromise<void>;
  /**
   * Releases reservations never settled and not seen in flight since `before` (made before it and not refreshed
   * since: their request died, or this process did); returns how many.
   */
  expire(before: number): MaybePromise<number>;
  /** Current spent/reserved of lines, without reserving (status, headers of refused requests). */
  peek(lines: readonly BudgetLine[]): MaybePromise<LineSnapshot[]>;
  /**
   * Spend booked in each window (hybrid budgets' trailing periods) for every scope value `scopes` accepts that has
   * any: one call serves every instance of a per-value budget (`user:*`). A value left out spent nothing.
   */
  windowSpend(unit: Unit, windows: readonly Window[], scopes: (scopeKey: string) => boolean): MaybePromise<Map<string, number[]>>;
  /** Adds stored history for days nothing has been booked on yet (idempotent per day range, see the engine). */
  load(rows: readonly LedgerRow[]): MaybePromise<void>;
  /** Forgets counters of budget instances that no longer exist. */
  retain(isLive: (instance: string) => boolean): MaybePromise<void>;
  /** Reservations in flight (tests, status); a shared state counts this process's. */
  inFlight(): number;
  /**
   * True for a shared state (Redis) that seeds its counters from the store itself, per window and idempotently:
   * the service then loads no history into it (replicas starting at different times would each add it).
   */
  readonly seedsItself?: boolean;
  /**
   * A shared state calls `wake` when any process settles, so requests waiting near a limit retry at once instead
   * of only when this process settles something.
   */
  watchSettlements?(wake: () => void): void;
  /** How often a waiting request retries anyway (reservations of a dead process expire without a settlement). */
  readonly pollMs?: number;
}

/**
 * Continues with `f` at once when `v` is a plain value; only a real promise costs a promise.
 * (Not named `then`: a module exporting `then` is a thenable, and `await import()` of it goes wrong.)
 */
export function andThen<T, U>(v: MaybePromise<T>, f: (value: T) => MaybePromise<U>): MaybePromise<U> {
  return v instanceof Promise ? v.then(f) : f(v);
}

/** Runs a call off the request path: a promise it returns is not awaited, and its failure is logged, not thrown. */
export function detach(v: MaybePromise<unknown>, log: (message: string) => void, what: string): void {
  if (v instanceof Promise) v.catch((err: unknown) => log(`goodhart: ${what} failed: ${err instanceof Error ? err.message : String(err)}`));
}
