import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerAccess } from '../cli/commands/access.js';
import { registerAudit } from '../cli/commands/audit.js';
import { registerBudgets } from '../cli/commands/budgets.js';
import { registerDirectory } from '../cli/commands/directory.js';
import { startHarness, type Harness } from '../testing/harness.js';

/** The governance CLI against a running gateway's admin API, as admin, lead and member; `--json` output. */

const ADMIN_KEY = 'admin-secret-key-0123456789';
let h: Harness;
let lena = '';

async function run(key: string, ...args: string[]): Promise<any> {
  const program = new Command().exitOverride();
  registerBudgets(program);
  registerAccess(program);
  registerDirectory(program);
  registerAudit(program);
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  try {
    await program.parseAsync(['node', 'goodhart', ...args, '--url', h.url, '--key', key, '--json']);
  } finally {
    spy.mockRestore();
  }
  return out.trim() === '' ? null : JSON.parse(out);
}

beforeAll(async () => {
  h = await startHarness({
    config: () => ({
      users: [
        { id: 'alice', team: 'platform', role: 'member' },
        { id: 'lena', team: 'platform', role: 'lead' },
      ],
      tiers: { economy: ['gpt-4o-mini'], premium: ['gpt-5'] },
      admin: { keys: [{ id: 'ops', key: ADMIN_KEY }] },
    }),
  });
  lena = await h.addKey('lena');
});
afterAll(async () => {
  await h.close();
});

describe('goodhart budgets, access, users, audit-log', () => {
  it('sets and lists budgets, and shows where they stand', async () => {
    const saved = await run(ADMIN_KEY, 'budgets', 'set', 'platform-month', '--scope', 'team:platform', '--amount', '50', '--thresholds', '50,90', '--contact', 'finance@example.com');
    expect(saved).toMatchObject({ id: 'platform-month', data: { scope: 'team:platform', amount: 50, thresholds: [50, 90], period: 'month', unit: 'usd' } });
    const listed = await run(ADMIN_KEY, 'budgets', 'list');
    expect(listed.map((b: { id: string }) => b.id)).toEqual(['platform-month']);
    await h.openai.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 10, messages: [{ role: 'user', content: 'hi [[sim:tokens=10]]' }] });
    const [status] = await run(ADMIN_KEY, 'budgets', 'status');
    expect(status).toMatchObject({ budget: 'platform-month', scope: 'team:platform', amount: 50, reserved: 0 });
    expect(status.spent).toBeGreaterThan(0);
    await expect(run(h.key, 'budgets', 'set', 'x', '--scope', 'org', '--amount', '1')).rejects.toThrow(/needs the "budgets" permission/);
  });

  it('asks for access as a member, approves as the lead', async () => {
    const asked = await run(h.key, 'access', 'request', '--tier', 'premium', '--justification', 'Evaluating gpt-5 for code review', '--hours', '8');
    expect(asked).toMatchObject({ userId: 'alice', tier: 'premium', status: 'pending', hours: 8 });
    const pending = await run(lena, 'access', 'list', '--status', 'pending');
    expect(pending.map((r: { id: string }) => r.id)).toEqual([asked.id]);
    const approved = await run(lena, 'access', 'approve', asked.id, '--note', 'ok for today');
    expect(approved).toMatchObject({ status: 'approved', decidedBy: 'user:lena', note: 'ok for today' });
    const grants = await run(h.key, 'access', 'grants');
    expect(grants).toHaveLength(1);
    await expect(h.openai.chat.completions.create({ model: 'gpt-5', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] })).resolves.toBeDefined();
  });

  it('changes a role, and the audit log shows it all', async () => {
    const user = await run(ADMIN_KEY, 'users', 'set', 'alice', '--team', 'platform', '--role', 'senior');
    expect(user).toMatchObject({ id: 'alice', source: 'admin', data: { role: 'senior' } });
    const log = await run(ADMIN_KEY, 'audit-log');
    expect(log.map((e: { action: string }) => e.action)).toEqual(['user.set', 'access.approve', 'access.request', 'budget.set']);
    expect(log[0]).toMatchObject({ actor: 'admin-key:ops', before: { role: 'member' }, after: { role: 'senior' } });
    const onlyUsers = await run(ADMIN_KEY, 'audit-log', '--kind', 'user');
    expect(onlyUsers).toHaveLength(1);
  });
});
