/**
 * `git log` in a strict machine format, parsed. Pure: the reader (read-log.ts) splits git's output into records;
 * this turns a record into a commit and says what the commit is (a commit, a pull request merged, a sync merge).
 *
 * Each record is `RS sha US parents US author name US author email US author time US commit time US body US`
 * followed by `--numstat` lines (`added TAB removed TAB path`; `-` for binary files). RS and US (0x1e, 0x1f)
 * never occur in commit messages in practice; a record that does not parse is skipped and counted.
 */
export const RS = '\x1e';
export const US = '\x1f';
/** The `--format` that writes the record above (mailmap-aware author: %aN, %aE). */
export const LOG_FORMAT = `--format=${'%x1e'}%H%x1f%P%x1f%aN%x1f%aE%x1f%at%x1f%ct%x1f%B%x1f`;

export interface GitCommit {
  sha: string;
  parents: string[];
  authorName: string;
  authorEmail: string;
  /** Epoch ms. */
  authorTime: number;
  commitTime: number;
  message: string;
  linesAdded: number;
  linesRemoved: number;
  filesChanged: number;
}

const SHA = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

/** One record (without its leading RS), or null when it is not one. */
export function parseRecord(record: string): GitCommit | null {
  const fields = record.split(US);
  if (fields.length !== 8) return null;
  const [sha, parents, name, email, at, ct, body, stats] = fields as [string, string, string, string, string, string, string, string];
  if (!SHA.test(sha)) return null;
  const authorTime = Number(at) * 1000;
  const commitTime = Number(ct) * 1000;
  if (!Number.isFinite(authorTime) || !Number.isFinite(commitTime) || at === '' || ct === '') return null;
  let linesAdded = 0;
  let linesRemoved = 0;
  let filesChanged = 0;
  for (const line of stats.split('\n')) {
    const m = /^(\d+|-)\t(\d+|-)\t/.exec(line);
    if (!m) continue;
    filesChanged += 1;
    if (m[1] !== '-') linesAdded += Number(m[1]);
    if (m[2] !== '-') linesRemoved += Number(m[2]);
  }
  return {
    sha,
    parents: parents.trim() === '' ? [] : parents.trim().split(' '),
    authorName: name,
    authorEmail: email,
    authorTime,
    commitTime,
    message: body.replace(/\s+$/, ''),
    linesAdded,
    linesRemoved,
    filesChanged,
  };
}

export type CommitClass =
  | { kind: 'commit'; revertsSha: string | null; squashedPr: number | null }
  /** A pull / merge request merged with a merge commit; `branch` is its head branch. */
  | { kind: 'pr-merge'; prNumber: number; branch: string | null }
  /** Any other merge (`Merge branch 'main' into feature`): its commits count, the merge itself is not work. */
  | { kind: 'sync-merge' };

const GITHUB_MERGE = /^Merge pull request #(\d+) from ([^\s/]+)\/(\S+)/;
const GITLAB_MERGE = /^Merge branch '([^']+)' into '[^']+'/;
const GITLAB_REF = /^See merge request (?:\S+)?!(\d+)\s*$/m;
const BITBUCKET_MERGE = /^Merged in (\S+) \(pull request #(\d+)\)/;
/** GitHub's squash-and-merge subject: `Title (#123)`. */
const SQUASH = /\(#(\d+)\)\s*$/;
const REVERTS = /\bThis reverts commit ([0-9a-f]{7,64})\b/;

/** git's own merge subjects: `git merge`, `git pull` (`Merge branch 'main' of …`), merging a commit or a tag. */
const GIT_MERGE = /^Merge (?:(?:remote-tracking )?branch(?:es)? '[^']+'|commit '[0-9a-f]+'|tag '[^']+')/;

/**
 * Whether a commit known only by its message is a merge commit: what a push webhook sends (GitHub's push payload
 * lists no parents). True for the subjects GitHub, GitLab, Bitbucket and git itself write on merges; not for a
 * squash commit (`Title (#12)`), which is one commit of work. A commit someone wrote by hand with such a subject
 * is taken for a merge: rarer than merges, and a merge counted as work would count every merged pull request twice.
 */
export function isMergeMessage(message: string): boolean {
  const subject = message.split('\n', 1)[0] ?? '';
  if (SQUASH.test(subject)) return false;
  return GITHUB_MERGE.test(subject) || GITLAB_MERGE.test(subject) || BITBUCKET_MERGE.test(subject) || GIT_MERGE.test(subject);
}

export function classifyCommit(c: Pick<GitCommit, 'parents' | 'message'>): CommitClass {
  const subject = c.message.split('\n', 1)[0] ?? '';
  if (c.parents.length > 1) {
    const gh = GITHUB_MERGE.exec(subject);
    if (gh) return { kind: 'pr-merge', prNumber: Number(gh[1]), branch: gh[3]! };
    const gl = GITLAB_MERGE.exec(subject);
    const glRef = GITLAB_REF.exec(c.message);
    if (gl && glRef) return { kind: 'pr-merge', prNumber: Number(glRef[1]), branch: gl[1]! };
    const bb = BITBUCKET_MERGE.exec(subject);
    if (bb) return { kind: 'pr-merge', prNumber: Number(bb[2]), branch: bb[1]! };
    return { kind: 'sync-merge' };
  }
  const squash = SQUASH.exec(subject);
  return { kind: 'commit', revertsSha: REVERTS.exec(c.message)?.[1] ?? null, squashedPr: squash ? Number(squash[1]) : null };
}

/**
 * Splits a stream of git output into records: feed chunks, get the complete records so far; `end` returns the last.
 */
export class RecordSplitter {
  private buf = '';
  push(chunk: string): string[] {
    this.buf += chunk;
    const parts = this.buf.split(RS);
    this.buf = parts.pop() ?? '';
    return parts.filter((p) => p.trim() !== '');
  }
  end(): string[] {
    const last = this.buf;
    this.buf = '';
    return last.trim() === '' ? [] : [last];
  }
}
