import type { RoleConfig } from './config.js';

/**
 * Model tiers and roles: which models a person may use. Pure: the engine passes the tier table, the person's
 * role and their grants (time-boxed exceptions approved by a lead or admin).
 */

export interface Grant {
  id: string;
  userId: string;
  /** Either a whole tier or one model. */
  tier: string | null;
  model: string | null;
  createdAt: number;
  expiresAt: number;
  grantedBy: string;
  requestId: string | null;
}

function globTest(glob: string): (name: string) => boolean {
  if (!glob.includes('*')) return (name) => name === glob;
  const re = new RegExp(`^${glob.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return (name) => re.test(name);
}

/** Model name → tier, with a bounded memo (model names come from clients). */
export class TierIndex {
  private readonly matchers: { tier: string; test: (name: string) => boolean }[] = [];
  private readonly memo = new Map<string, string | null>();
  readonly tiers: readonly string[];

  constructor(private readonly table: Readonly<Record<string, readonly string[]>>) {
    this.tiers = Object.keys(table);
    for (const [tier, models] of Object.entries(table)) for (const m of models) this.matchers.push({ tier, test: globTest(m) });
  }

  get empty(): boolean {
    return this.matchers.length === 0;
  }

  /** The first tier listing the model (also tried without a `provider/` prefix), or null. */
  tierOf(model: string): string | null {
    let hit = this.memo.get(model);
    if (hit !== undefined) return hit;
    const slash = model.indexOf('/');
    const bare = slash > 0 ? model.slice(slash + 1) : null;
    hit = this.matchers.find((m) => m.test(model) || (bare !== null && m.test(bare)))?.tier ?? null;
    if (this.memo.size >= 10_000) this.memo.clear();
    this.memo.set(model, hit);
    return hit;
  }

  /**
   * A concrete model of a tier, for `downgradeTo: TIER`: its first entry without a wildcard, else the first written
   * as NAME* (which lists NAME itself and its snapshots: "gpt-4o-mini*" gives gpt-4o-mini; "claude-haiku-*" names
   * no model).
   */
  concreteModel(tier: string): string | null {
    const models = this.table[tier] ?? [];
    const exact = models.find((m) => !m.includes('*'));
    if (exact !== undefined) return exact;
    const stem = models.map((m) => (m.indexOf('*') === m.length - 1 ? m.slice(0, -1) : '')).find((m) => m !== '' && !/[-_.:/@]$/.test(m));
    return stem ?? null;
  }
}

export type AccessDecision = { ok: true; via: 'role' | 'grant' | 'untiered' } | { ok: false; tier: string | null; message: string };

export interface AccessCheck {
  model: string;
  tier: string | null;
  roleId: string;
  role: RoleConfig | undefined;
  grants: readonly Grant[];
  now: number;
  untiered: 'allow' | 'deny';
}

export function activeGrant(grants: readonly Grant[], tier: string | null, model: string, now: number): Grant | undefined {
  return grants.find((g) => g.expiresAt > now && ((g.model !== null && g.model === model) || (g.tier !== null && g.tier === tier)));
}

export function checkAccess(c: AccessCheck): AccessDecision {
  if (c.tier === null) {
    if (c.untiered === 'allow' || activeGrant(c.grants, null, c.model, c.now)) return { ok: true, via: 'untiered' };
    return {
      ok: false,
      tier: null,
      message: `Model "${c.model}" is in no model tier, and this gateway refuses untiered models. Use a model from a tier your role allows, or ask for this one: \`goodhart access request --model ${c.model} --justification "…"\` (POST /admin/v1/access-requests); a team lead or admin decides.`,
    };
  }
  if (c.role?.tiers.includes(c.tier)) return { ok: true, via: 'role' };
  if (activeGrant(c.grants, c.tier, c.model, c.now)) return { ok: true, via: 'grant' };
  const allowed = c.role?.tiers ?? [];
  return {
    ok: false,
    tier: c.tier,
    message: `Model "${c.model}" is in the "${c.tier}" tier, which your role "${c.roleId}" does not include (${allowed.length > 0 ? `you may use: ${allowed.join(', ')}` : 'no tiers'}). To ask for it, run \`goodhart access request --tier ${c.tier} --justification "what it is for"\` (or POST /admin/v1/access-requests with your key); your team lead or an admin approves it for a limited time.`,
  };
}
