import { didYouMean } from '../util/closest.js';
import { parseScope } from './scope.js';

/**
 * References between the directory's entities that a schema cannot see: a user's or project's team, a user's role,
 * a role's tiers, the team, user or project a budget or rate limit is for, the default role. One check for the config
 * loader (problems at their path in the file) and the admin API (problems at the entity a change touches). Pure.
 */

/** What the checks read: the config's lists, or the directory with the admin API's changes on top. */
export interface DirectoryRefs {
  teams: readonly { id: string }[];
  users: readonly { id: string; team?: string | undefined; role?: string | undefined }[];
  projects: readonly { id: string; team?: string | undefined }[];
  budgets: readonly { id: string; scope: string }[];
  rateLimits: readonly { id: string; scope: string }[];
  tiers: Readonly<Record<string, unknown>>;
  /** Every role in force, by id. */
  roles: Readonly<Record<string, { tiers: readonly string[] }>>;
  /**
   * The roles whose tiers are checked: those the config or the admin API declares. The default ladder (a config
   * without `roles:`) names economy, standard and premium, which a config need not define: they are never matched.
   */
  declaredRoles: ReadonlySet<string>;
  defaultRole: string;
  /** The config's admin keys: each one's role must exist, else every request with it is refused. */
  adminKeys: readonly { id: string; role: string }[];
}

/** Where the fix of a dangling reference is described: in the config file, or with the admin CLI. */
export type RefContext = 'config' | 'admin';

export interface ReferenceProblem {
  /** Where, in the config file's terms: `['users', 2, 'team']`. */
  path: (string | number)[];
  /** The entity holding the reference, as the admin API names it; null for what only the config sets. */
  holder: { kind: 'team' | 'user' | 'project' | 'budget' | 'rateLimit' | 'role'; id: string } | null;
  /** What only the config sets, as a person reads it: `defaultRole`, `admin key "ops"`. */
  where?: string;
  /** The field holding it: `team`, `role`, `tiers`, `scope`, `defaultRole`. */
  field: string;
  /** What it names and cannot find. */
  target: { kind: 'team' | 'user' | 'project' | 'role' | 'tier'; id: string };
  message: string;
}

const PLURAL = { team: 'teams', user: 'users', project: 'projects', role: 'roles', tier: 'tiers' } as const;

/** How to declare a missing entity, in the config or with the CLI. */
function declareIt(kind: ReferenceProblem['target']['kind'], id: string, ctx: RefContext): string {
  return ctx === 'config' ? `declare it under \`${PLURAL[kind]}:\`` : `create it first (\`goodhart ${PLURAL[kind]} set ${id} …\`)`;
}

function oneOf(known: Iterable<string>): string {
  const list = [...known];
  if (list.length === 0) return '';
  return `use one of ${list.slice(0, 10).join(', ')}${list.length > 10 ? ', …' : ''}, or `;
}

export function referenceProblems(d: DirectoryRefs, ctx: RefContext): ReferenceProblem[] {
  const problems: ReferenceProblem[] = [];
  const teams = new Set(d.teams.map((t) => t.id));
  const roles = new Set(Object.keys(d.roles));
  const tiers = new Set(Object.keys(d.tiers));
  const missing = (target: ReferenceProblem['target'], known: ReadonlySet<string>, after = ''): string =>
    `${target.kind} "${target.id}" is not declared${after}.${didYouMean(target.id, known)} Fix: ${oneOf(known)}${declareIt(target.kind, target.id, ctx)}`;

  if (!roles.has(d.defaultRole)) {
    const target = { kind: 'role', id: d.defaultRole } as const;
    problems.push({ path: ['defaultRole'], holder: null, where: 'defaultRole', field: 'defaultRole', target, message: missing(target, roles) });
  }
  d.adminKeys.forEach((k, i) => {
    if (roles.has(k.role)) return;
    const target = { kind: 'role', id: k.role } as const;
    problems.push({ path: ['admin', 'keys', i, 'role'], holder: null, where: `admin key "${k.id}"`, field: 'role', target, message: missing(target, roles) });
  });
  for (const [rid, role] of Object.entries(d.roles)) {
    if (!d.declaredRoles.has(rid)) continue;
    role.tiers.forEach((t, i) => {
      if (tiers.has(t)) return;
      const target = { kind: 'tier', id: t } as const;
      problems.push({ path: ['roles', rid, 'tiers', i], holder: { kind: 'role', id: rid }, field: 'tiers', target, message: missing(target, tiers) });
    });
  }
  d.users.forEach((u, i) => {
    if (u.team !== undefined && !teams.has(u.team)) {
      const target = { kind: 'team', id: u.team } as const;
      problems.push({ path: ['users', i, 'team'], holder: { kind: 'user', id: u.id }, field: 'team', target, message: missing(target, teams) });
    }
    if (u.role !== undefined && !roles.has(u.role)) {
      const target = { kind: 'role', id: u.role } as const;
      problems.push({ path: ['users', i, 'role'], holder: { kind: 'user', id: u.id }, field: 'role', target, message: missing(target, roles) });
    }
  });
  d.projects.forEach((p, i) => {
    if (p.team === undefined || teams.has(p.team)) return;
    const target = { kind: 'team', id: p.team } as const;
    problems.push({ path: ['projects', i, 'team'], holder: { kind: 'project', id: p.id }, field: 'team', target, message: missing(target, teams) });
  });
  // A budget or rate limit for a team, user or project that is not declared (a typo) would never apply. Kinds with
  // nothing declared at all are known from keys only: any id goes there.
  const declared: Record<string, ReadonlySet<string>> = { team: teams, user: new Set(d.users.map((u) => u.id)), project: new Set(d.projects.map((p) => p.id)) };
  const scoped = (list: readonly { id: string; scope: string }[], key: 'budgets' | 'rateLimits', what: string) =>
    list.forEach((r, i) => {
      const scope = parseScope(r.scope);
      if (scope === null || scope.id === null) return;
      const known = declared[scope.kind];
      if (known === undefined || known.size === 0 || known.has(scope.id)) return;
      const target = { kind: scope.kind as 'team' | 'user' | 'project', id: scope.id };
      const holder = { kind: key === 'budgets' ? ('budget' as const) : ('rateLimit' as const), id: r.id };
      problems.push({ path: [key, i, 'scope'], holder, field: 'scope', target, message: missing(target, known, `, so this ${what} would never apply`) });
    });
  scoped(d.budgets, 'budgets', 'budget');
  scoped(d.rateLimits, 'rateLimits', 'rate limit');
  return problems;
}

/** A problem's identity across two states of the directory (its message lists what exists, which may change). */
export const problemKey = (p: ReferenceProblem): string =>
  `${p.holder ? `${p.holder.kind}:${p.holder.id}` : p.where}|${p.field}|${p.target.kind}:${p.target.id}`;

/** Who holds a reference, as a person reads it: `user "lena"`, `defaultRole`, `admin key "ops"`. */
export function holderName(p: ReferenceProblem): string {
  if (p.holder === null) return p.where ?? p.field;
  return `${p.holder.kind === 'rateLimit' ? 'rate limit' : p.holder.kind} "${p.holder.id}"`;
}
