import { z } from 'zod';
import { idSchema } from '../config/id.js';
import { GoodhartError } from '../errors.js';
import { didYouMean } from '../util/closest.js';
import { projectSchema, teamSchema, userSchema, type GoodhartConfig } from '../config/schema.js';
import { budgetSchema, DEFAULT_ROLES, rateLimitSchema, roleSchema, tierModelsSchema, type BudgetConfig, type RateLimitConfig, type RoleConfig } from './config.js';
import type { DirectoryRefs } from './references.js';
import type { GovernanceSpec } from './rules.js';
import { ENTITY_KINDS, type EntityKind, type OverlayRecord } from './store.js';

/**
 * The effective directory: what the config declares, with what the admin API set on top (an overlay record
 * replaces the config's entity of the same kind and id; a null record removes it). Pure.
 */

/** Admin API bodies and overlay data, one schema per kind; every entity carries its `id`. */
export const ENTITY_SCHEMAS = {
  team: teamSchema,
  user: userSchema,
  project: projectSchema,
  budget: budgetSchema,
  tier: z.object({ id: idSchema, models: tierModelsSchema }).strict(),
  role: roleSchema.extend({ id: idSchema }).strict(),
  rateLimit: rateLimitSchema,
} as const satisfies Record<EntityKind, z.ZodType>;

/**
 * What the admin API takes when it writes an entity: ENTITY_SCHEMAS with bounds on the directory's free text (a 1 MB
 * team name or email was stored, and copied to every replica and page). 200 characters for a name; 320 for an email
 * (RFC 3696's 64 + @ + 255); 300 for a repository, as POST /v1/outcomes takes it. Only where it writes: records are
 * read back with ENTITY_SCHEMAS, so one stored before these bounds still loads (a start refused it otherwise).
 */
export const ENTITY_WRITE_SCHEMAS = {
  ...ENTITY_SCHEMAS,
  team: teamSchema.extend({ name: z.string().max(200).optional() }).strict(),
  user: userSchema.extend({ email: z.string().max(320).optional(), name: z.string().max(200).optional() }).strict(),
  project: projectSchema.extend({ repo: z.string().max(300).optional() }).strict(),
} as const satisfies Record<EntityKind, z.ZodType>;

export type Entity = Record<string, unknown> & { id: string };

/**
 * A stored overlay record this version cannot read: a newer version wrote it (a field or kind this one does not know,
 * on a Postgres store replicas share), or this version's schema is stricter than the one that took it. It is left out:
 * the config's entity of that id, if any, applies instead. One admin record must not stop a gateway from starting.
 */
export interface SkippedRecord {
  record: OverlayRecord;
  /** What is wrong with it, field by field: `role: Invalid input: expected string, received number`. */
  problem: string;
}

/**
 * The stored overlay records this version reads, and those it skips (SkippedRecord). A deletion (null data) is always
 * read: it still deletes. Pure.
 */
export function readableOverlay(records: readonly OverlayRecord[]): { records: OverlayRecord[]; skipped: SkippedRecord[] } {
  const ok: OverlayRecord[] = [];
  const skipped: SkippedRecord[] = [];
  for (const r of records) {
    const problem = recordProblem(r);
    if (problem === null) ok.push(r);
    else skipped.push({ record: r, problem });
  }
  return { records: ok, skipped };
}

function recordProblem(r: OverlayRecord): string | null {
  if (!(ENTITY_KINDS as readonly string[]).includes(r.kind)) return `this version knows no kind "${r.kind}" (a newer one stored it)`;
  if (r.data === null) return null;
  const parsed = ENTITY_SCHEMAS[r.kind].safeParse(r.data);
  if (!parsed.success) return parsed.error.issues.map((i) => `${i.path.length > 0 ? `${i.path.join('.')}: ` : ''}${i.message}`).join('; ');
  if (parsed.data.id !== r.id) return `id: "${String(parsed.data.id)}", but the record is stored as "${r.id}"`;
  return null;
}

/** A config file entity the admin API changed or deleted: the file's version of it is not read while this stands. */
export interface Override {
  kind: EntityKind;
  id: string;
  change: 'set' | 'deleted';
  updatedAt: number;
  updatedBy: string;
}

export interface EntityView {
  kind: EntityKind;
  id: string;
  data: Entity;
  /** `config`: as declared in the file; `admin`: set through the admin API. */
  source: 'config' | 'admin';
}

/** The config's own entities of a kind, each with its id. */
export function configEntities(config: GoodhartConfig, kind: EntityKind): Entity[] {
  switch (kind) {
    case 'team':
      return config.teams;
    case 'user':
      return config.users;
    case 'project':
      return config.projects;
    case 'budget':
      return config.budgets;
    case 'rateLimit':
      return config.rateLimits;
    case 'tier':
      return Object.entries(config.tiers).map(([id, models]) => ({ id, models }));
    case 'role':
      return Object.entries(config.roles ?? DEFAULT_ROLES).map(([id, r]) => ({ id, ...r }));
  }
}

export class Directory {
  private readonly overlay = new Map<string, OverlayRecord>();
  private readonly unread = new Map<string, SkippedRecord>();

  /** `records` are read as they are (validated by the caller); those of `skipped` are not. */
  constructor(
    private readonly config: GoodhartConfig,
    records: readonly OverlayRecord[] = [],
    skipped: readonly SkippedRecord[] = [],
  ) {
    for (const s of skipped) this.unread.set(`${s.record.kind}\u0000${s.record.id}`, s);
    for (const r of records) {
      this.overlay.set(`${r.kind}\u0000${r.id}`, r);
      this.unread.delete(`${r.kind}\u0000${r.id}`);
    }
  }

  /** The directory of the overlay records as the store holds them, without those this version cannot read (skipped()). */
  static fromStore(config: GoodhartConfig, stored: readonly OverlayRecord[]): Directory {
    const { records, skipped } = readableOverlay(stored);
    const read = new Directory(config, records, skipped);
    // A person's role must exist (spec()): a role only a skipped record declares takes its people's records along.
    const roles = new Set(read.list('role').map((r) => r.id));
    const roleless = (r: OverlayRecord) => r.kind === 'user' && typeof r.data?.['role'] === 'string' && !roles.has(r.data['role']);
    if (!records.some(roleless)) return read;
    const more = records.filter(roleless).map((r) => ({ record: r, problem: `role: no role "${String(r.data?.['role'])}" is in force` }));
    return new Directory(config, records.filter((r) => !roleless(r)), [...skipped, ...more]);
  }

  /** A copy with one more overlay record (validated by the caller), which replaces a skipped one. */
  with(record: OverlayRecord): Directory {
    return new Directory(this.config, [...this.overlay.values(), record], [...this.unread.values()]);
  }

  /** A copy without the admin API's record of this entity: the config file's entity (if any) applies again. */
  without(kind: EntityKind, id: string): Directory {
    const other = (r: OverlayRecord) => r.kind !== kind || r.id !== id;
    return new Directory(this.config, [...this.overlay.values()].filter(other), [...this.unread.values()].filter((s) => other(s.record)));
  }

  /**
   * The admin API's record of an entity (set or deleted through it) as stored, if any: also one skipped (a PATCH
   * replaces it, a reset forgets it).
   */
  record(kind: EntityKind, id: string): OverlayRecord | undefined {
    const key = `${kind}\u0000${id}`;
    return this.overlay.get(key) ?? this.unread.get(key)?.record;
  }

  /** Stored records this version cannot read, left out (SkippedRecord). */
  skipped(): SkippedRecord[] {
    return [...this.unread.values()];
  }

  /** Entities of the config file that the admin API set or deleted, kind by kind, in the file's order. */
  overrides(): Override[] {
    const out: Override[] = [];
    for (const kind of ENTITY_KINDS) {
      for (const e of configEntities(this.config, kind)) {
        const o = this.overlay.get(`${kind}\u0000${e.id}`);
        if (o !== undefined) out.push({ kind, id: e.id, change: o.data === null ? 'deleted' : 'set', updatedAt: o.updatedAt, updatedBy: o.updatedBy });
      }
    }
    return out;
  }

  list(kind: EntityKind): EntityView[] {
    const out: EntityView[] = [];
    const seen = new Set<string>();
    for (const e of configEntities(this.config, kind)) {
      seen.add(e.id);
      const o = this.overlay.get(`${kind}\u0000${e.id}`);
      if (o === undefined) out.push({ kind, id: e.id, data: e, source: 'config' });
      else if (o.data !== null) out.push({ kind, id: e.id, data: o.data as Entity, source: 'admin' });
    }
    for (const o of this.overlay.values()) {
      if (o.kind === kind && !seen.has(o.id) && o.data !== null) out.push({ kind, id: o.id, data: o.data as Entity, source: 'admin' });
    }
    return out;
  }

  get(kind: EntityKind, id: string): EntityView | undefined {
    return this.list(kind).find((e) => e.id === id);
  }

  /** What the reference checks read (references.ts): every entity in force. */
  refs(): DirectoryRefs {
    const data = <T>(kind: EntityKind) => this.list(kind).map((e) => e.data as unknown as T);
    const roles: Record<string, { tiers: readonly string[] }> = {};
    const declaredRoles = new Set<string>();
    for (const r of this.list('role')) {
      roles[r.id] = { tiers: (r.data['tiers'] as string[] | undefined) ?? [] };
      // Without `roles:` the config's roles are the default ladder, whose tiers need not exist.
      if (r.source === 'admin' || this.config.roles !== undefined) declaredRoles.add(r.id);
    }
    return {
      teams: data<{ id: string }>('team'),
      users: data<{ id: string; team?: string; role?: string }>('user'),
      projects: data<{ id: string; team?: string }>('project'),
      budgets: data<{ id: string; scope: string }>('budget'),
      rateLimits: data<{ id: string; scope: string }>('rateLimit'),
      tiers: Object.fromEntries(this.list('tier').map((t) => [t.id, t.data['models']])),
      roles,
      declaredRoles,
      defaultRole: this.config.defaultRole,
      adminKeys: this.config.admin.keys,
    };
  }

  /** The rules the engine enforces. Overlay data was validated when it was read or set; it is parsed again for defaults. */
  spec(): GovernanceSpec {
    const users = new Map<string, { role?: string | undefined; team?: string | undefined }>();
    for (const u of this.list('user')) {
      const parsed = userSchema.parse(u.data);
      users.set(parsed.id, { role: parsed.role, team: parsed.team });
    }
    const tiers: Record<string, string[]> = {};
    for (const t of this.list('tier')) tiers[t.id] = ENTITY_SCHEMAS.tier.parse(t.data).models;
    const roles: Record<string, RoleConfig> = {};
    for (const r of this.list('role')) {
      const { id: _id, ...role } = ENTITY_SCHEMAS.role.parse(r.data);
      roles[r.id] = role;
    }
    const budgets: BudgetConfig[] = this.list('budget').map((b) => budgetSchema.parse(b.data));
    const rateLimits: RateLimitConfig[] = this.list('rateLimit').map((r) => rateLimitSchema.parse(r.data));
    // A role in use cannot vanish (a tier a role names may: it is then never matched).
    for (const [id, u] of users) {
      if (u.role !== undefined && roles[u.role] === undefined) throw new Error(`user "${id}" has role "${u.role}", which does not exist`);
    }
    if (roles[this.config.defaultRole] === undefined) throw new Error(`the default role "${this.config.defaultRole}" does not exist`);
    return {
      timeZone: this.config.timeZone,
      budgets,
      rateLimits,
      tiers,
      roles,
      defaultRole: this.config.defaultRole,
      untieredModels: this.config.access.untieredModels,
      users,
      teams: this.list('team').map((t) => t.id),
    };
  }
}

/** Whether any governance is configured: without it a Postgres-backed gateway runs without the admin API. */
export function governanceConfigured(config: GoodhartConfig): boolean {
  return (
    config.budgets.length > 0 ||
    config.rateLimits.length > 0 ||
    Object.keys(config.tiers).length > 0 ||
    config.admin.keys.length > 0 ||
    config.alerts.sinks.length > 0
  );
}

/** Whom a new key is for (`keys create`, POST /admin/v1/keys). */
export interface KeyOwner {
  user: string;
  team?: string | undefined;
  project?: string | undefined;
}

/**
 * The team a new key is booked to, after checking its user, team and project against the directory (the config with
 * the admin API's changes): 400 naming the one that is not declared, and the one likely meant. Kinds the directory
 * declares nothing of are not checked (keys alone name them). `field` names a field as the caller wrote it (`--team`
 * on the CLI, "team" in the API).
 */
export function keyTeam(directory: Directory, o: KeyOwner, field: (name: 'user' | 'team' | 'project') => string): string | null {
  const users = directory.list('user').map((u) => userSchema.parse(u.data));
  const notDeclared = (kind: 'user' | 'team' | 'project', id: string, known: readonly string[]) =>
    new GoodhartError(
      'invalid_request',
      400,
      `${kind[0]!.toUpperCase()}${kind.slice(1)} "${id}" is not declared in the config or set through the admin API.${didYouMean(id, known)} Use one of: ${known.slice(0, 20).join(', ')}${known.length > 20 ? ', …' : ''}; or add it under \`${kind}s:\` (or \`goodhart ${kind}s set ${id}\`).`,
    );
  const declaredUser = users.find((u) => u.id === o.user);
  if (users.length > 0 && !declaredUser) throw notDeclared('user', o.user, users.map((u) => u.id));
  const teams = directory.list('team').map((t) => t.id);
  const team = o.team ?? declaredUser?.team ?? null;
  if (team !== null && teams.length > 0 && !teams.includes(team)) throw notDeclared('team', team, teams);
  // A declared person's usage is booked to their team in the directory whatever team their key names (KeyCache
  // followDirectory): a key for another team would not do what it says.
  if (o.team !== undefined && declaredUser?.team !== undefined && declaredUser.team !== o.team) {
    throw new GoodhartError(
      'invalid_request',
      400,
      `The directory puts ${o.user} in team ${declaredUser.team}, and a person's usage is booked to their team there whatever the key names. Leave out ${field('team')}, or move ${o.user} to ${o.team} first (\`users:\` in the config, or \`goodhart users set ${o.user} --team ${o.team}\`).`,
    );
  }
  const projects = directory.list('project').map((p) => p.id);
  if (o.project !== undefined && projects.length > 0 && !projects.includes(o.project)) throw notDeclared('project', o.project, projects);
  return team;
}
