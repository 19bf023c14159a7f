import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../store/sqlite/sqlite-store.js';
import { countOutcomes } from '../counted.js';
import type { OutcomeEvent } from '../event.js';
import { testConfig } from '../testing.js';
import { importGit } from './import.js';
import { TestRepo } from './test-repo.js';

const ann = { name: 'Ann', email: 'ann@acme.com' };
const bob = { name: 'Bob', email: 'bob@acme.com' };
const carol = { name: 'Carol', email: 'carol@acme.com' };
const DAY = 86_400_000;

const config = testConfig({
  users: [{ id: 'ann', team: 'core' }, { id: 'bob', team: 'search' }],
  outcomes: { people: [{ user: 'ann', emails: ['ann@acme.com'] }, { user: 'bob', emails: ['BOB@acme.com'] }] },
});

describe('goodhart outcomes import-git (real repositories)', () => {
  const repo = new TestRepo('git@github.com:acme/app.git');
  const sha: Record<string, string> = {};
  let store: SqliteStore;

  beforeAll(() => {
    sha.c1 = repo.commit('PROJ-1 Add login\n\nCo-Authored-By: Claude <noreply@anthropic.com>', { author: ann, at: '2026-03-02T10:00:00Z', file: 'login.txt', lines: 5 });
    repo.git(['checkout', '-q', '-b', 'feature/PROJ-2-search']);
    sha.c2 = repo.commit('Search index', { author: bob, at: '2026-03-03T10:00:00Z', file: 'search.txt', lines: 4 });
    sha.c3 = repo.commit('Search UI', { author: bob, at: '2026-03-03T12:00:00Z', file: 'ui.txt', lines: 2 });
    repo.git(['checkout', '-q', 'main']);
    // GitHub's merge button: the merge commit is authored by whoever pressed it.
    sha.pr7 = repo.merge('feature/PROJ-2-search', 'Merge pull request #7 from acme/feature/PROJ-2-search\n\nAdd search', { author: carol, at: '2026-03-04T09:00:00Z' });
    sha.c4 = repo.commit('Tweak cache', { author: ann, at: '2026-03-05T10:00:00Z', file: 'cache.txt', lines: 10 });
    sha.r4 = repo.revert(sha.c4, { author: bob, at: '2026-03-06T10:00:00Z' });
    sha.c5 = repo.commit('Add export (#9)\n\n🤖 Generated with [Claude Code](https://claude.com/claude-code)', { author: bob, at: '2026-03-07T10:00:00Z', file: 'export.txt', lines: 6 });
    repo.git(['checkout', '-q', '-b', 'side']);
    sha.side = repo.commit('Side work', { author: ann, at: '2026-03-08T10:00:00Z', file: 'side.txt' });
    repo.git(['checkout', '-q', 'main']);
    sha.sync = repo.merge('side', "Merge branch 'side'", { author: ann, at: '2026-03-08T11:00:00Z' });
    sha.c7 = repo.commit('Old feature', { author: ann, at: '2026-03-09T10:00:00Z', file: 'old.txt' });
    sha.r7 = repo.revert(sha.c7, { author: ann, at: '2026-04-20T10:00:00Z' });
    store = new SqliteStore(':memory:');
  });

  afterAll(async () => {
    await store.close();
    repo.remove();
  });

  const byId = (all: OutcomeEvent[]) => (kind: string, s: string) => all.find((o) => o.kind === kind && o.sha === s);

  it('imports commits and pull request merges with authors, tickets, sizes, AI trailers and reverts', async () => {
    const [summary] = await importGit({ store, config, repos: [repo.dir] });
    expect(summary).toMatchObject({
      repo: 'github.com/acme/app', projectId: 'app', incremental: false,
      commits: 9, prMerges: 2, reverts: 2, aiCoAuthored: 2, syncMerges: 1, inserted: 11, skippedRecords: 0,
      unmappedAuthors: ['carol@acme.com'],
    });
    const all = await store.listOutcomes({});
    const find = byId(all);
    expect(find('commit', sha.c1!)).toMatchObject({ userId: 'ann', teamId: 'core', tickets: ['PROJ-1'], aiCoAuthored: true, aiTools: ['claude'], linesAdded: 5, linesRemoved: 0, filesChanged: 1, at: Date.parse('2026-03-02T10:00:00Z') });
    // The merge of pull request #7 belongs to Bob, whose branch it was, not to Carol who merged it; its size is the
    // whole pull request (the diff against the first parent).
    expect(find('pull_request_merged', sha.pr7!)).toMatchObject({
      userId: 'bob', teamId: 'search', prNumber: 7, branch: 'feature/PROJ-2-search', tickets: ['PROJ-2'], linesAdded: 6, filesChanged: 2,
    });
    // Whether AI co-wrote a merged pull request is unknown from the merge message alone (stored as NULL).
    expect(find('pull_request_merged', sha.pr7!)?.aiCoAuthored).toBeUndefined();
    // A squash merge is a commit and a merged pull request.
    expect(find('commit', sha.c5!)).toMatchObject({ prNumber: 9, aiTools: ['claude'] });
    expect(find('pull_request_merged', sha.c5!)).toMatchObject({ prNumber: 9, userId: 'bob' });
    expect(find('commit', sha.r4!)?.revertsSha).toBe(sha.c4);
    // The merge of a local branch is not work; the branch's commit is.
    expect(all.some((o) => o.sha === sha.sync)).toBe(false);
    expect(find('commit', sha.side!)).toBeDefined();
  });

  it('stops counting a change reverted within the window, and never counts a revert', async () => {
    const all = await store.listOutcomes({});
    const r = countOutcomes(all, { revertWindowMs: 14 * DAY });
    const shas = r.counted.map((o) => `${o.kind}:${o.sha}`);
    expect(r.reverted.map((o) => o.sha)).toEqual([sha.c4]);
    expect(r.reverts).toBe(2);
    expect(shas).not.toContain(`commit:${sha.c4}`);
    expect(shas).not.toContain(`commit:${sha.r4}`);
    // Reverted six weeks later: it was real work for those weeks, and still counts.
    expect(shas).toContain(`commit:${sha.c7}`);
    expect(r.counted).toHaveLength(8);
  });

  it('is incremental and idempotent', async () => {
    const [again] = await importGit({ store, config, repos: [repo.dir] });
    expect(again).toMatchObject({ incremental: true, commits: 0, inserted: 0 });
    sha.c8 = repo.commit('ENG-5 More', { author: bob, at: '2026-04-21T10:00:00Z', file: 'more.txt' });
    const [next] = await importGit({ store, config, repos: [repo.dir] });
    expect(next).toMatchObject({ incremental: true, commits: 1, inserted: 1 });
    const [full] = await importGit({ store, config, repos: [repo.dir], full: true });
    expect(full).toMatchObject({ incremental: false, commits: 10, inserted: 0 });
    expect(await store.listOutcomes({})).toHaveLength(12);
  });

  it('counts a pull request reverted with its merge commit as not shipped', async () => {
    const r2 = new TestRepo('https://gitlab.com/acme/api.git');
    try {
      r2.commit('init', { author: ann, at: '2026-03-01T10:00:00Z' });
      r2.git(['checkout', '-q', '-b', 'eng-9-rate-limits']);
      r2.commit('Rate limits', { author: ann, at: '2026-03-02T10:00:00Z', file: 'rl.txt' });
      r2.git(['checkout', '-q', 'main']);
      const merge = r2.merge('eng-9-rate-limits', "Merge branch 'eng-9-rate-limits' into 'main'\n\nRate limits\n\nSee merge request acme/api!12", { author: bob, at: '2026-03-03T10:00:00Z' });
      r2.revert(merge, { author: bob, at: '2026-03-04T10:00:00Z', mainline: 1 });
      const s2 = new SqliteStore(':memory:');
      const [summary] = await importGit({ store: s2, config, repos: [r2.dir] });
      expect(summary).toMatchObject({ repo: 'gitlab.com/acme/api', prMerges: 1, reverts: 1 });
      const all = await s2.listOutcomes({});
      expect(all.find((o) => o.kind === 'pull_request_merged')).toMatchObject({ prNumber: 12, branch: 'eng-9-rate-limits', tickets: ['ENG-9'], userId: 'ann' });
      const r = countOutcomes(all, { revertWindowMs: 14 * DAY });
      expect(r.counted.map((o) => o.kind).sort()).toEqual(['commit', 'commit']);
      await s2.close();
    } finally {
      r2.remove();
    }
  });

  it('says clearly when a folder is not a repository', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'goodhart-nogit-'));
    try {
      await expect(importGit({ store, config, repos: [dir] })).rejects.toThrow(/is not a git repository/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
