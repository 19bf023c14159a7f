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

/** What the command printed, without --json. */
async function runText(key: string, ...args: string[]): Promise<string> {
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
    await program.parseAsync(['node', 'goodhart', ...args, '--url', h.url, '--key', key]);
  } finally {
    spy.mockRestore();
  }
  return out;
}

async function run(key: string, ...args: string[]): Promise<any> {
  const out = await runText(key, ...args, '--json');
  return out.trim() === '' ? null : JSON.parse(out);
}

beforeAll(async () => {
  h = await startHarness({
    config: () => ({
      teams: [{ id: 'platform' }],
      users: [
        { id: 'alice', team: 'platform', role: 'member' },
        { id: 'lena', team: 'platform', role: 'lead' },
        { id: 'mia', team: 'platform', role: 'lead', name: 'Mia' },
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

  // Last: the audit log test above counts the changes before these.
  it('says what it set in a line, without --json', async () => {
    expect(await runText(ADMIN_KEY, 'budgets', 'set', 'org-tokens', '--scope', 'org', '--amount', '2000000', '--unit', 'tokens', '--period', 'day')).toBe(
      'Budget org-tokens set: org, 2,000,000 tokens a day; blocks at the cap; alerts at 50/80/100%. It applies at once.\n',
    );
    expect(await runText(ADMIN_KEY, 'budgets', 'set', 'platform-week', '--scope', 'team:platform', '--amount', '12.5', '--period', 'week', '--action', 'downgrade', '--downgrade-to', 'gpt-4o-mini')).toBe(
      'Budget platform-week set: team:platform, $12.50 a week; downgrades to gpt-4o-mini from 80%, blocks at 100%; alerts at 50/80/100%. It applies at once.\n',
    );
    expect(await runText(ADMIN_KEY, 'teams', 'set', 'data', '--name', 'Data science')).toBe('Saved team data: name Data science.\n');
    const [grant] = await run(ADMIN_KEY, 'access', 'grants');
    expect(await runText(ADMIN_KEY, 'access', 'revoke', grant.id)).toBe(`Revoked grant ${grant.id} (alice, premium).\n`);
  });
});

describe('set changes only the fields it is given', () => {
  it('keeps a declared person\'s team and role when their email is set, and --unset removes a field', async () => {
    expect(await runText(ADMIN_KEY, 'users', 'set', 'mia', '--email', 'mia@x.com')).toBe('Saved user mia: team platform, role lead, email mia@x.com.\n');
    const [mia] = (await run(ADMIN_KEY, 'users', 'list')).filter((u: { id: string }) => u.id === 'mia');
    expect(mia).toMatchObject({ source: 'admin', data: { id: 'mia', team: 'platform', role: 'lead', email: 'mia@x.com', name: 'Mia' } });
    const unset = await run(ADMIN_KEY, 'users', 'set', 'mia', '--unset', 'email,name');
    expect(unset.data).toEqual({ id: 'mia', team: 'platform', role: 'lead' });
    await expect(run(ADMIN_KEY, 'users', 'set', 'mia', '--unset', 'emial')).rejects.toThrow('--unset emial: no such field. Fields: team, role, email, name.');
    // A new one is made from the fields given.
    expect((await run(ADMIN_KEY, 'projects', 'set', 'checkout', '--team', 'platform')).data).toEqual({ id: 'checkout', team: 'platform' });
  });

  it('changes a budget\'s amount and keeps its action, thresholds and contact; needs scope and amount to create one', async () => {
    await run(ADMIN_KEY, 'budgets', 'set', 'declared', '--scope', 'team:platform', '--amount', '40', '--thresholds', '90', '--action', 'downgrade', '--downgrade-to', 'gpt-4o-mini', '--contact', '#ai-budget');
    const saved = await run(ADMIN_KEY, 'budgets', 'set', 'declared', '--amount', '80');
    expect(saved.data).toEqual({ id: 'declared', scope: 'team:platform', amount: 80, unit: 'usd', period: 'month', thresholds: [90], action: 'downgrade', downgradeAt: 80, downgradeTo: 'gpt-4o-mini', contact: '#ai-budget' });
    // Removing a field with a default brings the default back.
    expect((await run(ADMIN_KEY, 'budgets', 'set', 'declared', '--unset', 'thresholds,contact')).data).toMatchObject({ thresholds: [50, 80, 100], amount: 80 });
    expect((await run(ADMIN_KEY, 'budgets', 'list')).find((b: { id: string }) => b.id === 'declared').data.contact).toBeUndefined();
    await expect(run(ADMIN_KEY, 'budgets', 'set', 'fresh', '--amount', '5')).rejects.toThrow(/there is no budget "fresh" yet, so this creates one/);
  });
});

describe('delete', () => {
  it('says what it deleted with --json too', async () => {
    await run(ADMIN_KEY, 'budgets', 'set', 'gone', '--scope', 'org', '--amount', '1');
    expect(await run(ADMIN_KEY, 'budgets', 'delete', 'gone')).toEqual({ kind: 'budget', id: 'gone', deleted: true });
    await run(ADMIN_KEY, 'rate-limits', 'set', 'gone', '--scope', 'key:*', '--rpm', '5');
    expect(await run(ADMIN_KEY, 'rate-limits', 'delete', 'gone')).toEqual({ kind: 'rateLimit', id: 'gone', deleted: true });
    expect(await runText(ADMIN_KEY, 'budgets', 'delete', 'declared')).toBe('Deleted budget declared.\n');
  });
});
