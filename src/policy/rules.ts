import type { BudgetConfig, RateLimitConfig, RoleConfig, Unit } from './config.js';
import { periodWindow, previousWindows, type Period } from './period.js';
import { parseScope, scopeKey, subjectValue, type Scope, type ScopeKind, type Subject } from './scope.js';

/**
 * The effective governance rules (config merged with admin API changes), compiled into indexes so that finding
 * the budgets and limits of a request is a few Map lookups.
 */
export interface GovernanceSpec {
  timeZone: string;
  budgets: readonly BudgetConfig[];
  rateLimits: readonly RateLimitConfig[];
  tiers: Readonly<Record<string, readonly string[]>>;
  roles: Readonly<Record<string, RoleConfig>>;
  defaultRole: string;
  untieredModels: 'allow' | 'deny';
  /** Role and team of each known user (config `users:` and the admin API). */
  users: ReadonlyMap<string, { role?: string | undefined; team?: string | undefined }>;
  /** Ids of the declared teams (config `teams:` and the admin API), members or not. */
  teams: readonly string[];
}

export interface BudgetRule {
  id: string;
  cfg: BudgetConfig;
  scope: Scope;
  unit: Unit;
  period: Period;
  /** Fractions, ascending (80 → 0.8). */
  thresholds: number[];
  /** Fraction from which a downgrade budget serves the cheaper model; 1 for block budgets. */
  downgradeAt: number;
  /**
   * What the budget's spend means: scope, unit, period and time zone. When it changes, spend is recomputed for the
   * new window (a month budget turned weekly does not keep the month's spend). The amount is not part of it: the
   * spend of a window is what it is whatever the limit.
   */
  fingerprint: string;
}

export interface RateRule {
  id: string;
  scope: Scope;
  rpm?: number | undefined;
  tpm?: number | undefined;
}

/** A rule applied to one concrete scope value. */
export interface Match<T> {
  rule: T;
  scopeKey: string;
}

const NON_TAG_KINDS = ['team', 'user', 'project', 'key'] as const satisfies readonly Exclude<ScopeKind, 'org' | 'tag'>[];

/** Rules by the scope value they name, plus per-value (`*`) rules by kind. */
export class RuleIndex<T extends { scope: Scope }> {
  private readonly org: T[] = [];
  private readonly named = new Map<string, T[]>();
  private readonly each = new Map<ScopeKind, T[]>();
  readonly hasTagRules: boolean;
  readonly size: number;

  constructor(rules: readonly T[]) {
    for (const r of rules) {
      if (r.scope.kind === 'org') this.org.push(r);
      else if (r.scope.each) push(this.each, r.scope.kind, r);
      else push(this.named, scopeKey(r.scope.kind, r.scope.id), r);
    }
    this.hasTagRules = rules.some((r) => r.scope.kind === 'tag');
    this.size = rules.length;
  }

  /** Rules matching the subject's key, user, team and project (not its tags: those vary per request). */
  forSubject(s: Subject): Match<T>[] {
    const out: Match<T>[] = [];
    for (const rule of this.org) out.push({ rule, scopeKey: 'org' });
    for (const kind of NON_TAG_KINDS) {
      const value = subjectValue(kind, s);
      if (value === null) continue;
      const key = scopeKey(kind, value);
      for (const rule of this.named.get(key) ?? []) out.push({ rule, scopeKey: key });
      for (const rule of this.each.get(kind) ?? []) out.push({ rule, scopeKey: key });
    }
    return out;
  }

  forTags(tags: readonly string[]): Match<T>[] {
    const out: Match<T>[] = [];
    for (const tag of tags) {
      const key = `tag:${tag}`;
      for (const rule of this.named.get(key) ?? []) out.push({ rule, scopeKey: key });
      for (const rule of this.each.get('tag') ?? []) out.push({ rule, scopeKey: key });
    }
    return out;
  }
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

export function compileBudget(cfg: BudgetConfig, timeZone: string): BudgetRule {
  const scope = parseScope(cfg.scope);
  if (scope === null) throw new Error(`budget "${cfg.id}": invalid scope "${cfg.scope}"`);
  return {
    id: cfg.id,
    cfg,
    scope,
    unit: cfg.unit,
    period: cfg.period,
    thresholds: [...new Set(cfg.thresholds)].sort((a, b) => a - b).map((t) => t / 100),
    downgradeAt: cfg.action === 'downgrade' ? cfg.downgradeAt / 100 : 1,
    fingerprint: `${cfg.scope}|${cfg.unit}|${cfg.period}|${timeZone}`,
  };
}

export function compileRateLimit(cfg: RateLimitConfig): RateRule {
  const scope = parseScope(cfg.scope);
  if (scope === null) throw new Error(`rate limit "${cfg.id}": invalid scope "${cfg.scope}"`);
  return { id: cfg.id, scope, rpm: cfg.rpm, tpm: cfg.tpm };
}

/** The person's role: the key's user's role, else the default role. */
export function roleOf(spec: GovernanceSpec, userId: string): { id: string; role: RoleConfig | undefined } {
  const id = spec.users.get(userId)?.role ?? spec.defaultRole;
  return { id, role: spec.roles[id] };
}

/**
 * The earliest instant a spec's budget windows (and hybrid lookbacks) reach back to at `now`: stored history
 * must be loaded from there before the spec applies. 0 for an all-time budget.
 */
export function historyNeededSince(spec: GovernanceSpec, now: number): number {
  let since = now;
  for (const b of spec.budgets) {
    const w = periodWindow(b.period, now, spec.timeZone);
    const back = b.hybrid ? previousWindows(b.period, w, b.hybrid.lookback, spec.timeZone).at(-1) : undefined;
    since = Math.min(since, back?.start ?? w.start);
  }
  return since;
}
