import { resolve } from 'node:path';
import type { GoodhartConfig } from '../../config/schema.js';
import { resolveProject } from '../../importers/attribution.js';
import { createGitLookup } from '../../importers/git-info.js';
import type { AuditStore, ImportFileState } from '../../store/types.js';
import type { OutcomeEvent } from '../event.js';
import { createPeopleResolver } from '../people.js';
import { git, readGitLog } from './read-log.js';
import { commitToOutcomes, type RepoContext } from './to-outcomes.js';

/**
 * `goodhart outcomes import-git [REPO…]`: commits and pull request merges from local clones into the outcomes table.
 *
 * Incremental: the tips imported last time are kept (importer state, source `outcomes-git`, path = the clone) and
 * excluded next time (`git log NEW ^OLD`), so a re-run reads only new commits. Idempotent: ids come from repo + sha
 * (or repo + PR number), so overlapping runs, a rewritten history or `--full` never count anything twice.
 */
export interface ImportGitOptions {
  store: Pick<AuditStore, 'insertOutcomes' | 'getImportState' | 'commitImportBatch'>;
  config: Pick<GoodhartConfig, 'identities' | 'users' | 'outcomes' | 'projects'>;
  repos: readonly string[];
  /** Passed to git's --since (committer date): `2026-01-01`, `3 months ago`… */
  since?: string;
  /** Every ref (`--all`) instead of HEAD; or one ref. */
  all?: boolean;
  ref?: string;
  /** Ignore the stored tips and read the whole history (still never double counts). */
  full?: boolean;
  now?: () => number;
}

export interface RepoImportSummary {
  dir: string;
  repo: string;
  projectId: string | null;
  /** True when only commits after the last run were read. */
  incremental: boolean;
  commits: number;
  prMerges: number;
  reverts: number;
  aiCoAuthored: number;
  /** Merges that are not pull requests (their commits count on their own). */
  syncMerges: number;
  /** Outcomes that were new to the store. */
  inserted: number;
  skippedRecords: number;
  /** Author emails nothing in the config maps to a person (add them to `outcomes.people`). */
  unmappedAuthors: string[];
}

const STATE_SOURCE = 'outcomes-git';
/** 500 outcomes per insert: one transaction every few thousand commits' worth of parsing. */
const BATCH = 500;

interface TipState {
  mode: string;
  tips: string[];
}

export async function importGit(opts: ImportGitOptions): Promise<RepoImportSummary[]> {
  const now = opts.now ?? Date.now;
  const lookup = createGitLookup();
  const people = createPeopleResolver(opts.config);
  const out: RepoImportSummary[] = [];
  for (const dirArg of opts.repos.length > 0 ? opts.repos : ['.']) {
    const dir = await git(resolve(dirArg), ['rev-parse', '--show-toplevel']);
    const project = resolveProject(dir, lookup(dir).remoteUrl, opts.config.projects);
    const unmapped = new Set<string>();
    const ctx: RepoContext = {
      repo: project.repo ?? dir,
      projectId: project.projectId,
      rules: opts.config.outcomes,
      who: (email) => {
        const w = people({ email });
        if (!w.mapped && email !== '') unmapped.add(email);
        return w;
      },
    };
    const mode = opts.all === true ? '--all' : (opts.ref ?? 'HEAD');
    const tips = await currentTips(dir, mode);
    const previous = opts.full === true || opts.since !== undefined ? undefined : await opts.store.getImportState(STATE_SOURCE, dir);
    const before = previous === undefined ? null : parseTips(previous.context);
    const exclude = before !== null && before.mode === mode ? await existing(dir, before.tips) : [];
    const summary: RepoImportSummary = {
      dir, repo: ctx.repo, projectId: ctx.projectId, incremental: exclude.length > 0,
      commits: 0, prMerges: 0, reverts: 0, aiCoAuthored: 0, syncMerges: 0, inserted: 0, skippedRecords: 0, unmappedAuthors: [],
    };
    const stats = { skipped: 0 };
    let batch: OutcomeEvent[] = [];
    /** Pull request merges waiting for the author of their branch's last commit (read later: children come first). */
    const pending = new Map<string, OutcomeEvent[]>();
    const flush = async (): Promise<void> => {
      summary.inserted += await opts.store.insertOutcomes(batch);
      batch = [];
    };
    for await (const c of readGitLog(dir, { include: tips, exclude, ...(opts.since !== undefined ? { since: opts.since } : {}) }, stats)) {
      const waiting = pending.get(c.sha);
      if (waiting !== undefined) {
        const who = ctx.who(c.authorEmail);
        for (const pr of waiting) batch.push({ ...pr, userId: who.userId, teamId: who.teamId, attrs: { authorEmail: c.authorEmail } });
        pending.delete(c.sha);
      }
      const r = commitToOutcomes(c, ctx);
      if (r.kind === 'sync-merge') summary.syncMerges += 1;
      for (const o of r.outcomes) {
        if (o.kind === 'commit') summary.commits += 1;
        else summary.prMerges += 1;
        if (o.kind === 'commit' && o.revertsSha) summary.reverts += 1;
        if (o.kind === 'commit' && o.aiCoAuthored === true) summary.aiCoAuthored += 1;
      }
      if (r.pendingAuthor !== null) {
        const list = pending.get(r.pendingAuthor) ?? [];
        list.push(...r.outcomes);
        pending.set(r.pendingAuthor, list);
      } else batch.push(...r.outcomes);
      if (batch.length >= BATCH) await flush();
    }
    // Branch tips imported by an earlier run: the merge keeps its own author.
    for (const list of pending.values()) batch.push(...list);
    await flush();
    const state: ImportFileState = {
      source: STATE_SOURCE, path: dir, offset: 0, size: 0, inode: 0, mtimeMs: 0, headHash: '', headBytes: 0,
      context: JSON.stringify({ mode, tips } satisfies TipState), updatedAt: now(),
    };
    await opts.store.commitImportBatch({ events: [], states: [state] });
    summary.skippedRecords = stats.skipped;
    summary.unmappedAuthors = [...unmapped].sort();
    out.push(summary);
  }
  return out;
}

/** The commits the range ends at now: HEAD (or the ref), or every ref for `--all`. */
async function currentTips(dir: string, mode: string): Promise<string[]> {
  const text = mode === '--all' ? await git(dir, ['rev-parse', '--all']) : await git(dir, ['rev-parse', '--verify', `${mode}^{commit}`]);
  return [...new Set(text.split('\n').map((s) => s.trim()).filter((s) => s !== ''))];
}

/** Tips that still exist (a force push and gc can remove one; git log would refuse a missing `^sha`). */
async function existing(dir: string, tips: readonly string[]): Promise<string[]> {
  if (tips.length === 0) return [];
  const answer = await git(dir, ['cat-file', '--batch-check=%(objectname) %(objecttype)'], `${tips.join('\n')}\n`);
  return answer.split('\n').filter((l) => !l.endsWith(' missing') && l.trim() !== '').map((l) => l.split(' ')[0]!);
}

function parseTips(context: string | null): TipState | null {
  if (context === null) return null;
  try {
    const v = JSON.parse(context) as Partial<TipState>;
    return typeof v.mode === 'string' && Array.isArray(v.tips) ? { mode: v.mode, tips: v.tips.filter((t) => typeof t === 'string') } : null;
  } catch {
    return null;
  }
}
