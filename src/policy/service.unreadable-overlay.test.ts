import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../config/schema.js';
import { PostgresGovernanceStore } from '../store/postgres/governance-store.js';
import { SqliteGovernanceStore } from '../store/sqlite/governance-store.js';
import { TEST_PG_URL, testSchemas } from '../testing/pg-schemas.js';
import { createPricer } from '../usage/pricing.js';
import { Directory } from './directory.js';
import { GovernanceEngine } from './engine.js';
import { GovernanceService, type Actor } from './service.js';
import type { EntityKind, GovernanceStore } from './store.js';

/**
 * A record the admin API stored that this version's schema refuses (a newer replica wrote it on the shared store, or
 * a field's validation was tightened since) is skipped at start and at every reload, with a warning that names it and
 * its fix: one admin record must not keep a gateway from starting. The config's entity of that id applies instead.
 */

const T0 = Date.parse('2026-12-01T10:00:00Z');
const ops: Actor = { id: 'admin-key:ops', userId: null, teamId: null, roleId: 'admin', permissions: new Set(['manage', 'budgets', 'approve', 'audit']) };
const config = configSchema.parse({
  teams: [{ id: 'platform' }],
  users: [{ id: 'alice', team: 'platform', role: 'member' }],
  budgets: [
    { id: 'platform-monthly', scope: 'team:platform', amount: 100, period: 'month' },
    { id: 'org-daily', scope: 'org', amount: 50, period: 'day' },
  ],
});

interface Fixture {
  /** A new store on the same governance tables (a restart, or another replica). */
  store(): Promise<GovernanceStore>;
  /** Overwrites a stored record's data as written by something other than this version. */
  corrupt(kind: EntityKind, id: string, data: string): Promise<void>;
  close(): Promise<void>;
}

async function start(store: GovernanceStore): Promise<{ service: GovernanceService; warnings: string[] }> {
  const warnings: string[] = [];
  const engine = new GovernanceEngine({ spec: new Directory(config).spec(), pricer: createPricer(), now: () => T0, reservationTtlMs: 600_000 });
  const service = await GovernanceService.open(config, store, engine, () => T0, undefined, (line) => warnings.push(line));
  return { service, warnings };
}

const amounts = (s: GovernanceService) => Object.fromEntries(s.engine.current().budgets.map((b) => [b.id, b.amount]));

function cases(open: () => Promise<Fixture>): void {
  it('start, skipping each stored record the schema refuses with a warning naming it and its fix; the config applies instead', async () => {
    const f = await open();
    const first = await start(await f.store());
    await first.service.patch(ops, 'user', 'alice', { role: 'lead' });
    await first.service.set(ops, 'team', 'infra', { name: 'Infra' });
    await first.service.patch(ops, 'budget', 'platform-monthly', { amount: 250 });
    await first.service.remove(ops, 'budget', 'org-daily');
    await f.corrupt('user', 'alice', JSON.stringify({ id: 'alice', team: 'platform', role: 'lead', pronouns: 'she' }));
    await f.corrupt('team', 'infra', JSON.stringify({ id: 'infra', name: 42 }));
    await f.corrupt('budget', 'platform-monthly', JSON.stringify({ id: 'platform-monthly', scope: 'team:platform', amount: 'lots', period: 'month' }));

    const { service, warnings } = await start(await f.store());
    // The config's alice and platform-monthly; no infra; org-daily stays deleted (a deletion is always read).
    expect(service.engine.current().users.get('alice')).toEqual({ role: 'member', team: 'platform' });
    expect(service.directoryNow().get('team', 'infra')).toBeUndefined();
    expect(amounts(service)).toEqual({ 'platform-monthly': 100 });
    expect(warnings).toHaveLength(3);
    const [budget, team, user] = warnings;
    expect(user).toBe(
      `goodhart: WARNING: skipped the admin API's user "alice" (stored 2026-12-01T10:00:00.000Z by admin-key:ops): this version does not accept it (Unrecognized key: "pronouns"). ` +
        'The config file\'s user "alice" applies instead. Fix: replace it (`goodhart users set alice …`, or PUT /admin/v1/users/alice), or forget it ' +
        '(`goodhart users reset alice`, or DELETE /admin/v1/users/alice/override); if a newer replica stored it, it applies where that version runs.',
    );
    expect(team).toContain('team "infra"');
    expect(team).toContain('(name: Invalid input: expected string, received number)');
    expect(team).toContain('No team "infra" is in force meanwhile.');
    expect(budget).toContain('(amount: Invalid input: expected number, received string)');
    expect(budget).toContain('`goodhart budgets set platform-monthly …`');

    // The fixes the warning names: a PATCH replaces the record (merging into what is in force), a reset forgets it.
    await service.patch(ops, 'user', 'alice', { role: 'senior' });
    await service.reset(ops, 'team', 'infra');
    await service.set(ops, 'budget', 'platform-monthly', { scope: 'team:platform', amount: 300, period: 'month' });
    const fixed = await start(await f.store());
    expect(fixed.warnings).toEqual([]);
    expect(fixed.service.engine.current().users.get('alice')).toEqual({ role: 'senior', team: 'platform' });
    expect(amounts(fixed.service)).toEqual({ 'platform-monthly': 300 });
    await f.close();
  });

  it('reload, skipping a record another replica stored that this one cannot read, warning once', async () => {
    const f = await open();
    const a = await start(await f.store());
    const b = await start(await f.store());
    await b.service.set(ops, 'role', 'reviewer', { tiers: [], permissions: ['approve'] });
    await b.service.set(ops, 'user', 'bob', { team: 'platform', role: 'reviewer' });
    await a.service.reload();
    expect(a.service.engine.current().users.get('bob')).toEqual({ role: 'reviewer', team: 'platform' });
    // A newer replica's role, with a field this version does not know; bob's role then exists nowhere here.
    await f.corrupt('role', 'reviewer', JSON.stringify({ id: 'reviewer', tiers: [], permissions: ['approve'], maxSeats: 3 }));
    await a.service.reload();
    await a.service.reload();
    expect(a.service.engine.current().users.get('bob')).toBeUndefined();
    expect(a.warnings.map((w) => w.slice(0, w.indexOf(' (stored')))).toEqual([
      `goodhart: WARNING: skipped the admin API's role "reviewer"`,
      `goodhart: WARNING: skipped the admin API's user "bob"`,
    ]);
    expect(a.warnings[1]).toContain('(role: no role "reviewer" is in force)');
    // A restart too.
    const c = await start(await f.store());
    expect(c.warnings).toHaveLength(2);
    await f.close();
  });
}

describe('stored records this version cannot read, SQLite', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'goodhart-unreadable-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  cases(async () => {
    const file = join(dir, `gov-${++n}.db`);
    const opened: GovernanceStore[] = [];
    return {
      async store() {
        const s = new SqliteGovernanceStore(file);
        opened.push(s);
        return s;
      },
      async corrupt(kind, id, data) {
        const db = new Database(file);
        db.prepare('UPDATE gov_overlay SET data = ? WHERE kind = ? AND id = ?').run(data, kind, id);
        db.close();
      },
      close: async () => void (await Promise.all(opened.map((s) => s.close()))),
    };
  });
});

describe('stored records this version cannot read, Postgres', () => {
  const pg = testSchemas('gh_unreadable');
  cases(async () => {
    const searchPath = await pg.fresh();
    const opened: GovernanceStore[] = [];
    return {
      async store() {
        const s = await PostgresGovernanceStore.open(TEST_PG_URL, { searchPath });
        opened.push(s);
        return s;
      },
      async corrupt(kind, id, data) {
        const sql = pg.admin();
        await sql`UPDATE ${sql(searchPath)}.gov_overlay SET data = ${data} WHERE kind = ${kind} AND id = ${id}`;
      },
      close: async () => void (await Promise.all(opened.map((s) => s.close()))),
    };
  });
});
