import type { IncomingHttpHeaders } from 'node:http';
import type { GoodhartConfig } from '../config/schema.js';
import { GoodhartError } from '../errors.js';
import type { KeyCache } from '../gateway/auth.js';
import { presentedKey } from '../gateway/auth.js';
import { hashKey } from '../keys/keys.js';
import type { GovernanceSpec } from '../policy/rules.js';
import type { Actor } from '../policy/service.js';

/**
 * Who is calling the admin API: an admin key from the config (`admin.keys`, its role given there), or a person's
 * own gateway key (gh_…), whose role comes from `users[].role`. Permissions follow from the role.
 */
export class AdminAuth {
  private readonly adminKeys = new Map<string, { id: string; role: string }>();

  constructor(
    config: GoodhartConfig,
    private readonly keys: KeyCache,
    private readonly spec: () => GovernanceSpec,
  ) {
    for (const k of config.admin.keys) this.adminKeys.set(k.sha256 ?? hashKey(k.key!), { id: k.id, role: k.role });
  }

  authenticate(headers: IncomingHttpHeaders): Actor | Promise<Actor> {
    const presented = presentedKey(headers);
    if (presented !== undefined) {
      const admin = this.adminKeys.get(hashKey(presented));
      if (admin !== undefined) return this.actor(`admin-key:${admin.id}`, null, null, admin.role);
    }
    const key = this.keys.authenticate(headers);
    const toActor = (k: { userId: string; teamId: string | null }) => {
      const spec = this.spec();
      const user = spec.users.get(k.userId);
      // The directory's team first, as on the dashboard: a person moved to another team leads that one.
      return this.actor(`user:${k.userId}`, k.userId, user?.team ?? k.teamId ?? null, user?.role ?? spec.defaultRole);
    };
    return key instanceof Promise ? key.then(toActor) : toActor(key);
  }

  private actor(id: string, userId: string | null, teamId: string | null, roleId: string): Actor {
    const role = this.spec().roles[roleId];
    if (role === undefined && userId === null) {
      throw new GoodhartError('forbidden', 403, `Admin key ${id} has role "${roleId}", which is not declared. Fix admin.keys in the config.`);
    }
    return { id, userId, teamId, roleId, permissions: new Set(role?.permissions ?? []) };
  }
}
