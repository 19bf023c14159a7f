import { describe, expect, it } from 'vitest';
import { RS, RecordSplitter, US, classifyCommit, isMergeMessage, parseRecord } from './parse-log.js';

const sha = (c: string) => c.repeat(40);
const record = (body: string, stats: string, parents = sha('b')) => `${sha('a')}${US}${parents}${US}Ann${US}ann@acme.com${US}1772445600${US}1772449200${US}${body}${US}\n${stats}`;

describe('git log records', () => {
  it('parses a record with numstat totals (binary files count as files, not lines)', () => {
    const c = parseRecord(record('Fix\n\nbody\n', '\n3\t1\tsrc/a.ts\n-\t-\tlogo.png\n10\t0\tdocs/a b.md\n'));
    expect(c).toEqual({
      sha: sha('a'), parents: [sha('b')], authorName: 'Ann', authorEmail: 'ann@acme.com', authorTime: 1772445600000, commitTime: 1772449200000,
      message: 'Fix\n\nbody', linesAdded: 13, linesRemoved: 1, filesChanged: 3,
    });
    expect(parseRecord('garbage')).toBeNull();
    expect(parseRecord(record('x', '', '').replace(sha('a'), 'nothex'))).toBeNull();
  });

  it('splits a stream into records whatever the chunk boundaries', () => {
    const text = `${RS}${record('one', '1\t1\ta\n')}${RS}${record('two', '')}`;
    for (const size of [1, 7, 64, text.length]) {
      const s = new RecordSplitter();
      const out: string[] = [];
      for (let i = 0; i < text.length; i += size) out.push(...s.push(text.slice(i, i + size)));
      out.push(...s.end());
      expect(out.map((r) => parseRecord(r)?.message)).toEqual(['one', 'two']);
    }
  });

  it('classifies merges, squashes and reverts', () => {
    const two = [sha('b'), sha('c')];
    expect(classifyCommit({ parents: two, message: 'Merge pull request #12 from acme/feature/x-1\n\nTitle' })).toEqual({ kind: 'pr-merge', prNumber: 12, branch: 'feature/x-1' });
    expect(classifyCommit({ parents: two, message: "Merge branch 'eng-9' into 'main'\n\nT\n\nSee merge request acme/api!31" })).toEqual({ kind: 'pr-merge', prNumber: 31, branch: 'eng-9' });
    expect(classifyCommit({ parents: two, message: 'Merged in feature/y (pull request #5)\n\nT' })).toEqual({ kind: 'pr-merge', prNumber: 5, branch: 'feature/y' });
    expect(classifyCommit({ parents: two, message: "Merge branch 'main' into feature" })).toEqual({ kind: 'sync-merge' });
    expect(classifyCommit({ parents: [sha('b')], message: 'Add export (#9)' })).toEqual({ kind: 'commit', revertsSha: null, squashedPr: 9 });
    expect(classifyCommit({ parents: [sha('b')], message: `Revert "x"\n\nThis reverts commit ${sha('d')}.` })).toEqual({ kind: 'commit', revertsSha: sha('d'), squashedPr: null });
  });

  it('tells a merge by its message alone (push webhooks list no parents)', () => {
    const merges = [
      'Merge pull request #104 from acme/feature/cart\n\nCart totals',
      "Merge branch 'eng-7' into 'main'\n\nSee merge request acme/api!12",
      "Merge branch 'main' into feature",
      "Merge branch 'main' of github.com:acme/app",
      "Merge remote-tracking branch 'origin/main' into feature",
      "Merge commit 'abc1234' into feature",
      "Merge tag 'v1.2.0'",
      'Merged in feature/x (pull request #5)',
    ];
    for (const m of merges) expect(isMergeMessage(m), m).toBe(true);
    for (const m of ['Merge sort for the report rows', 'Merge pull request #3 from acme/x (#4)', 'Add export (#9)', 'Tests']) expect(isMergeMessage(m), m).toBe(false);
  });
});
