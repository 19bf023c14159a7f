import type { Permission } from '../policy/config.js';
import type { ScopeKind } from '../policy/scope.js';

/**
 * Who may see what on the dashboard, enforced by the JSON API (the page only mirrors it). Pure.
 *
 * - admin and finance (any of the manage, audit or budgets permissions): everything.
 * - a lead (approve permission) of a team: that team's aggregates and each of its members' detail.
 * - everyone else: their own detail, and their own team's aggregates (no per-person breakdown, no findings of
 *   others: a finding is about one person's behaviour).
 */
export type Visibility =
  | { scope: 'all'; userId: string | null; teamId: string | null }
  | { scope: 'team'; userId: string | null; teamId: string }
  | { scope: 'self'; userId: string; teamId: string | null }
  | { scope: 'none'; userId: null; teamId: null };

export interface Viewer {
  userId: string | null;
  teamId: string | null;
  permissions: ReadonlySet<Permission>;
}

export function visibilityOf(v: Viewer): Visibility {
  const p = v.permissions;
  if (p.has('manage') || p.has('audit') || p.has('budgets')) return { scope: 'all', userId: v.userId, teamId: v.teamId };
  if (p.has('approve') && v.teamId !== null) return { scope: 'team', userId: v.userId, teamId: v.teamId };
  if (v.userId !== null) return { scope: 'self', userId: v.userId, teamId: v.teamId };
  return { scope: 'none', userId: null, teamId: null };
}

export const canSeeOrg = (v: Visibility): boolean => v.scope === 'all';

/** `detail`: per-person breakdown and findings; `aggregate`: the team's totals only; false: nothing. */
export function teamAccess(v: Visibility, teamId: string): 'detail' | 'aggregate' | false {
  if (v.scope === 'all') return 'detail';
  if (v.teamId !== teamId) return false;
  return v.scope === 'team' ? 'detail' : 'aggregate';
}

/** A person's own detail: themselves, their lead, admin and finance. `userTeam` is the person's team. */
export function canSeeUser(v: Visibility, userId: string, userTeam: string | null): boolean {
  if (v.scope === 'all') return true;
  if (v.userId !== null && v.userId === userId) return true;
  return v.scope === 'team' && userTeam !== null && userTeam === v.teamId;
}

/**
 * How much of a person's page a viewer may open: `all` of it (themselves, admin, finance); `team`, only the usage
 * booked to the lead's own team, for someone on that team now or with usage booked to it in the period shown
 * (`bookedToViewerTeam`), i.e. whoever the lead's People table lists, including a person who has since moved; or false.
 */
export function personAccess(v: Visibility, userId: string, userTeam: string | null, bookedToViewerTeam: boolean): 'all' | 'team' | false {
  if (v.scope === 'all' || (v.userId !== null && v.userId === userId)) return 'all';
  if (v.scope === 'team' && (userTeam === v.teamId || bookedToViewerTeam)) return 'team';
  return false;
}

/** Budgets a viewer may see: by scope kind and value (`user:*` instances are checked one by one). */
export function canSeeBudget(v: Visibility, kind: ScopeKind, id: string | null, teamOf: (userId: string) => string | null): boolean {
  if (v.scope === 'all') return true;
  switch (kind) {
    case 'team':
      return id !== null && teamAccess(v, id) !== false;
    case 'user':
      return id !== null && canSeeUser(v, id, teamOf(id));
    default:
      // org, project, key and tag budgets show spend across people: admin and finance only.
      return false;
  }
}

/** The findings filter a viewer's request becomes, or null when it asks for more than they may see. */
export function findingsScope(
  v: Visibility,
  asked: { teamId?: string | undefined; userId?: string | undefined },
  teamOf: (userId: string) => string | null,
  /** Whether the asked person has usage booked to the viewer's team in the period (personAccess). */
  bookedToViewerTeam = false,
): { teamId?: string; userId?: string } | null {
  if (asked.userId !== undefined) {
    const access = personAccess(v, asked.userId, teamOf(asked.userId), bookedToViewerTeam);
    if (access === false) return null;
    if (access === 'team' && v.scope === 'team') {
      // A lead sees the person's findings about usage booked to their team, not about their time on another.
      if (asked.teamId !== undefined && asked.teamId !== v.teamId) return null;
      return { userId: asked.userId, teamId: v.teamId };
    }
    return { userId: asked.userId, ...(asked.teamId !== undefined ? { teamId: asked.teamId } : {}) };
  }
  if (asked.teamId !== undefined) return teamAccess(v, asked.teamId) === 'detail' ? { teamId: asked.teamId } : null;
  switch (v.scope) {
    case 'all':
      return {};
    case 'team':
      return { teamId: v.teamId };
    case 'self':
      return { userId: v.userId };
    case 'none':
      return null;
  }
}
