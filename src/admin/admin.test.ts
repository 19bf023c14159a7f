import Database from 'better-sqlite3';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../testing/harness.js';

/**
 * Roles, tiers, access requests and the audit log, end to end: the official SDK for model calls, the admin API
 * over HTTP with people's own keys and an admin key, and an injected clock for grant expiry.
 */

const ADMIN_KEY = 'admin-secret-key-0123456789';
const clock = { t: Date.parse('2025-06-02T09:00:00Z') };
let h: Harness;
const keys: Record<string, string> = {};
const client = (who: string) => new OpenAI({ baseURL: `${h.url}/v1`, apiKey: keys[who]!, maxRetries: 0 });

async function api(who: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${h.url}/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${who === 'admin' ? ADMIN_KEY : keys[who]}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

const gpt5 = (who: string) => client(who).chat.completions.create({ model: 'gpt-5', max_tokens: 50, messages: [{ role: 'user', content: 'Plan it.' }] });

beforeAll(async () => {
  h = await startHarness({
    now: () => clock.t,
    config: () => ({
      teams: [{ id: 'platform' }, { id: 'other' }],
      users: [
        { id: 'alice', team: 'platform', role: 'member' },
        { id: 'lena', team: 'platform', role: 'lead' },
        { id: 'otto', team: 'other', role: 'lead' },
        { id: 'fiona', team: 'other', role: 'finance' },
      ],
      tiers: { economy: ['gpt-4o-mini'], premium: ['gpt-5', 'o3'] },
      admin: { keys: [{ id: 'ops', key: ADMIN_KEY, role: 'admin' }] },
    }),
  });
  keys.alice = h.key;
  keys.lena = await h.addKey('lena');
  keys.otto = await h.addKey('otto', 'other');
  keys.fiona = await h.addKey('fiona', 'other');
});
afterAll(async () => {
  await h.close();
});

describe('tiers, access requests and time-boxed grants', () => {
  let requestId = '';

  it('refuses a premium model to a member with a 403 that says how to ask', async () => {
    await expect(client('alice').chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })).resolves.toBeDefined();
    const err = (await gpt5('alice').catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(err.message).toContain('Model "gpt-5" is in the "premium" tier, which your role "member" does not include');
    expect(err.message).toContain('goodhart access request --tier premium');
    const events = await h.events();
    expect(events.find((e) => e.modelRequested === 'gpt-5')).toMatchObject({ status: 403, errorClass: 'model_not_allowed', costUsd: 0 });
  });

  it('lists a member only the models their role may use; a lead sees the premium tier too', async () => {
    const listed = async (who: string) => (await client(who).models.list()).data.map((m) => m.id);
    const member = await listed('alice');
    expect(member).toContain('gpt-4o-mini');
    expect(member).not.toContain('gpt-5');
    expect(member).not.toContain('o3');
    expect(await listed('lena')).toEqual(expect.arrayContaining(['gpt-4o-mini', 'gpt-5', 'o3']));
    // Untiered models stay listed (untieredModels: allow).
    expect(member.some((id) => id !== 'gpt-4o-mini' && id !== 'gpt-5' && id !== 'o3')).toBe(true);
    // Retrieving it answers as a request for it would: a 403 saying how to ask, not "not listed".
    const denied = await client('alice').models.retrieve('gpt-5').catch((err: unknown) => err);
    expect(denied).toBeInstanceOf(OpenAI.PermissionDeniedError);
    const chat = await gpt5('alice').catch((err: unknown) => err);
    expect(denied).toMatchObject({ status: 403, code: 'model_not_allowed', message: (chat as Error).message });
    expect((denied as Error).message).toMatch(/goodhart access request/);
    await expect(client('alice').models.retrieve('no-such-model')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('a member asks, with a justification', async () => {
    expect((await api('alice', 'POST', '/access-requests', { tier: 'premium', justification: 'short' })).status).toBe(400);
    const res = await api('alice', 'POST', '/access-requests', { tier: 'premium', justification: 'Benchmarking the new planner agent on gpt-5', hours: 24 });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({ userId: 'alice', teamId: 'platform', tier: 'premium', status: 'pending', hours: 24 });
    requestId = res.json.id;
  });

  it('only a lead of the same team, or an admin, may decide; never the requester', async () => {
    expect((await api('alice', 'POST', `/access-requests/${requestId}/approve`, {})).status).toBe(403);
    const otto = await api('otto', 'POST', `/access-requests/${requestId}/approve`, {});
    expect(otto.status).toBe(403);
    expect(otto.json.error.message).toContain('a lead decides for their own team only');
    const pending = await api('lena', 'GET', '/access-requests?status=pending');
    expect(pending.json.data.map((r: { id: string }) => r.id)).toEqual([requestId]);
    const ok = await api('lena', 'POST', `/access-requests/${requestId}/approve`, { note: 'for the benchmark only' });
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ status: 'approved', decidedBy: 'user:lena', note: 'for the benchmark only' });
    expect((await api('lena', 'POST', `/access-requests/${requestId}/deny`, {})).status).toBe(409);
  });

  it('the grant opens the tier at once, and closes by itself when it expires', async () => {
    await expect(gpt5('alice')).resolves.toMatchObject({ model: expect.stringMatching(/^gpt-5/) });
    expect((await client('alice').models.list()).data.map((m) => m.id)).toContain('gpt-5');
    const grants = await api('alice', 'GET', '/grants');
    expect(grants.json.data).toHaveLength(1);
    expect(grants.json.data[0]).toMatchObject({ userId: 'alice', tier: 'premium', expiresAt: clock.t + 24 * 3_600_000 });
    clock.t += 24 * 3_600_000 - 1;
    await expect(gpt5('alice')).resolves.toBeDefined();
    clock.t += 1;
    await expect(gpt5('alice')).rejects.toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((await api('alice', 'GET', '/grants')).json.data).toEqual([]);
  });
});

describe('admin API permissions and the audit log', () => {
  const budget = { scope: 'team:platform', amount: 100, period: 'month' };

  it('checks roles: a member cannot set budgets, an admin key can', async () => {
    const denied = await api('alice', 'PUT', '/budgets/platform-monthly', budget);
    expect(denied.status).toBe(403);
    expect(denied.json.error.message).toContain('needs the "budgets" permission');
    const me = await api('admin', 'GET', '/me');
    expect(me.json).toMatchObject({ actor: 'admin-key:ops', role: 'admin' });
    const set = await api('admin', 'PUT', '/budgets/platform-monthly', budget);
    expect(set.status).toBe(200);
    expect(set.json).toMatchObject({ kind: 'budget', id: 'platform-monthly', source: 'admin', data: { amount: 100, unit: 'usd', thresholds: [50, 80, 100] } });
    expect((await api('admin', 'PUT', '/budgets/platform-monthly', { ...budget, amount: 250 })).status).toBe(200);
    expect((await api('admin', 'PUT', '/budgets/bad', { ...budget, scope: 'galaxy:far' })).status).toBe(400);
    // The budget applies at once: the next response says where the team stands.
    const { response } = await client('alice').chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(response.headers.get('x-goodhart-budget')).toBe('platform-monthly; scope=team:platform; unit=usd');
    expect(Number(response.headers.get('x-goodhart-budget-remaining'))).toBeLessThan(250);
  });

  it('reads as it writes: a lead sees no directory, budget, budget status or grant of other teams', async () => {
    const status = async (who: string, path: string) => (await api(who, 'GET', path)).status;
    expect(await Promise.all(['/users', '/teams', '/budgets', '/status/budgets'].map((p) => status('lena', p)))).toEqual([403, 403, 403, 403]);
    expect((await api('lena', 'GET', '/status/budgets')).json.error.message).toContain('needs the "budgets" permission');
    // Alice's grant (approved above) is hers, her lead's (who may revoke it) and the admin's to see, not another team's lead's.
    const grantsOf = async (who: string) => ((await api(who, 'GET', '/grants?active=false')).json.data as { userId: string }[]).map((g) => g.userId);
    expect(await grantsOf('alice')).toEqual(['alice']);
    expect(await grantsOf('lena')).toEqual(['alice']);
    expect(await grantsOf('otto')).toEqual([]);
    expect(await grantsOf('admin')).toContain('alice');
    // Finance reads budgets and where they stand, and the grants (it reads the audit log), but not the directory.
    expect(await Promise.all(['/budgets', '/status/budgets', '/users'].map((p) => status('fiona', p)))).toEqual([200, 200, 403]);
    expect(await grantsOf('fiona')).toContain('alice');
    expect(await Promise.all(['/users', '/tiers'].map((p) => status('admin', p)))).toEqual([200, 200]);
    expect(await status('alice', '/tiers')).toBe(200);
  });

  it('records who changed what, when, with the before and after', async () => {
    expect((await api('lena', 'GET', '/audit-log')).status).toBe(403);
    const log = await api('admin', 'GET', '/audit-log');
    expect(log.status).toBe(200);
    const entries = log.json.data as { seq: number; actor: string; action: string; at: number; before: any; after: any; targetId: string }[];
    expect(entries.map((e) => e.action)).toEqual(['budget.set', 'budget.set', 'access.approve', 'access.request']);
    const [raise, create, approve, request] = entries;
    expect(create).toMatchObject({ actor: 'admin-key:ops', targetId: 'platform-monthly', before: null, after: { amount: 100 } });
    expect(raise).toMatchObject({ before: { amount: 100 }, after: { amount: 250 }, at: clock.t });
    expect(approve).toMatchObject({ actor: 'user:lena', before: { status: 'pending' }, after: { status: 'approved', grant: { tier: 'premium' } } });
    expect(request).toMatchObject({ actor: 'user:alice', before: null, after: { justification: 'Benchmarking the new planner agent on gpt-5' } });
  });

  it('cannot be edited or deleted: not through the API, not even in SQL', async () => {
    for (const [method, path] of [
      ['DELETE', '/audit-log'],
      ['PUT', '/audit-log'],
      ['PATCH', '/audit-log/1'],
      ['DELETE', '/audit-log/1'],
    ] as const) {
      const res = await api('admin', method, path, method === 'DELETE' ? undefined : { action: 'nothing happened' });
      expect(res.status).toBe(405);
      expect(res.json.error.message).toContain('append-only');
    }
    const db = new Database((h.store as unknown as { path: string }).path);
    try {
      expect(() => db.prepare("UPDATE gov_audit SET actor = 'someone-else'").run()).toThrow(/append-only/);
      expect(() => db.prepare('DELETE FROM gov_audit').run()).toThrow(/append-only/);
    } finally {
      db.close();
    }
    expect((await api('admin', 'GET', '/audit-log')).json.data).toHaveLength(4);
  });

  it('keys created and revoked through the API are audited without the key itself', async () => {
    const made = await api('admin', 'POST', '/keys', { user: 'alice', team: 'platform', name: 'ci' });
    expect(made.status).toBe(201);
    expect(made.json.key).toMatch(/^gh_/);
    await expect(new OpenAI({ baseURL: `${h.url}/v1`, apiKey: made.json.key, maxRetries: 0 }).models.list()).resolves.toBeDefined();
    expect((await api('admin', 'POST', `/keys/${made.json.id}/revoke`)).status).toBe(200);
    const log = (await api('admin', 'GET', '/audit-log?kind=key')).json.data;
    expect(log.map((e: { action: string }) => e.action)).toEqual(['key.revoke', 'key.create']);
    expect(JSON.stringify(log)).not.toContain(made.json.key);
    // since/until as epoch milliseconds or ISO 8601; anything else is refused saying both.
    const day = new Date(clock.t).toISOString().slice(0, 10);
    expect((await api('admin', 'GET', `/audit-log?kind=key&since=${day}`)).json.data).toEqual(log);
    expect((await api('admin', 'GET', `/audit-log?kind=key&since=${Date.parse(day)}`)).json.data).toEqual(log);
    expect((await api('admin', 'GET', `/audit-log?kind=key&until=${day}`)).json.data).toEqual([]);
    const bad = await api('admin', 'GET', '/audit-log?since=yesterday');
    expect([bad.status, bad.json.error.message]).toEqual([400, expect.stringContaining('"yesterday" is not a time: use epoch milliseconds (1796515200000) or ISO 8601 (2026-12-01, 2026-12-01T09:00:00Z)')]);
  });

  it('says what a refused call tried: listing keys is a read, not a change', async () => {
    const list = await api('alice', 'GET', '/keys');
    expect([list.status, list.json.error.message]).toEqual([403, 'Listing keys needs the "manage" permission, which role "member" does not have. Ask an admin.']);
    expect((await api('alice', 'POST', '/keys', { user: 'alice' })).json.error.message).toMatch(/^Creating keys needs the "manage" permission/);
    expect((await api('alice', 'PUT', '/budgets/x', budget)).json.error.message).toMatch(/^Changing budgets needs the "budgets" permission/);
  });
});

// Last: the changes it makes would show in the audit log the tests above read.
describe('downgrade models', () => {
  it('refuses a downgrade model no provider serves or without a price, in the admin API and in the config', async () => {
    const down = { scope: 'team:other', amount: 1, period: 'day', action: 'downgrade', downgradeAt: 80 };
    const unpriced = await api('admin', 'PUT', '/budgets/other-daily', { ...down, downgradeTo: 'gpt-4o-mini-fake' });
    expect(unpriced.status).toBe(400);
    expect(unpriced.json.error.message).toContain('budget "other-daily": downgradeTo: "gpt-4o-mini-fake" has no price, so this USD budget cannot account for the requests downgraded to it');
    const unserved = await api('admin', 'PUT', '/budgets/other-daily', { ...down, downgradeTo: { openai: 'llama-3-nowhere' } });
    expect(unserved.status).toBe(400);
    expect(unserved.json.error.message).toContain('budget "other-daily": downgradeTo.openai: no configured provider serves "llama-3-nowhere"');
    // A tier is checked through its first model; a token budget needs no price.
    expect((await api('admin', 'PUT', '/budgets/other-daily', { ...down, downgradeTo: 'economy' })).status).toBe(200);
    expect((await api('admin', 'PUT', '/budgets/other-tokens', { ...down, unit: 'tokens', amount: 100_000, downgradeTo: 'gpt-4o-mini-fake' })).status).toBe(200);
    expect((await api('admin', 'DELETE', '/budgets/other-daily')).status).toBe(204);
    expect((await api('admin', 'DELETE', '/budgets/other-tokens')).status).toBe(204);
    await expect(startHarness({ config: () => ({ budgets: [{ id: 'b', scope: 'org', amount: 1, action: 'downgrade', downgradeTo: 'gpt-4o-mini-fake' }] }) })).rejects.toThrow(
      /budget "b": downgradeTo: "gpt-4o-mini-fake" has no price/,
    );
  });
});

describe('PUT replaces an entity, PATCH changes the fields it gives', () => {
  it('keeps a declared person\'s team and role under PATCH, removes a field set to null; PUT sets the whole entity', async () => {
    const patched = await api('admin', 'PATCH', '/users/otto', { email: 'otto@x.com' });
    expect(patched.status).toBe(200);
    expect(patched.json).toMatchObject({ source: 'admin', data: { id: 'otto', team: 'other', role: 'lead', email: 'otto@x.com' } });
    expect((await api('admin', 'PATCH', '/users/otto', { email: null })).json.data).toEqual({ id: 'otto', team: 'other', role: 'lead' });
    const log = (await api('admin', 'GET', '/audit-log?target=otto')).json.data;
    expect(log[1]).toMatchObject({ action: 'user.set', before: { id: 'otto', team: 'other', role: 'lead' }, after: { email: 'otto@x.com', team: 'other' } });
    expect((await api('admin', 'PATCH', '/users/otto', ['email'])).status).toBe(400);
    expect((await api('admin', 'PUT', '/users/otto', { email: 'otto@x.com' })).json.data).toEqual({ id: 'otto', email: 'otto@x.com' });
    expect((await api('admin', 'PUT', '/users/otto', { team: 'other', role: 'lead' })).status).toBe(200);
  });

  it('refuses names and emails too long to be ones where it writes them', async () => {
    const name = await api('admin', 'PUT', '/teams/huge', { name: 'n'.repeat(1_000_000) });
    expect([name.status, name.json.error.message]).toEqual([400, 'Invalid team: ✖ Too big: expected string to have <=200 characters\n  → at name']);
    const email = await api('admin', 'PATCH', '/users/alice', { email: `${'e'.repeat(100_000)}@x.com` });
    expect([email.status, email.json.error.message]).toEqual([400, 'Invalid user: ✖ Too big: expected string to have <=320 characters\n  → at email']);
    expect((await api('admin', 'GET', '/teams/huge')).status).toBe(404);
  });

  it('refuses a __proto__ key by name, as PUT does, at the top and inside an object: never read as the entity\'s fields', async () => {
    const proto = await api('admin', 'PATCH', '/teams/other', JSON.parse('{"__proto__":{"name":"Owned"}}'));
    expect([proto.status, proto.json.error.message]).toEqual([400, 'Invalid team: ✖ Unrecognized key: "__proto__"']);
    expect((await api('admin', 'PUT', '/budgets/hb', { scope: 'team:other', amount: 10 })).status).toBe(200);
    const nested = await api('admin', 'PATCH', '/budgets/hb', JSON.parse('{"hybrid":{"__proto__":{"percentile":95}}}'));
    expect([nested.status, nested.json.error.message]).toEqual([400, expect.stringContaining('Unrecognized key: "__proto__"\n  → at hybrid')]);
    expect((await api('admin', 'GET', '/teams/other')).json.data).toEqual({ id: 'other' });
    expect((await api('admin', 'GET', '/budgets/hb')).json.data.hybrid).toBeUndefined();
    expect((await api('admin', 'DELETE', '/budgets/hb')).status).toBe(204);
  });
});

describe('admin changes are checked for what they name, as the config is', () => {
  const refused = async (method: string, path: string, body?: unknown) => {
    const res = await api('admin', method, path, body);
    return [res.status, res.json?.error?.message];
  };

  it('refuses a budget, rate limit, user, project or role naming what is not declared, with the one likely meant', async () => {
    expect(await refused('PUT', '/budgets/b2', { scope: 'team:platfrom', amount: 10 })).toEqual([
      400,
      'budget "b2": team "platfrom" is not declared, so this budget would never apply. Did you mean "platform"? Fix: use one of platform, other, or create it first (`goodhart teams set platfrom …`)',
    ]);
    expect(await refused('PUT', '/rate-limits/r2', { scope: 'user:alise', rpm: 5 })).toEqual([400, expect.stringMatching(/^rate limit "r2": user "alise" is not declared, so this rate limit would never apply\. Did you mean "alice"\?/)]);
    expect(await refused('PATCH', '/users/bob', { team: 'nope' })).toEqual([400, expect.stringMatching(/^user "bob": team "nope" is not declared\. Fix: use one of platform, other/)]);
    expect(await refused('PATCH', '/users/alice', { role: 'senoir' })).toEqual([400, expect.stringMatching(/^user "alice": role "senoir" is not declared\. Did you mean "senior"\?/)]);
    expect(await refused('PATCH', '/projects/p1', { team: 'nope' })).toEqual([400, expect.stringMatching(/^project "p1": team "nope" is not declared/)]);
    expect(await refused('PATCH', '/roles/member', { tiers: ['economy', 'nosuch'] })).toEqual([400, expect.stringMatching(/^role "member": tier "nosuch" is not declared\. Fix: use one of economy, premium, or create it first/)]);
    expect((await api('admin', 'GET', '/budgets')).json.data.map((b: { id: string }) => b.id)).not.toContain('b2');
  });

  it('refuses to delete a team, role or tier something still names (409), and says what', async () => {
    expect(await refused('DELETE', '/teams/other')).toEqual([409, 'Team "other" is in use: user "otto" (team), user "fiona" (team) name it. Fix: change or delete them first, e.g. `goodhart users set otto --team …`.']);
    expect(await refused('DELETE', '/roles/lead')).toEqual([409, expect.stringMatching(/^Role "lead" is in use: user "lena" \(role\), user "otto" \(role\) name it\./)]);
    expect((await api('admin', 'PUT', '/roles/reviewer', { tiers: ['premium'] })).status).toBe(200);
    expect(await refused('DELETE', '/tiers/premium')).toEqual([409, expect.stringMatching(/^Tier "premium" is in use: role "reviewer" \(tiers\) names it/)]);
    expect((await api('admin', 'DELETE', '/roles/reviewer')).status).toBe(204);
    // The config's admin key would be refused on every request.
    expect(await refused('DELETE', '/roles/admin')).toEqual([409, 'Role "admin" is in use: admin key "ops" (role) names it. Fix: change the role of admin key "ops" (admin.keys) in the config.']);
    expect(await api('admin', 'GET', '/teams/other')).toMatchObject({ status: 200 });
  });

  it('refuses a key for a user, team or project that is not declared, as `keys create` does', async () => {
    expect(await refused('POST', '/keys', { user: 'undeclared', team: 'no-such', project: 'no-such' })).toEqual([400, expect.stringMatching(/^User "undeclared" is not declared in the config or set through the admin API\. Use one of: alice, lena, otto, fiona/)]);
    expect(await refused('POST', '/keys', { user: 'alice', team: 'platfrom' })).toEqual([400, expect.stringMatching(/^Team "platfrom" is not declared .* Did you mean "platform"\?/)]);
    expect(await refused('POST', '/keys', { user: 'alice', team: 'other' })).toEqual([400, expect.stringMatching(/^The directory puts alice in team platform.* Leave out "team"/)]);
  });
});

describe('a wrong method on a path the admin API has', () => {
  it('answers 405 with the methods the path takes (Allow), not 404', async () => {
    const call = async (method: string, path: string) => {
      const res = await fetch(`${h.url}/admin/v1${path}`, { method, headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' }, ...(method === 'GET' ? {} : { body: '{}' }) });
      return [res.status, res.headers.get('allow'), ((await res.json()) as { error: { message: string } }).error.message];
    };
    expect(await call('POST', '/budgets/x')).toEqual([405, 'GET, PUT, PATCH, DELETE', 'POST is not allowed on /admin/v1/budgets/ID: it takes GET, PUT, PATCH, DELETE (README: Admin API and CLI).']);
    expect((await call('PUT', '/budgets')).slice(0, 2)).toEqual([405, 'GET']);
    expect((await call('DELETE', '/keys')).slice(0, 2)).toEqual([405, 'GET, POST']);
    expect((await call('GET', '/keys/k1/revoke')).slice(0, 2)).toEqual([405, 'POST']);
    expect((await call('PUT', '/status/budgets')).slice(0, 2)).toEqual([405, 'GET']);
    expect((await call('GET', '/no-such-thing'))[0]).toBe(404);
  });

  it('says what an id may contain', async () => {
    const rule = 'use letters, digits, "_", ".", "@" or "-", starting with a letter or digit (at most 128 characters).';
    expect(await api('admin', 'PUT', '/budgets/a%20b', { scope: 'org', amount: 1 })).toEqual({ status: 400, json: { error: expect.objectContaining({ message: `Invalid id "a b": ${rule}` }) } });
    expect((await api('admin', 'POST', '/access-requests/-x/approve', {})).json.error.message).toBe(`Invalid id "-x": ${rule}`);
  });
});
