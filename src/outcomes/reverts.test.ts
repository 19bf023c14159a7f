import { describe, expect, it } from 'vitest';
import { countOutcomes } from './counted.js';
import { githubRevert, gitlabRevert, revertedPrOf } from './reverts.js';
import { makeOutcome } from './testing.js';

const D = 86_400_000;

describe('reverts', () => {
  it("recognises GitHub's Revert button and git's revert message", () => {
    const fullName = 'acme/billing';
    expect(githubRevert({ title: 'Revert "Rounding"', body: 'Reverts acme/billing#200', headRef: 'revert-200-rounding', fullName })).toEqual({ sha: null, pr: 200 });
    expect(githubRevert({ title: 'Revert "Rounding"', body: '', headRef: 'revert-200-rounding', fullName })).toEqual({ sha: null, pr: 200 });
    expect(githubRevert({ title: 'Revert "Rounding"', body: 'Reverts acme/other#200', headRef: 'revert-200-rounding', fullName })).toEqual({ sha: null, pr: null });
    expect(githubRevert({ title: 'Revert "x"', body: 'This reverts commit ABCDEF1234.', fullName })).toEqual({ sha: 'abcdef1234', pr: null });
    // A branch called revert-3-… without a revert title is someone's branch name, nothing more.
    expect(githubRevert({ title: 'Retry policy', body: '', headRef: 'revert-3-retries', fullName })).toBeNull();
    expect(githubRevert({ title: 'Rounding', body: 'Fixes #12', fullName })).toBeNull();
  });

  it("recognises GitLab's revert commit of a merge request, or of a commit", () => {
    const projectPath = 'acme/platform/api';
    expect(gitlabRevert({ title: 'Revert "Paginate"', lastCommitMessage: 'Revert "Paginate"\n\nThis reverts merge request !7', projectPath })).toEqual({ sha: null, pr: 7 });
    expect(gitlabRevert({ title: 'Revert "Paginate"', lastCommitMessage: 'This reverts merge request acme/platform/api!7', projectPath })).toEqual({ sha: null, pr: 7 });
    expect(gitlabRevert({ title: 'Revert "Paginate"', lastCommitMessage: 'This reverts merge request acme/web!7', projectPath })).toEqual({ sha: null, pr: null });
    expect(gitlabRevert({ title: 'x', lastCommitMessage: `This reverts commit ${'b'.repeat(40)}`, projectPath })).toEqual({ sha: 'b'.repeat(40), pr: null });
    expect(gitlabRevert({ title: 'Paginate', lastCommitMessage: 'Paginate', projectPath })).toBeNull();
  });

  it('a pull request revert cancels the pull request and its squash commit, within the window; only from a signed webhook', () => {
    const repo = 'github.com/acme/billing';
    const at = Date.parse('2026-03-03T10:00:00Z');
    const squash = makeOutcome({ id: 'c', kind: 'commit', source: 'github', repo, sha: 'a'.repeat(40), at });
    const pr = makeOutcome({ id: 'pr', kind: 'pull_request_merged', source: 'github', repo, prNumber: 200, sha: 'a'.repeat(40), at });
    const revert = makeOutcome({ id: 'rv', kind: 'pull_request_merged', source: 'github', repo, prNumber: 201, sha: 'c'.repeat(40), at: at + D, attrs: { revertsPr: '200' } });
    const r = countOutcomes([squash, pr, revert], { revertWindowMs: 14 * D });
    expect([r.counted.map((o) => o.id), r.reverted.map((o) => o.id).sort(), r.reverts]).toEqual([[], ['c', 'pr'], 1]);
    // Past the window the change stands (the revert still never counts).
    expect(countOutcomes([squash, pr, { ...revert, at: at + 20 * D }], { revertWindowMs: 14 * D }).counted.map((o) => o.id)).toEqual(['c', 'pr']);
    // An API post cannot cancel anyone's pull request with an attribute.
    const posted = { ...revert, source: 'api' as const };
    expect(revertedPrOf(posted)).toBeNull();
    expect(countOutcomes([squash, pr, posted], { revertWindowMs: 14 * D }).counted.map((o) => o.id)).toEqual(['c', 'pr', 'rv']);
  });
});
