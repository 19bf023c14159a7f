import Database from 'better-sqlite3';
import { Command } from 'commander';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerBudgets } from '../cli/commands/budgets.js';
import { registerDirectory } from '../cli/commands/directory.js';
import { overridesNotice } from '../cli/commands/serve.js';
import { configSchema, type GoodhartConfigInput } from '../config/schema.js';
import { Directory } from '../policy/directory.js';
import { GovernanceEngine } from '../policy/engine.js';
import { GovernanceService, type Actor } from '../policy/service.js';
import { SqliteGovernanceStore } from '../store/sqlite/governance-store.js';
import { startHarness, type Harness } from '../testing/harness.js';
import { createPricer } from '../usage/pricing.js';

/**
 * What the admin API set or deleted of a config file entity stays in force over the file, across restarts: serve
 * says so at start, naming each one and when, and `reset` hands an entity back to the file.
 */

const T0 = Date.parse('2026-12-01T10:00:00Z');
const ops: Actor = { id: 'admin-key:ops', userId: null, teamId: null, roleId: 'admin', permissions: new Set(['manage', 'budgets', 'approve', 'audit']) };
const alice: Actor = { id: 'user:alice', userId: 'alice', teamId: 'platform', roleId: 'member', permissions: new Set() };

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'goodhart-overrides-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A gateway start on the same governance tables, with the config file as it is now. */
async function start(file: string, cfg: Partial<GoodhartConfigInput>, t: number): Promise<{ service: GovernanceService; close(): Promise<void> }> {
  const config = configSchema.parse(cfg);
  const store = new SqliteGovernanceStore(file);
  const engine = new GovernanceEngine({ spec: new Directory(config).spec(), pricer: createPricer(), now: () => t, reservationTtlMs: 600_000 });
  const service = await GovernanceService.open(config, store, engine, () => t);
  return { service, close: () => store.close() };
}

const amounts = (s: GovernanceService) => Object.fromEntries(s.engine.current().budgets.map((b) => [b.id, b.amount]));

describe('entities the admin API stored', () => {
  it('load at start though longer than the API now takes (its bounds apply where it writes)', async () => {
    const file = join(dir, 'long.db');
    const first = await start(file, { teams: [{ id: 'platform' }] }, T0);
    await first.service.set(ops, 'user', 'lena', { team: 'platform', email: 'lena@x.com' });
    expect(() => first.service.set(ops, 'user', 'lena', { team: 'platform', email: `${'e'.repeat(400)}@x.com` })).toThrow(/Too big: expected string to have <=320 characters/);
    await first.close();
    // Stored as an older version took it.
    const db = new Database(file);
    db.prepare("UPDATE gov_overlay SET data = ? WHERE kind = 'user' AND id = 'lena'").run(JSON.stringify({ id: 'lena', team: 'platform', email: `${'e'.repeat(400)}@x.com` }));
    db.close();
    const second = await start(file, { teams: [{ id: 'platform' }] }, T0);
    expect(second.service.directoryNow().get('user', 'lena')?.data.email).toHaveLength(406);
    await second.close();
  });
});

describe('config entities changed through the admin API', () => {
  it('are named at start (what and when), and reset hands one back to the file, for good', async () => {
    const file = join(dir, 'gov.db');
    const fileV1 = {
      budgets: [
        { id: 'search-tag', scope: 'tag:search', amount: 0.5, period: 'week' as const },
        { id: 'checkout-proj', scope: 'project:checkout', amount: 0.2 },
        { id: 'org', scope: 'org', amount: 100 },
      ],
      teams: [{ id: 'platform' }],
    };
    const first = await start(file, fileV1, T0);
    expect(first.service.overrides()).toEqual([]);
    await first.service.set(ops, 'budget', 'checkout-proj', { scope: 'project:checkout', amount: 0.06 });
    await first.service.set(ops, 'budget', 'search-tag', { scope: 'tag:search', amount: 0.7, period: 'week' });
    await first.service.remove(ops, 'budget', 'search-tag');
    await first.service.set(ops, 'budget', 'api-only', { scope: 'team:platform', amount: 5 });
    await first.close();

    // The file is edited; the API's changes still win, and start-up says which and since when.
    const fileV2 = { ...fileV1, budgets: fileV1.budgets.map((b) => ({ ...b, amount: b.amount * 2 })) };
    const second = await start(file, fileV2, T0 + 3_600_000);
    expect(amounts(second.service)).toEqual({ 'checkout-proj': 0.06, org: 200, 'api-only': 5 });
    expect(second.service.overrides()).toEqual([
      { kind: 'budget', id: 'search-tag', change: 'deleted', updatedAt: T0, updatedBy: 'admin-key:ops' },
      { kind: 'budget', id: 'checkout-proj', change: 'set', updatedAt: T0, updatedBy: 'admin-key:ops' },
    ]);
    expect(overridesNotice(second.service.overrides(), 'goodhart.yaml')).toEqual([
      '  WARNING: the admin API changed 2 entities of goodhart.yaml; edits of them in the file are not read:',
      '    budget search-tag: deleted through the admin API 2026-12-01T10:00:00.000Z by admin-key:ops',
      '    budget checkout-proj: set through the admin API 2026-12-01T10:00:00.000Z by admin-key:ops',
      '  To hand one back to the file: `goodhart budgets reset search-tag` (DELETE /admin/v1/budgets/search-tag/override).',
    ]);

    // Handed back: the file's entity applies at once, audited.
    expect(() => second.service.reset(alice, 'budget', 'search-tag')).toThrow(/Changing budgets needs the "budgets" permission/);
    expect(await second.service.reset(ops, 'budget', 'search-tag')).toMatchObject({ id: 'search-tag', source: 'config', data: { amount: 1 } });
    expect(amounts(second.service)).toEqual({ 'search-tag': 1, 'checkout-proj': 0.06, org: 200, 'api-only': 5 });
    // An entity the file does not declare is gone; one the API never changed has nothing to reset.
    expect(await second.service.reset(ops, 'budget', 'api-only')).toBeNull();
    await expect(second.service.reset(ops, 'budget', 'org')).rejects.toThrow('The admin API has not changed budget "org": it is as the config file declares it.');
    const audit = await second.service.listAudit(ops, { targetKind: 'budget' });
    expect(audit.slice(0, 2).map((e) => [e.action, e.targetId, e.before, e.after])).toEqual([
      ['budget.reset', 'api-only', { id: 'api-only', scope: 'team:platform', amount: 5, unit: 'usd', period: 'month', thresholds: [50, 80, 100], action: 'block', downgradeAt: 80 }, null],
      ['budget.reset', 'search-tag', null, { id: 'search-tag', scope: 'tag:search', amount: 1, period: 'week', unit: 'usd', thresholds: [50, 80, 100], action: 'block', downgradeAt: 80 }],
    ]);
    await second.close();

    const third = await start(file, fileV2, T0 + 7_200_000);
    expect(amounts(third.service)).toEqual({ 'search-tag': 1, 'checkout-proj': 0.06, org: 200 });
    expect(third.service.overrides().map((o) => o.id)).toEqual(['checkout-proj']);
    await third.close();
  });
});

describe('reset through the admin API and the CLI', () => {
  const ADMIN_KEY = 'admin-secret-key-0123456789';
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      config: () => ({
        teams: [{ id: 'platform' }],
        budgets: [{ id: 'checkout-proj', scope: 'project:checkout', amount: 0.2 }],
        admin: { keys: [{ id: 'ops', key: ADMIN_KEY }] },
      }),
    });
  });
  afterAll(async () => {
    await h.close();
  });

  async function cli(...args: string[]): Promise<string> {
    const program = new Command().exitOverride();
    registerBudgets(program);
    registerDirectory(program);
    let out = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out += String(chunk);
      return true;
    });
    try {
      await program.parseAsync(['node', 'goodhart', ...args, '--url', h.url, '--key', ADMIN_KEY]);
    } finally {
      spy.mockRestore();
    }
    return out;
  }
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${h.url}/admin/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, json: await res.json().catch(() => null) };
  };

  it('DELETE …/override and `budgets reset` give the file its entity back', async () => {
    expect((await call('PUT', '/budgets/checkout-proj', { scope: 'project:checkout', amount: 0.06 })).status).toBe(200);
    const reset = await call('DELETE', '/budgets/checkout-proj/override');
    expect(reset).toMatchObject({ status: 200, json: { kind: 'budget', id: 'checkout-proj', inForce: { source: 'config', data: { amount: 0.2 } } } });
    expect((await call('DELETE', '/budgets/checkout-proj/override')).status).toBe(404);

    expect((await call('DELETE', '/budgets/checkout-proj')).status).toBe(204);
    expect(await cli('budgets', 'reset', 'checkout-proj')).toBe(
      'Budget checkout-proj is as the config file declares it again: project:checkout, $0.20 a month; blocks at the cap; alerts at 50/80/100%. It applies at once.\n',
    );
    expect((await call('GET', '/budgets/checkout-proj')).json).toMatchObject({ source: 'config', data: { amount: 0.2 } });

    expect((await call('DELETE', '/teams/platform')).status).toBe(204);
    expect(await cli('teams', 'reset', 'platform')).toBe('The team platform is as the config file declares it again.\n');
    expect((await call('GET', '/teams/platform')).json).toMatchObject({ source: 'config' });
  });
});
