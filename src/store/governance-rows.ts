import type { Grant } from '../policy/access.js';
import type { AccessRequest, AccessStatus } from '../policy/store.js';

/** The column form of access requests and grants, shared by the SQLite and Postgres governance stores. */
export interface AccessRow {
  id: string;
  user_id: string;
  team_id: string | null;
  tier: string | null;
  model: string | null;
  justification: string;
  hours: number;
  status: string;
  created_at: number;
  decided_at: number | null;
  decided_by: string | null;
  note: string | null;
  grant_id: string | null;
}

export interface GrantRow {
  id: string;
  user_id: string;
  tier: string | null;
  model: string | null;
  created_at: number;
  expires_at: number;
  granted_by: string;
  request_id: string | null;
}

export const toAccess = (r: AccessRow): AccessRequest => ({
  id: r.id,
  userId: r.user_id,
  teamId: r.team_id,
  tier: r.tier,
  model: r.model,
  justification: r.justification,
  hours: r.hours,
  status: r.status as AccessStatus,
  createdAt: r.created_at,
  decidedAt: r.decided_at,
  decidedBy: r.decided_by,
  note: r.note,
  grantId: r.grant_id,
});

export const toGrant = (r: GrantRow): Grant => ({
  id: r.id,
  userId: r.user_id,
  tier: r.tier,
  model: r.model,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  grantedBy: r.granted_by,
  requestId: r.request_id,
});
