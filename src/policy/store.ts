import { GoodhartError } from '../errors.js';
import type { Grant } from './access.js';
import type { Window } from './period.js';
import type { LedgerRow } from './state.js';

/**
 * Where governance keeps what the admin API changes: entities added or edited on top of the config (the
 * "overlay"), access requests, grants, the append-only audit log, sent alerts; and where it reads past
 * gateway spend from. SQLite implements it in src/store/sqlite/governance-store.ts.
 */

/** What the admin API manages on top of the config file. */
export const ENTITY_KINDS = ['team', 'user', 'project', 'budget', 'tier', 'role', 'rateLimit'] as const;
export type EntityKind = (typeof ENTITY_KINDS)[number];

/** The CLI command group and admin API path of each kind (`goodhart budgets reset`, /admin/v1/budgets/ID/override). */
export const KIND_PATHS = {
  budget: 'budgets',
  team: 'teams',
  user: 'users',
  project: 'projects',
  tier: 'tiers',
  role: 'roles',
  rateLimit: 'rate-limits',
} as const satisfies Record<EntityKind, string>;

/** An entity as the admin API last set it; `data: null` removes one the config declares. */
export interface OverlayRecord {
  kind: EntityKind;
  id: string;
  data: Record<string, unknown> | null;
  updatedAt: number;
  updatedBy: string;
}

export interface AuditEntry {
  /** Assigned by the store, increasing. */
  seq: number;
  at: number;
  /** `user:alice` (their own key), `admin-key:ops`, or `cli:alice` (`goodhart keys create|revoke` by that OS user). */
  actor: string;
  actorRole: string;
  /** e.g. `budget.set`, `budget.delete`, `access.approve`, `key.revoke`. */
  action: string;
  targetKind: string;
  targetId: string;
  before: unknown;
  after: unknown;
}

export const ACCESS_STATUSES = ['pending', 'approved', 'denied'] as const;
export type AccessStatus = (typeof ACCESS_STATUSES)[number];

export interface AccessRequest {
  id: string;
  userId: string;
  teamId: string | null;
  tier: string | null;
  model: string | null;
  justification: string;
  /** How long the access is asked for. */
  hours: number;
  status: AccessStatus;
  createdAt: number;
  decidedAt: number | null;
  decidedBy: string | null;
  note: string | null;
  grantId: string | null;
}

export interface GovernanceChange {
  audit: Omit<AuditEntry, 'seq'>;
  overlay?: OverlayRecord;
  /**
   * The stored record `overlay` was computed from (null: there was none): the change applies only while the entity's
   * stored record is still that one (the same data), else the whole change is refused (OverlayChanged) and nothing of
   * it is kept. A PATCH merges into what it read: two replicas patching one entity at once must not undo each other.
   */
  overlayIf?: OverlayRecord | null;
  /** Forgets the admin API's record of this entity: the config file's entity (if any) applies again. */
  overlayReset?: { kind: EntityKind; id: string };
  accessRequest?: AccessRequest;
  /**
   * The change decides `accessRequest`: it applies only while the stored request is still pending, else the whole
   * change is refused (409) and nothing of it is kept. Two replicas deciding at once: one wins, never both.
   */
  decidesPending?: boolean;
  grant?: Grant;
}

/** The refusal of a decision whose request another decision settled first (GovernanceChange.decidesPending). */
export function alreadyDecided(id: string): GoodhartError {
  return new GoodhartError('invalid_request', 409, `Access request ${id} was decided by someone else a moment ago: reload it to see the decision.`);
}

/** The refusal of a change whose entity another change (here or on another replica) wrote first (GovernanceChange.overlayIf). */
export class OverlayChanged extends GoodhartError {
  constructor(kind: EntityKind, id: string) {
    super('invalid_request', 409, `The ${kind} "${id}" was changed by someone else a moment ago: read it again and repeat your change.`, { retryable: true });
  }
}

/** Whether the stored record (its data as the column holds it; undefined: no row) is still `expected` (null: none). */
export function overlayStill(stored: { data: string | null } | undefined, expected: OverlayRecord | null): boolean {
  if (stored === undefined || expected === null) return stored === undefined && expected === null;
  return stored.data === (expected.data === null ? null : JSON.stringify(expected.data));
}

/** One delivery of an alert still to make: the sink (alerts/dispatcher.ts sinkId) and the JSON body it gets. */
/** An alert to record (GovernanceStore.claimAlert). */
export interface AlertClaim {
  dedupKey: string;
  at: number;
  payload: unknown;
  /** The deliveries still to make. */
  pending: readonly PendingDelivery[];
  /** Leased to `holder` (a process's dispatcher) until then. */
  leaseUntil: number;
  holder: string;
  /** Kept until then (null: for good). */
  keepUntil: number | null;
}

export interface PendingDelivery {
  sink: string;
  body: string;
}

export interface PendingAlert {
  dedupKey: string;
  pending: PendingDelivery[];
}

export interface AuditFilter {
  since?: number;
  until?: number;
  actor?: string;
  targetKind?: string;
  targetId?: string;
  limit?: number;
}

export interface GovernanceStore {
  loadOverlay(): Promise<OverlayRecord[]>;
  /** Applies a change and appends its audit entry in one transaction; returns the entry. */
  commit(change: GovernanceChange): Promise<AuditEntry>;
  /** Newest first. */
  listAudit(filter: AuditFilter): Promise<AuditEntry[]>;
  listAccessRequests(filter: { status?: AccessStatus; userId?: string; teamId?: string }): Promise<AccessRequest[]>;
  getAccessRequest(id: string): Promise<AccessRequest | undefined>;
  listGrants(filter: { activeAt?: number; userId?: string }): Promise<Grant[]>;
  /**
   * Records an alert with the deliveries still to make, leased to `holder` (a process's dispatcher) until
   * `leaseUntil`, and kept until `keepUntil` (null: for good); false when `dedupKey` was already recorded (also by an
   * earlier process or another replica): then it is not sent again.
   */
  claimAlert(claim: AlertClaim): Promise<boolean>;
  /**
   * After an attempt, by the lease's holder: the deliveries of a claimed alert still to make ([] once all made), due
   * for a retry at `nextTry`; the lease is given up. False, and nothing written, when the lease is no longer
   * `holder`'s: it ran out and another process took the alert over, whose record this must not overwrite.
   */
  setAlertPending(dedupKey: string, pending: readonly PendingDelivery[], nextTry: number, holder: string): Promise<boolean>;
  /**
   * Alerts from `since` on with deliveries still to make and due at `now` (their retry time has come, or the
   * process making them died and its lease ran out), the longest due first, leased to `holder` until `leaseUntil`:
   * two callers never take the same one. `dueBy` (default `now`): also the alerts no process holds that wait for a
   * retry time up to then (a start tries again at once what waits, not only what is due).
   */
  takePendingAlerts(now: number, since: number, leaseUntil: number, limit: number, holder: string, dueBy?: number): Promise<PendingAlert[]>;
  /**
   * Gives up the deliveries of alerts raised before `pendingSince` (`expired`: how many alerts had some left), then
   * forgets the alerts kept until before `now` (`pruned`): raised again, they are sent again.
   */
  expireAlerts(now: number, pendingSince: number): Promise<{ expired: number; pruned: number }>;
  /** When the first stored gateway event started (all-time budgets load history from there). */
  firstGatewayEventAt(): Promise<number | null>;
  /** Stored gateway spend per scope value ("org", "team:x", "tag:y"…) per day window, for events before `until`. */
  spendByDay(days: readonly Window[], until: number): Promise<LedgerRow[]>;
  close(): Promise<void>;
}
