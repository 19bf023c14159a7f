import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { GoodhartConfig } from '../config/schema.js';
import { GoodhartError } from '../errors.js';
import { isObject, mergePatch } from '../util/merge-patch.js';
import type { Grant } from './access.js';
import type { Permission } from './config.js';
import { Directory, ENTITY_SCHEMAS, type EntityView, type Override } from './directory.js';
import type { GovernanceEngine } from './engine.js';
import { holderName, problemKey, referenceProblems } from './references.js';
import { historyNeededSince, type GovernanceSpec } from './rules.js';
import { dayWindows } from './period.js';
import type { AccessRequest, AccessStatus, AuditEntry, AuditFilter, EntityKind, GovernanceChange, GovernanceStore } from './store.js';

/**
 * Governance operations behind the admin API and the CLI: each checks the caller's permission, writes the change
 * and its audit entry together, and applies it to the running engine at once.
 */

/** Problems of a set of rules that the config schema cannot see (downgrade-check.ts), keyed by where they are. */
export type SpecCheck = (spec: Pick<GovernanceSpec, 'budgets' | 'tiers'>) => ReadonlyMap<string, string>;

/** Who calls: a person with their own key, or an admin key from the config. */
export interface Actor {
  /** `user:alice` or `admin-key:ops`: what the audit log records. */
  id: string;
  userId: string | null;
  teamId: string | null;
  roleId: string;
  permissions: ReadonlySet<Permission>;
}

/** Who may write each kind. */
const WRITE_PERMISSION = {
  team: 'manage',
  user: 'manage',
  project: 'manage',
  tier: 'manage',
  role: 'manage',
  rateLimit: 'manage',
  budget: 'budgets',
} as const satisfies Record<EntityKind, Permission>;

/** The CLI command of each kind that holds references (`goodhart users set …`). */
const CLI_PATH = { team: 'teams', user: 'users', project: 'projects', budget: 'budgets', rateLimit: 'rate-limits', role: 'roles' } as const;

/** Everyone may read tiers and roles: a person needs them to know what to ask for. */
const PUBLIC_KINDS: ReadonlySet<EntityKind> = new Set(['tier', 'role']);

export const accessRequestBody = z
  .object({
    tier: z.string().min(1).optional(),
    model: z.string().min(1).optional(),
    justification: z.string().trim().min(10, 'say in a sentence what the access is for (at least 10 characters)').max(2000),
    hours: z.number().positive().optional().describe('How long the access is needed (default access.defaultHours)'),
    user: z.string().min(1).optional().describe('Admin keys only: whom the request is for'),
  })
  .strict()
  .refine((b) => (b.tier === undefined) !== (b.model === undefined), { message: 'ask for exactly one of tier or model' });

export const decisionBody = z
  .object({ note: z.string().max(2000).optional(), hours: z.number().positive().optional() })
  .strict();

export function forbidden(message: string): GoodhartError {
  return new GoodhartError('forbidden', 403, message);
}

export class GovernanceService {
  private directory: Directory;
  private loadedSince: number;
  /** Serialises writes: each change reads the state the previous one left. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly config: GoodhartConfig,
    private readonly store: GovernanceStore,
    readonly engine: GovernanceEngine,
    private readonly now: () => number,
    directory: Directory,
    loadedSince: number,
    private readonly checkSpec: SpecCheck | undefined,
  ) {
    this.directory = directory;
    this.loadedSince = loadedSince;
  }

  /**
   * Loads the overlay, grants and the stored spend the budgets' windows need, then applies them to the engine.
   * Everything before `now` is in the store (the previous process drained its events on shutdown); everything
   * after is booked by this process's settlements: counted once either way.
   */
  static async open(config: GoodhartConfig, store: GovernanceStore, engine: GovernanceEngine, now: () => number, checkSpec?: SpecCheck): Promise<GovernanceService> {
    const directory = new Directory(config, await store.loadOverlay());
    const t0 = now();
    const spec = directory.spec();
    const since = await resolveSince(store, historyNeededSince(spec, t0), t0);
    const days = dayWindows(since, t0, config.timeZone);
    const history = await store.spendByDay(days, t0);
    // A shared state seeds itself from the store, per day and once across replicas (redis/budget-state.ts).
    if (!engine.state.seedsItself) await engine.state.load(history);
    engine.setSpec(spec);
    engine.noteSpenders(history.map((r) => r.scopeKey));
    engine.setGrants(await store.listGrants({ activeAt: t0 }));
    return new GovernanceService(config, store, engine, now, directory, days[0]?.start ?? t0, checkSpec);
  }

  list(actor: Actor, kind: EntityKind): EntityView[] {
    // Read as written (README: Admin API): the directory and rules with `manage`, budgets with `budgets` or `manage`.
    // A lead's `approve` reads none of them: their team is on the dashboard, without other teams' people.
    const permission = WRITE_PERMISSION[kind];
    if (!PUBLIC_KINDS.has(kind) && !this.may(actor, permission)) {
      throw forbidden(`Listing ${kind}s needs the "${permission}" permission, which role "${actor.roleId}" does not have.`);
    }
    return this.directory.list(kind);
  }

  /** The directory in force: the config with the admin API's changes. */
  directoryNow(): Directory {
    return this.directory;
  }

  get(actor: Actor, kind: EntityKind, id: string): EntityView {
    const found = this.list(actor, kind).find((e) => e.id === id);
    if (!found) throw new GoodhartError('not_found', 404, `No ${kind} "${id}".`);
    return found;
  }

  /** Creates or replaces an entity (PUT): the body is the whole entity, validated with the config's own schema. */
  set(actor: Actor, kind: EntityKind, id: string, body: unknown): Promise<EntityView> {
    this.need(actor, WRITE_PERMISSION[kind], `Changing ${kind}s`);
    const data = validEntity(kind, id, body, '');
    return this.serial(async () => {
      const before = this.directory.get(kind, id)?.data ?? null;
      await this.apply(actor, kind, id, data, before, `${kind}.set`);
      return this.directory.get(kind, id)!;
    });
  }

  /**
   * Changes only the fields `patch` gives (PATCH, a JSON merge patch: RFC 7396): `null` removes a field (one with a
   * default goes back to it), the others keep their values. With no such entity yet, the patch creates it.
   */
  patch(actor: Actor, kind: EntityKind, id: string, patch: unknown): Promise<EntityView> {
    this.need(actor, WRITE_PERMISSION[kind], `Changing ${kind}s`);
    if (!isObject(patch)) throw new GoodhartError('invalid_request', 400, `A PATCH body is a JSON object of the ${kind}'s fields to change (null removes one).`);
    return this.serial(async () => {
      const before = this.directory.get(kind, id)?.data ?? null;
      const merged = mergePatch(before ?? {}, patch);
      const data = validEntity(kind, id, merged, before === null ? ` (there is no ${kind} "${id}" yet, so this creates one: give the fields it needs)` : '');
      await this.apply(actor, kind, id, data, before, `${kind}.set`);
      return this.directory.get(kind, id)!;
    });
  }

  remove(actor: Actor, kind: EntityKind, id: string): Promise<void> {
    this.need(actor, WRITE_PERMISSION[kind], `Changing ${kind}s`);
    return this.serial(async () => {
      const before = this.directory.get(kind, id);
      if (!before) throw new GoodhartError('not_found', 404, `No ${kind} "${id}".`);
      await this.apply(actor, kind, id, null, before.data, `${kind}.delete`);
    });
  }

  /** Config file entities the admin API set or deleted: edits of them in the file are not read while this stands. */
  overrides(): Override[] {
    return this.directory.overrides();
  }

  /**
   * Hands an entity back to the config file: forgets what the admin API set or deleted, so the file's entity applies
   * again (at once, and at every start); one the file does not declare is then gone. Returns the entity now in force.
   */
  reset(actor: Actor, kind: EntityKind, id: string): Promise<EntityView | null> {
    this.need(actor, WRITE_PERMISSION[kind], `Changing ${kind}s`);
    return this.serial(async () => {
      if (this.directory.record(kind, id) === undefined) {
        throw new GoodhartError('not_found', 404, `The admin API has not changed ${kind} "${id}": it is ${this.directory.get(kind, id) ? 'as the config file declares it' : 'declared nowhere'}.`);
      }
      const before = this.directory.get(kind, id)?.data ?? null;
      const next = this.directory.without(kind, id);
      await this.applyChange(actor, next, { overlayReset: { kind, id } }, kind, id, before, next.get(kind, id)?.data ?? null, `${kind}.reset`);
      return this.directory.get(kind, id) ?? null;
    });
  }

  async requestAccess(actor: Actor, body: unknown): Promise<AccessRequest> {
    const b = parseBody(accessRequestBody, body, 'access request');
    const userId = actor.userId ?? b.user;
    if (userId === undefined) throw new GoodhartError('invalid_request', 400, 'An admin key asking on someone’s behalf must name the `user`.');
    if (actor.userId !== null && b.user !== undefined && b.user !== actor.userId) throw forbidden('You can only ask for access for yourself.');
    const spec = this.engine.current();
    if (b.tier !== undefined && spec.tiers[b.tier] === undefined) {
      throw new GoodhartError('invalid_request', 400, `No tier "${b.tier}". Tiers: ${Object.keys(spec.tiers).join(', ') || '(none configured)'}.`);
    }
    const hours = Math.min(b.hours ?? this.config.access.defaultHours, this.config.access.maxHours);
    const request: AccessRequest = {
      id: `ar_${randomUUID().slice(0, 8)}`,
      userId,
      teamId: actor.userId !== null ? actor.teamId : (spec.users.get(userId)?.team ?? null),
      tier: b.tier ?? null,
      model: b.model ?? null,
      justification: b.justification,
      hours,
      status: 'pending',
      createdAt: this.now(),
      decidedAt: null,
      decidedBy: null,
      note: null,
      grantId: null,
    };
    await this.store.commit({ accessRequest: request, audit: this.audit(actor, 'access.request', 'accessRequest', request.id, null, request) });
    return request;
  }

  async listAccess(actor: Actor, status?: AccessStatus): Promise<AccessRequest[]> {
    const filter = status === undefined ? {} : { status };
    if (actor.permissions.has('manage') || actor.permissions.has('audit')) return this.store.listAccessRequests(filter);
    if (actor.permissions.has('approve') && actor.teamId !== null) {
      const [team, own] = await Promise.all([
        this.store.listAccessRequests({ ...filter, teamId: actor.teamId }),
        actor.userId === null ? [] : this.store.listAccessRequests({ ...filter, userId: actor.userId }),
      ]);
      return [...new Map([...team, ...own].map((r) => [r.id, r])).values()].sort((a, b) => b.createdAt - a.createdAt);
    }
    if (actor.userId === null) return [];
    return this.store.listAccessRequests({ ...filter, userId: actor.userId });
  }

  /** A lead decides for their own team, an admin (manage) for anyone; nobody decides their own request. */
  decide(actor: Actor, id: string, decision: 'approve' | 'deny', body: unknown): Promise<AccessRequest> {
    const b = parseBody(decisionBody, body ?? {}, 'decision');
    this.need(actor, 'approve', 'Deciding access requests');
    return this.serial(async () => {
      const request = await this.store.getAccessRequest(id);
      if (!request) throw new GoodhartError('not_found', 404, `No access request "${id}". See \`goodhart access list\`.`);
      if (request.status !== 'pending') throw new GoodhartError('invalid_request', 409, `Access request ${id} was already ${request.status}.`);
      if (request.userId === actor.userId) throw forbidden('You cannot decide your own access request: ask your team lead or an admin.');
      if (!actor.permissions.has('manage') && (request.teamId === null || request.teamId !== actor.teamId)) {
        throw forbidden(`Access request ${id} is from team ${request.teamId ?? '(none)'}; a lead decides for their own team only, an admin for any.`);
      }
      const now = this.now();
      const hours = Math.min(b.hours ?? request.hours, this.config.access.maxHours);
      const grant: Grant | undefined =
        decision === 'approve'
          ? { id: `gr_${randomUUID().slice(0, 8)}`, userId: request.userId, tier: request.tier, model: request.model, createdAt: now, expiresAt: now + hours * 3_600_000, grantedBy: actor.id, requestId: id }
          : undefined;
      const after: AccessRequest = {
        ...request,
        status: decision === 'approve' ? 'approved' : 'denied',
        decidedAt: now,
        decidedBy: actor.id,
        note: b.note ?? null,
        grantId: grant?.id ?? null,
      };
      await this.store.commit({
        accessRequest: after,
        decidesPending: true,
        ...(grant ? { grant } : {}),
        audit: this.audit(actor, `access.${decision}`, 'accessRequest', id, request, grant ? { ...after, grant } : after),
      });
      if (grant) await this.reloadGrants();
      return after;
    });
  }

  async listGrants(actor: Actor, activeOnly: boolean): Promise<Grant[]> {
    const filter = activeOnly ? { activeAt: this.now() } : {};
    // Everyone's with `manage` or `audit` (the audit log holds them all anyway); otherwise one's own.
    if (actor.permissions.has('manage') || actor.permissions.has('audit')) return this.store.listGrants(filter);
    return actor.userId === null ? [] : this.store.listGrants({ ...filter, userId: actor.userId });
  }

  /** Ends a grant now (it would also end by itself at its expiry). */
  revokeGrant(actor: Actor, id: string): Promise<Grant> {
    this.need(actor, 'manage', 'Revoking grants');
    return this.serial(async () => {
      const grant = (await this.store.listGrants({})).find((g) => g.id === id);
      if (!grant) throw new GoodhartError('not_found', 404, `No grant "${id}".`);
      const after = { ...grant, expiresAt: Math.min(grant.expiresAt, this.now()) };
      await this.store.commit({ grant: after, audit: this.audit(actor, 'grant.revoke', 'grant', id, grant, after) });
      await this.reloadGrants();
      return after;
    });
  }

  listAudit(actor: Actor, filter: AuditFilter): Promise<AuditEntry[]> {
    if (!actor.permissions.has('audit') && !actor.permissions.has('manage')) throw forbidden(`The audit log needs the audit permission (admin or finance; yours: ${actor.roleId}).`);
    return this.store.listAudit(filter);
  }

  /** Records a change made elsewhere (keys created or revoked through the admin API) in the audit log. */
  recordAudit(actor: Actor, action: string, targetKind: string, targetId: string, before: unknown, after: unknown): Promise<AuditEntry> {
    return this.store.commit({ audit: this.audit(actor, action, targetKind, targetId, before, after) });
  }

  /** Whether the actor has `permission` (`manage` includes `budgets`). */
  may(actor: Actor, permission: Permission): boolean {
    return actor.permissions.has(permission) || (permission === 'budgets' && actor.permissions.has('manage'));
  }

  /** `doing` says what the caller tried, as the message starts: "Listing keys", "Changing budgets". */
  need(actor: Actor, permission: Permission, doing: string): void {
    if (this.may(actor, permission)) return;
    throw forbidden(`${doing} needs the "${permission}" permission, which role "${actor.roleId}" does not have. Ask an admin.`);
  }

  private async apply(actor: Actor, kind: EntityKind, id: string, data: Record<string, unknown> | null, before: unknown, action: string): Promise<void> {
    const overlay = { kind, id, data, updatedAt: this.now(), updatedBy: actor.id };
    await this.applyChange(actor, this.directory.with(overlay), { overlay }, kind, id, before, data, action);
  }

  /** Checks the rules `next` leaves, loads the history they need, then writes the change with its audit entry and applies it. */
  private async applyChange(
    actor: Actor,
    next: Directory,
    change: Pick<GovernanceChange, 'overlay' | 'overlayReset'>,
    kind: EntityKind,
    id: string,
    before: unknown,
    after: unknown,
    action: string,
  ): Promise<void> {
    const now = this.now();
    // What the change names must exist, and nothing left may name what it removes (a reset may remove one too).
    this.checkReferences(next, kind, id, after === null);
    let spec;
    try {
      spec = next.spec();
    } catch (err) {
      throw new GoodhartError('invalid_request', 400, `That change leaves the rules inconsistent: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (this.checkSpec !== undefined) {
      // Only what this change breaks: a problem the rules had already (stored before this check) blocks nothing else.
      const had = this.checkSpec(this.engine.current());
      const added = [...this.checkSpec(spec)].filter(([where, problem]) => had.get(where) !== problem).map(([, problem]) => problem);
      if (added.length > 0) throw new GoodhartError('invalid_request', 400, `That change leaves a downgrade budget without a usable downgrade model: ${added.join(' ')}`);
    }
    // History first, so a new or longer budget window starts from its true spend the moment it applies.
    const since = await resolveSince(this.store, historyNeededSince(spec, now), now);
    if (since < this.loadedSince && !this.engine.state.seedsItself) {
      const days = dayWindows(since, this.loadedSince, spec.timeZone);
      await this.engine.state.load(await this.store.spendByDay(days, this.loadedSince));
      this.loadedSince = days[0]?.start ?? this.loadedSince;
    }
    await this.store.commit({ ...change, audit: this.audit(actor, action, kind, id, before, after) });
    this.directory = next;
    this.engine.setSpec(spec);
  }

  /**
   * The references this change breaks, with the config loader's checks (references.ts); those broken already (an
   * overlay stored before this check) are not its doing. A changed entity naming what does not exist: 400. A deleted
   * one that others still name: 409, naming them.
   */
  private checkReferences(next: Directory, kind: EntityKind, id: string, deleting: boolean): void {
    const had = new Set(referenceProblems(this.directory.refs(), 'admin').map(problemKey));
    const added = referenceProblems(next.refs(), 'admin').filter((p) => !had.has(problemKey(p)));
    const own = added.filter((p) => p.holder?.kind === kind && p.holder.id === id);
    if (own.length > 0) throw new GoodhartError('invalid_request', 400, `${holderName(own[0]!)}: ${own.map((p) => p.message).join(' ')}`);
    // A set can flag others only by declaring the first of a kind (budgets for key-only users are then checked):
    // not what it set, so only a delete answers for them.
    if (!deleting || added.length === 0) return;
    const first = added[0]!;
    const fix =
      first.holder === null
        ? `change ${first.where === 'defaultRole' ? 'defaultRole' : `the ${first.field} of ${holderName(first)} (admin.keys)`} in the config`
        : `change or delete ${added.length === 1 ? 'it' : 'them'} first, e.g. \`goodhart ${CLI_PATH[first.holder.kind]} set ${first.holder.id} --${first.field} …\``;
    throw new GoodhartError(
      'invalid_request',
      409,
      `${kind === 'rateLimit' ? 'Rate limit' : kind[0]!.toUpperCase() + kind.slice(1)} "${id}" is in use: ${added.map((p) => `${holderName(p)} (${p.field})`).join(', ')} ${added.length === 1 ? 'names' : 'name'} it. Fix: ${fix}.`,
    );
  }

  /**
   * Re-reads what another replica may have changed (the overlay, grants) and applies it here: replicas share the
   * governance store, and each applies its own admin API changes at once but learns of the others' only so.
   */
  reload(): Promise<void> {
    return this.serial(async () => {
      const directory = new Directory(this.config, await this.store.loadOverlay());
      const spec = directory.spec();
      this.directory = directory;
      this.engine.setSpec(spec);
      await this.reloadGrants();
    });
  }

  private async reloadGrants(): Promise<void> {
    this.engine.setGrants(await this.store.listGrants({ activeAt: this.now() }));
  }

  private audit(actor: Actor, action: string, targetKind: string, targetId: string, before: unknown, after: unknown): Omit<AuditEntry, 'seq'> {
    return { at: this.now(), actor: actor.id, actorRole: actor.roleId, action, targetKind, targetId, before, after };
  }

  private serial<T>(f: () => Promise<T>): Promise<T> {
    const run = this.queue.then(f, f);
    this.queue = run.catch(() => {});
    return run;
  }
}

/** 0 (all time) means "from the first stored gateway event". */
async function resolveSince(store: GovernanceStore, since: number, now: number): Promise<number> {
  if (since > 0) return since;
  return (await store.firstGatewayEventAt()) ?? now;
}

/** An entity as stored: `body` with its id, parsed by the config's own schema (its defaults filled in). */
function validEntity(kind: EntityKind, id: string, body: unknown, hint: string): Record<string, unknown> {
  const parsed = ENTITY_SCHEMAS[kind].safeParse({ ...(body as object), id });
  if (!parsed.success) throw new GoodhartError('invalid_request', 400, `Invalid ${kind}${hint}: ${z.prettifyError(parsed.error)}`);
  return parsed.data as Record<string, unknown>;
}

function parseBody<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const r = schema.safeParse(body);
  if (!r.success) throw new GoodhartError('invalid_request', 400, `Invalid ${what}: ${z.prettifyError(r.error)}`);
  return r.data;
}
