import type { GoodhartConfig } from '../config/schema.js';
import { matchIdentity } from '../importers/attribution.js';

/**
 * Who a git author or a GitHub/GitLab login is. Pure: `outcomes.people` first (emails, logins), then the importers'
 * rules (`identities[].match.gitEmail` / `email`, `users[].email`), so one mapping serves spend and outcomes alike.
 * An unmapped author keeps their email (or `login@host`) as the user id, as unmapped usage does, with no team.
 */
export interface Who {
  userId: string | null;
  teamId: string | null;
  /** False when nothing in the config named this person (the report lists them so the mapping can be completed). */
  mapped: boolean;
}

export type PeopleRules = Pick<GoodhartConfig, 'identities' | 'users' | 'outcomes'>;

/** GitHub's no-reply addresses carry the login: `12345+alice@users.noreply.github.com`. */
const NOREPLY = /^(?:\d+\+)?([^@]+)@users\.noreply\.github\.com$/i;

export function createPeopleResolver(rules: PeopleRules): (p: { email?: string | null; login?: string | null; host?: string | null }) => Who {
  const byEmail = new Map<string, { user: string; team?: string | undefined }>();
  const byLogin = new Map<string, { user: string; team?: string | undefined }>();
  for (const p of rules.outcomes.people) {
    for (const e of p.emails) byEmail.set(e.toLowerCase(), p);
    for (const l of p.logins) byLogin.set(l.toLowerCase(), p);
  }
  const teamOf = new Map(rules.users.map((u) => [u.id, u.team ?? null]));
  const cache = new Map<string, Who>();
  const resolve = (email: string | null, login: string | null, host: string | null): Who => {
    const hit = (email !== null ? byEmail.get(email.toLowerCase()) : undefined) ?? (login !== null ? byLogin.get(login.toLowerCase()) : undefined);
    if (hit !== undefined) return { userId: hit.user, teamId: hit.team ?? teamOf.get(hit.user) ?? null, mapped: true };
    if (email !== null) {
      const m = matchIdentity({ gitEmail: email, email }, rules);
      if (m !== null) return { userId: m.userId, teamId: m.teamId ?? teamOf.get(m.userId ?? '') ?? null, mapped: true };
      const noreply = NOREPLY.exec(email);
      if (noreply && login === null) return resolve(null, noreply[1]!, 'github.com');
    }
    const fallback = email ?? (login === null ? null : host === null ? login : `${login}@${host}`);
    return { userId: fallback, teamId: null, mapped: false };
  };
  return ({ email = null, login = null, host = null }) => {
    const key = `${email ?? ''}\u0000${login ?? ''}\u0000${host ?? ''}`;
    let who = cache.get(key);
    if (who === undefined) {
      who = resolve(email?.trim() || null, login?.trim() || null, host);
      if (cache.size > 50_000) cache.clear();
      cache.set(key, who);
    }
    return who;
  };
}

/**
 * Whether the recorded author of an outcome is a bot: a GitHub App (`dependabot[bot]`, also in its no-reply email
 * `49699333+dependabot[bot]@users.noreply.github.com`), a GitLab project or group bot (`project_12_bot_…`), or a login
 * or email of `outcomes.bots`. With `outcomes.countBots` nothing is. Pure.
 */
export function createBotTest(rules: Pick<GoodhartConfig['outcomes'], 'bots' | 'countBots'>): (attrs: Readonly<Record<string, string>>) => boolean {
  if (rules.countBots) return () => false;
  const named = new Set(rules.bots.map((b) => b.trim().toLowerCase()));
  const isBot = (v: string | undefined): boolean => {
    if (v === undefined || v === '') return false;
    const s = v.trim().toLowerCase();
    return named.has(s) || /\[bot\](?:@|$)/.test(s) || GITLAB_BOT.test(s);
  };
  return (attrs) => isBot(attrs['authorLogin']) || isBot(attrs['authorEmail']);
}

/** GitLab's bot users: `project_<id>_bot_<hex>`, `group_<id>_bot_<hex>` (older: without the suffix), and their emails. */
const GITLAB_BOT = /^(?:project|group)_\d+_bot(?:_[0-9a-f]+)?(?:@|$)/;
