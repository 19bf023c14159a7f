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
 *
 * Codex 0.154+ also writes a `token_usage_record` line per completed response (`payload.response_id`, `usage`: that
 * response's own counts). A normal response's usage is also in the next `token_count`, so those lines add nothing.
 * An auto-compaction request's is not (openai/codex#47003: its usage never reaches `total_token_usage`): its record
 * is followed by a `compacted` line naming it (`compaction_response_id`), and is imported then, as a request of its
 * own (key: its thread and response id; tagged `compaction`). Should a later Codex count it in `token_count` too, it
 * is not counted twice: a record a `token_count` already reported (its `last_token_usage`) is not imported, and the
 * first `token_count` after an imported one that reports exactly it (as its own turn) is a duplicate.
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
  /** The last few `token_usage_record`s: a `compacted` line names one, or a `token_count` reports it. */
  records?: HeldRecord[];
  /** A compaction request imported on its own and not yet seen in a changed `token_count` total. */
  uncounted?: CodexCounts | null;
}

/** A `token_usage_record` held until it is known whether a `token_count` counts it. */
interface HeldRecord {
  responseId: string;
  /** Its thread: with the response id, the event key (a fork's copy of it gets the same id). */
  thread: string;
  /** Its line's time; null for the copy a `compacted` line embeds (that line's time is taken). */
  at: number | null;
  model: string | null;
  usage: CodexCounts;
  raw: unknown;
  /** Counted already: by a `token_count` reporting it, or imported on its own. */
  counted?: boolean;
}

/** Records kept: a compaction's `compacted` line follows its record at once; this only bounds the saved state. */
const MAX_HELD_RECORDS = 8;

const INTERESTING = ['token_count', 'turn_context', 'session_meta', 'token_usage_record', '"compacted"'] as const;

export function createCodexParser(path: string, saved: unknown): LineParser & { state: CodexContext } {
  const named = /([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.jsonl$/i.exec(basename(path))?.[1] ?? null;
  const fileSession = named ?? basename(path);
  const state: CodexContext = isCodexContext(saved)
    ? { ...saved, ownSession: saved.ownSession ?? named ?? saved.sessionId }
    : { sessionId: null, ownSession: null, cwd: null, branch: null, repoUrl: null, model: null, total: null };
  state.records ??= [];
  state.uncounted ??= null;
  const records = state.records;

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
    if (obj['type'] === 'token_usage_record') {
      const record = heldRecord(payload, parseTimestamp(obj['timestamp']), state.model, state.sessionId ?? fileSession);
      if (record === null) return 'bad_shape';
      if (records.some((r) => r.responseId === record.responseId)) return null;
      if (records.length >= MAX_HELD_RECORDS) records.shift();
      records.push(record);
      return null;
    }
    if (obj['type'] === 'compacted') {
      const id = str(payload['compaction_response_id']);
      if (id === null) return null;
      let record = records.find((r) => r.responseId === id) ?? null;
      // No record line of its own read (only the copy the compacted line embeds, as in a fork's copy of history).
      const embedded = payload['latest_token_usage_record'];
      if (record === null && isRecord(embedded) && str(embedded['response_id']) === id) {
        record = heldRecord(embedded, null, state.model, state.sessionId ?? fileSession);
      }
      // A record a token_count reported is counted there.
      if (record === null || record.counted === true) return null;
      record.counted = true;
      const at = record.at ?? parseTimestamp(obj['timestamp']);
      if (at === null) return 'bad_shape';
      state.uncounted = record.usage;
      return {
        key: `c\u0000${record.thread}\u0000${record.responseId}`,
        at,
        provider: 'openai',
        endpoint: 'responses',
        model: record.model ?? FALLBACK_MODEL,
        usage: convertCodexUsage(record.usage, record.raw),
        providerRequestId: record.responseId,
        sessionId: state.ownSession ?? fileSession,
        cwd: state.cwd,
        branch: state.branch,
        repoUrl: state.repoUrl,
        tags: record.model === null ? ['compaction', 'model-guessed'] : ['compaction'],
        reportedCostUsd: null,
      };
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
    // A record this token_count reports is a normal response, counted here: never to be imported on its own.
    for (const r of records) if (!r.counted && sameCounts(r.usage, turn)) r.counted = true;
    const compaction = state.uncounted;
    if (compaction != null && total !== null) {
      state.uncounted = null;
      // A Codex that counts the compaction in its totals, reporting it as a turn of its own: imported already.
      if (sameCounts(turn, compaction) && sameCounts(subtractCounts(total, prev), compaction)) return 'duplicate';
    }
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

/** A `token_usage_record` payload (or the copy a `compacted` line embeds). */
function heldRecord(p: Record<string, unknown>, at: number | null, model: string | null, session: string): HeldRecord | null {
  const responseId = str(p['response_id']);
  const usage = readCodexCounts(p['usage']);
  if (responseId === null || usage === null) return null;
  return { responseId, thread: str(p['thread_id']) ?? session, at, model, usage, raw: compactRaw(p['usage']) };
}

function isCodexContext(v: unknown): v is CodexContext {
  return isRecord(v) && 'model' in v && 'total' in v && 'sessionId' in v;
}

/** Whether a line starts with `{` and ends with `}` (blanks and a CR aside). */
function objectShaped(line: string): boolean {
  const t = line.trim();
  return t.startsWith('{') && t.endsWith('}');
}
