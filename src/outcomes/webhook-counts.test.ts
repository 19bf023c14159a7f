import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outcomesReportCommand } from '../cli/commands/outcomes.js';
import { createGateway, type Gateway } from '../gateway/server.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { testConfig } from './testing.js';
import type { OutcomeView } from './view.js';
import { signGithub } from './webhooks/verify.js';

/**
 * What `goodhart outcomes report` counts after GitHub's and GitLab's deliveries, as they send them: reverts made
 * with the Revert button (a revert pull / merge request, then the push of its commits) and the merge commits a
 * push to main carries. Each scenario uses a repository of its own in one store.
 */
const GH_SECRET = 'gh-webhook-secret-0123456789abcdef';
const GL_TOKEN = 'gl-webhook-token-0123456789abcdef';
const NOW = Date.parse('2026-03-20T00:00:00Z');
const fixture = <T>(name: string): T => JSON.parse(readFileSync(new URL(`./webhooks/fixtures/${name}`, import.meta.url), 'utf8')) as T;
const sha = (c: string): string => c.repeat(40);

const config = testConfig({
  teams: [{ id: 'core' }, { id: 'api' }],
  users: [{ id: 'alice', team: 'core' }, { id: 'bob', team: 'core' }, { id: 'dana', team: 'api' }],
  outcomes: {
    people: [
      { user: 'alice', emails: ['alice@acme.com'], logins: ['alice-gh'] },
      { user: 'bob', emails: ['bob@acme.com'], logins: ['bob-gh'] },
      { user: 'dana', emails: ['dana@acme.com'] },
    ],
    webhooks: { github: { secrets: [GH_SECRET] }, gitlab: { tokens: [GL_TOKEN] } },
  },
});
const YAML = `teams: [{ id: core }, { id: api }]
users:
  - { id: alice, team: core }
  - { id: bob, team: core }
  - { id: dana, team: api }
outcomes:
  people:
    - { user: alice, emails: [alice@acme.com], logins: [alice-gh] }
    - { user: bob, emails: [bob@acme.com], logins: [bob-gh] }
    - { user: dana, emails: [dana@acme.com] }
`;

type Json = Record<string, unknown>;

/** A merged pull request of `repo` (owner/name), from GitHub's documented payload. */
function pullRequest(repo: string, n: number, p: { title: string; body?: string; head: string; mergeSha: string; login?: string; mergedAt: string; commits?: number }): Json {
  const base = fixture<{ pull_request: Json; repository: Json } & Json>('github-pull_request-closed.json');
  return {
    ...base,
    number: n,
    repository: { ...base.repository, full_name: repo, name: repo.split('/')[1], html_url: `https://github.com/${repo}` },
    pull_request: {
      ...base.pull_request, number: n, title: p.title, body: p.body ?? '', head: { ref: p.head, sha: sha('e') }, merge_commit_sha: p.mergeSha,
      merged_at: p.mergedAt, closed_at: p.mergedAt, user: { login: p.login ?? 'alice-gh' }, additions: 120, deletions: 4, commits: p.commits ?? 1,
    },
  };
}

function push(repo: string, ref: string, commits: { id: string; message: string; email?: string; at: string; distinct?: boolean }[], how: { forced?: boolean; before?: string } = {}): Json {
  const base = fixture<{ repository: Json } & Json>('github-push.json');
  return {
    ...base,
    ref: `refs/heads/${ref}`,
    forced: how.forced ?? false,
    before: how.before ?? sha('0'),
    after: commits.at(-1)?.id ?? sha('0'),
    repository: { ...base.repository, full_name: repo, name: repo.split('/')[1], html_url: `https://github.com/${repo}` },
    commits: commits.map((c) => ({
      id: c.id, message: c.message, timestamp: c.at, distinct: c.distinct ?? true,
      author: { name: 'Someone', email: c.email ?? 'alice@acme.com', username: c.email === 'bob@acme.com' ? 'bob-gh' : 'alice-gh' },
      added: [], removed: [], modified: ['src/billing.ts'],
    })),
  };
}

/** A merged GitLab merge request of project `acme/<name>`, from GitLab's documented payload. */
function mergeRequest(name: string, iid: number, p: { title: string; mergeSha: string; lastCommit: { id: string; message: string }; mergedAt: string }): Json {
  const base = fixture<{ project: Json; object_attributes: Json & { last_commit: Json } } & Json>('gitlab-merge_request-merge.json');
  return {
    ...base,
    project: { ...base.project, web_url: `https://gitlab.com/acme/${name}`, path_with_namespace: `acme/${name}` },
    object_attributes: {
      ...base.object_attributes, iid, title: p.title, description: '', source_branch: `branch-${iid}`, merge_commit_sha: p.mergeSha,
      updated_at: p.mergedAt, merged_at: p.mergedAt,
      last_commit: { ...base.object_attributes.last_commit, id: p.lastCommit.id, message: p.lastCommit.message, author: { name: 'Dana', email: 'dana@acme.com' } },
    },
  };
}

describe('what the report counts after webhook deliveries', () => {
  const dir = mkdtempSync(join(tmpdir(), 'goodhart-webhook-counts-'));
  const db = join(dir, 'goodhart.db');
  const yaml = join(dir, 'goodhart.yaml');
  let store: SqliteStore;
  let gateway: Gateway;

  beforeAll(async () => {
    writeFileSync(yaml, YAML);
    store = new SqliteStore(db);
    gateway = await createGateway({ config, store, now: () => NOW });
  });
  afterAll(async () => {
    await gateway.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const github = async (event: string, payload: Json) => {
    const body = Buffer.from(JSON.stringify(payload));
    const res = await gateway.app.inject({
      method: 'POST', url: '/v1/outcomes/github', payload: body,
      headers: { 'content-type': 'application/json', 'x-github-event': event, 'x-github-delivery': 'd', 'x-hub-signature-256': signGithub(body, GH_SECRET) },
    });
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as { received: number; inserted: number; ignored?: string };
  };
  const gitlab = async (payload: Json) => {
    const res = await gateway.app.inject({
      method: 'POST', url: '/v1/outcomes/gitlab', payload: JSON.stringify(payload),
      headers: { 'content-type': 'application/json', 'x-gitlab-event': 'Merge Request Hook', 'x-gitlab-token': GL_TOKEN },
    });
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as { received: number; inserted: number; ignored?: string };
  };
  /** `goodhart outcomes report --user U --json` for the first half of March, rows of `repo` only. */
  const report = async (opts: { user?: string; team?: string }): Promise<OutcomeView> =>
    JSON.parse(await outcomesReportCommand({ db, config: yaml, since: '2026-03-01', until: '2026-03-15', json: true, ...opts }, NOW)) as OutcomeView;
  const counts = async (repo: string, user: string) => {
    const all = await store.listOutcomes({ repo });
    const view = await report({ user });
    const mine = view.myOutcomes.filter((o) => o.repo === repo);
    const sum = (kind: string) => mine.filter((o) => o.kind === kind).reduce((a, o) => a + o.count, 0);
    return { commits: sum('commit'), prs: sum('pull_request_merged'), stored: all.length };
  };

  it("GitHub's Revert button: the revert pull request is not an outcome, and #200 stops counting", async () => {
    const repo = 'acme/billing';
    await github('pull_request', pullRequest(repo, 200, { title: 'Invoice rounding', head: 'feature/rounding', mergeSha: sha('a'), mergedAt: '2026-03-03T10:00:00Z' }));
    expect(await counts('github.com/acme/billing', 'alice')).toMatchObject({ prs: 1 });
    await github('pull_request', pullRequest(repo, 201, {
      title: 'Revert "Invoice rounding"', body: 'Reverts acme/billing#200', head: 'revert-200-feature/rounding', mergeSha: sha('c'), mergedAt: '2026-03-04T10:00:00Z',
    }));
    // The revert pull request alone (no push webhook) cancels #200, and is not counted itself.
    expect(await counts('github.com/acme/billing', 'alice')).toMatchObject({ commits: 0, prs: 0, stored: 2 });
    // Then the push of the revert commit to main.
    await github('push', push(repo, 'main', [
      { id: sha('b'), message: `Revert "Invoice rounding"\n\nThis reverts commit ${sha('a')}, reversing\nchanges made to ${sha('9')}.`, at: '2026-03-04T09:58:00Z' },
    ]));
    expect(await counts('github.com/acme/billing', 'alice')).toMatchObject({ commits: 0, prs: 0, stored: 3 });
    const view = await report({ user: 'alice' });
    expect(view.reverted).toBe(1);
  });

  it("reports a reverted change only to its author, their team's lead and the organisation", async () => {
    // By now alice's #200 (acme/billing) is the one change reverted, in team core.
    expect([(await report({ user: 'alice' })).reverted, (await report({ team: 'core' })).reverted, (await report({})).reverted]).toEqual([1, 1, 1]);
    expect([(await report({ user: 'bob' })).reverted, (await report({ team: 'api' })).reverted]).toEqual([0, 0]);
    expect(await outcomesReportCommand({ db, config: yaml, since: '2026-03-01', until: '2026-03-15', user: 'bob' }, NOW)).not.toMatch(/reverted/);
  });

  it('a revert pull request that names nothing it reverts is ignored; one in another repository cancels nothing here', async () => {
    const repo = 'acme/ledger';
    await github('pull_request', pullRequest(repo, 5, { title: 'Ledger export', head: 'export', mergeSha: sha('d'), mergedAt: '2026-03-05T10:00:00Z' }));
    expect(await github('pull_request', pullRequest(repo, 6, { title: 'Revert "Ledger export"', body: 'It broke the nightly job.', head: 'undo-export', mergeSha: sha('f'), mergedAt: '2026-03-05T12:00:00Z' })))
      .toEqual({ received: 0, inserted: 0, ignored: 'pull_request closed: a revert, of a change it does not name' });
    await github('pull_request', pullRequest(repo, 7, { title: 'Revert "Billing fix"', body: 'Reverts acme/other#5', head: 'revert-5-x', mergeSha: sha('1'), mergedAt: '2026-03-05T13:00:00Z' }));
    // #5 still counts; #7 is a revert (of another repository's #5) and does not.
    expect(await counts('github.com/acme/ledger', 'alice')).toMatchObject({ prs: 1 });
  });

  it('a push to main counts the commits it carries, not the merge commits', async () => {
    const repo = 'acme/shop';
    await github('pull_request', pullRequest(repo, 104, { title: 'Cart totals', head: 'feature/cart', mergeSha: sha('6'), mergedAt: '2026-03-07T10:00:00Z' }));
    const res = await github('push', push(repo, 'main', [
      { id: sha('1'), message: 'Cart totals', at: '2026-03-06T09:00:00Z' },
      { id: sha('2'), message: 'Cart totals: tests', at: '2026-03-06T11:00:00Z' },
      { id: sha('3'), message: "Merge branch 'main' into feature/cart", at: '2026-03-06T12:00:00Z' },
      { id: sha('4'), message: "Merge remote-tracking branch 'origin/main' into feature/cart", at: '2026-03-06T12:30:00Z' },
      { id: sha('5'), message: 'Cart totals: rounding (#103)', at: '2026-03-06T13:00:00Z' },
      // GitHub's merge commit of #104: the pull request's merge_commit_sha, counted as the merged pull request.
      { id: sha('6'), message: 'Merge pull request #104 from acme/feature/cart\n\nCart totals', at: '2026-03-07T10:00:00Z' },
    ]));
    expect(res).toEqual({ received: 3, inserted: 3 });
    expect(await counts('github.com/acme/shop', 'alice')).toMatchObject({ commits: 3, prs: 1 });
  });

  it('a commit amended and force-pushed twice counts once, as it reached main', async () => {
    const repo = 'acme/forced';
    const [c1, c2, c3, merge] = [sha('a'), sha('b'), sha('c'), sha('d')];
    expect(await github('push', push(repo, 'feature/fp', [{ id: c1, message: 'fp work', at: '2026-03-09T10:00:00Z' }]))).toMatchObject({ received: 0, ignored: 'push to feature/fp: commits count when they reach the default branch (main)' });
    await github('push', push(repo, 'feature/fp', [{ id: c2, message: 'fp work', at: '2026-03-09T10:00:00Z' }], { forced: true, before: c1 }));
    await github('push', push(repo, 'feature/fp', [{ id: c3, message: 'fp work', at: '2026-03-09T10:00:00Z' }], { forced: true, before: c2 }));
    expect(await counts('github.com/acme/forced', 'alice')).toMatchObject({ commits: 0 });
    await github('pull_request', pullRequest(repo, 9, { title: 'fp', head: 'feature/fp', mergeSha: merge, commits: 1, mergedAt: '2026-03-09T12:00:00Z' }));
    await github('push', push(repo, 'main', [
      { id: c3, message: 'fp work', at: '2026-03-09T10:00:00Z', distinct: false },
      { id: merge, message: 'Merge pull request #9 from acme/feature/fp', at: '2026-03-09T12:00:00Z' },
    ]));
    expect(await counts('github.com/acme/forced', 'alice')).toMatchObject({ commits: 1, prs: 1 });
  });

  it("a pull request's two commits count two whichever merge button merged it; a backport does not count again", async () => {
    const work = (a: string, b: string) => [{ id: a, message: 'part 1', at: '2026-03-10T09:00:00Z' }, { id: b, message: 'part 2', at: '2026-03-10T10:00:00Z' }];
    // Merge commit: the push to main lists the branch's commits (not distinct: pushed before) and the merge.
    await github('push', push('acme/merged', 'feature/m', work(sha('1'), sha('2'))));
    await github('pull_request', pullRequest('acme/merged', 1, { title: 'm', head: 'feature/m', mergeSha: sha('3'), commits: 2, mergedAt: '2026-03-10T12:00:00Z' }));
    await github('push', push('acme/merged', 'main', [...work(sha('1'), sha('2')).map((c) => ({ ...c, distinct: false })), { id: sha('3'), message: 'Merge pull request #1 from acme/feature/m', at: '2026-03-10T12:00:00Z' }]));
    // Rebase and merge: copies of the commits, with new shas; the pull request's sha is the last copy's.
    await github('push', push('acme/rebased', 'feature/r', work(sha('4'), sha('5'))));
    await github('pull_request', pullRequest('acme/rebased', 2, { title: 'r', head: 'feature/r', mergeSha: sha('7'), commits: 2, mergedAt: '2026-03-10T12:00:00Z' }));
    await github('push', push('acme/rebased', 'main', work(sha('6'), sha('7'))));
    // Squash and merge: one commit, `Title (#N)`, for the pull request's two (its delivery may come after the push).
    await github('push', push('acme/squashed', 'feature/s', work(sha('8'), sha('9'))));
    await github('push', push('acme/squashed', 'main', [{ id: sha('f'), message: 's (#3)\n\n* part 1\n\n* part 2', at: '2026-03-10T12:00:00Z' }]));
    await github('pull_request', pullRequest('acme/squashed', 3, { title: 's', head: 'feature/s', mergeSha: sha('f'), commits: 2, mergedAt: '2026-03-10T12:00:00Z' }));
    for (const repo of ['merged', 'rebased', 'squashed']) expect(await counts(`github.com/acme/${repo}`, 'alice'), repo).toMatchObject({ commits: 2, prs: 1 });
    // A fix cherry-picked onto a release branch is the same work again.
    await github('push', push('acme/merged', 'release/1.x', [{ id: sha('e'), message: `part 1\n\n(cherry picked from commit ${sha('1')})`, at: '2026-03-11T09:00:00Z' }]));
    expect(await counts('github.com/acme/merged', 'alice')).toMatchObject({ commits: 2 });
  });

  it("GitLab's Revert button: the revert merge request is not an outcome, and !7 stops counting", async () => {
    await gitlab(mergeRequest('payments', 7, { title: 'Refund API', mergeSha: sha('2'), lastCommit: { id: sha('3'), message: 'Refund API\n' }, mergedAt: '2026-03-06T10:00:00Z' }));
    expect(await counts('gitlab.com/acme/payments', 'dana')).toMatchObject({ prs: 1 });
    await gitlab(mergeRequest('payments', 8, {
      title: 'Revert "Refund API"', mergeSha: sha('4'), mergedAt: '2026-03-06T12:00:00Z',
      lastCommit: { id: sha('5'), message: 'Revert "Refund API"\n\nThis reverts merge request !7' },
    }));
    expect(await counts('gitlab.com/acme/payments', 'dana')).toMatchObject({ prs: 0, stored: 2 });
    // A revert of the merge commit by its sha works the same way.
    await gitlab(mergeRequest('invoices', 3, { title: 'PDF invoices', mergeSha: sha('6'), lastCommit: { id: sha('7'), message: 'PDF invoices' }, mergedAt: '2026-03-06T10:00:00Z' }));
    await gitlab(mergeRequest('invoices', 4, {
      title: 'Revert "PDF invoices"', mergeSha: sha('8'), mergedAt: '2026-03-06T12:00:00Z',
      lastCommit: { id: sha('9'), message: `Revert "PDF invoices"\n\nThis reverts commit ${sha('6')}` },
    }));
    expect(await counts('gitlab.com/acme/invoices', 'dana')).toMatchObject({ prs: 0, stored: 2 });
  });
});
