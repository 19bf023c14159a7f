import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GoodhartError } from '../errors.js';
import { hashKey, newKey } from '../keys/keys.js';
import { openStore } from '../store/open.js';
import { DEFAULT_DEMO_DB } from './demo-db.js';
import { runDemo } from './demo.js';

const quiet = { port: 0, log: () => {}, initialRequests: 0, intervalMs: 0 };

describe('goodhart serve --demo', () => {
  it('runs offline: simulated provider, demo organisation, keys, and traffic that lands in the store', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'goodhart-demo-'));
    const lines: string[] = [];
    const db = join(dir, 'demo.db');
    const started = Date.now();
    const demo = await runDemo({ port: 0, db, log: (l) => lines.push(l), initialRequests: 20, intervalMs: 0 });
    try {
      expect(Object.keys(demo.keys)).toHaveLength(12);
      const banner = lines.join('\n');
      expect(banner).toContain(demo.url);
      expect(banner).toContain(demo.keys.ada);
      // Codex does not read OPENAI_BASE_URL: the banner must not say those variables are all it needs.
      expect(banner).not.toContain('(OpenAI SDKs, Codex)');
      expect(banner).toContain('Codex needs a config.toml entry');
      for (let i = 0; i < 100 && !lines.some((l) => l.startsWith('demo: sent 20')); i++) await new Promise((r) => setTimeout(r, 100));
    } finally {
      await demo.stop();
    }
    const store = await openStore(db);
    const events = await store.listEvents({ since: started });
    const byTeam = await store.aggregate('team', { since: started });
    await store.close();
    rmSync(dir, { recursive: true, force: true });
    expect(events).toHaveLength(20);
    // Nobody is refused: members send no premium model (their role's tiers), and the budgets have room.
    expect(events.every((e) => e.status === 200 && e.costUsd! > 0)).toBe(true);
    expect(new Set(events.map((e) => e.endpoint))).toEqual(new Set(['chat.completions', 'messages', 'responses', 'embeddings']));
    expect(byTeam.map((r) => r.key).sort()).toEqual(['payments', 'platform', 'research']);
  }, 30_000);

  it('shows the product on the dashboard: the keys it prints sign in, and each page has something to show', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'goodhart-demo-'));
    const lines: string[] = [];
    const demo = await runDemo({ port: 0, db: join(dir, 'demo.db'), log: (l) => lines.push(l), initialRequests: 0, intervalMs: 0 });
    try {
      const banner = lines.join('\n');
      // The dashboard's address, and a key for a member, her lead and an admin.
      expect(banner).toContain(`Dashboard: ${demo.url}/`);
      for (const key of [demo.keys.ada!, demo.keys.grace!, demo.adminKey]) expect(banner).toContain(key);
      const signIn = async (key: string) => {
        const res = await fetch(`${demo.url}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key }) });
        expect(res.status).toBe(200);
        return res.headers.get('set-cookie')!.split(';')[0]!;
      };
      const get = async (cookie: string, path: string) => {
        const res = await fetch(demo.url + path, { headers: { cookie } });
        return { status: res.status, body: (await res.json()) as Record<string, any> };
      };
      const [ada, grace, admin] = [await signIn(demo.keys.ada!), await signIn(demo.keys.grace!), await signIn(demo.adminKey)];
      // ada, a member: her team of four has its totals (the history: two weeks of everyone's usage).
      const team = await get(ada, '/api/teams/platform');
      expect([team.status, team.body['withheld'], team.body['spend']['totals']['costUsd'] > 1]).toEqual([200, null, true]);
      expect((await get(ada, '/api/users/me')).body['spend']['totals']['costUsd']).toBeGreaterThan(0.1);
      // grace, the lead: her team's people, and ada's request for the premium tier to decide.
      const lead = await get(grace, '/api/teams/platform');
      expect(lead.body['users'].map((u: { key: string }) => u.key).sort()).toEqual(['ada', 'alan', 'edsger', 'grace']);
      const access = await get(grace, '/api/access-requests');
      expect(access.body['data'].map((r: Record<string, unknown>) => [r['id'], r['userId'], r['tier'], r['status']])).toEqual([[demo.accessRequestId, 'ada', 'premium', 'pending']]);
      // The admin key: the organisation (403 for everyone before), and budgets: one on track, one near its soft cap.
      const org = await get(admin, '/api/org');
      expect([org.status, org.body['teams'].length]).toEqual([200, 3]);
      const budgets = (await get(admin, '/api/budgets')).body['data'] as { budget: string; usedPercent: number; thresholds?: number[] }[];
      const used = Object.fromEntries(budgets.map((b) => [b.budget, b.usedPercent]));
      expect(used['org-monthly']).toBeLessThan(50);
      expect(used['platform-pilot']).toBeGreaterThanOrEqual(75);
      expect(used['platform-pilot']).toBeLessThan(80);
      // A member meets the tier rule: premium answers 403 with how to ask.
      const opus = await fetch(`${demo.url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': demo.keys.ada!, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'claude-opus-4-1', max_tokens: 10, messages: [{ role: 'user', content: 'Hi' }] }),
      });
      expect([opus.status, ((await opus.json()) as { error: { message: string } }).error.message]).toEqual([403, expect.stringContaining('goodhart access request --tier premium')]);
      // Findings: live detection reads the history at start and finds john's rephrase loop of the last working day.
      let findings: { rule: string; userId: string }[] = [];
      for (let i = 0; i < 150 && findings.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        findings = (await get(admin, '/api/findings')).body['findings'] ?? [];
      }
      expect(findings.map((f) => [f.rule, f.userId])).toContainEqual(['rephrase-loop', 'john']);
    } finally {
      await demo.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 40_000);

  it('never deletes a store it did not make: an existing gateway database is refused and left as it was', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'goodhart-demo-'));
    const db = join(dir, 'prod.db');
    const made = newKey({ userId: 'ada', teamId: 'platform', name: 'real' });
    const store = await openStore(db);
    await store.createKey(made.record);
    await store.close();
    try {
      const err: unknown = await runDemo({ ...quiet, db }).then(
        async (demo) => {
          await demo.stop();
          return null;
        },
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(GoodhartError);
      expect((err as GoodhartError).code).toBe('config_invalid');
      expect((err as GoodhartError).message).toContain('not a database the demo made');
      const after = await openStore(db, { mustExist: true });
      const keys = await after.listKeys();
      await after.close();
      expect(keys.map((k) => k.id)).toEqual([made.record.id]);
      // A directory is refused as clearly (it was a raw EISDIR).
      const dirErr = await runDemo({ ...quiet, db: dir }).then(async (demo) => (await demo.stop(), null), (e: unknown) => e);
      expect([(dirErr as GoodhartError).code, (dirErr as GoodhartError).message]).toEqual(['config_invalid', expect.stringContaining('is a directory; --db names the demo')]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a Postgres URL, before connecting, without naming its password', async () => {
    const lines: string[] = [];
    const err: unknown = await runDemo({ ...quiet, log: (l) => lines.push(l), db: 'postgres://goodhart:s3cret-pw@127.0.0.1:1/prod' }).then(
      async (demo) => {
        await demo.stop();
        return null;
      },
      (e: unknown) => e,
    );
    expect((err as GoodhartError).code).toBe('config_invalid');
    expect((err as GoodhartError).message).toContain('deletes and recreates its database');
    expect((err as GoodhartError).message).not.toContain('s3cret-pw');
    expect(lines).toEqual([]);
  });

  it('starts afresh on a database it made: the last run\'s keys are gone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'goodhart-demo-'));
    const db = join(dir, 'my-demo.db');
    try {
      const first = await runDemo({ ...quiet, db });
      const oldKeys = Object.values(first.keys);
      await first.stop();
      const second = await runDemo({ ...quiet, db });
      await second.stop();
      const store = await openStore(db);
      const hashes = (await store.listKeys()).map((k) => k.hash);
      await store.close();
      expect(hashes.sort()).toEqual(Object.values(second.keys).map(hashKey).sort());
      expect(oldKeys.map(hashKey).filter((h) => hashes.includes(h))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it('a second demo on the same database fails without deleting it: port in use, or the file held by a running one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'goodhart-demo-'));
    const db = join(dir, 'demo.db');
    const port = await new Promise<number>((res) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => res(p));
      });
    });
    const started = Date.now();
    const first = await runDemo({ ...quiet, port, db });
    const keysOfFirst = async () => {
      const store = await openStore(db, { mustExist: true });
      const hashes = (await store.listKeys()).map((k) => k.hash);
      await store.close();
      return hashes.sort();
    };
    try {
      const mine = Object.values(first.keys).map(hashKey).sort();
      expect(await keysOfFirst()).toEqual(mine);
      // The same port: refused as listening would refuse it (the CLI words EADDRINUSE), before the reset.
      const portErr = await runDemo({ ...quiet, port, db }).then(async (d) => (await d.stop(), null), (e: unknown) => e);
      expect((portErr as NodeJS.ErrnoException).code).toBe('EADDRINUSE');
      expect(await keysOfFirst()).toEqual(mine);
      // Another port, the same file: the running demo holds it.
      const heldErr = await runDemo({ ...quiet, port: 0, db }).then(async (d) => (await d.stop(), null), (e: unknown) => e);
      expect(heldErr).toBeInstanceOf(GoodhartError);
      expect((heldErr as GoodhartError).message).toContain('is in use by another process');
      expect(await keysOfFirst()).toEqual(mine);
      // The first demo still stores what it serves.
      const res = await fetch(`${first.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${first.keys.ada}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello' }] }),
      });
      expect(res.status).toBe(200);
    } finally {
      await first.stop();
    }
    const store = await openStore(db, { mustExist: true });
    expect(await store.listEvents({ since: started, userId: 'ada' })).toHaveLength(1);
    await store.close();
    expect(existsSync(db)).toBe(true);
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('is introduced in the README with the warning that each start deletes its database', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const intro = readme.slice(readme.indexOf('npm run demo'), readme.indexOf('## Running it for real'));
    expect(intro.replace(/\s+/g, ' ')).toContain(`deletes and recreates its database, \`${DEFAULT_DEMO_DB.slice(2)}\``);
  });
});
