/**
 * Who a budget or a rate limit applies to. Written `org`, `team:ID`, `user:ID`, `project:ID`, `key:ID` or
 * `tag:TAG`; an ID of `*` makes one budget per value ("every user gets $20 a month").
 */
export const SCOPE_KINDS = ['org', 'team', 'user', 'project', 'key', 'tag'] as const;
export type ScopeKind = (typeof SCOPE_KINDS)[number];

export interface Scope {
  kind: ScopeKind;
  /** The value the scope names; null for `org` and for per-value (`*`) scopes. */
  id: string | null;
  /** `team:*`: one instance per team. */
  each: boolean;
}

export const SCOPE_RE = /^(org|(team|user|project|key|tag):(\*|[A-Za-z0-9][A-Za-z0-9_.:/=@-]{0,127}))$/;

export function parseScope(text: string): Scope | null {
  const m = SCOPE_RE.exec(text);
  if (m === null) return null;
  if (m[1] === 'org') return { kind: 'org', id: null, each: false };
  const kind = m[2] as ScopeKind;
  const id = m[3]!;
  return id === '*' ? { kind, id: null, each: true } : { kind, id, each: false };
}

export function formatScope(s: Scope): string {
  if (s.kind === 'org') return 'org';
  return `${s.kind}:${s.each ? '*' : s.id}`;
}

/**
 * Whether a scope key (`user:alice`, `team:platform`…) is one person's: `user:…`, or `key:…`, a key being one
 * person's. A shared one (org, team, project, tag) counts colleagues' spend too, so its exact figures, read before
 * and after a colleague's request, would give that request's cost: the gateway's headers and refusals give them
 * coarsely (messages.ts), and alerts to a team channel do not name a personal one (alerts/format.ts).
 */
export function isPersonalScope(scopeKey: string): boolean {
  return scopeKey.startsWith('user:') || scopeKey.startsWith('key:');
}

/** The identity of a request, as far as scopes are concerned. */
export interface Subject {
  keyId: string;
  userId: string;
  teamId: string | null;
  projectId: string | null;
  tags: readonly string[];
}

/** The value of `kind` for a subject (null: the request has none, e.g. a key without a project). */
export function subjectValue(kind: Exclude<ScopeKind, 'org' | 'tag'>, s: Subject): string | null {
  switch (kind) {
    case 'team':
      return s.teamId;
    case 'user':
      return s.userId;
    case 'project':
      return s.projectId;
    case 'key':
      return s.keyId;
  }
}

/**
 * Ledger keys of every scope value a request belongs to ("org", "team:platform", "tag:search"…): spend is booked
 * under each, so a budget defined later for any of them starts from the true spend of its window.
 */
export function subjectScopeKeys(s: Subject): string[] {
  const keys = ['org', `user:${s.userId}`, `key:${s.keyId}`];
  if (s.teamId !== null) keys.push(`team:${s.teamId}`);
  if (s.projectId !== null) keys.push(`project:${s.projectId}`);
  for (const t of s.tags) keys.push(`tag:${t}`);
  return keys;
}

/** The ledger key of one concrete scope value. */
export function scopeKey(kind: ScopeKind, value: string | null): string {
  return kind === 'org' ? 'org' : `${kind}:${value ?? ''}`;
}
