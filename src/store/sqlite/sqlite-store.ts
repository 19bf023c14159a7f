import Database from 'better-sqlite3';
import { GoodhartError } from '../../errors.js';
import type { UsageEvent } from '../../usage/event.js';
import type { OutcomeEvent, OutcomeFilter } from '../../outcomes/event.js';
import type {
  CounterPoint,
  CounterStore,
  EventFilter,
  AggregateOptions,
  GroupBy,
  ImportBatch,
  ImportBatchResult,
  ImportFileState,
  ImportStateStore,
  KeyRecord,
  OtelCommit,
  OutcomeStore,
  Store,
  UsageAggregate,
} from '../types.js';
import { eventFromRow, eventToRow, keyFromRow, keyToRow, type EventRow, type KeyRow, storableEvent, storableFilter } from '../rows.js';
import { SqliteAggregator } from './aggregate.js';
import { SqliteAuditTables } from './audit-tables.js';
import { SqliteFindingsTables } from './findings-tables.js';
import { connectSqlite, isReadOnlyError, outdatedReadOnlyError, readOnlyError } from './connect.js';
import { MIGRATIONS } from './migrations.js';
import { RollupBatch } from './rollup-batch.js';

const INSERT_EVENT_SQL = `
  INSERT OR IGNORE INTO events (
    id, source, provider_request_id, started_at, first_token_at, ended_at,
    user_id, team_id, project_id, key_id, session_id, tags, repo, branch,
    provider, endpoint, model_requested, model_served,
    input_tokens, cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens, output_tokens, reasoning_tokens,
    cost_usd, usage_estimated, status, error_class, streamed, client_aborted, raw_usage, fallback_from,
    audio_input_tokens, audio_output_tokens, tool_calls
  ) VALUES (
    @id, @source, @provider_request_id, @started_at, @first_token_at, @ended_at,
    @user_id, @team_id, @project_id, @key_id, @session_id, @tags, @repo, @branch,
    @provider, @endpoint, @model_requested, @model_served,
    @input_tokens, @cache_read_tokens, @cache_write_5m_tokens, @cache_write_1h_tokens, @output_tokens, @reasoning_tokens,
    @cost_usd, @usage_estimated, @status, @error_class, @streamed, @client_aborted, @raw_usage, @fallback_from,
    @audio_input_tokens, @audio_output_tokens, @tool_calls
  )`;

/**
 * The embedded default store: one SQLite file in WAL mode, so `goodhart report` in another process reads while
 * `goodhart serve` writes. better-sqlite3 is synchronous; the async methods only keep the Store shape.
 */
export class SqliteStore implements Store, ImportStateStore, CounterStore, OutcomeStore {
  readonly kind = 'sqlite' as const;
  readonly path: string;
  /** Opened read-only (a read command on a file this user may not write): reads only. */
  readonly readOnly: boolean;
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  private readonly insertMany: (events: readonly UsageEvent[]) => number;
  /** Importer file states, OTLP counter series and outcomes (audit mode). */
  private readonly audit: SqliteAuditTables;
  /** Waste detection: findings, fingerprints, the fingerprint secret (see src/detect/store.ts, `findingsStoreOf`). */
  readonly findings: SqliteFindingsTables;
  /** Reports: from the hourly rollups where they can answer (see aggregate.ts, rollups.ts). */
  private readonly aggregator: SqliteAggregator;

  /**
   * `rollups: false` reads every report from raw events (tests and the benchmark compare both). `readOnly`: the
   * command only reads, so a file this user may not write is opened read-only (see connectSqlite) instead of refused.
   */
  constructor(path: string, opts: { rollups?: boolean; readOnly?: boolean | undefined } = {}) {
    this.path = path;
    const connection = connectSqlite(path, { readOnly: opts.readOnly });
    this.db = connection.db;
    this.readOnly = connection.readOnly;
    // NORMAL is safe in WAL mode: a power cut may lose the last commits, never corrupt the file.
    this.db.pragma('synchronous = NORMAL');
    // 64 MiB of page cache per connection (SQLite's default is 2 MiB): the hot pages of the event indexes and the
    // rollups of a multi-gigabyte database stay in memory, so inserts do not slow down as the file grows.
    this.db.pragma('cache_size = -65536');
    // Statement journals in memory: every insert into events opens one (the table has triggers), and as a temporary
    // file it cost about ten write system calls per event (measured: 11 pwrite calls and 30 µs of CPU an event in
    // batches of 500; 1 and 22 µs in memory). Temporary sort tables of reports stay small (rollups, one row a group).
    this.db.pragma('temp_store = MEMORY');
    try {
      this.migrate();
    } catch (cause) {
      this.db.close();
      throw isReadOnlyError(cause) ? readOnlyError(path, cause) : cause;
    }

    const insert = this.db.prepare(INSERT_EVENT_SQL);
    // The gateway's batches sum their rollups per row, like imports (rollup-batch.ts): the insert trigger is deferred
    // inside this transaction only, by a row in rollup_deferred that never commits.
    const rollups = new RollupBatch(this.db);
    const defer = this.db.prepare('INSERT INTO rollup_deferred (one) VALUES (1)');
    const undefer = this.db.prepare('DELETE FROM rollup_deferred');
    this.insertMany = this.db.transaction((events: readonly UsageEvent[]) => {
      let inserted = 0;
      rollups.clear();
      defer.run();
      for (const event of events) {
        if (insert.run(eventToRow(event)).changes === 0) continue;
        inserted++;
        rollups.add(event);
      }
      undefer.run();
      rollups.flush();
      return inserted;
    });
    this.findings = new SqliteFindingsTables(this.db);
    this.audit = new SqliteAuditTables(this.db, (fps) => this.findings.insertFingerprintsNow(fps));
    this.aggregator = new SqliteAggregator(this.db, opts.rollups ?? true);
  }

  private migrate(): void {
    const version = (): number => Number(this.db.pragma('user_version', { simple: true }));
    const newer = (current: number): GoodhartError =>
      new GoodhartError(
        'config_invalid',
        500,
        `The database at ${this.path} has schema version ${current}, newer than this goodhart supports (${MIGRATIONS.length}). Upgrade goodhart, or point --db / GOODHART_DB at another file.`,
      );
    const found = version();
    if (found === MIGRATIONS.length) return;
    if (found > MIGRATIONS.length) throw newer(found);
    if (this.readOnly) throw outdatedReadOnlyError(this.path, 'tables');
    // IMMEDIATE takes the write lock first, so two processes opening a new file don't both migrate it.
    this.db
      .transaction(() => {
        const current = version();
        if (current > MIGRATIONS.length) throw newer(current);
        for (const sql of MIGRATIONS.slice(current)) this.db.exec(sql);
        this.db.pragma(`user_version = ${MIGRATIONS.length}`);
      })
      .immediate();
  }

  private statement(sql: string): Database.Statement {
    let stmt = this.statements.get(sql);
    if (stmt === undefined) {
      stmt = this.db.prepare(sql);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  async insertEvents(events: readonly UsageEvent[]): Promise<number> {
    if (events.length === 0) return 0;
    return this.insertMany(events.map(storableEvent));
  }

  async listEvents(filter: EventFilter & { limit?: number; order?: 'asc' | 'desc' }): Promise<UsageEvent[]> {
    const { where, params } = whereClause(storableFilter(filter));
    const dir = filter.order === 'desc' ? 'DESC' : 'ASC';
    let sql = `SELECT * FROM events ${where} ORDER BY started_at ${dir}, id ${dir}`;
    if (filter.limit !== undefined) {
      if (!Number.isInteger(filter.limit) || filter.limit < 0) {
        throw new GoodhartError('invalid_request', 400, `limit must be a non-negative integer, got ${filter.limit}`);
      }
      sql += ` LIMIT ${filter.limit}`;
    }
    return (this.statement(sql).all(params) as EventRow[]).map(eventFromRow);
  }

  async aggregate(groupBy: GroupBy, filter: EventFilter, opts: AggregateOptions = {}): Promise<UsageAggregate[]> {
    return this.aggregator.aggregate(groupBy, storableFilter(filter), opts.timeZone ?? 'UTC', opts.by);
  }

  async createKey(key: KeyRecord): Promise<void> {
    try {
      this.db.transaction(() => {
        this.statement(
          `INSERT INTO keys (id, hash, prefix, user_id, team_id, project_id, name, created_at, revoked_at)
           VALUES (@id, @hash, @prefix, @user_id, @team_id, @project_id, @name, @created_at, @revoked_at)`,
        ).run(keyToRow(key));
        this.bumpKeysVersion();
      })();
    } catch (cause) {
      if (cause instanceof Database.SqliteError && cause.code.startsWith('SQLITE_CONSTRAINT')) {
        throw new GoodhartError('invalid_request', 409, `A key with id ${key.id} or the same hash already exists.`, { cause });
      }
      throw cause;
    }
  }

  async findKeyByHash(hash: string): Promise<KeyRecord | undefined> {
    const row = this.statement('SELECT * FROM keys WHERE hash = ?').get(hash) as KeyRow | undefined;
    return row === undefined ? undefined : keyFromRow(row);
  }

  async listKeys(): Promise<KeyRecord[]> {
    return (this.statement('SELECT * FROM keys ORDER BY created_at, id').all() as KeyRow[]).map(keyFromRow);
  }

  async revokeKey(idOrPrefix: string, at: number): Promise<KeyRecord | undefined> {
    return this.db.transaction((): KeyRecord | undefined => {
      let rows = this.statement('SELECT * FROM keys WHERE id = ?').all(idOrPrefix) as KeyRow[];
      if (rows.length === 0) rows = this.statement('SELECT * FROM keys WHERE prefix = ?').all(idOrPrefix) as KeyRow[];
      const [row, ...more] = rows;
      if (row === undefined) return undefined;
      if (more.length > 0) {
        throw new GoodhartError(
          'invalid_request',
          400,
          `The prefix ${idOrPrefix} matches ${rows.length} keys (${rows.map((r) => r.id).join(', ')}). Revoke by id instead.`,
        );
      }
      if (row.revoked_at !== null) return keyFromRow(row);
      this.statement('UPDATE keys SET revoked_at = ? WHERE id = ?').run(at, row.id);
      this.bumpKeysVersion();
      return keyFromRow({ ...row, revoked_at: at });
    }).immediate();
  }

  async keysVersion(): Promise<number> {
    const row = this.statement(`SELECT value FROM meta WHERE key = 'keys_version'`).get() as { value: number } | undefined;
    return row?.value ?? 0;
  }

  private bumpKeysVersion(): void {
    this.statement(`UPDATE meta SET value = value + 1 WHERE key = 'keys_version'`).run();
  }

  async getImportState(source: string, path: string): Promise<ImportFileState | undefined> {
    return this.audit.getImportState(source, path);
  }

  async listImportStates(source: string): Promise<ImportFileState[]> {
    return this.audit.listImportStates(source);
  }

  /** The importers' price book (src/importers/price-book.ts). */
  async readPriceBook(key: string): Promise<string | null> {
    return this.audit.readPriceBook(key);
  }

  async writePriceBook(key: string, book: string): Promise<void> {
    this.audit.writePriceBook(key, book);
  }

  async commitImportBatch(batch: ImportBatch): Promise<ImportBatchResult> {
    return this.audit.commitImportBatch(batch);
  }

  async advanceCounters(points: readonly CounterPoint[]): Promise<number[]> {
    return this.audit.advanceCounters(points);
  }

  async commitOtel(commit: OtelCommit): Promise<void> {
    this.audit.commitOtel(commit);
  }

  async otelTagged(sessions: readonly string[], tag: string, limit: number): Promise<{ id: string; sessionId: string }[]> {
    if (sessions.length === 0) return [];
    // By the session index; tags are a JSON array of strings, matched as written.
    const rows = this.db
      .prepare(
        `SELECT id, session_id AS sessionId FROM events WHERE session_id IN (SELECT value FROM json_each(?)) AND source = 'otel' AND instr(tags, ?) > 0 LIMIT ?`,
      )
      .all(JSON.stringify(sessions), JSON.stringify(tag), limit) as { id: string; sessionId: string }[];
    return rows;
  }

  async insertOutcomes(outcomes: readonly OutcomeEvent[]): Promise<number> {
    return this.audit.insertOutcomes(outcomes);
  }

  async listOutcomes(filter: OutcomeFilter & { limit?: number }): Promise<OutcomeEvent[]> {
    return this.audit.listOutcomes(filter);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

function whereClause(filter: EventFilter): { where: string; params: Record<string, string | number> } {
  const clauses: string[] = [];
  const params: Record<string, string | number> = {};
  const add = (clause: string, name: string, value: string | number | undefined): void => {
    if (value === undefined) return;
    clauses.push(clause);
    params[name] = value;
  };
  /** null: the events without one. */
  const addDim = (column: string, name: string, value: string | null | undefined): void => {
    if (value === null) clauses.push(`${column} IS NULL`);
    else add(`${column} = @${name}`, name, value);
  };
  add('started_at >= @since', 'since', filter.since);
  add('started_at < @until', 'until', filter.until);
  addDim('team_id', 'team', filter.teamId);
  addDim('user_id', 'user', filter.userId);
  addDim('project_id', 'project', filter.projectId);
  // Either name matches, so `--model gpt-4o` finds events served as the dated snapshot too.
  add('(model_served = @model OR model_requested = @model)', 'model', filter.model);
  add('source = @source', 'source', filter.source);
  add('session_id = @session', 'session', filter.sessionId);
  return { where: clauses.length === 0 ? '' : `WHERE ${clauses.join(' AND ')}`, params };
}

