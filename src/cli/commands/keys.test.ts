import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { cliActor, createKey, registerKeys } from './keys.js';
import { loadConfigFile } from '../../config/load.js';
import { createGateway } from '../../gateway/server.js';
import { defaultDbPath, openStore } from '../../store/open.js';
import { SqliteGovernanceStore } from '../../store/sqlite/governance-store.js';

const dir = mkdtempSync(join(tmpdir(), 'goodhart-keys-'));
const db = join(dir, 'g.db');
const config = join(dir, 'goodhart.yaml');
writeFileSync(config, 'teams: [{ id: platform }, { id: data }]\nusers:\n  - { id: alice, team: platform }\n');
// The gateway's database, made as `serve` makes it: `keys create --db` refuses one that does not exist.
beforeAll(async () => (await openStore(db)).close());
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `goodhart keys …` as the CLI runs it (on `db`, unless the arguments name another); what it printed. */
async function keys(...args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  registerKeys(program);
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  try {
    await program.parseAsync(['node', 'goodhart', 'keys', ...args, ...(args.includes('--db') ? [] : ['--db', db]), '--config', config]);
  } finally {
    spy.mockRestore();
  }
  return out;
}

describe('goodhart keys', () => {
  it('refuses ids the config could not name, and a team other than the one the config puts the person in', async () => {
    await expect(createKey({ user: '', db, config })).rejects.toMatchObject({ message: expect.stringMatching(/^--user "": use letters, digits/) });
    await expect(createKey({ user: 'alice', team: 'the team', db, config })).rejects.toMatchObject({ message: expect.stringMatching(/^--team "the team"/) });
    // Her usage would be booked to platform whatever the key said (the gateway follows the directory).
    await expect(createKey({ user: 'alice', team: 'data', db, config })).rejects.toMatchObject({
      message: expect.stringMatching(/^The directory puts alice in team platform, .* Leave out --team, or move alice to data/),
    });
    expect((await createKey({ user: 'alice', team: 'platform', db, config })).record.teamId).toBe('platform');
    expect((await createKey({ user: 'alice', db, config })).record.teamId).toBe('platform');
  });

  it('refuses a team the config does not declare', async () => {
    await expect(createKey({ user: 'alice', team: 'nosuch', db, config })).rejects.toMatchObject({ message: expect.stringMatching(/^Team "nosuch" is not declared/) });
  });

  it('follows the directory its message names: after `goodhart users set bob --team data`, data is his team', async () => {
    const adminConfig = join(dir, 'admin.yaml');
    const ADMIN = 'admin-secret-key-0123456789';
    writeFileSync(adminConfig, `teams: [{ id: platform }, { id: data }]\nusers:\n  - { id: bob, team: platform, role: member }\nadmin:\n  keys: [{ id: ops, key: ${ADMIN}, role: admin }]\nproviders:\n  openai: { type: openai, baseUrl: "http://127.0.0.1:9/v1", apiKey: sk-x }\n`);
    const moved = join(dir, 'moved.db');
    const store = await openStore(moved);
    const gw = await createGateway({ config: loadConfigFile(adminConfig), store });
    // What `goodhart users set bob --team data` sends to the running gateway.
    const put = await gw.app.inject({ method: 'PUT', url: '/admin/v1/users/bob', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, payload: { id: 'bob', team: 'data', role: 'member' } });
    expect(put.statusCode, put.body).toBe(200);
    await gw.close();
    await store.close();
    expect((await createKey({ user: 'bob', team: 'data', db: moved, config: adminConfig })).record.teamId).toBe('data');
    expect((await createKey({ user: 'bob', db: moved, config: adminConfig })).record.teamId).toBe('data');
    await expect(createKey({ user: 'bob', team: 'platform', db: moved, config: adminConfig })).rejects.toMatchObject({ message: expect.stringMatching(/^The directory puts bob in team data,/) });
  });

  it('create refuses a database --db names that does not exist (a typo), unless --new-db; it says where the key went', async () => {
    const typo = join(dir, 'typo', 'g.db');
    await expect(keys('create', '--user', 'alice', '--db', typo)).rejects.toMatchObject({
      message: `No Goodhart database at ${typo}, and a key written to a new one would be refused by a gateway reading another (without --db, keys go to ${resolve(defaultDbPath())}). Check --db, or pass --new-db to create that database.`,
    });
    expect(existsSync(join(dir, 'typo'))).toBe(false);
    let err = '';
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
    try {
      expect(await keys('create', '--user', 'alice', '--db', typo, '--new-db')).toMatch(/^gh_/);
      expect(await keys('create', '--user', 'alice')).toMatch(/^gh_/);
    } finally {
      spy.mockRestore();
    }
    expect(err).toBe(`Stored in ${typo}.\nStored in ${db}.\n`);
    // The config's own database may be new: `keys create` before the first `serve`.
    const fresh = join(dir, 'fresh.yaml');
    writeFileSync(fresh, `db: ${join(dir, 'first', 'g.db')}\n`);
    expect((await createKey({ user: 'carol', config: fresh })).where).toBe(join(dir, 'first', 'g.db'));
  });

  it('list and revoke refuse a database that does not exist instead of creating an empty one', async () => {
    const typo = join(dir, 'typo.db');
    await expect(keys('list', '--db', typo)).rejects.toMatchObject({ message: expect.stringMatching(/^No Goodhart database at .*typo\.db/) });
    await expect(keys('revoke', 'abc', '--db', typo)).rejects.toMatchObject({ message: expect.stringMatching(/^No Goodhart database at .*typo\.db/) });
    expect(existsSync(typo)).toBe(false);
  });

  it('revokes by the whole key (a leaked one), by the prefix as listed, and says when it already was', async () => {
    const { key, record } = await createKey({ user: 'alice', db, config });
    expect(await keys('revoke', key)).toBe(`Revoked ${record.prefix}… (user alice).\n`);
    expect(await keys('revoke', `${record.prefix}…`)).toMatch(new RegExp(`^Key ${record.prefix}… \\(user alice\\) was already revoked on \\d{4}-`));
    const listed = await keys('list');
    expect(listed).not.toMatch(/\u001b\[/); // no colour codes in a pipe
    expect(listed).toContain(record.id);
  });

  it('writes keys created and revoked here to the audit log the admin API reads, by the OS user, without the key', async () => {
    const audited = join(dir, 'audited.db');
    const { key, record } = await createKey({ user: 'alice', name: 'laptop', db: audited, config, newDb: true });
    expect(await keys('revoke', record.id, '--db', audited)).toContain('Revoked');
    await keys('revoke', record.id, '--db', audited); // already revoked: nothing changes, nothing is recorded
    const gov = new SqliteGovernanceStore(audited);
    try {
      const log = await gov.listAudit({ targetKind: 'key' });
      expect(log.map((e) => [e.action, e.actor, e.targetId])).toEqual([
        ['key.revoke', cliActor(), record.id],
        ['key.create', cliActor(), record.id],
      ]);
      expect(log[1]).toMatchObject({ actorRole: 'cli', before: null, after: { user: 'alice', team: 'platform', name: 'laptop', revokedAt: null } });
      expect(log[0]).toMatchObject({ before: { revokedAt: null }, after: { revokedAt: expect.any(String) } });
      expect(JSON.stringify(log)).not.toContain(key);
    } finally {
      await gov.close();
    }
    expect(cliActor({ USER: 'jo' })).toMatch(/^cli:./);
  });
});
