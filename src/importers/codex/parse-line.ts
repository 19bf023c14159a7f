import { basename } from 'node:path';
import { isRecord } from '../../usage/usage-fields.js';
import { compactRaw, parseJsonObject, parseTimestamp, str } from '../json-line.js';
import type { LineParser, LineResult } from '../types.js';
import { convertCodexUsage, readCodexCounts, sameCounts, subtractCounts, type CodexCounts } from './convert-usage.js';

/**
 * A Codex CLI rollout file (`~/.codex/sessions/YYYY/MM/DD/rollout-….jsonl`), line by line, per formats.md:
 * - `session_meta` gives the session id, cwd and git branch/remote;
 * - `turn_context.payload.model` is the model of the following turns (it can change mid-session);
 * - `event_msg` / `token_count` carries `info.last_token_usage` (this turn) and `info.total_token_usage`
 *   (cumulative). The turn's usage is `last_token_usage`, else the increase of the cumulative total. A
 *   `token_count` repeating the previous total is the same turn reported twice: skipped as a duplicate;
 *   `info: null` (rate limits only) carries no usage.
 * The event key is the session and its cumulative total, so a rewritten file or a re-import maps to the same ids.
 * A forked session's file starts with its own `session_meta` (with `forked_from_id`), then a copy of its parent's
 * history, the parent's `session_meta` and token_counts included, re-dated to the fork: the key's session is the
 * last `session_meta`'s (the copies get the parent's ids), the requests' session the first's (the file's own).
 * A file with no `turn_context` is priced as FALLBACK_MODEL, as ccusage does, and tagged `model-guessed`.
 */
export const FALLBACK_MODEL = 'gpt-5';

export interface CodexContext {
  /**
   * The session the file's cumulative totals count in, for the event key: the last `session_meta`'s. A fork's file
   * names its parent's session after its own, and its totals continue the parent's (its copies of the parent's
   * requests thus get the parent's event ids: one request, counted once).
   */
  sessionId: string | null;
  /** The file's own session (its first `session_meta`), which its requests belong to; absent in older saved states. */
  ownSession?: string | null;
  cwd: string | null;
  branch: string | null;
  repoUrl: string | null;
  model: string | null;
  total: CodexCounts | null;
}

const INTERESTING = ['token_count', 'turn_context', 'session_meta'] as const;

export function createCodexParser(path: string, saved: unknown): LineParser & { state: CodexContext } {
  const named = /([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.jsonl$/i.exec(basename(path))?.[1] ?? null;
  const fileSession = named ?? basename(path);
  const state: CodexContext = isCodexContext(saved)
    ? { ...saved, ownSession: saved.ownSession ?? named ?? saved.sessionId }
    : { sessionId: null, ownSession: null, cwd: null, branch: null, repoUrl: null, model: null, total: null };

  const parse = (line: string, where: string): LineResult => {
    // Lines without usage are not parsed (most of a log), but one that is not even shaped as a JSON object (binary
    // garbage, a line cut short) is counted as invalid, with its file and line, as every importer's are.
    if (!INTERESTING.some((w) => line.includes(w))) return objectShaped(line) ? 'no_usage' : 'invalid_json';
    const obj = parseJsonObject(line);
    if (typeof obj === 'string') return obj;
    const payload = obj['payload'];
    if (!isRecord(payload)) return 'no_usage';
    if (obj['type'] === 'session_meta') {
      const id = str(payload['id']);
      state.sessionId = id ?? state.sessionId;
      state.ownSession ??= id;
      // Another session's (a fork's copy of its parent's history): its place and branch are not this session's.
      if (id !== null && id !== state.ownSession) return null;
      state.cwd = str(payload['cwd']) ?? state.cwd;
      const git = payload['git'];
      if (isRecord(git)) {
        state.branch = str(git['branch']) ?? state.branch;
        state.repoUrl = str(git['repository_url']) ?? state.repoUrl;
      }
      return null;
    }
    if (obj['type'] === 'turn_context') {
      state.model = str(payload['model']) ?? state.model;
      state.cwd = str(payload['cwd']) ?? state.cwd;
      return null;
    }
    if (obj['type'] !== 'event_msg' || payload['type'] !== 'token_count') return 'no_usage';
    const info = payload['info'];
    if (!isRecord(info)) return 'no_usage';
    const at = parseTimestamp(obj['timestamp']);
    if (at === null) return 'bad_shape';
    const total = readCodexCounts(info['total_token_usage']);
    const last = readCodexCounts(info['last_token_usage']);
    if (total === null && last === null) return 'bad_shape';
    const prev = state.total;
    if (total !== null) {
      if (prev !== null && sameCounts(total, prev)) return 'duplicate';
      state.total = total;
    }
    const turn = last ?? subtractCounts(total!, prev);
    const session = state.sessionId ?? fileSession;
    const key =
      total !== null
        ? `t\u0000${session}\u0000${total.input}\u0000${total.cached}\u0000${total.output}\u0000${total.reasoning}\u0000${total.total}`
        : `l\u0000${where}`;
    const model = state.model ?? str(info['model']);
    return {
      key,
      at,
      provider: 'openai',
      endpoint: 'responses',
      model: model ?? FALLBACK_MODEL,
      // raw: the turn's own counts (re-pricing must never see the cumulative total).
      usage: convertCodexUsage(turn, last !== null ? compactRaw(info['last_token_usage']) : codexRaw(turn)),
      providerRequestId: null,
      // The file's own session. A fork's copies of its parent's requests carry it too, but lose to the parent's own
      // records (earlier, betterEvent) whenever the parent's file is imported.
      sessionId: state.ownSession ?? fileSession,
      cwd: state.cwd,
      branch: state.branch,
      repoUrl: state.repoUrl,
      tags: model === null ? ['model-guessed'] : [],
      reportedCostUsd: null,
    };
  };

  return { state, parse, context: () => state };
}

function codexRaw(c: CodexCounts): Record<string, number> {
  return {
    input_tokens: c.input,
    cached_input_tokens: c.cached,
    output_tokens: c.output,
    reasoning_output_tokens: c.reasoning,
    total_tokens: c.total,
  };
}

function isCodexContext(v: unknown): v is CodexContext {
  return isRecord(v) && 'model' in v && 'total' in v && 'sessionId' in v;
}

/** Whether a line starts with `{` and ends with `}` (blanks and a CR aside). */
function objectShaped(line: string): boolean {
  const t = line.trim();
  return t.startsWith('{') && t.endsWith('}');
}
