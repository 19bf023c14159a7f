import type { Grant } from '../access.js';
import type { Window } from '../period.js';
import type { LedgerRow } from '../state.js';
import type { AccessRequest, AccessStatus, AlertClaim, AuditEntry, AuditFilter, GovernanceChange, GovernanceStore, OverlayRecord, PendingAlert, PendingDelivery } from '../store.js';
import type { SharedRedis } from './connection.js';

/** The channel (under the key prefix) on which replicas announce a governance change committed to the store. */
export const GOVERNANCE_CHANNEL = 'governance';

/**
 * A governance store that announces each committed change on Redis, so the other replicas reload the overlay and
 * grants at once (GovernanceService.reload) instead of at their next periodic reload.
 */
export class NotifyingGovernanceStore implements GovernanceStore {
  constructor(
    private readonly inner: GovernanceStore,
    private readonly shared: SharedRedis,
    private readonly log: (message: string) => void,
  ) {}

  async commit(change: GovernanceChange): Promise<AuditEntry> {
    const entry = await this.inner.commit(change);
    this.shared.redis.publish(this.shared.prefix + GOVERNANCE_CHANNEL, String(entry.seq)).catch((err: unknown) => {
      this.log(`goodhart: could not announce a governance change to the other replicas (they reload within a minute): ${String(err)}`);
    });
    return entry;
  }

  loadOverlay(): Promise<OverlayRecord[]> {
    return this.inner.loadOverlay();
  }
  listAudit(filter: AuditFilter): Promise<AuditEntry[]> {
    return this.inner.listAudit(filter);
  }
  listAccessRequests(filter: { status?: AccessStatus; userId?: string; teamId?: string }): Promise<AccessRequest[]> {
    return this.inner.listAccessRequests(filter);
  }
  getAccessRequest(id: string): Promise<AccessRequest | undefined> {
    return this.inner.getAccessRequest(id);
  }
  listGrants(filter: { activeAt?: number; userId?: string }): Promise<Grant[]> {
    return this.inner.listGrants(filter);
  }
  claimAlert(claim: AlertClaim): Promise<boolean> {
    return this.inner.claimAlert(claim);
  }
  setAlertPending(dedupKey: string, pending: readonly PendingDelivery[], nextTry: number, holder: string): Promise<boolean> {
    return this.inner.setAlertPending(dedupKey, pending, nextTry, holder);
  }
  takePendingAlerts(now: number, since: number, leaseUntil: number, limit: number, holder: string, dueBy?: number): Promise<PendingAlert[]> {
    return this.inner.takePendingAlerts(now, since, leaseUntil, limit, holder, dueBy);
  }
  expireAlerts(now: number, pendingSince: number): Promise<{ expired: number; pruned: number }> {
    return this.inner.expireAlerts(now, pendingSince);
  }
  firstGatewayEventAt(): Promise<number | null> {
    return this.inner.firstGatewayEventAt();
  }
  spendByDay(days: readonly Window[], until: number): Promise<LedgerRow[]> {
    return this.inner.spendByDay(days, until);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
