import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from '../gateway/server.js';
import { newKey } from '../keys/keys.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { outcomeIds } from './ids.js';
import { testConfig } from './testing.js';
import { signGithub } from './webhooks/verify.js';

/**
 * The receivers through the real gateway (fastify in-process, SQLite): payloads in GitHub's and GitLab's
 * documented shapes (fixtures/), signed as GitHub signs them, and forged ones refused.
 */
const GH_SECRET = 'gh-webhook-secret-0123456789abcdef';
const GL_TOKEN = 'gl-webhook-token-0123456789abcdef';
const fixture = (name: string): Buffer => readFileSync(new URL(`./webhooks/fixtures/${name}`, import.meta.url));

const config = testConfig({
  users: [{ id: 'ann', team: 'core' }, { id: 'bob', team: 'core' }, { id: 'dana', team: 'api' }, { id: 'ci-bot' }],
  outcomes: {
    people: [
      { user: 'ann', emails: ['ann@acme.com'], logins: ['ann-gh'] },
      { user: 'bob', logins: ['bob-gh'] },
      { user: 'dana', emails: ['dana@acme.com'] },
    ],
    trustedPosters: ['ci-bot'],
    webhooks: { github: { secrets: ['an-older-secret-being-rotated-out', GH_SECRET] }, gitlab: { tokens: [GL_TOKEN] } },
  },
});

describe('outcome receivers', () => {
  let store: SqliteStore;
  let gateway: Gateway;
  let annKey: string;
  let botKey: string;

  beforeAll(async () => {
    store = new SqliteStore(':memory:');
    gateway = await createGateway({ config, store, now: () => Date.parse('2026-03-11T00:00:00Z') });
    const ann = newKey({ userId: 'ann', teamId: 'core', projectId: null });
    const bot = newKey({ userId: 'ci-bot', teamId: null, projectId: null });
    await store.createKey(ann.record);
    await store.createKey(bot.record);
    await gateway.keys.refresh();
    annKey = ann.key;
    botKey = bot.key;
  });

  afterAll(async () => {
    await gateway.close();
    await store.close();
  });

  const github = (event: string, body: Buffer, signature = signGithub(body, GH_SECRET), contentType = 'application/json') =>
    gateway.app.inject({
      method: 'POST',
      url: '/v1/outcomes/github',
      headers: { 'content-type': contentType, 'x-github-event': event, 'x-github-delivery': 'd-1', 'x-hub-signature-256': signature },
      payload: body,
    });

  it('records a merged pull request from a signed GitHub delivery, once', async () => {
    const body = fixture('github-pull_request-closed.json');
    const res = await github('pull_request', body);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ received: 1, inserted: 1 });
    expect((await github('pull_request', body)).json()).toEqual({ received: 1, inserted: 0 });
    const [pr] = await store.listOutcomes({ kind: 'pull_request_merged' });
    expect(pr).toMatchObject({
      id: outcomeIds.pullRequest('github.com/acme/app', 42), userId: 'ann', teamId: 'core', repo: 'github.com/acme/app', projectId: 'app',
      source: 'github', at: Date.parse('2026-03-10T16:03:10Z'), branch: 'feature/proj-123-rate-limit', prNumber: 42,
      sha: '9f1c2a7e4b6d8f0a1c3e5b7d9f1a3c5e7b9d1f3a', linesAdded: 120, linesRemoved: 14, filesChanged: 5, aiCoAuthored: true, aiTools: ['claude'],
    });
    expect(pr?.tickets?.sort()).toEqual(['PROJ-123', 'github.com/acme/app#17']);
  });

  it('refuses forged, missing and replayed-with-another-body signatures (401), storing nothing', async () => {
    const body = fixture('github-pull_request-closed.json');
    const forged = Buffer.from(body.toString('utf8').replace('"number": 42', '"number": 43'));
    const cases = [
      await github('pull_request', forged, signGithub(forged, 'not-the-secret-at-all-0000')),
      await github('pull_request', forged, signGithub(body, GH_SECRET)),
      await github('pull_request', forged, ''),
      await github('pull_request', forged, 'sha1=' + 'a'.repeat(40)),
    ];
    for (const res of cases) {
      expect(res.statusCode).toBe(401);
      expect(res.json().error.message).toMatch(/X-Hub-Signature-256/);
    }
    expect(await store.listOutcomes({ kind: 'pull_request_merged' })).toHaveLength(1);
  });

  it('records commits pushed to the default branch, successful deployments and completed issues; ignores the rest', async () => {
    // The fixture pushes to a feature branch: its commits count when they reach main (a force push or a rebase
    // would replace them first).
    expect((await github('push', fixture('github-push.json'))).json()).toEqual({ received: 0, inserted: 0, ignored: 'push to feature/proj-123-rate-limit: commits count when they reach the default branch (main)' });
    const toMain = JSON.parse(fixture('github-push.json').toString('utf8')) as { ref: string };
    toMain.ref = 'refs/heads/main';
    expect((await github('push', Buffer.from(JSON.stringify(toMain)))).json()).toEqual({ received: 2, inserted: 2 });
    const commits = await store.listOutcomes({ kind: 'commit' });
    expect(commits.map((c) => [c.sha?.slice(0, 7), c.at, c.branch, c.filesChanged, c.aiCoAuthored, c.userId])).toEqual([
      ['3c5e7b9', Date.parse('2026-03-09T09:15:00Z'), 'main', 3, true, 'ann'],
      ['5e7b9d1', Date.parse('2026-03-09T10:40:00Z'), 'main', 1, false, 'ann'],
    ]);
    expect((await github('deployment_status', fixture('github-deployment_status.json'))).json()).toEqual({ received: 1, inserted: 1 });
    expect((await store.listOutcomes({ kind: 'deployment' }))[0]).toMatchObject({ userId: 'bob', attrs: { environment: 'production' }, sha: '9f1c2a7e4b6d8f0a1c3e5b7d9f1a3c5e7b9d1f3a' });
    expect((await github('issues', fixture('github-issues-closed.json'))).json()).toEqual({ received: 1, inserted: 1 });
    expect((await store.listOutcomes({ kind: 'ticket_closed' }))[0]).toMatchObject({ userId: 'ann', tickets: ['github.com/acme/app#17'] });
    // Closed as a duplicate, or not planned: nothing shipped.
    for (const reason of ['duplicate', 'not_planned']) {
      const issue = JSON.parse(fixture('github-issues-closed.json').toString('utf8')) as { issue: { number: number; state_reason?: string } };
      issue.issue.number = reason === 'duplicate' ? 18 : 19;
      issue.issue.state_reason = reason;
      expect((await github('issues', Buffer.from(JSON.stringify(issue)))).json()).toMatchObject({ received: 0, inserted: 0, ignored: `issue closed (${reason})` });
    }
    const ping = Buffer.from(JSON.stringify({ zen: 'Keep it logically awesome.', hook_id: 1 }));
    expect((await github('ping', ping)).json()).toEqual({ received: 0, inserted: 0, ignored: 'event ping' });
  });

  it('books a commit whose date no store keeps (git takes any: year 3000, year -1000) at the delivery, not then', async () => {
    const push = JSON.parse(fixture('github-push.json').toString('utf8')) as { ref: string; commits: { id: string; timestamp: string }[] };
    push.ref = 'refs/heads/main';
    push.commits.forEach((c, i) => {
      c.id = `${i === 0 ? 'f' : 'e'}${c.id.slice(1)}`;
      c.timestamp = i === 0 ? '3000-01-01T00:00:00Z' : '-001000-01-01T00:00:00Z';
    });
    expect((await github('push', Buffer.from(JSON.stringify(push)))).json()).toEqual({ received: 2, inserted: 2 });
    const at = (await store.listOutcomes({ kind: 'commit' })).filter((c) => c.sha?.startsWith('f') || c.sha?.startsWith('e')).map((c) => c.at);
    expect(at).toEqual([Date.parse('2026-03-11T00:00:00Z'), Date.parse('2026-03-11T00:00:00Z')]);
  });

  it('accepts GitHub\'s form-encoded deliveries', async () => {
    const json = JSON.parse(fixture('github-pull_request-closed.json').toString('utf8')) as { number: number; pull_request: { number: number } };
    json.number = 44;
    json.pull_request.number = 44;
    const body = Buffer.from(`payload=${encodeURIComponent(JSON.stringify(json))}`);
    const res = await github('pull_request', body, signGithub(body, GH_SECRET), 'application/x-www-form-urlencoded');
    expect(res.json()).toEqual({ received: 1, inserted: 1 });
  });

  it('records a merged GitLab merge request with the right token, refuses a wrong one', async () => {
    const body = fixture('gitlab-merge_request-merge.json');
    const send = (token: string, payload: Buffer | string = body) =>
      gateway.app.inject({ method: 'POST', url: '/v1/outcomes/gitlab', headers: { 'content-type': 'application/json', 'x-gitlab-event': 'Merge Request Hook', 'x-gitlab-token': token }, payload });
    expect((await send('wrong-token-0123456789abcdef')).statusCode).toBe(401);
    expect((await send('')).statusCode).toBe(401);
    const res = await send(GL_TOKEN);
    expect(res.json()).toEqual({ received: 1, inserted: 1 });
    const mr = (await store.listOutcomes({ source: 'gitlab' }))[0];
    expect(mr).toMatchObject({
      kind: 'pull_request_merged', repo: 'gitlab.com/acme/platform/api', prNumber: 12, branch: 'eng-7-pagination', userId: 'dana', teamId: 'api',
      at: Date.parse('2026-03-10T15:20:02Z'), sha: 'b6d8f0a1c3e5b7d9f1a3c5e7b9d1f3a9f1c2a7e4',
    });
    expect(mr?.tickets?.sort()).toEqual(['ENG-7', 'gitlab.com/acme/platform/api#31']);
    // Some GitLab hooks write times as `2026-03-10 16:20:02 +0100`: read, not replaced by the time of arrival.
    const json = JSON.parse(body.toString('utf8')) as { object_attributes: { iid: number; updated_at: string } };
    json.object_attributes.iid = 13;
    json.object_attributes.updated_at = '2026-03-10 16:20:02 +0100';
    expect((await send(GL_TOKEN, JSON.stringify(json))).json()).toEqual({ received: 1, inserted: 1 });
    expect((await store.listOutcomes({ source: 'gitlab' })).find((o) => o.prNumber === 13)?.at).toBe(Date.parse('2026-03-10T15:20:02Z'));
  });

  describe('POST /v1/outcomes', () => {
    const post = (body: unknown, key?: string) =>
      gateway.app.inject({ method: 'POST', url: '/v1/outcomes', headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) }, payload: JSON.stringify(body) });

    it('needs a Goodhart key', async () => {
      expect((await post({ kind: 'ticket_closed', ticket: 'PROJ-1' })).statusCode).toBe(401);
    });

    it('explains what is wrong with a body (400)', async () => {
      const res = await post({ kind: 'commit', repo: 'github.com/acme/app' }, annKey);
      expect(res.statusCode).toBe(400);
      expect(res.json().error.message).toBe('Invalid outcome: (body): a commit needs repo and sha. See README "Outcomes" for the fields.');
      const bad = await post({ outcomes: [{ kind: 'custom', externalId: 'x' }, { kind: 'shipped', at: 'yesterday' }] }, annKey);
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error.message).toMatch(/outcomes\.1\.kind: .*outcomes\.1\.at/);
      // Times no outcome has: epoch seconds sent as milliseconds (January 1970), microseconds, the year 3000.
      const seconds = await post({ kind: 'custom', externalId: 'secs', at: 1796534218 }, annKey);
      expect([seconds.statusCode, seconds.json().error.message]).toEqual([400, expect.stringContaining('at: 1796534218 as epoch milliseconds is before 2000 (it looks like epoch seconds: multiply by 1000); send a time from 2000 to 2099')]);
      expect((await post({ kind: 'custom', externalId: 'micros', at: 1796534218000000 }, annKey)).json().error.message).toContain('(it looks like epoch microseconds: divide by 1000)');
      expect((await post({ kind: 'custom', externalId: 'y3000', at: '3000-01-01T00:00:00Z' }, annKey)).json().error.message).toContain('at: 3000-01-01T00:00:00Z is after 2099;');
      expect(await store.listOutcomes({ kind: 'custom' })).toEqual([]);
    });

    it('records for the key owner; only trusted posters record for others', async () => {
      const res = await post({ kind: 'ticket_closed', ticket: 'PROJ-9', at: '2026-03-10T12:00:00Z' }, annKey);
      expect(res.json()).toEqual({ received: 1, inserted: 1 });
      expect((await store.listOutcomes({ source: 'api' }))[0]).toMatchObject({ userId: 'ann', teamId: 'core', tickets: ['PROJ-9'], attrs: { postedBy: 'ann' } });
      const forOthers = await post({ kind: 'ticket_closed', ticket: 'PROJ-10', user: 'bob' }, annKey);
      expect(forOthers.statusCode).toBe(403);
      expect(forOthers.json().error.message).toMatch(/trustedPosters/);
      const batch = await post({ outcomes: [{ kind: 'ticket_closed', ticket: 'PROJ-10', user: 'bob' }, { kind: 'custom', externalId: 'design-doc-4', user: 'dana', count: 2 }] }, botKey);
      expect(batch.json()).toEqual({ received: 2, inserted: 2 });
      const custom = (await store.listOutcomes({ kind: 'custom' }))[0];
      expect(custom).toMatchObject({ userId: 'dana', teamId: 'api', count: 2, attrs: { postedBy: 'ci-bot' } });
    });

    it("cannot book another team's outcomes, or name another author, without being a trusted poster", async () => {
      const otherTeam = await post({ kind: 'custom', externalId: 'x-1', team: 'api', count: 1000 }, annKey);
      expect([otherTeam.statusCode, otherTeam.json().error.message]).toEqual([403, expect.stringMatching(/^outcomes\[0\]\.team: your key may record outcomes only for your own team \(core\)/)]);
      expect((await post({ kind: 'custom', externalId: 'x-2', team: 'core', count: 1 }, annKey)).statusCode).toBe(200);
      // An author in the attributes would re-attribute it in reports: dropped from an untrusted post.
      await post({ kind: 'custom', externalId: 'x-3', count: 500, attrs: { authorEmail: 'dana@acme.com', note: 'kept' } }, annKey);
      const mine = (await store.listOutcomes({ kind: 'custom' })).find((o) => o.id.endsWith('x-3') || JSON.stringify(o.attrs).includes('kept'));
      expect(mine?.attrs).toEqual({ note: 'kept', postedBy: 'ann' });
    });

    it("a signed webhook delivery replaces an API post's claim of the same pull request", async () => {
      // Ann claims PR 43 through the API before GitHub's delivery of it, by bob, arrives.
      await post({ kind: 'pull_request_merged', repo: 'https://github.com/acme/app', prNumber: 43 }, annKey);
      const pr = JSON.parse(fixture('github-pull_request-closed.json').toString('utf8')) as { number: number; pull_request: { number: number; user: { login: string } } };
      pr.number = 43;
      pr.pull_request.number = 43;
      pr.pull_request.user.login = 'bob-gh';
      expect((await github('pull_request', Buffer.from(JSON.stringify(pr)))).json()).toEqual({ received: 1, inserted: 1 });
      const stored = (await store.listOutcomes({ kind: 'pull_request_merged' })).find((o) => o.prNumber === 43);
      expect([stored?.userId, stored?.source]).toEqual(['bob', 'github']);
      // And an API post after it changes nothing.
      expect((await post({ kind: 'pull_request_merged', repo: 'https://github.com/acme/app', prNumber: 43 }, annKey)).json()).toEqual({ received: 1, inserted: 0 });
      expect((await store.listOutcomes({ kind: 'pull_request_merged' })).find((o) => o.prNumber === 43)?.userId).toBe('bob');
    });

    it('reads a compressed body as the gateway does, and says which encodings it reads', async () => {
      const send = (encoding: string, payload: Buffer) =>
        gateway.app.inject({ method: 'POST', url: '/v1/outcomes', headers: { 'content-type': 'application/json', 'content-encoding': encoding, authorization: `Bearer ${annKey}` }, payload });
      const body = Buffer.from(JSON.stringify({ kind: 'custom', externalId: 'gzipped-1' }));
      expect((await send('gzip', gzipSync(body))).json()).toEqual({ received: 1, inserted: 1 });
      const zstd = await send('zstd', body);
      expect([zstd.statusCode, zstd.json().error.message]).toEqual([415, 'Content-Encoding "zstd" is not supported: send the body uncompressed, or gzip, deflate or br.']);
      const bomb = await send('gzip', gzipSync(Buffer.alloc(40 * 1024 * 1024, 32)));
      expect([bomb.statusCode, bomb.json().error.code]).toEqual([413, 'request_too_large']);
      // A GitHub delivery signed over its payload, sent compressed.
      const pr = fixture('github-pull_request-closed.json');
      const res = await gateway.app.inject({
        method: 'POST',
        url: '/v1/outcomes/github',
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', 'x-github-event': 'pull_request', 'x-github-delivery': 'd-gz', 'x-hub-signature-256': signGithub(pr, GH_SECRET) },
        payload: gzipSync(pr),
      });
      expect(res.statusCode).toBe(200);
    });
  });

  describe('POST /v1/outcomes: who wins an outcome claimed twice', () => {
    const post = (body: unknown, key: string, g = gateway) =>
      g.app.inject({ method: 'POST', url: '/v1/outcomes', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, payload: JSON.stringify(body) });
    const ticket = async (id: string) => (await store.listOutcomes({ kind: 'ticket_closed' })).find((o) => o.tickets?.includes(id));

    it("a trusted poster's closure replaces an ordinary key's earlier claim of the ticket, which cannot win it back", async () => {
      expect((await post({ outcomes: [{ kind: 'ticket_closed', ticket: 'ENG-4242' }] }, annKey)).json()).toEqual({ received: 1, inserted: 1 });
      expect((await post({ kind: 'ticket_closed', ticket: 'ENG-4242', user: 'bob' }, botKey)).json()).toEqual({ received: 1, inserted: 1 });
      expect(await ticket('ENG-4242')).toMatchObject({ userId: 'bob', source: 'api-trusted', attrs: { postedBy: 'ci-bot' } });
      expect((await post({ kind: 'ticket_closed', ticket: 'ENG-4242' }, annKey)).json()).toEqual({ received: 1, inserted: 0 });
      expect((await ticket('ENG-4242'))?.userId).toBe('bob');
    });

    it('the same for a deployment', async () => {
      const deployment = { kind: 'deployment', repo: 'github.com/acme/app', externalId: 'deploy-77' };
      await post(deployment, annKey);
      expect((await post({ ...deployment, user: 'dana' }, botKey)).json()).toEqual({ received: 1, inserted: 1 });
      const stored = (await store.listOutcomes({ kind: 'deployment' })).find((o) => o.id === outcomeIds.deployment('github.com/acme/app', 'deploy-77'));
      expect([stored?.userId, stored?.source]).toEqual(['dana', 'api-trusted']);
    });

    it('with outcomes.selfReported off, an ordinary key posts only custom outcomes', async () => {
      const strict = await createGateway({ config: testConfig({ ...config, outcomes: { ...config.outcomes, selfReported: false } }), store });
      await strict.keys.refresh();
      const res = await post({ kind: 'ticket_closed', ticket: 'ENG-5000' }, annKey, strict);
      expect([res.statusCode, res.json().error.message]).toEqual([403, expect.stringMatching(/^outcomes\[0\]\.kind: here only trusted posters/)]);
      expect((await post({ kind: 'custom', externalId: 'talk-1' }, annKey, strict)).json()).toEqual({ received: 1, inserted: 1 });
      expect((await post({ kind: 'ticket_closed', ticket: 'ENG-5000', user: 'bob' }, botKey, strict)).json()).toEqual({ received: 1, inserted: 1 });
      await strict.close();
    });
  });

  it('says how to take a delivery larger than the body limit (413), not to use prompt caching', async () => {
    const small = await createGateway({ config: testConfig({ ...config, server: { ...config.server, bodyLimitBytes: 1024 } }), store });
    const body = Buffer.from(JSON.stringify({ zen: 'x'.repeat(4096) }));
    const res = await small.app.inject({
      method: 'POST', url: '/v1/outcomes/github', payload: body,
      headers: { 'content-type': 'application/json', 'x-github-event': 'ping', 'x-hub-signature-256': signGithub(body, GH_SECRET) },
    });
    expect(res.statusCode).toBe(413);
    expect(res.json().error.message).toMatch(/raise server\.bodyLimitBytes/);
    expect(res.json().error.message).not.toMatch(/prompt caching/);
    await small.close();
  });

  it('answers 404 with what to configure when a receiver is not set up', async () => {
    const bare = new SqliteStore(':memory:');
    const g = await createGateway({ config: testConfig({}), store: bare });
    const res = await g.app.inject({ method: 'POST', url: '/v1/outcomes/github', headers: { 'x-github-event': 'ping' }, payload: '{}' });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.message).toMatch(/outcomes\.webhooks\.github\.secrets/);
    await g.close();
    await bare.close();
  });
});
