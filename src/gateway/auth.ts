import type { IncomingHttpHeaders } from 'node:http';
import { GoodhartError } from '../errors.js';
import { hashKey } from '../keys/keys.js';
import type { KeyRecord, Store } from '../store/types.js';

/** The key a client sent: `Authorization: Bearer …` (OpenAI SDKs) or `x-api-key` (Anthropic SDKs, Claude Code). */
export function presentedKey(headers: IncomingHttpHeaders): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string' && auth.length > 7 && auth.slice(0, 7).toLowerCase() === 'bearer ') {
    return auth.slice(7).trim();
  }
  const x = headers['x-api-key'];
  return typeof x === 'string' && x.length > 0 ? x.trim() : undefined;
}

/**
 * The `x-api-key` sent beside a Bearer token, when they differ: Claude Code sends both when ANTHROPIC_AUTH_TOKEN and
 * ANTHROPIC_API_KEY are both set, and the Goodhart key may be either.
 */
function otherKey(headers: IncomingHttpHeaders, first: string): string | undefined {
  const x = headers['x-api-key'];
  const v = typeof x === 'string' ? x.trim() : '';
  return v.length > 0 && v !== first ? v : undefined;
}

/** Presented keys remembered with their record (at most this many), so a known key is not hashed on every request. */
const MAX_PRESENTED = 10_000;

/** A person's team in the directory (config `users:` and the admin API); undefined for someone it does not list with one. */
export type DirectoryTeam = (userId: string) => string | undefined;

/**
 * Keys held in memory so authentication is one Map lookup on the request path (a key seen before), or one hash and
 * one lookup. The store's keys version is polled (every `refreshMs`) so keys created or revoked by `goodhart keys …`
 * in another process take effect within that interval; an unknown key triggers at most one extra check per
 * `missCheckMs`, so a key created a moment ago works on first use while a flood of bad keys costs nothing.
 */

export class KeyCache {
  private byHash = new Map<string, KeyRecord>();
  /** Key → record for keys seen since the last change of the key set (cleared with it, so a revocation applies). */
  private byPresented = new Map<string, KeyRecord>();
  private version = -1;
  private timer: NodeJS.Timeout | undefined;
  private lastMissCheck = 0;
  private refreshing: Promise<void> | undefined;
  private teamOf: DirectoryTeam = () => undefined;
  /** Each key as booked to its person's current team, made once per record and team (the policy engine caches by record). */
  private readonly booked = new WeakMap<KeyRecord, KeyRecord>();

  constructor(
    private readonly store: Store,
    private readonly refreshMs = 2000,
    private readonly missCheckMs = 250,
  ) {}

  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => {
      this.refresh().catch(() => {
        /* the store is briefly busy; the next tick retries */
      });
    }, this.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      try {
        const v = await this.store.keysVersion();
        if (v === this.version) return;
        const next = new Map<string, KeyRecord>();
        for (const k of await this.store.listKeys()) if (k.revokedAt === null) next.set(k.hash, k);
        this.byHash = next;
        this.byPresented = new Map();
        this.version = v;
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  /**
   * Books usage to the person's team in the directory, whatever team the key was made with: a person moved to another
   * team books their new spend (and counts against budgets) there from the next request, with the key they have. The
   * key's own team counts only for people the directory does not list with a team. The directory is the one answer to
   * "whose team is this": approvals, the admin API and the dashboard already took it from there.
   */
  followDirectory(teamOf: DirectoryTeam): void {
    this.teamOf = teamOf;
  }

  private withTeam(k: KeyRecord): KeyRecord {
    const team = this.teamOf(k.userId);
    if (team === undefined || team === k.teamId) return k;
    const cached = this.booked.get(k);
    if (cached !== undefined && cached.teamId === team) return cached;
    const moved = { ...k, teamId: team };
    this.booked.set(k, moved);
    return moved;
  }

  /**
   * Resolves the caller's key or throws 401 with what to do. Synchronous when the key is known. The record's team is
   * the person's team now (followDirectory).
   */
  authenticate(headers: IncomingHttpHeaders): KeyRecord | Promise<KeyRecord> {
    const found = this.find(headers);
    return found instanceof Promise ? found.then((k) => this.withTeam(k)) : this.withTeam(found);
  }

  private find(headers: IncomingHttpHeaders): KeyRecord | Promise<KeyRecord> {
    const key = presentedKey(headers);
    if (key === undefined) {
      throw new GoodhartError(
        'unauthorized',
        401,
        'No Goodhart key was sent. Send it as `Authorization: Bearer gh_…` or `x-api-key: gh_…` (set OPENAI_API_KEY or ANTHROPIC_API_KEY to your Goodhart key); create one with `goodhart keys create --user YOU --team TEAM`.',
      );
    }
    const known = this.byPresented.get(key);
    if (known) return known;
    const hash = hashKey(key);
    const hit = this.byHash.get(hash);
    if (hit) {
      if (this.byPresented.size >= MAX_PRESENTED) this.byPresented.clear();
      this.byPresented.set(key, hit);
      return hit;
    }
    const other = otherKey(headers, key);
    const otherHash = other === undefined ? undefined : hashKey(other);
    const viaOther = otherHash === undefined ? undefined : this.byHash.get(otherHash);
    if (viaOther) return viaOther;
    const now = Date.now();
    if (now - this.lastMissCheck < this.missCheckMs) throw unknownKey(key);
    this.lastMissCheck = now;
    return this.refresh().then(() => {
      const found = this.byHash.get(hash) ?? (otherHash === undefined ? undefined : this.byHash.get(otherHash));
      if (!found) throw unknownKey(key);
      return found;
    });
  }
}

function unknownKey(key: string): GoodhartError {
  const looksProvider = key.startsWith('sk-');
  return new GoodhartError(
    'unauthorized',
    401,
    looksProvider
      ? 'This looks like a provider API key. Goodhart holds the provider keys itself; send your Goodhart key (gh_…) instead. Ask your Goodhart admin for one, or run `goodhart keys create`.'
      : 'Unknown or revoked Goodhart key. Check the key, or ask your Goodhart admin for a new one (`goodhart keys create --user YOU --team TEAM`).',
  );
}
