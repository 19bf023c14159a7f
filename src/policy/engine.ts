import { GoodhartError } from '../errors.js';
import type { KeyRecord } from '../store/types.js';
import type { Pricer } from '../usage/pricing.js';
import { checkAccess, TierIndex, type Grant } from './access.js';
import { percentile } from './budget-math.js';
import { budgetHeaders, budgetRefusal, downgradePointRefusal, HEADER_DOWNGRADED, rateRefusal, unpricedRefusal, type Standing } from './messages.js';
import { MemoryBudgetState } from './memory-state.js';
import { periodWindow, previousWindows, type Period, type Window } from './period.js';
import { Quote } from './quote.js';
import { admitRates, RateLimiter, type RateLine, type RateState } from './rate-limit.js';
import { compileBudget, compileRateLimit, roleOf, RuleIndex, type BudgetRule, type GovernanceSpec, type Match, type RateRule } from './rules.js';
import { scopeKey as scopeKeyOf, subjectScopeKeys, type Subject } from './scope.js';
import { andThen, detach, type Amounts, type BudgetState, type MaybePromise, type Reservation, type ReserveOutcome } from './state.js';
import { ThresholdTracker, type Applied, type BudgetAlert } from './thresholds.js';
import type { AdmissionRequest, AdmissionResult, Policy } from './types.js';
import { WorstCasePricer } from './worst-case.js';

/** downgradeTarget: serve the request as asked, up to 100% of the budget. */
const AS_ASKED = Symbol('as asked');

export type { BudgetAlert } from './thresholds.js';
export { historyNeededSince } from './rules.js';

export interface EngineOptions {
  spec: GovernanceSpec;
  pricer: Pricer;
  now: () => number;
  state?: BudgetState;
  /** Rate counters; default in memory (one process). */
  rates?: RateState;
  /** Where failures off the request path (a shared state's settlement, the sweeper) are reported. */
  log?: (message: string) => void;
  /** `models[].maxOutputTokens` from the config. */
  outputLimits?: ReadonlyMap<string, number>;
  /**
   * A reservation whose request has not been seen in flight (AdmissionRequest.inFlight) for this long was leaked by a
   * request that never settled: the sweeper releases it. Requests in flight have theirs refreshed by the sweeper.
   */
  reservationTtlMs: number;
  onAlert?: (alert: BudgetAlert) => void;
  /** How long a request may wait near a limit for requests in flight to settle (default DEFAULT_MAX_WAIT_MS). */
  maxWaitMs?: number;
  /** How long a request may wait for a hybrid budget's past spend to be read (default HYBRID_WAIT_MS). */
  hybridWaitMs?: number;
}

/** A hybrid budget's extra amount (the percentile of past spend) for every instance, in one window. */
interface HybridTable {
  /** hybridKey of the rule it was computed for. */
  key: string;
  start: number;
  /** By scope value; a value not in it spent nothing in the trailing periods. A lookup in progress is shared. */
  extras: ReadonlyMap<string, number> | Promise<ReadonlyMap<string, number>>;
  /** When the lookup started (real time). */
  since: number;
}

interface View {
  version: number;
  subject: Subject;
  scopeKeys: string[];
  budgets: Match<BudgetRule>[];
  rates: Match<RateRule>[];
  roleId: string;
  role: GovernanceSpec['roles'][string] | undefined;
}

/** An admitted request whose reservation is kept while it is in flight (AdmissionRequest.inFlight). */
interface Live {
  reservation: Reservation;
  inFlight: () => boolean;
}

/** One admission in progress. */
interface Ctx {
  req: AdmissionRequest;
  view: View;
  scopeKeys: string[];
  rates: Match<RateRule>[];
  applied: Applied[];
  quote: Quote;
  model: string;
  cost: Amounts;
  downgradedBy: BudgetRule | null;
  /** Why a downgrade budget past its point could not downgrade this request (the refusal says so). */
  noDowngrade: string | null;
  /** Set once the request has waited for requests in flight: when waiting must stop (real time). */
  waitUntil: number | null;
}

/**
 * Near a limit, a request that would fit once requests in flight settle (their reservations are worst cases,
 * their real costs are usually lower) waits for them instead of being refused: under load, a budget with room
 * left does not answer "exceeded". 15 s covers ordinary completions; a request still waiting then is refused.
 */
export const DEFAULT_MAX_WAIT_MS = 15_000;

/**
 * A hybrid budget's past spend is one grouped query per budget and period, shared by all its instances: well under
 * a second normally. A request waits this long for it, then gets a retryable 503 (never the baseline alone): a
 * store held up (a lock, a saturated pool) must not hold every new person's first request indefinitely.
 */
export const HYBRID_WAIT_MS = 5_000;
/** A lookup still unanswered after this long is started again by the next request (its connection may be lost). */
const HYBRID_LOOKUP_STALE_MS = 60_000;

const ZERO: Amounts = Object.freeze({ usd: 0, tokens: 0 });
/** Per-value budgets (`user:*`) listed by `status`: bounded, since values come from keys and tags. */
const MAX_LISTED_INSTANCES = 100_000;

/**
 * The governance Policy: tiers, budgets and rate limits checked before a request is forwarded, the worst case
 * reserved, the real cost settled afterwards. With the in-memory state the whole admission is synchronous: no
 * promise, no store query, and no tokenizer unless a budget or limit is close.
 */
export class GovernanceEngine implements Policy {
  readonly state: BudgetState;
  readonly rates: RateState;
  private readonly log: (message: string) => void;
  private readonly worst: WorstCasePricer;
  private readonly thresholds: ThresholdTracker;
  private spec!: GovernanceSpec;
  private version = 0;
  private budgets!: RuleIndex<BudgetRule>;
  private rateRules!: RuleIndex<RateRule>;
  private rulesById = new Map<string, BudgetRule>();
  private tiers!: TierIndex;
  private readonly views = new WeakMap<KeyRecord, View>();
  private readonly windows = new Map<Period, Window>();
  /**
   * Hybrid budgets by rule id: the percentile of each instance's trailing spend for the current window (or the
   * lookup in progress). Past windows do not change, so a rules reload keeps it unless the rule's meaning
   * (`hybridKey`) did.
   */
  private readonly hybrid = new Map<string, HybridTable>();
  private readonly instances = new Set<string>();
  private grants = new Map<string, Grant[]>();
  /** Requests waiting near a limit; woken by every settlement. */
  private readonly waiters = new Set<() => void>();
  /** Admitted requests that say whether they are in flight: the sweeper keeps their reservations while they are. */
  private readonly live = new Set<Live>();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly opts: EngineOptions) {
    this.state = opts.state ?? new MemoryBudgetState(opts.spec.timeZone);
    this.rates = opts.rates ?? new RateLimiter();
    this.log = opts.log ?? ((m) => process.stderr.write(`${m}\n`));
    this.state.watchSettlements?.(() => this.wakeWaiters());
    this.worst = new WorstCasePricer(opts.pricer);
    this.thresholds = new ThresholdTracker(opts.onAlert);
    this.setSpec(opts.spec);
  }

  current(): GovernanceSpec {
    return this.spec;
  }

  /** Applies new rules at once. Spend carries over; counters whose meaning changed are rebuilt from the ledger. */
  setSpec(spec: GovernanceSpec): void {
    if (this.spec !== undefined && spec.timeZone !== this.spec.timeZone) {
      throw new GoodhartError('invalid_request', 400, 'The time zone cannot change while the gateway runs: change `timeZone` in the config and restart.');
    }
    const budgets = spec.budgets.map((b) => compileBudget(b, spec.timeZone));
    this.spec = spec;
    this.budgets = new RuleIndex(budgets);
    this.rulesById = new Map(budgets.map((b) => [b.id, b]));
    this.rateRules = new RuleIndex(spec.rateLimits.map(compileRateLimit));
    this.tiers = new TierIndex(spec.tiers);
    this.version++;
    // Kept across reloads (the service reloads every minute): a request is never checked against the baseline
    // alone while the amount is looked up again. Only what no longer applies is forgotten.
    const now = this.opts.now();
    for (const [id, h] of this.hybrid) {
      const rule = this.rulesById.get(id);
      if (rule === undefined || hybridKey(rule) !== h.key || this.window(rule.period, now).start !== h.start) this.hybrid.delete(id);
    }
    const live = (instance: string) => this.rulesById.has(instance.slice(0, instance.indexOf('|')));
    for (const i of this.instances) if (!live(i)) this.instances.delete(i);
    void this.state.retain(live);
  }

  setGrants(grants: readonly Grant[]): void {
    const next = new Map<string, Grant[]>();
    for (const g of grants) next.set(g.userId, [...(next.get(g.userId) ?? []), g]);
    this.grants = next;
  }

  start(): void {
    // Four sweeps per TTL: a request in flight is refreshed three times before its reservation could expire.
    const every = Math.min(30_000, Math.max(250, Math.floor(this.opts.reservationTtlMs / 4)));
    this.sweeper = setInterval(() => detach(this.sweep(this.opts.now()), this.log, 'releasing expired reservations'), every);
    this.sweeper.unref();
  }

  stop(): void {
    clearInterval(this.sweeper);
  }

  /**
   * Keeps the reservations of requests in flight (a stream may run far longer than the TTL, which bounds silence,
   * not length), releases leaked ones (requests that never settled, not seen in flight for a TTL), and forgets idle
   * rate counters.
   */
  sweep(now: number): MaybePromise<number> {
    this.rates.prune(now);
    const alive: Reservation[] = [];
    for (const l of this.live) {
      if (l.inFlight()) alive.push(l.reservation);
      else this.live.delete(l); // over: settled by now, or leaked (then released a TTL after it was last seen)
    }
    const expire = () => this.state.expire(now - this.opts.reservationTtlMs);
    return alive.length === 0 ? expire() : andThen(this.state.refresh(alive, now), expire);
  }

  admit(req: AdmissionRequest): MaybePromise<AdmissionResult> {
    const view = this.view(req.key);
    if (!this.tiers.empty || this.spec.untieredModels === 'deny') this.checkTier(view, req.model, req.now);
    let { scopeKeys, budgets, rates } = view;
    // A fallback is the same request: it was counted against the rate limits when first admitted.
    if (req.fallback === true) rates = [];
    if (req.tags.length > 0) {
      scopeKeys = [...scopeKeys, ...req.tags.map((t) => `tag:${t}`)];
      if (this.budgets.hasTagRules) budgets = [...budgets, ...this.budgets.forTags(req.tags)];
      if (this.rateRules.hasTagRules && req.fallback !== true) rates = [...rates, ...this.rateRules.forTags(req.tags)];
    }
    // count_tokens costs nothing at the provider: it cannot take a budget further, and refusing it (once a budget is
    // used up) only broke the client tools that count before they send. Tiers and rate limits still apply.
    if (req.endpoint === 'messages.count_tokens') budgets = [];
    const pending = budgets.map((m) => this.apply(m, req.now));
    // A hybrid amount not known yet (an asynchronous state, first request of the period): waited for, never
    // replaced by the baseline alone.
    if (pending.some((a) => a instanceof Promise)) return Promise.all(pending).then((applied) => this.admitWithBudgets(req, view, scopeKeys, rates, applied));
    return this.admitWithBudgets(req, view, scopeKeys, rates, pending as Applied[]);
  }

  private admitWithBudgets(req: AdmissionRequest, view: View, scopeKeys: string[], rates: Match<RateRule>[], applied: Applied[]): MaybePromise<AdmissionResult> {
    const quote = new Quote(req, this.worst, this.opts.outputLimits);
    const c: Ctx = { req, view, scopeKeys, rates, applied, quote, model: req.model, cost: quote.cost(req.model), downgradedBy: null, noDowngrade: null, waitUntil: null };
    this.refuseUnpriced(c);
    return andThen(this.reserve(c, false), (o) => this.afterReserve(c, o, 0));
  }

  /**
   * Scope values that have spend in the store (`user:bob`…): the per-value budgets (`user:*`) list their instances
   * for them in `status` from the start, not only once each sends a request after a restart.
   */
  noteSpenders(scopeKeys: Iterable<string>): void {
    const perValue = [...this.rulesById.values()].filter((r) => r.scope.each);
    if (perValue.length === 0) return;
    for (const key of new Set(scopeKeys)) {
      for (const rule of perValue) {
        if (this.instances.size >= MAX_LISTED_INSTANCES) return;
        if (key.startsWith(`${rule.scope.kind}:`)) this.instances.add(`${rule.id}|${key}`);
      }
    }
  }

  /** Budget instances and where they stand now (admin API, `goodhart budgets status`). */
  async status(now: number): Promise<(Standing & { instance: string })[]> {
    const out: (Standing & { instance: string })[] = [];
    for (const rule of this.rulesById.values()) {
      const keys = rule.scope.each
        ? [...this.instances].filter((i) => i.startsWith(`${rule.id}|`)).map((i) => i.slice(rule.id.length + 1))
        : [scopeKeyOf(rule.scope.kind, rule.scope.id)];
      for (const scopeKey of keys) {
        const a = await this.apply({ rule, scopeKey }, now);
        const [snap] = await this.state.peek([a.line]);
        out.push({ instance: a.line.instance, rule, scopeKey, window: a.line.window, amount: a.amount, spent: snap!.spent, reserved: snap!.reserved });
      }
    }
    return out;
  }

  private reserve(c: Ctx, full: boolean): MaybePromise<ReserveOutcome> {
    // `full`: a downgraded request may use its downgrade budgets up to 100%, not only up to the downgrade point.
    const lines = c.applied.map((a) => (full && a.rule.downgradeAt < 1 ? { ...a.line, limit: a.amount } : a.line));
    return this.state.reserve(lines, c.cost, c.scopeKeys, c.req.now);
  }

  /** Step 0: reserved on the byte bound; 1: on the exact count; 2: on the downgrade model. */
  private afterReserve(c: Ctx, o: ReserveOutcome, step: 0 | 1 | 2): MaybePromise<AdmissionResult> {
    if (o.ok) return this.admitted(c, o.reservation, o.snapshots);
    if (step === 0 && c.quote.countExactly()) {
      c.cost = c.quote.cost(c.model);
      return andThen(this.reserve(c, false), (next) => this.afterReserve(c, next, 1));
    }
    const failed = c.applied[o.failed]!;
    if (step < 2 && failed.rule.cfg.action === 'downgrade') {
      const target = this.downgradeTarget(failed.rule, c);
      if (target === AS_ASKED) {
        // Already the downgrade model, or a request no downgrade model serves (embeddings, count_tokens, another
        // provider's wire): past the downgrade point it may still use the budget up to 100%, as asked.
        return andThen(this.reserve(c, true), (next) => this.afterReserve(c, next, 2));
      }
      if (typeof target !== 'string') c.noDowngrade = target.why;
      else {
        const cost = c.quote.cost(target);
        if (Number.isNaN(cost.usd) && c.applied.some((a) => a.rule.unit === 'usd')) {
          c.noDowngrade = `its downgrade model "${target}" has no price, so a USD budget cannot account for it. Ask an admin to give it a price under \`models:\` in the config, or to set downgradeTo to a priced model`;
        } else {
          const snap = o.snapshots[o.failed]!;
          const blocked = { action: 'downgraded' as const, cost: c.cost[failed.rule.unit], limit: failed.line.limit, reserved: snap.reserved };
          this.thresholds.exhausted(failed, snap, blocked, c.req.now);
          c.model = target;
          c.cost = Number.isNaN(cost.usd) ? { usd: 0, tokens: cost.tokens } : cost;
          c.downgradedBy = failed.rule;
          return andThen(this.reserve(c, true), (next) => this.afterReserve(c, next, 2));
        }
      }
    }
    const snap = o.snapshots[o.failed]!;
    const fitsWhenSettled = snap.reserved > 0 && snap.spent + c.cost[failed.rule.unit] <= failed.line.limit;
    const maxWait = this.opts.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
    const mayWait = c.waitUntil === null ? maxWait > 0 : Date.now() < c.waitUntil;
    if (fitsWhenSettled && mayWait) return this.waitForSettlements(c, o, step, maxWait);
    return this.refuse(c, o);
  }

  /** Waits for a settlement, then tries again; refused when the wait runs out. */
  private waitForSettlements(c: Ctx, o: ReserveOutcome & { ok: false }, step: 0 | 1 | 2, maxWait: number): Promise<AdmissionResult> {
    c.waitUntil ??= Date.now() + maxWait;
    const left = Math.max(1, c.waitUntil - Date.now());
    return new Promise<AdmissionResult>((resolve, reject) => {
      let done = false;
      const wake = () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.waiters.delete(wake);
        try {
          const retry = andThen(this.reserve(c, step === 2), (next) => this.afterReserve(c, next, step === 0 ? 1 : step));
          if (retry instanceof Promise) retry.then(resolve, reject);
          else resolve(retry);
        } catch (err) {
          reject(err);
        }
      };
      // A shared state is polled too: reservations of a process that died expire without any settlement.
      const poll = this.state.pollMs ?? Number.POSITIVE_INFINITY;
      const timer = setTimeout(() => {
        if (done) return;
        if (left > poll && Date.now() < c.waitUntil!) return wake();
        done = true;
        this.waiters.delete(wake);
        reject(this.refusal(c, o));
      }, Math.min(left, poll));
      this.waiters.add(wake);
    });
  }

  private refuse(c: Ctx, o: ReserveOutcome & { ok: false }): never {
    throw this.refusal(c, o);
  }

  private refusal(c: Ctx, o: ReserveOutcome & { ok: false }): GoodhartError {
    const a = c.applied[o.failed]!;
    const snap = o.snapshots[o.failed]!;
    const s: Standing = { rule: a.rule, scopeKey: a.line.scopeKey, window: a.line.window, amount: a.amount, spent: snap.spent, reserved: snap.reserved };
    const cost = c.cost[a.rule.unit];
    // Refused at a downgrade point, not at 100%: a downgrade budget with no downgrade model for this request.
    const atPoint = a.rule.downgradeAt < 1 && snap.spent + snap.reserved + cost <= a.amount;
    this.thresholds.exhausted(a, snap, { action: 'refused', cost, limit: atPoint ? a.amount * a.rule.downgradeAt : a.amount, reserved: snap.reserved }, c.req.now);
    const headers: Record<string, string> = {};
    budgetHeaders([s], headers);
    if (Number.isFinite(s.window.end)) headers['retry-after'] = String(Math.max(1, Math.ceil((s.window.end - c.req.now) / 1000)));
    const why = c.noDowngrade ?? 'it has no downgrade model for this request. Ask for a model of a cheaper tier, or ask an admin to set downgradeTo for this provider';
    return new GoodhartError('budget_exceeded', 429, atPoint ? downgradePointRefusal(s, why, this.spec.timeZone) : budgetRefusal(s, cost, this.spec.timeZone, c.quote.toolCalls), { headers });
  }

  private admitted(c: Ctx, reservation: Reservation, snapshots: readonly { spent: number; reserved: number }[]): MaybePromise<AdmissionResult> {
    // Rate limits after budgets: a refusal here releases the reservation just made.
    const rateLines: RateLine[] = c.rates.map((m) => ({ counter: `${m.rule.id}|${m.scopeKey}`, rule: m.rule, scope: m.scopeKey }));
    if (rateLines.length === 0) return this.result(c, reservation, snapshots, rateLines, 0);
    return andThen(admitRates(this.rates, rateLines, c.quote, c.req.now), ({ refusal, tokens }) => {
      if (refusal === null) return this.result(c, reservation, snapshots, rateLines, tokens);
      detach(this.state.settle(reservation, ZERO), this.log, 'releasing a reservation');
      throw new GoodhartError('rate_limited', 429, rateRefusal(refusal), { headers: { 'retry-after': String(refusal.retryAfterS) } });
    });
  }

  private result(c: Ctx, reservation: Reservation, snapshots: readonly { spent: number; reserved: number }[], rateLines: RateLine[], rateTokens: number): AdmissionResult {
    const headers: Record<string, string> = {};
    if (c.applied.length > 0) {
      budgetHeaders(
        c.applied.map((a, i) => ({ rule: a.rule, scopeKey: a.line.scopeKey, window: a.line.window, amount: a.amount, spent: snapshots[i]!.spent, reserved: snapshots[i]!.reserved })),
        headers,
      );
    }
    if (c.downgradedBy !== null) headers[HEADER_DOWNGRADED] = `${c.req.model} -> ${c.model}; budget=${c.downgradedBy.id}`;
    let settled = false;
    const live: Live | null = c.req.inFlight === undefined ? null : { reservation, inFlight: c.req.inFlight };
    if (live !== null) this.live.add(live);
    const result: AdmissionResult = {
      headers,
      settle: ({ usage, costUsd }) => {
        if (settled) return;
        settled = true;
        if (live !== null) this.live.delete(live);
        const tokens = usage ? usage.input.total + usage.output.total : 0;
        const now = this.opts.now();
        if (rateLines.length > 0) detach(this.rates.settle(rateLines, rateTokens, tokens, now, c.req.now), this.log, 'settling rate limits');
        const after = andThen(this.state.settle(reservation, { usd: costUsd ?? 0, tokens }), (a) => {
          if (a.length > 0) this.thresholds.settled(c.applied, a, now);
          this.wakeWaiters();
        });
        detach(after, this.log, 'settling a budget reservation');
      },
    };
    if (c.model !== c.req.model) result.model = c.model;
    return result;
  }

  /** Requests waiting near a limit try again (after a settlement here, or one elsewhere for a shared state). */
  private wakeWaiters(): void {
    if (this.waiters.size > 0) for (const wake of [...this.waiters]) queueMicrotask(wake);
  }

  private view(key: KeyRecord): View {
    const cached = this.views.get(key);
    if (cached !== undefined && cached.version === this.version) return cached;
    // The key's team, as the usage event records it: spend is booked where reports and stored history find it.
    const subject: Subject = { keyId: key.id, userId: key.userId, teamId: key.teamId, projectId: key.projectId, tags: [] };
    const { id: roleId, role } = roleOf(this.spec, key.userId);
    const view: View = {
      version: this.version,
      subject,
      scopeKeys: subjectScopeKeys(subject),
      budgets: this.budgets.forSubject(subject),
      rates: this.rateRules.forSubject(subject),
      roleId,
      role,
    };
    this.views.set(key, view);
    return view;
  }

  /**
   * Whether the key's person may use `model` now (their role's tiers, their grants, `untieredModels`): GET /v1/models
   * lists only those. Not on the request path; admission checks the same (checkTier).
   */
  allows(key: KeyRecord, model: string, now: number): boolean {
    try {
      this.mayUse(key, model, now);
      return true;
    } catch {
      return false;
    }
  }

  /** Throws the 403 admission would give a request for `model` (GET /v1/models/{id} of a model the person may not use). */
  mayUse(key: KeyRecord, model: string, now: number): void {
    if (!this.tiers.empty || this.spec.untieredModels === 'deny') this.checkTier(this.view(key), model, now);
  }

  private checkTier(view: View, model: string, now: number): void {
    const decision = checkAccess({
      model,
      tier: this.tiers.tierOf(model),
      roleId: view.roleId,
      role: view.role,
      grants: this.grants.get(view.subject.userId) ?? [],
      now,
      untiered: this.spec.untieredModels,
    });
    if (!decision.ok) throw new GoodhartError('model_not_allowed', 403, decision.message);
  }

  private apply(m: Match<BudgetRule>, now: number): MaybePromise<Applied> {
    const { rule, scopeKey } = m;
    const window = this.window(rule.period, now);
    const instance = `${rule.id}|${scopeKey}`;
    if (rule.scope.each && this.instances.size < MAX_LISTED_INSTANCES) this.instances.add(instance);
    const applied = (amount: number): Applied => ({
      rule,
      amount,
      line: { instance, fingerprint: rule.fingerprint, scopeKey, unit: rule.unit, window, limit: amount * rule.downgradeAt },
    });
    if (rule.cfg.hybrid === undefined) return applied(rule.cfg.amount);
    // The baseline plus the percentile of the trailing periods (budget-math.ts hybridAmount).
    return andThen(this.hybridExtra(rule, scopeKey, window), (extra) => applied(rule.cfg.amount + extra));
  }

  /**
   * Looked up once per budget and period for all its instances (one query for every person of a `user:*` budget);
   * concurrent requests share the lookup in progress, each waiting for it at most `hybridWaitMs`.
   */
  private hybridExtra(rule: BudgetRule, scopeKey: string, window: Window): MaybePromise<number> {
    const key = hybridKey(rule);
    const cached = this.hybrid.get(rule.id);
    if (cached !== undefined && cached.start === window.start && cached.key === key) {
      if (!(cached.extras instanceof Promise)) return cached.extras.get(scopeKey) ?? 0;
      if (Date.now() - cached.since < HYBRID_LOOKUP_STALE_MS) return this.waitForHybrid(rule, cached.extras, scopeKey);
    }
    const h = rule.cfg.hybrid!;
    const past = previousWindows(rule.period, window, h.lookback, this.spec.timeZone);
    const own = scopeKeyOf(rule.scope.kind, rule.scope.id);
    const prefix = `${rule.scope.kind}:`;
    const spend = this.state.windowSpend(rule.unit, past, rule.scope.each ? (k) => k.startsWith(prefix) : (k) => k === own);
    const extrasOf = (s: Map<string, number[]>): ReadonlyMap<string, number> => new Map([...s].map(([k, v]) => [k, percentile(v, h.percentile)]));
    if (!(spend instanceof Promise)) {
      const extras = extrasOf(spend);
      this.hybrid.set(rule.id, { key, start: window.start, extras, since: Date.now() });
      return extras.get(scopeKey) ?? 0;
    }
    const entry: HybridTable = { key, start: window.start, extras: new Map(), since: Date.now() };
    const lookup = spend.then(
      (s) => {
        const extras = extrasOf(s);
        if (this.hybrid.get(rule.id) === entry) entry.extras = extras;
        return extras;
      },
      (err: unknown) => {
        if (this.hybrid.get(rule.id) === entry) this.hybrid.delete(rule.id); // the next request asks again
        throw err instanceof GoodhartError ? err : hybridUnavailable(rule, err instanceof Error ? err.message : String(err), err);
      },
    );
    lookup.catch(() => {}); // every waiter handles it; a lookup whose waiters all gave up must not be unhandled
    entry.extras = lookup;
    this.hybrid.set(rule.id, entry);
    return this.waitForHybrid(rule, lookup, scopeKey);
  }

  /** Waits for a hybrid lookup in progress at most `hybridWaitMs`; the lookup goes on for the requests after. */
  private waitForHybrid(rule: BudgetRule, lookup: Promise<ReadonlyMap<string, number>>, scopeKey: string): Promise<number> {
    const waitMs = this.opts.hybridWaitMs ?? HYBRID_WAIT_MS;
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(hybridUnavailable(rule, `the store did not answer within ${waitMs / 1000} s`)), waitMs);
      lookup.then(
        (extras) => {
          clearTimeout(timer);
          resolve(extras.get(scopeKey) ?? 0);
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  }

  private window(period: Period, now: number): Window {
    const w = this.windows.get(period);
    if (w !== undefined && now >= w.start && now < w.end) return w;
    const next = periodWindow(period, now, this.spec.timeZone);
    this.windows.set(period, next);
    return next;
  }

  /** A USD budget cannot account for a model without a price: refused, never waved through. */
  private refuseUnpriced(c: Ctx): void {
    if (!Number.isNaN(c.cost.usd)) return;
    const usd = c.applied.find((a) => a.rule.unit === 'usd');
    if (usd === undefined) {
      c.cost = { usd: 0, tokens: c.cost.tokens };
      return;
    }
    const s: Standing = { rule: usd.rule, scopeKey: usd.line.scopeKey, window: usd.line.window, amount: usd.amount, spent: 0, reserved: 0 };
    throw new GoodhartError('forbidden', 403, unpricedRefusal(c.req.model, s));
  }

  /**
   * `downgradeTo`: a model, a tier (its first concrete model), or a map by provider id or type. AS_ASKED when the
   * request is for that model already, or when it cannot serve this request (embeddings and token counts are never
   * downgraded; a model on another wire cannot answer it); why not, when there is none this request may use.
   */
  private downgradeTarget(rule: BudgetRule, c: Ctx): string | typeof AS_ASKED | { why: string } {
    const to = rule.cfg.downgradeTo;
    if (to === undefined) return { why: 'it has no downgrade model (downgradeTo is not set). Ask for a model of a cheaper tier, or ask an admin to set downgradeTo' };
    let name: string | null = typeof to === 'string' ? to : (to[c.req.provider] ?? to[c.req.providerType] ?? null);
    if (name === null) {
      const named = Object.keys(to as Record<string, string>).join(', ');
      return { why: `it has no downgrade model for provider "${c.req.provider}" (downgradeTo names one for ${named} only). Ask for a model of a cheaper tier, or ask an admin to add one for this provider to downgradeTo` };
    }
    if (this.spec.tiers[name] !== undefined) {
      const tier = name;
      name = this.tiers.concreteModel(tier);
      if (name === null) return { why: `its downgrade tier "${tier}" lists no model by its exact name. Ask for a model of a cheaper tier, or ask an admin to list one in tier "${tier}"` };
    }
    if (name === c.req.model || c.req.endpoint === 'embeddings' || c.req.endpoint === 'messages.count_tokens') return AS_ASKED;
    if (c.req.servable !== undefined && !c.req.servable(name)) return AS_ASKED;
    try {
      if (!this.tiers.empty || this.spec.untieredModels === 'deny') this.checkTier(c.view, name, c.req.now);
    } catch {
      return { why: `its downgrade model "${name}" is in a tier your role may not use. Ask for a model of a cheaper tier, or for access to that model's tier (\`goodhart access request\`)` };
    }
    return name;
  }
}

function hybridUnavailable(rule: BudgetRule, why: string, cause?: unknown): GoodhartError {
  return new GoodhartError(
    'unavailable',
    503,
    `Budget "${rule.id}" is hybrid: its amount for this ${rule.period} adds the spend of past periods, which could not be read from the store (${why}). Try again shortly.`,
    { retryable: true, ...(cause === undefined ? {} : { cause }) },
  );
}

/** What a cached hybrid amount depends on besides the window: the budget's scope, unit, period and lookback. */
function hybridKey(rule: BudgetRule): string {
  return `${rule.fingerprint}|${rule.cfg.hybrid?.percentile}|${rule.cfg.hybrid?.lookback}`;
}
