import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { GoodhartConfig } from '../config/schema.js';
import { GoodhartError } from '../errors.js';
import { isObject, mergePatch } from '../util/merge-patch.js';
import { activeGrant, checkAccess, TierIndex, type Grant } from './access.js';
import type { Permission } from './config.js';
import { Directory, ENTITY_WRITE_SCHEMAS, type EntityView, type Override, type SkippedRecord } from './directory.js';
import type { GovernanceEngine } from './engine.js';
import { holderName, problemKey, referenceProblems } from './references.js';
import { historyNeededSince, roleOf, type GovernanceSpec } from './rules.js';
import { dayWindows } from './period.js';
import { KIND_PATHS, OverlayChanged, type AccessRequest, type AccessStatus, type AuditEntry, type AuditFilter, type EntityKind, type GovernanceChange, type GovernanceStore, type OverlayRecord } from './store.js';

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

/**
 * How often a PATCH merges again when another change of its entity was written first: each retry reads the store
 * anew, so only a stream of changes to the one entity, faster than a round trip, exhausts them (then 409: retry).
 */
const PATCH_ATTEMPTS = 3;

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

/** What became of an approved request's grant: in force, run out, or ended early. */
export interface GrantState {
  id: string;
  state: 'active' | 'expired' | 'revoked';
  /** The hours granted (the approver may change the hours asked), as approved, before any revocation. */
  hours: number;
  /** When it ends or ended (a revoked grant: when it was revoked). */
  expiresAt: number;
  revokedBy: string | null;
}

/** An access request as listed: with its grant's state once approved (the request itself stays "approved"). */
export type AccessRequestView = AccessRequest & { grant: GrantState | null };

export function forbidden(message: string): GoodhartError {
  return new GoodhartError('forbidden', 403, message);
}

export class GovernanceService {
  private directory: Directory;
  private loadedSince: number;
  /** Serialises writes: each change reads the state the previous one left. */
  private queue: Promise<unknown> = Promise.resolve();
  /** The skipped records warned about (skippedKey): a reload warns only of those stored or changed since. */
  private warned = new Set<string>();

  private constructor(
    private readonly config: GoodhartConfig,
    private readonly store: GovernanceStore,
    readonly engine: GovernanceEngine,
    private readonly now: () => number,
    directory: Directory,
    loadedSince: number,
    private readonly checkSpec: SpecCheck | undefined,
    private readonly log: (line: string) => void,
  ) {
    this.directory = directory;
    this.loadedSince = loadedSince;
    this.warnSkipped();
  }

  /**
   * Loads the overlay, grants and the stored spend the budgets' windows need, then applies them to the engine.
   * Everything before `now` is in the store (the previous process drained its events on shutdown); everything
   * after is booked by this process's settlements: counted once either way.
   */
  static async open(
    config: GoodhartConfig,
    store: GovernanceStore,
    engine: GovernanceEngine,
    now: () => number,
    checkSpec?: SpecCheck,
    log: (line: string) => void = (m) => process.stderr.write(`${m}\n`),
  ): Promise<GovernanceService> {
    const directory = Directory.fromStore(config, await store.loadOverlay());
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
    return new GovernanceService(config, store, engine, now, directory, days[0]?.start ?? t0, checkSpec, log);
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
      // Merged into the entity as stored when it is written: another replica may have changed it since this one read
      // it. The write applies only while the stored record is still the one merged into; else read again, merge again.
      for (let attempt = 1; ; attempt++) {
        const before = this.directory.get(kind, id)?.data ?? null;
        const merged = mergePatch(before ?? {}, patch);
        const data = validEntity(kind, id, merged, before === null ? ` (there is no ${kind} "${id}" yet, so this creates one: give the fields it needs)` : '');
        try {
          await this.apply(actor, kind, id, data, before, `${kind}.set`, this.directory.record(kind, id) ?? null);
          return this.directory.get(kind, id)!;
        } catch (err) {
          if (!(err instanceof OverlayChanged) || attempt === PATCH_ATTEMPTS) throw err;
          await this.refresh();
        }
      }
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
    await this.refuseHeld(actor, userId, b.tier ?? null, b.model ?? null, spec);
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

  /**
   * Refuses a request for what the person can use already: a tier their role includes or a grant in force covers, a
   * model they may use, or the same thing asked and still pending. A lead would approve a request that changes nothing.
   */
  private async refuseHeld(actor: Actor, userId: string, tier: string | null, model: string | null, spec: GovernanceSpec): Promise<void> {
    const now = this.now();
    const you = actor.userId === userId ? 'You' : userId;
    const have = actor.userId === userId ? 'have' : 'has';
    const { id: roleId, role } = roleOf(spec, userId);
    const grants = await this.store.listGrants({ activeAt: now, userId });
    const until = (g: Grant) => `until ${new Date(g.expiresAt).toISOString()} (grant ${g.id})`;
    if (tier !== null) {
      if (role?.tiers.includes(tier)) throw held(`${you} already ${have} ${tier}: role "${roleId}" includes it.`);
      const g = grants.find((x) => x.tier === tier && x.expiresAt > now);
      if (g) throw held(`${you} already ${have} ${tier} ${until(g)}.`);
    } else if (model !== null) {
      const modelTier = new TierIndex(spec.tiers).tierOf(model);
      const decision = checkAccess({ model, tier: modelTier, roleId, role, grants, now, untiered: spec.untieredModels });
      if (decision.ok) {
        const g = activeGrant(grants, modelTier, model, now);
        const why = decision.via === 'role' ? `its tier "${modelTier}" is in role "${roleId}"` : g ? `a grant covers it ${until(g)}` : 'it is in no tier, and untiered models are allowed';
        throw held(`${you} can already use ${model}: ${why}.`);
      }
    }
    const pending = await this.store.listAccessRequests({ status: 'pending', userId });
    const same = pending.find((r) => r.tier === tier && r.model === model);
    if (same) throw held(`${you} already asked for ${tier ?? model} (${same.id}, pending since ${new Date(same.createdAt).toISOString()}): a team lead or an admin decides.`);
  }

  async listAccess(actor: Actor, status?: AccessStatus): Promise<AccessRequestView[]> {
    return this.withGrants(await this.accessRequestsFor(actor, status));
  }

  private async accessRequestsFor(actor: Actor, status?: AccessStatus): Promise<AccessRequest[]> {
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

  /** Each approved request with what became of its grant: active, expired, or revoked (the audit log says when, by whom). */
  private async withGrants(requests: AccessRequest[]): Promise<AccessRequestView[]> {
    if (!requests.some((r) => r.grantId !== null)) return requests.map((r) => ({ ...r, grant: null }));
    const now = this.now();
    const [grants, revocations] = await Promise.all([this.store.listGrants({}), this.store.listAudit({ targetKind: 'grant' })]);
    const byId = new Map(grants.map((g) => [g.id, g]));
    // Newest first: the first revocation of a grant is its last; its `before` holds the expiry as granted.
    const revoked = new Map<string, { at: number; by: string; expiresAt: number }>();
    for (const e of revocations) {
      if (e.action !== 'grant.revoke' || revoked.has(e.targetId)) continue;
      const before = e.before as Partial<Grant> | null;
      revoked.set(e.targetId, { at: e.at, by: e.actor, expiresAt: before?.expiresAt ?? e.at });
    }
    return requests.map((r) => {
      const g = r.grantId === null ? undefined : byId.get(r.grantId);
      if (g === undefined) return { ...r, grant: null };
      const rev = revoked.get(g.id);
      // Revoked before it would have run out; a revocation after the expiry changed nothing.
      const early = rev !== undefined && g.expiresAt < rev.expiresAt;
      const granted = early ? rev.expiresAt : g.expiresAt;
      const state: GrantState['state'] = g.expiresAt > now ? 'active' : early ? 'revoked' : 'expired';
      return { ...r, grant: { id: g.id, state, hours: Math.round(((granted - g.createdAt) / 3_600_000) * 100) / 100, expiresAt: g.expiresAt, revokedBy: early ? rev.by : null } };
    });
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
    // Everyone's with `manage` or `audit` (the audit log holds them all anyway); a lead's team's (they decide its
    // requests, and may revoke what they granted); otherwise one's own.
    if (actor.permissions.has('manage') || actor.permissions.has('audit')) return this.store.listGrants(filter);
    if (actor.permissions.has('approve') && actor.teamId !== null) {
      const onTeam = await this.teamGrants(actor.teamId);
      return (await this.store.listGrants(filter)).filter((g) => g.userId === actor.userId || onTeam(g));
    }
    return actor.userId === null ? [] : this.store.listGrants({ ...filter, userId: actor.userId });
  }

  /**
   * Whether a grant is on `team`: its person is in the team (the directory's team first, as for deciding), or, for a
   * person the directory does not declare, it was granted on a request from the team.
   */
  private async teamGrants(team: string): Promise<(g: Grant) => boolean> {
    const users = this.engine.current().users;
    const requests = new Set((await this.store.listAccessRequests({ teamId: team })).map((r) => r.id));
    return (g) => {
      const declared = users.get(g.userId)?.team;
      if (declared !== undefined) return declared === team;
      return g.requestId !== null && requests.has(g.requestId);
    };
  }

  /** Ends a grant now (it would also end by itself at its expiry): an admin any, a lead their own team's. */
  revokeGrant(actor: Actor, id: string): Promise<Grant> {
    if (!this.may(actor, 'manage') && !this.may(actor, 'approve')) {
      throw forbidden(`Revoking grants needs the "approve" permission (your team's) or "manage" (anyone's), which role "${actor.roleId}" does not have. Ask your team lead or an admin.`);
    }
    return this.serial(async () => {
      const grant = (await this.store.listGrants({})).find((g) => g.id === id);
      if (!grant) throw new GoodhartError('not_found', 404, `No grant "${id}".`);
      if (!this.may(actor, 'manage') && (actor.teamId === null || !(await this.teamGrants(actor.teamId))(grant))) {
        throw forbidden(`Grant ${id} is ${grant.userId}'s, who is not on your team (${actor.teamId ?? 'none'}): a lead revokes their own team's grants, an admin anyone's.`);
      }
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

  /** `overlayIf`: the stored record `data` was merged into (GovernanceChange.overlayIf); a PUT or a delete replaces whatever is there. */
  private async apply(actor: Actor, kind: EntityKind, id: string, data: Record<string, unknown> | null, before: unknown, action: string, overlayIf?: OverlayRecord | null): Promise<void> {
    const overlay = { kind, id, data, updatedAt: this.now(), updatedBy: actor.id };
    await this.applyChange(actor, this.directory.with(overlay), { overlay, ...(overlayIf === undefined ? {} : { overlayIf }) }, kind, id, before, data, action);
  }

  /** Checks the rules `next` leaves, loads the history they need, then writes the change with its audit entry and applies it. */
  private async applyChange(
    actor: Actor,
    next: Directory,
    change: Pick<GovernanceChange, 'overlay' | 'overlayIf' | 'overlayReset'>,
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
        : `change or delete ${added.length === 1 ? 'it' : 'them'} first, e.g. \`goodhart ${KIND_PATHS[first.holder.kind]} set ${first.holder.id} --${first.field} …\``;
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
    return this.serial(() => this.refresh());
  }

  private async refresh(): Promise<void> {
    const directory = Directory.fromStore(this.config, await this.store.loadOverlay());
    const spec = directory.spec();
    this.directory = directory;
    this.engine.setSpec(spec);
    this.warnSkipped();
    await this.reloadGrants();
  }

  /** Warns of the stored records the directory skips, each once (until it is stored again, or fixed and broken again). */
  private warnSkipped(): void {
    const current = new Set<string>();
    for (const s of this.directory.skipped()) {
      const key = skippedKey(s);
      current.add(key);
      if (!this.warned.has(key)) this.log(skippedNotice(s, this.directory.get(s.record.kind, s.record.id)));
    }
    this.warned = current;
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

const skippedKey = (s: SkippedRecord): string => JSON.stringify([s.record.kind, s.record.id, s.record.updatedAt, s.record.data]);

/**
 * The warning about a stored record this version skips (directory.ts SkippedRecord): which, who stored it and when,
 * what is wrong with it, what applies instead, and the commands that replace or forget it.
 */
export function skippedNotice(s: SkippedRecord, inForce: EntityView | undefined): string {
  const { kind, id, updatedAt, updatedBy } = s.record;
  const head = `goodhart: WARNING: skipped the admin API's ${kind} "${id}" (stored ${new Date(updatedAt).toISOString()} by ${updatedBy}): `;
  if (!Object.hasOwn(KIND_PATHS, kind)) return `${head}${s.problem}. It applies where every replica runs a version that knows the kind.`;
  const path = KIND_PATHS[kind];
  const instead = inForce === undefined ? `No ${kind} "${id}" is in force meanwhile` : `The config file's ${kind} "${id}" applies instead`;
  return (
    `${head}this version does not accept it (${s.problem}). ${instead}. ` +
    `Fix: replace it (\`goodhart ${path} set ${id} …\`, or PUT /admin/v1/${path}/${id}), or forget it (\`goodhart ${path} reset ${id}\`, or DELETE /admin/v1/${path}/${id}/override); ` +
    `if a newer replica stored it, it applies where that version runs.`
  );
}

/** 0 (all time) means "from the first stored gateway event". */
async function resolveSince(store: GovernanceStore, since: number, now: number): Promise<number> {
  if (since > 0) return since;
  return (await store.firstGatewayEventAt()) ?? now;
}

/** An entity as stored: `body` with its id, parsed by the config's own schema (its defaults filled in). */
function validEntity(kind: EntityKind, id: string, body: unknown, hint: string): Record<string, unknown> {
  const parsed = ENTITY_WRITE_SCHEMAS[kind].safeParse({ ...(body as object), id });
  if (!parsed.success) throw new GoodhartError('invalid_request', 400, `Invalid ${kind}${hint}: ${z.prettifyError(parsed.error)}`);
  return parsed.data as Record<string, unknown>;
}

/** A request for what the person can use already: nothing for a lead to decide. */
function held(message: string): GoodhartError {
  return new GoodhartError('invalid_request', 409, message);
}

function parseBody<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const r = schema.safeParse(body);
  if (!r.success) throw new GoodhartError('invalid_request', 400, `Invalid ${what}: ${z.prettifyError(r.error)}`);
  return r.data;
}
