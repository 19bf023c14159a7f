import { Command } from 'commander';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerAccess } from '../cli/commands/access.js';
import { startHarness, type Harness } from '../testing/harness.js';

/**
 * Access requests as the people involved see them: what became of a grant (revoked, expired), the hours granted
 * rather than asked, a lead seeing and revoking the grants of their own team, and no request for what one has.
 */

const ADMIN_KEY = 'admin-secret-key-0123456789';
const HOUR = 3_600_000;
const clock = { t: Date.parse('2026-12-01T09:00:00Z') };
let h: Harness;
const keys: Record<string, string> = {};

async function cli(who: string, ...args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  registerAccess(program);
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  try {
    await program.parseAsync(['node', 'goodhart', ...args, '--url', h.url, '--key', keys[who]!]);
  } finally {
    spy.mockRestore();
  }
  return out;
}
const json = async (who: string, ...args: string[]): Promise<any> => JSON.parse(await cli(who, ...args, '--json'));

async function api(who: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${h.url}/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${keys[who]}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

beforeAll(async () => {
  h = await startHarness({
    now: () => clock.t,
    config: () => ({
      users: [
        { id: 'alice', team: 'platform', role: 'member' },
        { id: 'bob', team: 'platform', role: 'member' },
        { id: 'lena', team: 'platform', role: 'lead' },
        { id: 'otto', team: 'other', role: 'lead' },
      ],
      tiers: { economy: ['gpt-4o-mini*'], premium: ['gpt-5*', 'o3*'] },
      admin: { keys: [{ id: 'ops', key: ADMIN_KEY, role: 'admin' }] },
    }),
  });
  keys.alice = h.key;
  keys.bob = await h.addKey('bob');
  keys.lena = await h.addKey('lena');
  keys.otto = await h.addKey('otto', 'other');
  keys.admin = ADMIN_KEY;
});
afterAll(async () => {
  await h.close();
});

const ask = (who: string, body: object) => api(who, 'POST', '/access-requests', { justification: 'Evaluating gpt-5 for code review', ...body });

describe('access requests and grants, as people see them', () => {
  let alicesGrant = '';

  it('refuses to ask for what one has already: a tier of one’s role, a model one may use, a request pending', async () => {
    const lead = await ask('lena', { tier: 'premium' });
    expect([lead.status, lead.json.error.message]).toEqual([409, 'You already have premium: role "lead" includes it.']);
    expect((await ask('alice', { model: 'gpt-4o-mini' })).json.error.message).toBe('You can already use gpt-4o-mini: its tier "economy" is in role "member".');
    expect((await api('admin', 'POST', '/access-requests', { tier: 'economy', user: 'bob', justification: 'Evaluating gpt-5 for code review' })).json.error.message).toBe(
      'bob already has economy: role "member" includes it.',
    );
    expect((await ask('alice', { tier: 'premium', hours: 8 })).status).toBe(201);
    const twice = await ask('alice', { tier: 'premium' });
    expect([twice.status, twice.json.error.message]).toEqual([409, expect.stringMatching(/^You already asked for premium \(ar_[0-9a-f]{8}, pending since 2026-12-01T09:00:00\.000Z\)/)]);
  });

  it('shows the hours granted beside the hours asked, and the grant to the lead who approved it', async () => {
    const [request] = await json('lena', 'access', 'list', '--status', 'pending');
    await cli('lena', 'access', 'approve', request.id, '--hours', '4');
    const [listed] = await json('lena', 'access', 'list');
    expect(listed).toMatchObject({ status: 'approved', hours: 8, grant: { state: 'active', hours: 4, expiresAt: clock.t + 4 * HOUR, revokedBy: null } });
    const table = await cli('lena', 'access', 'list');
    expect(table).toMatch(/│ approved │ 8\s+│ 4 h, until 2026-12-01 13:00:00 │/);
    // A lead sees their team's grants (and revokes them, below); another team's lead does not.
    const grants = await json('lena', 'access', 'grants');
    expect(grants.map((g: any) => [g.userId, g.tier])).toEqual([['alice', 'premium']]);
    alicesGrant = grants[0].id;
    expect(await json('otto', 'access', 'grants')).toEqual([]);
    // And one who has a grant in force asks for nothing more of it.
    expect((await ask('alice', { tier: 'premium' })).json.error.message).toBe(`You already have premium until 2026-12-01T13:00:00.000Z (grant ${alicesGrant}).`);
    expect((await ask('alice', { model: 'o3-mini' })).json.error.message).toBe(`You can already use o3-mini: a grant covers it until 2026-12-01T13:00:00.000Z (grant ${alicesGrant}).`);
  });

  it('lets a lead revoke their own team’s grants only, and shows the request as revoked', async () => {
    const otto = await api('otto', 'POST', `/grants/${alicesGrant}/revoke`);
    expect([otto.status, otto.json.error.message]).toEqual([403, `Grant ${alicesGrant} is alice's, who is not on your team (other): a lead revokes their own team's grants, an admin anyone's.`]);
    expect((await api('bob', 'POST', `/grants/${alicesGrant}/revoke`)).json.error.message).toMatch(/^Revoking grants needs the "approve" permission \(your team's\) or "manage"/);
    clock.t += HOUR;
    expect(await cli('lena', 'access', 'revoke', alicesGrant)).toBe(`Revoked grant ${alicesGrant} (alice, premium).\n`);
    await expect(new OpenAI({ baseURL: `${h.url}/v1`, apiKey: keys.alice!, maxRetries: 0 }).chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: 'hi' }] })).rejects.toBeInstanceOf(
      OpenAI.PermissionDeniedError,
    );
    const [listed] = await json('alice', 'access', 'list');
    expect(listed).toMatchObject({ status: 'approved', grant: { state: 'revoked', hours: 4, expiresAt: clock.t, revokedBy: 'user:lena' } });
    expect(await cli('alice', 'access', 'list')).toMatch(/│ revoked │ 8\s+│ 4 h, revoked 2026-12-01 10:00:00 by user:lena │/);
  });

  it('shows a grant that ran out as expired', async () => {
    const asked = await ask('bob', { model: 'o3', hours: 2 });
    await api('admin', 'POST', `/access-requests/${asked.json.id}/approve`, {});
    clock.t += 2 * HOUR;
    const [listed] = await json('bob', 'access', 'list');
    expect(listed).toMatchObject({ status: 'approved', grant: { state: 'expired', hours: 2 } });
    expect(await cli('bob', 'access', 'list')).toMatch(/│ expired │ 2\s+│ 2 h, ended 2026-12-01 12:00:00 │/);
    // Expired: asking again is allowed.
    expect((await ask('bob', { model: 'o3' })).status).toBe(201);
  });
});
