import type Database from 'better-sqlite3';
import { eventFromRow, meteringCandidates, outcomeValues, splitMetered, storableEvent, type EventRow } from '../rows.js';
import type { Fingerprint } from '../../detect/fingerprint/types.js';
import { RollupBatch } from './rollup-batch.js';
import { ofStoredCopy } from '../findings-rows.js';
import type { OutcomeEvent, OutcomeFilter, OutcomeKind, OutcomeSource } from '../../outcomes/event.js';
import type { UsageEvent } from '../../usage/event.js';
import { windowSpanTotals, type CounterPoint, type CounterStep, type ImportBatch, type ImportBatchResult, type ImportFileState, type OtelCommit, type OtelInterval, type SpanTotals, type SpanWindow } from '../types.js';

/**
 * The SQLite side of audit mode: importer file states, OTLP counter series and outcome events (migration 2).
 * Kept apart from SqliteStore so that file stays about usage events and keys; SqliteStore delegates here.
 */

const EVENT_COLUMNS = [
  'id', 'source', 'provider_request_id', 'started_at', 'first_token_at', 'ended_at',
  'user_id', 'team_id', 'project_id', 'key_id', 'session_id', 'tags', 'repo', 'branch',
  'provider', 'endpoint', 'model_requested', 'model_served',
  'input_tokens', 'cache_read_tokens', 'cache_write_5m_tokens', 'cache_write_1h_tokens', 'output_tokens', 'reasoning_tokens',
  'cost_usd', 'usage_estimated', 'status', 'error_class', 'streamed', 'client_aborted', 'raw_usage', 'fallback_from',
  'audio_input_tokens', 'audio_output_tokens', 'tool_calls',
] as const;

/** Positional values in EVENT_COLUMNS order (positional binding is about twice as fast as named for wide rows). */
function eventValues(e: UsageEvent): unknown[] {
  return [
    e.id, e.source, e.providerRequestId, e.startedAt, e.firstTokenAt, e.endedAt,
    e.userId, e.teamId, e.projectId, e.keyId, e.sessionId, JSON.stringify(e.tags), e.repo, e.branch,
    e.provider, e.endpoint, e.modelRequested, e.modelServed,
    e.inputTokens, e.cacheReadTokens, e.cacheWrite5mTokens, e.cacheWrite1hTokens, e.outputTokens, e.reasoningTokens,
    e.costUsd, e.usageEstimated ? 1 : 0, e.status, e.errorClass, e.streamed ? 1 : 0, e.clientAborted ? 1 : 0, e.rawUsage,
    e.fallbackFrom ?? null,
    e.audioInputTokens ?? 0, e.audioOutputTokens ?? 0, e.toolCalls === undefined ? null : JSON.stringify(e.toolCalls),
  ];
}

const SIDECHAIN_TAG = 'sidechain';

/**
 * An event's rank for the replace rule: not a sidechain first, then the larger token sum (input includes cache), then
 * the earlier start (a copy of a request in a later log, such as a Codex fork's re-dated copy of its parent's history,
 * never takes the original's place, and the original takes the copy's). See ImportStateStore.commitImportBatch.
 */
function rankOf(e: UsageEvent): [number, number, number] {
  return [e.tags.includes(SIDECHAIN_TAG) ? 0 : 1, e.inputTokens + e.outputTokens, -e.startedAt];
}

const STORED_RANK = `(CASE WHEN tags LIKE '%"${SIDECHAIN_TAG}"%' THEN 0 ELSE 1 END, input_tokens + output_tokens, -started_at)`;

interface ImportFileRow {
  source: string;
  path: string;
  offset: number;
  size: number;
  inode: number;
  mtime_ms: number;
  head_hash: string;
  head_bytes: number;
  context: string | null;
  updated_at: number;
}

interface OutcomeRow {
  id: string;
  kind: string;
  user_id: string | null;
  team_id: string | null;
  repo: string | null;
  session_id: string | null;
  at: number;
  count: number;
  source: string;
  attrs: string;
  project_id: string | null;
  branch: string | null;
  sha: string | null;
  pr_number: number | null;
  tickets: string | null;
  lines_added: number | null;
  lines_removed: number | null;
  files_changed: number | null;
  ai_coauthored: number | null;
  ai_tools: string | null;
  reverts_sha: string | null;
}

export interface SeriesRow {
  start_time_ns: string;
  time_ns: string;
  value: number;
  /** The increase the stored point added (null: stored before this was kept). */
  last_delta: number | null;
}

/** 256 MiB: the page cache of a connection that imports (see commitImportBatch). */
const IMPORT_CACHE_KIB = 256 * 1024;
/** 40 MB of WAL between checkpoints on a connection that imports (see commitImportBatch). */
const IMPORT_CHECKPOINT_PAGES = 10_000;

/**
 * Of two records of one outcome (same id) the more trusted is kept: a self-reported post through the outcomes API
 * (`api`, an ordinary key: someone's word) gives way to a trusted poster's (`api-trusted`: a ticket bridge, CI) and to
 * the provider's own (a signed webhook delivery, git history), and a trusted post gives way to the provider's. So a key
 * holder cannot claim another person's work first, and a self-report never displaces or blocks a trusted record.
 * Claude Code analytics' counts are a day's totals so far: a later report of the same day, actor and kind (same id)
 * replaces the stored count (and date and person) where they differ. Anything else already stored is kept (retries,
 * replays, a second record of equal trust).
 */
export const OUTCOME_OVERRIDE = `kind = excluded.kind, user_id = excluded.user_id, team_id = excluded.team_id, repo = excluded.repo, session_id = excluded.session_id, at = excluded.at, count = excluded.count, source = excluded.source, attrs = excluded.attrs, project_id = excluded.project_id, branch = excluded.branch, sha = excluded.sha, pr_number = excluded.pr_number, tickets = excluded.tickets, lines_added = excluded.lines_added, lines_removed = excluded.lines_removed, files_changed = excluded.files_changed, ai_coauthored = excluded.ai_coauthored, ai_tools = excluded.ai_tools, reverts_sha = excluded.reverts_sha
         WHERE (outcomes.source = 'api' AND excluded.source <> 'api')
           OR (outcomes.source = 'api-trusted' AND excluded.source NOT IN ('api', 'api-trusted'))
           OR (outcomes.source = 'anthropic-claude-code' AND excluded.source = 'anthropic-claude-code'
             AND (outcomes.count <> excluded.count OR outcomes.at <> excluded.at
               OR outcomes.user_id IS DISTINCT FROM excluded.user_id OR outcomes.team_id IS DISTINCT FROM excluded.team_id))`;

export class SqliteAuditTables {
  private bulk = false;
  private readonly insertEvent: Database.Statement;
  private readonly replaceEvent: Database.Statement;
  private readonly refreshEvent: Database.Statement;
  private readonly putState: Database.Statement;
  private readonly getState: Database.Statement;
  private readonly getPriceBook: Database.Statement;
  private readonly putPriceBook: Database.Transaction<(key: string, book: string) => void>;
  private readonly listStates: Database.Statement;
  private readonly getSeries: Database.Statement;
  private readonly putSeries: Database.Statement;
  private readonly insertOutcome: Database.Statement;
  // better-sqlite3 transaction functions; run with .immediate(): they read before they write, and a deferred
  // transaction that must upgrade to a write lock after another connection wrote fails at once instead of waiting.
  private readonly commitTx: Database.Transaction<(batch: ImportBatch) => ImportBatchResult>;
  private readonly advanceTx: Database.Transaction<(points: readonly CounterPoint[]) => number[]>;
  private readonly otelTx: Database.Transaction<(commit: OtelCommit) => void>;
  private readonly outcomesTx: Database.Transaction<(outcomes: readonly OutcomeEvent[]) => number>;

  constructor(
    private readonly db: Database.Database,
    /** Writes an import batch's fingerprints, inside its transaction (the findings tables own their format). */
    private readonly writeFingerprints: (fps: readonly Fingerprint[]) => unknown = () => undefined,
  ) {
    const placeholders = EVENT_COLUMNS.map(() => '?').join(', ');
    this.insertEvent = db.prepare(`INSERT OR IGNORE INTO events (${EVENT_COLUMNS.join(', ')}) VALUES (${placeholders})`);
    // Every column but id, then the id and the new event's rank.
    this.replaceEvent = db.prepare(
      `UPDATE events SET ${EVENT_COLUMNS.slice(1).map((c) => `${c} = ?`).join(', ')}
       WHERE id = ? AND (?, ?, ?) > ${STORED_RANK}`,
    );
    // A record of the same rank replaces the stored one only where what the config decides differs (price, person),
    // or its source (an importer given a source of its own).
    this.refreshEvent = db.prepare(
      `UPDATE events SET ${EVENT_COLUMNS.slice(1).map((c) => `${c} = ?`).join(', ')}
       WHERE id = ? AND ((?, ?, ?) > ${STORED_RANK} OR ((?, ?, ?) = ${STORED_RANK}
         AND (cost_usd IS NOT ? OR user_id IS NOT ? OR team_id IS NOT ? OR project_id IS NOT ? OR source IS NOT ?)))`,
    );
    this.putState = db.prepare(
      `INSERT INTO import_files (source, path, "offset", size, inode, mtime_ms, head_hash, head_bytes, context, updated_at)
       VALUES (@source, @path, @offset, @size, @inode, @mtime_ms, @head_hash, @head_bytes, @context, @updated_at)
       ON CONFLICT (source, path) DO UPDATE SET "offset" = excluded."offset", size = excluded.size,
         inode = excluded.inode, mtime_ms = excluded.mtime_ms, head_hash = excluded.head_hash,
         head_bytes = excluded.head_bytes, context = excluded.context, updated_at = excluded.updated_at`,
    );
    this.getState = db.prepare('SELECT * FROM import_files WHERE source = ? AND path = ?');
    this.listStates = db.prepare('SELECT * FROM import_files WHERE source = ? ORDER BY path');
    this.getPriceBook = db.prepare('SELECT book FROM import_price_book WHERE catalogue = ?').pluck();
    const dropBooks = db.prepare('DELETE FROM import_price_book WHERE catalogue <> ?');
    const putBook = db.prepare('INSERT OR REPLACE INTO import_price_book (catalogue, book) VALUES (?, ?)');
    this.putPriceBook = db.transaction((key: string, book: string) => {
      dropBooks.run(key);
      putBook.run(key, book);
    });
    this.getSeries = db.prepare('SELECT start_time_ns, time_ns, value, last_delta FROM counter_series WHERE series_key = ? AND start_time_ns = ?');
    this.putSeries = db.prepare(
      `INSERT INTO counter_series (series_key, start_time_ns, time_ns, value, last_delta) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (series_key, start_time_ns) DO UPDATE SET time_ns = excluded.time_ns, value = excluded.value,
         last_delta = excluded.last_delta`,
    );
    this.insertOutcome = db.prepare(
      `INSERT INTO outcomes (id, kind, user_id, team_id, repo, session_id, at, count, source, attrs,
         project_id, branch, sha, pr_number, tickets, lines_added, lines_removed, files_changed, ai_coauthored, ai_tools,
         reverts_sha)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET ${OUTCOME_OVERRIDE}`,
    );

    const dropReplacedCopy = db.prepare('DELETE FROM fingerprints WHERE event_id = ?');
    const deferRollups = db.prepare('INSERT INTO rollup_deferred (one) VALUES (1)');
    const undeferRollups = db.prepare('DELETE FROM rollup_deferred');
    const rollups = new RollupBatch(db);
    const gatewayRequests = db
      .prepare(`SELECT provider_request_id FROM events WHERE source = 'gateway' AND endpoint = 'messages' AND provider_request_id IN (SELECT value FROM json_each(?))`)
      .pluck();
    // A copy stored before the gateway's event was (an import before this check existed, or a late gateway write):
    // removed when the log is read again (`--full`); the delete trigger takes it out of the rollups.
    const dropImportedCopy = db.prepare(`DELETE FROM events WHERE id = ? AND source <> 'gateway'`);
    this.commitTx = db.transaction((given: ImportBatch): ImportBatchResult => {
      let inserted = 0;
      let replaced = 0;
      let dropped = 0;
      for (const id of given.drop ?? []) {
        if (dropImportedCopy.run(id).changes === 0) continue;
        dropReplacedCopy.run(id);
        dropped += 1;
      }
      const candidates = meteringCandidates(given.events);
      const { kept, meteredIds } = splitMetered(given.events, new Set(candidates.length === 0 ? [] : (gatewayRequests.all(JSON.stringify(candidates)) as string[])));
      for (const id of meteredIds) if (dropImportedCopy.run(id).changes > 0) dropReplacedCopy.run(id);
      const batch = { ...given, events: kept };
      const metered = meteredIds.length;
      const existing: UsageEvent[] = [];
      // Where the copy this batch stored (inserted or replaced) starts, by id (see `ofStoredCopy`).
      const startOf = new Map<string, number>();
      const replacedIds = new Set<string>();
      // New events: the insert trigger is deferred and their rollups summed here (rollup-batch.ts). The row in
      // rollup_deferred never commits: it is deleted below, in this same transaction.
      rollups.clear();
      deferRollups.run();
      for (const e of batch.events) {
        if (this.insertEvent.run(eventValues(e)).changes > 0) {
          inserted += 1;
          rollups.add(e);
          startOf.set(e.id, e.startedAt);
        } else existing.push(e);
      }
      undeferRollups.run();
      rollups.flush();
      // Ids already stored: replaced when the new record ranks higher (the update trigger moves their rollups).
      for (const e of existing) {
        const values = eventValues(e);
        const rank = rankOf(e);
        const changed =
          batch.refresh === true
            ? this.refreshEvent.run([...values.slice(1), e.id, ...rank, ...rank, e.costUsd, e.userId, e.teamId, e.projectId, e.source]).changes
            : this.replaceEvent.run([...values.slice(1), e.id, ...rank]).changes;
        if (changed > 0) {
          replaced += 1;
          startOf.set(e.id, e.startedAt);
          replacedIds.add(e.id);
        }
      }
      if (batch.fingerprints !== undefined && batch.fingerprints.length > 0) {
        const kept = ofStoredCopy(batch.fingerprints, (id) => startOf.get(id));
        for (const f of kept) if (replacedIds.has(f.eventId)) dropReplacedCopy.run(f.eventId);
        this.writeFingerprints(kept);
      }
      for (const s of batch.states) this.putState.run(stateToRow(s));
      return { inserted, replaced, metered, ...(given.drop === undefined ? {} : { dropped }) };
    });

    this.advanceTx = db.transaction((points: readonly CounterPoint[]): number[] => this.advance(points).map((s) => s.increase));

    const INTERVAL = 'SELECT id, resource, model, endpoint, from_ms AS fromMs, to_ms AS toMs, state FROM otel_intervals';
    const getInterval = db.prepare(`${INTERVAL} WHERE id = ?`);
    const coveringIntervals = db.prepare(`${INTERVAL} WHERE resource = ? AND model = ? AND endpoint = ? AND to_ms >= ? AND from_ms <= ?`);
    const previousEnd = db.prepare('SELECT max(to_ms) AS toMs FROM otel_intervals WHERE resource = ? AND model = ? AND endpoint = ? AND to_ms < ?');
    const putInterval = db.prepare(
      `INSERT INTO otel_intervals (id, resource, model, endpoint, from_ms, to_ms, state) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET resource = excluded.resource, model = excluded.model, endpoint = excluded.endpoint,
         from_ms = excluded.from_ms, to_ms = excluded.to_ms, state = excluded.state`,
    );
    const getEvent = db.prepare('SELECT * FROM events WHERE id = ?');
    // By the partial index on OpenTelemetry events' model and end; the resource is a tag only its spans carry.
    // Spans without a resource tag (windowSpanTotals) are read too: instr(tags, '"otel.resource=') = 0.
    const spanTotalsOf = db.prepare(
      `SELECT COALESCE(sum(CASE WHEN instr(tags, @resource) > 0 THEN input_tokens ELSE 0 END), 0) AS mineIn,
         COALESCE(sum(CASE WHEN instr(tags, @resource) > 0 THEN output_tokens ELSE 0 END), 0) AS mineOut,
         COALESCE(sum(instr(tags, @resource) > 0), 0) AS mineN,
         COALESCE(sum(input_tokens), 0) AS allIn, COALESCE(sum(output_tokens), 0) AS allOut, count(*) AS allN,
         COALESCE(sum(instr(tags, '"otel.resource=') > 0), 0) AS tagged
       FROM events WHERE source = 'otel' AND model_served = @model AND ended_at >= @fromMs AND ended_at <= @toMs AND endpoint = @endpoint AND instr(tags, '"otel-span"') > 0`,
    );
    const spanTotals = (w: SpanWindow): SpanTotals => {
      const r = spanTotalsOf.get({ model: w.model, fromMs: w.fromMs, toMs: w.toMs, endpoint: w.endpoint, resource: JSON.stringify(`otel.resource=${w.resource}`) }) as Record<'mineIn' | 'mineOut' | 'mineN' | 'allIn' | 'allOut' | 'allN' | 'tagged', number>;
      return windowSpanTotals({ mine: { inputTokens: r.mineIn, outputTokens: r.mineOut, requests: r.mineN }, all: { inputTokens: r.allIn, outputTokens: r.allOut, requests: r.allN }, tagged: r.tagged });
    };
    // Every column but id, then the id: an OTLP interval's event made again from what its points say now.
    const putEvent = db.prepare(`UPDATE events SET ${EVENT_COLUMNS.slice(1).map((c) => `${c} = ?`).join(', ')} WHERE id = ? AND source <> 'gateway'`);
    /** New events as the gateway's batches, with their rollups summed here (see commitTx); the ids already stored. */
    const insertNew = (events: readonly UsageEvent[]): UsageEvent[] => {
      const existing: UsageEvent[] = [];
      rollups.clear();
      deferRollups.run();
      for (const e of events.map(storableEvent)) {
        if (this.insertEvent.run(eventValues(e)).changes > 0) rollups.add(e);
        else existing.push(e);
      }
      undeferRollups.run();
      rollups.flush();
      return existing;
    };
    this.otelTx = db.transaction((commit: OtelCommit): void => {
      insertNew(commit.perRequest);
      const counters = this.advance(commit.counters);
      const intervals = new Map<string, OtelInterval>();
      for (const id of commit.intervals) {
        const row = getInterval.get(id) as OtelInterval | undefined;
        if (row !== undefined) intervals.set(id, row);
      }
      for (const w of commit.covering) {
        for (const row of coveringIntervals.all(w.resource, w.model, w.endpoint, w.fromMs, w.toMs) as OtelInterval[]) intervals.set(row.id, row);
      }
      const events = new Map<string, UsageEvent>();
      for (const id of new Set([...intervals.keys(), ...commit.events])) {
        const row = getEvent.get(id) as EventRow | undefined;
        if (row !== undefined) events.set(id, eventFromRow(row));
      }
      const previousEnds = commit.previous.map((w) => (previousEnd.get(w.resource, w.model, w.endpoint, w.beforeMs) as { toMs: number | null }).toMs);
      const read = { counters, intervals, events, previousEnds };
      const spans = commit.windows(read).map(spanTotals);
      const writes = commit.build({ ...read, spans });
      for (const i of writes.intervals) putInterval.run(i.id, i.resource, i.model, i.endpoint, i.fromMs, i.toMs, i.state);
      // The update trigger moves the rollups of those replaced.
      for (const e of insertNew(writes.events)) putEvent.run([...eventValues(e).slice(1), e.id]);
      for (const id of writes.drop) if (dropImportedCopy.run(id).changes > 0) dropReplacedCopy.run(id);
      for (const o of writes.outcomes) this.insertOutcome.run(outcomeValues(o));
    });

    this.outcomesTx = db.transaction((outcomes: readonly OutcomeEvent[]): number => {
      let n = 0;
      for (const o of outcomes) {
        n += this.insertOutcome.run(outcomeValues(o)).changes;
      }
      return n;
    });
  }

  getImportState(source: string, path: string): ImportFileState | undefined {
    const row = this.getState.get(source, path) as ImportFileRow | undefined;
    return row === undefined ? undefined : stateFromRow(row);
  }

  listImportStates(source: string): ImportFileState[] {
    return (this.listStates.all(source) as ImportFileRow[]).map(stateFromRow);
  }

  readPriceBook(key: string): string | null {
    return (this.getPriceBook.get(key) as string | undefined) ?? null;
  }

  writePriceBook(key: string, book: string): void {
    this.putPriceBook.immediate(key, book);
  }

  commitImportBatch(batch: ImportBatch): ImportBatchResult {
    if (batch.events.length === 0 && batch.states.length === 0 && batch.drop === undefined) return { inserted: 0, replaced: 0, metered: 0 };
    if (!this.bulk) {
      // Import batches touch pages all over the events indexes (ids are hashes). With SQLite's default 2 MB page
      // cache, a large transaction spills dirty pages to the WAL again and again (millions of writes for a 1 GB
      // import); a cache that holds the transaction's pages writes each once. It is a ceiling, filled on demand,
      // and only on connections that import. (Statement journals are in memory on every connection: sqlite-store.ts.)
      this.db.pragma(`cache_size = -${IMPORT_CACHE_KIB}`);
      // SQLite checkpoints after any commit that leaves the WAL over 1000 pages (4 MB): with 10k-event batches,
      // after nearly every batch, copying back pages the next batches write again. Every IMPORT_CHECKPOINT_PAGES
      // instead (the WAL stays bounded at that plus one batch).
      this.db.pragma(`wal_autocheckpoint = ${IMPORT_CHECKPOINT_PAGES}`);
      this.bulk = true;
    }
    return this.commitTx.immediate({ ...batch, events: batch.events.map(storableEvent) });
  }

  advanceCounters(points: readonly CounterPoint[]): number[] {
    return points.length === 0 ? [] : this.advanceTx.immediate(points);
  }

  commitOtel(commit: OtelCommit): void {
    this.otelTx.immediate(commit);
  }

  /** Moves the series of `points` (inside a transaction): each point's step, zero for one that moves nothing. */
  private advance(points: readonly CounterPoint[]): CounterStep[] {
    const moved = new Set<string>();
    return points.map((p) => {
      const prev = this.getSeries.get(p.seriesKey, p.startTimeNs) as SeriesRow | undefined;
      const step = counterStep(prev, p, !moved.has(seriesOf(p)));
      if (step === null) return { increase: 0, sinceNs: null };
      this.putSeries.run(p.seriesKey, p.startTimeNs, p.timeNs, p.value, step.increase);
      moved.add(seriesOf(p));
      return step;
    });
  }

  insertOutcomes(outcomes: readonly OutcomeEvent[]): number {
    return outcomes.length === 0 ? 0 : this.outcomesTx.immediate(outcomes);
  }

  listOutcomes(filter: OutcomeFilter & { limit?: number }): OutcomeEvent[] {
    const clauses: string[] = [];
    const params: (string | number)[] = [];
    const add = (clause: string, value: string | number | undefined): void => {
      if (value === undefined) return;
      clauses.push(clause);
      params.push(value);
    };
    add('at >= ?', filter.since);
    add('at < ?', filter.until);
    add('kind = ?', filter.kind);
    add('user_id = ?', filter.userId);
    add('team_id = ?', filter.teamId);
    add('repo = ?', filter.repo);
    add('source = ?', filter.source);
    let sql = `SELECT * FROM outcomes ${clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : ''} ORDER BY at, id`;
    if (filter.limit !== undefined && Number.isInteger(filter.limit) && filter.limit >= 0) sql += ` LIMIT ${filter.limit}`;
    return (this.db.prepare(sql).all(params) as OutcomeRow[]).map(outcomeFromRow);
  }
}

/**
 * A counter series is its attributes and its start time: the point a CUMULATIVE counter counts from, set when the
 * process that counts starts it. Two senders with the same attributes (overlapping processes of one service or user,
 * without an instance or session id) have different start times, so each counts in a series of its own; a restarted
 * process starts a new series, which counts in full; a late point of the process before it still moves its own.
 */
export const seriesOf = (p: Pick<CounterPoint, 'seriesKey' | 'startTimeNs'>): string => `${p.startTimeNs} ${p.seriesKey}`;

/**
 * The increase a cumulative point adds over the stored point of its series (same key and start time), or null when
 * the point must not move the series (not newer than what is stored). Nanosecond times are compared as integers of
 * any length.
 *
 * The very point stored last, sent again in a later call, gives the increase it gave then, and what it stored (ids
 * derived from the records) is found stored: a batch retried after its answer was lost, or the same points received
 * by two replicas. (The OTLP receiver moves counters in the transaction that stores their events, commitOtel, so a
 * batch that failed to store moved none.) An older point sent again adds nothing.
 */
export function counterDelta(prev: SeriesRow | undefined, p: CounterPoint, storedBefore = true): number | null {
  return counterStep(prev, p, storedBefore)?.increase ?? null;
}

/** `counterDelta` with the time the increase counts from (CounterStep): the stored point's, or the series' start. */
export function counterStep(prev: SeriesRow | undefined, p: CounterPoint, storedBefore = true): CounterStep | null {
  if (prev === undefined) return { increase: p.value, sinceNs: p.startTimeNs };
  // `storedBefore`: the stored point is from an earlier call (a point twice in one batch adds nothing the second time).
  const same = prev.start_time_ns === p.startTimeNs && prev.time_ns === p.timeNs && prev.value === p.value;
  if (same && storedBefore && prev.last_delta !== null) return { increase: prev.last_delta, sinceNs: null };
  if (compareNs(p.timeNs, prev.time_ns) <= 0) return null;
  // A lower value is a reset: the counter started again somewhere after the stored point.
  return { increase: p.value < prev.value ? p.value : p.value - prev.value, sinceNs: prev.time_ns };
}

function compareNs(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function stateToRow(s: ImportFileState): ImportFileRow {
  return {
    source: s.source,
    path: s.path,
    offset: s.offset,
    size: s.size,
    inode: s.inode,
    mtime_ms: s.mtimeMs,
    head_hash: s.headHash,
    head_bytes: s.headBytes,
    context: s.context,
    updated_at: s.updatedAt,
  };
}

function stateFromRow(r: ImportFileRow): ImportFileState {
  return {
    source: r.source,
    path: r.path,
    offset: r.offset,
    size: r.size,
    inode: r.inode,
    mtimeMs: r.mtime_ms,
    headHash: r.head_hash,
    headBytes: r.head_bytes,
    context: r.context,
    updatedAt: r.updated_at,
  };
}

// Rows are trusted: only insertOutcomes writes them.
function outcomeFromRow(r: OutcomeRow): OutcomeEvent {
  return {
    id: r.id,
    kind: r.kind as OutcomeKind,
    userId: r.user_id,
    teamId: r.team_id,
    repo: r.repo,
    sessionId: r.session_id,
    at: r.at,
    count: r.count,
    source: r.source as OutcomeSource,
    attrs: JSON.parse(r.attrs) as Record<string, string>,
    ...shippedWork({
      ...r,
      tickets: r.tickets === null ? null : (JSON.parse(r.tickets) as string[]),
      ai_tools: r.ai_tools === null ? null : (JSON.parse(r.ai_tools) as string[]),
      ai_coauthored: r.ai_coauthored === null ? null : r.ai_coauthored !== 0,
    }),
  };
}

/** The stored columns of shipped work, decoded (booleans and lists), as both stores read them. */
export interface ShippedWorkRow {
  project_id: string | null;
  branch: string | null;
  sha: string | null;
  pr_number: number | null;
  tickets: string[] | null;
  lines_added: number | null;
  lines_removed: number | null;
  files_changed: number | null;
  ai_coauthored: boolean | null;
  ai_tools: string[] | null;
  reverts_sha: string | null;
}

/**
 * The shipped-work fields of an outcome: only those the row has (a NULL column is a field the source did not know,
 * left out, so telemetry outcomes read back exactly as written).
 */
export function shippedWork(r: ShippedWorkRow): Partial<OutcomeEvent> {
  const out: Partial<OutcomeEvent> = {};
  if (r.project_id !== null) out.projectId = r.project_id;
  if (r.branch !== null) out.branch = r.branch;
  if (r.sha !== null) out.sha = r.sha;
  if (r.pr_number !== null) out.prNumber = r.pr_number;
  if (r.tickets !== null) out.tickets = r.tickets;
  if (r.lines_added !== null) out.linesAdded = r.lines_added;
  if (r.lines_removed !== null) out.linesRemoved = r.lines_removed;
  if (r.files_changed !== null) out.filesChanged = r.files_changed;
  if (r.ai_coauthored !== null) out.aiCoAuthored = r.ai_coauthored;
  if (r.ai_tools !== null) out.aiTools = r.ai_tools;
  if (r.reverts_sha !== null) out.revertsSha = r.reverts_sha;
  return out;
}
