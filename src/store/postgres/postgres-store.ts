import { fingerprintKeyFile } from '../../detect/fingerprint/secret-file.js';
import postgres from 'postgres';
import { GoodhartError } from '../../errors.js';
import type { UsageEvent } from '../../usage/event.js';
import { localDateFormatter } from '../sqlite/local-date.js';
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
import { NONE_KEY } from '../types.js';
import { eventFromRow, eventToRow, keyFromRow, keyToRow, meteringCandidates, splitMetered, storableEvent, storableFilter, type KeyRow, type StoredEventRow } from '../rows.js';
import { HOUR_MS, aggregateSql } from './aggregate-sql.js';
import * as audit from './audit-tables.js';
import { ofStoredCopy } from '../findings-rows.js';
import { insertFingerprintsWith, PostgresFindingsTables } from './findings-tables.js';
import { MIGRATIONS } from './migrations.js';
import { ensurePartition, partitionsFor } from './partitions.js';

/**
 * int8 as a JS number: epoch milliseconds and token counts stay far below 2^53, and the Store interface speaks
 * numbers. (postgres.js returns int8 as a string by default.)
 */
const TYPES = {
  int8: {
    to: 20,
    from: [20],
    serialize: (x: number) => String(x),
    parse: (x: string) => Number(x),
  },
};

type Sql = postgres.Sql<{ int8: number }>;
type TxSql = postgres.TransactionSql<{ int8: number }>;

export interface PostgresStoreOptions {
  /** Schema(s) to use, set as the connection's `search_path` (also accepted as `?search_path=` in the URL). */
  searchPath?: string;
  /** Pool size (default 10): one gateway replica rarely needs more than a few concurrent statements. */
  max?: number;
  /** Seconds to wait for a connection before failing (default 10). */
  connectTimeout?: number;
  /** Read reports from the hourly rollup where the filter allows (default true). False reads raw events only. */
  rollups?: boolean;
  /**
   * A database without Goodhart's tables is an error instead of getting them (commands given a database to use,
   * not to set up: a mistyped URL is reported, not filled with eighteen tables).
   */
  mustExist?: boolean;
  /**
   * Commands that only read: nothing is created, migrated or partitioned, so a role that may only SELECT can run
   * them; a schema older than this goodhart's is an error saying how to upgrade it.
   */
  readOnly?: boolean;
}

/** Column order of the batch arrays in insertEventsSql, with each array's SQL type. */
const EVENT_COLUMNS = [
  ['id', 'text'],
  ['source', 'text'],
  ['provider_request_id', 'text'],
  ['started_at', 'int8'],
  ['first_token_at', 'int8'],
  ['ended_at', 'int8'],
  ['user_id', 'text'],
  ['team_id', 'text'],
  ['project_id', 'text'],
  ['key_id', 'text'],
  ['session_id', 'text'],
  ['tags', 'text'],
  ['repo', 'text'],
  ['branch', 'text'],
  ['provider', 'text'],
  ['endpoint', 'text'],
  ['model_requested', 'text'],
  ['model_served', 'text'],
  ['input_tokens', 'int8'],
  ['cache_read_tokens', 'int8'],
  ['cache_write_5m_tokens', 'int8'],
  ['cache_write_1h_tokens', 'int8'],
  ['output_tokens', 'int8'],
  ['reasoning_tokens', 'int8'],
  ['cost_usd', 'float8'],
  ['usage_estimated', 'int2'],
  ['status', 'int4'],
  ['error_class', 'text'],
  ['streamed', 'int2'],
  ['client_aborted', 'int2'],
  ['raw_usage', 'text'],
  ['fallback_from', 'text'],
  ['audio_input_tokens', 'int8'],
  ['audio_output_tokens', 'int8'],
  ['tool_calls', 'text'],
] as const;

type EventColumn = (typeof EVENT_COLUMNS)[number][0];

/** Booleans travel as 0/1 (postgres.js would type a JS boolean array as a scalar boolean) and tags as JSON text. */
const COLUMN_VALUE: Partial<Record<EventColumn, string>> = {
  tags: 'b.tags::jsonb',
  tool_calls: 'b.tool_calls::jsonb',
  usage_estimated: 'b.usage_estimated <> 0',
  streamed: 'b.streamed <> 0',
  client_aborted: 'b.client_aborted <> 0',
};

const ROLLUP_DIMS = 'user_id, team_id, project_id, model_requested, model_served, provider, source';

/**
 * One statement per batch: unnest the column arrays (one parameter per column, so the statement text is the
 * same for every batch size and is prepared once per connection); keep the first occurrence of each id; claim
 * the ids in event_ids (sorted, so concurrent batches lock in the same order and never deadlock), skipping ids
 * already stored; insert the claimed events; and add only those to the hourly rollup, upserted in key order for
 * the same reason. The rollup runs last: data-modifying CTEs run to completion, the main query reads `ins`.
 */
function insertEventsSql(result: 'count' | 'ids'): string {
  return `
  WITH b AS (
    SELECT * FROM unnest(${EVENT_COLUMNS.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ')})
      WITH ORDINALITY AS b(${EVENT_COLUMNS.map(([name]) => name).join(', ')}, ord)
  ), firsts AS (
    SELECT DISTINCT ON (id) * FROM b ORDER BY id, ord
  ), claimed AS (
    INSERT INTO event_ids (id, started_at) SELECT id, started_at FROM firsts ORDER BY id
    ON CONFLICT DO NOTHING
    RETURNING id
  ), ins AS (
    INSERT INTO events (${EVENT_COLUMNS.map(([name]) => name).join(', ')})
    SELECT ${EVENT_COLUMNS.map(([name]) => COLUMN_VALUE[name] ?? `b.${name}`).join(', ')}
    FROM firsts b JOIN claimed USING (id)
    ON CONFLICT DO NOTHING
    RETURNING id, started_at, ${ROLLUP_DIMS}, input_tokens, cache_read_tokens, cache_write_5m_tokens,
      cache_write_1h_tokens, output_tokens, reasoning_tokens, cost_usd, usage_estimated
  ), rollup AS (
    INSERT INTO usage_hourly AS h (hour_start, ${ROLLUP_DIMS}, requests, input_tokens, cache_read_tokens,
      cache_write_5m_tokens, cache_write_1h_tokens, output_tokens, reasoning_tokens, cost_usd, unpriced, estimated,
      first_at, last_at)
    SELECT floor(started_at / ${HOUR_MS}.0)::int8 * ${HOUR_MS}, ${ROLLUP_DIMS},
      count(*), sum(input_tokens), sum(cache_read_tokens), sum(cache_write_5m_tokens), sum(cache_write_1h_tokens),
      sum(output_tokens), sum(reasoning_tokens), COALESCE(sum(cost_usd), 0),
      count(*) FILTER (WHERE cost_usd IS NULL), count(*) FILTER (WHERE usage_estimated),
      min(started_at), max(started_at)
    FROM ins
    GROUP BY 1, ${ROLLUP_DIMS}
    ORDER BY 1, ${ROLLUP_DIMS}
    ${ROLLUP_UPSERT}
  )
  ${result === 'count' ? 'SELECT count(*)::int4 AS inserted FROM ins' : 'SELECT id FROM ins'}`;
}

/** Adds a row of sums to the stored one (the sums of a negative row subtract). */
const ROLLUP_UPSERT = `
    ON CONFLICT ON CONSTRAINT usage_hourly_key DO UPDATE SET
      requests = h.requests + EXCLUDED.requests,
      input_tokens = h.input_tokens + EXCLUDED.input_tokens,
      cache_read_tokens = h.cache_read_tokens + EXCLUDED.cache_read_tokens,
      cache_write_5m_tokens = h.cache_write_5m_tokens + EXCLUDED.cache_write_5m_tokens,
      cache_write_1h_tokens = h.cache_write_1h_tokens + EXCLUDED.cache_write_1h_tokens,
      output_tokens = h.output_tokens + EXCLUDED.output_tokens,
      reasoning_tokens = h.reasoning_tokens + EXCLUDED.reasoning_tokens,
      cost_usd = h.cost_usd + EXCLUDED.cost_usd,
      unpriced = h.unpriced + EXCLUDED.unpriced,
      estimated = h.estimated + EXCLUDED.estimated,
      first_at = LEAST(h.first_at, EXCLUDED.first_at),
      last_at = GREATEST(h.last_at, EXCLUDED.last_at)`;

const INSERT_EVENTS_COUNT_SQL = insertEventsSql('count');
const INSERT_EVENTS_IDS_SQL = insertEventsSql('ids');

const EVENT_SELECT = `SELECT ${EVENT_COLUMNS.map(([name]) => name).join(', ')} FROM events`;


interface AggregateRow {
  group_key: string | null;
  by_key: string | null;
  requests: number;
  input_tokens: number;
  cache_read_tokens: number;
  cache_write_5m_tokens: number;
  cache_write_1h_tokens: number;
  output_tokens: number;
  reasoning_tokens: number;
  cost_usd: number;
  unpriced: number;
  estimated: number;
  first_at: number;
  last_at: number;
  models: string[] | null;
}


/**
 * The scale-out store: many gateway replicas share one PostgreSQL (15 or newer). Open it with
 * `PostgresStore.open(url)`, which connects and applies migrations before returning.
 */
export class PostgresStore implements Store, ImportStateStore, CounterStore, OutcomeStore {
  readonly kind = 'postgres' as const;
  private readonly sql: Sql;
  private readonly rollups: boolean;
  /** Partitions known to exist, so a batch only pays for partition DDL the first time it sees a month. */
  private readonly partitions = new Set<string>();
  /** Where the store lives, for the governance tables' own connection (store/postgres/governance-store.ts). */
  readonly location: { readonly url: string; readonly searchPath: string | undefined };
  /** Waste detection: findings, fingerprints, the fingerprint secret, live detection's feed (src/detect/store.ts). */
  readonly findings: PostgresFindingsTables;

  private constructor(sql: Sql, rollups: boolean, location: { url: string; searchPath: string | undefined }) {
    this.sql = sql;
    this.rollups = rollups;
    this.location = location;
    this.findings = new PostgresFindingsTables(sql, fingerprintKeyFile(location));
  }

  /** Connects, applies pending migrations, and creates this and next month's partitions. */
  static async open(url: string, opts: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const sql = postgres(url, {
      max: opts.max ?? 10,
      connect_timeout: opts.connectTimeout ?? 10,
      types: TYPES,
      // CREATE … IF NOT EXISTS and friends send NOTICEs; they are not worth a line on stderr.
      onnotice: () => {},
      connection: {
        // Report queries are short but their row estimates can be pessimistic, and JIT compiling them then
        // costs far more than it saves (measured: 1.2 s instead of 45 ms for a 50k-event daily report).
        jit: 'off',
        // Report sorts and hashes over a month of rollup rows need more than the 4MB default not to spill to
        // disk (measured: 770 ms at 4MB, 230 ms at 32MB for 1M events). Per sort node, times the pool size.
        work_mem: '32MB',
        ...(opts.searchPath === undefined ? {} : { search_path: opts.searchPath }),
      },
    });
    const store = new PostgresStore(sql, opts.rollups ?? true, { url, searchPath: opts.searchPath });
    const readOnly = opts.readOnly === true;
    try {
      if (readOnly || opts.mustExist === true) await store.requireSchema(url, readOnly);
      if (!readOnly) {
        await store.migrate(url);
        const now = Date.now();
        await store.ensurePartitions([now, now + 31 * 24 * HOUR_MS]);
      }
    } catch (cause) {
      return failOpen(sql, cause, (c) =>
        `Cannot open the Postgres database at ${redactUrl(url)}: ${describeError(c)}. Check the URL (--db or GOODHART_DB), that the server is running, and that the user may ${readOnly ? "read Goodhart's tables (GRANT USAGE on the schema and SELECT on its tables)" : 'create tables'}.`,
      );
    }
    return store;
  }

  /**
   * For a database given to use, not to set up (mustExist, readOnly): it must hold Goodhart's tables; to only read
   * it, at the version this goodhart reads (reading never upgrades it: that needs a user who may create tables).
   */
  private async requireSchema(url: string, readOnly: boolean): Promise<void> {
    const [found] = await this.sql`SELECT to_regclass('schema_migrations') IS NOT NULL AS present, current_schema() AS schema`;
    if (found?.['present'] !== true) {
      const schema = typeof found?.['schema'] === 'string' ? `schema ${found['schema']}` : 'the search_path, which names no existing schema';
      throw new GoodhartError(
        'config_invalid',
        500,
        `No Goodhart store in the Postgres database at ${redactUrl(url)} (${schema} has no schema_migrations table). Point --db, GOODHART_DB or the config's db at the database \`goodhart serve\` writes to; to start a new store there, run \`goodhart serve --db URL\` (or \`goodhart import … --db URL\`) once, which creates Goodhart's tables.`,
      );
    }
    if (!readOnly) return;
    const [row] = await this.sql`SELECT COALESCE(max(version), 0)::int4 AS version FROM schema_migrations`;
    const current = Number(row?.['version'] ?? 0);
    if (current > MIGRATIONS.length) throw newerSchema(url, current);
    if (current < MIGRATIONS.length) {
      throw new GoodhartError(
        'config_invalid',
        500,
        `The Postgres database at ${redactUrl(url)} has schema version ${current}, older than this goodhart reads (${MIGRATIONS.length}), and this command only reads: it changes nothing. Upgrade the schema by starting this version of \`goodhart serve\` on it once (as a user who may create tables), then run this command again.`,
      );
    }
  }

  /**
   * Applies pending migrations in one transaction. The transaction-scoped advisory lock (one per schema) makes
   * replicas that start together take turns: the first migrates, the others then find nothing to do.
   */
  private async migrate(url: string): Promise<void> {
    await this.sql.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(hashtext('goodhart:migrate:' || current_schema()))`;
      const [server] = await tx`SELECT current_setting('server_version_num')::int4 AS version`;
      const serverVersion = Number(server?.['version']);
      if (serverVersion < 150000) {
        throw new GoodhartError(
          'config_invalid',
          500,
          `The Postgres server at ${redactUrl(url)} is version ${serverVersion}; Goodhart needs PostgreSQL 15 or newer (for UNIQUE NULLS NOT DISTINCT).`,
        );
      }
      await tx`CREATE TABLE IF NOT EXISTS schema_migrations (
        version    INTEGER PRIMARY KEY,
        applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
      )`;
      const [row] = await tx`SELECT COALESCE(max(version), 0)::int4 AS version FROM schema_migrations`;
      const current = Number(row?.['version'] ?? 0);
      if (current > MIGRATIONS.length) throw newerSchema(url, current);
      for (const [i, migration] of MIGRATIONS.entries()) {
        if (i < current) continue;
        await tx.unsafe(migration);
        await tx`INSERT INTO schema_migrations (version) VALUES (${i + 1})`;
      }
    });
  }

  private async ensurePartitions(startedAts: Iterable<number>): Promise<void> {
    for (const p of partitionsFor(startedAts)) {
      if (this.partitions.has(p.name)) continue;
      await ensurePartition(this.sql, p);
      this.partitions.add(p.name);
    }
  }

  async insertEvents(given: readonly UsageEvent[]): Promise<number> {
    if (given.length === 0) return 0;
    const events = given.map(storableEvent);
    await this.ensurePartitions(events.map((e) => e.startedAt));
    return withDeadlockRetry(async () => {
      const [result] = await this.sql.unsafe(INSERT_EVENTS_COUNT_SQL, eventColumns(events), { prepare: true });
      return Number(result?.['inserted'] ?? 0);
    });
  }

  async getImportState(source: string, path: string): Promise<ImportFileState | undefined> {
    return audit.getImportState(this.sql, source, path);
  }

  async listImportStates(source: string): Promise<ImportFileState[]> {
    return audit.listImportStates(this.sql, source);
  }

  /**
   * Events and file states in one transaction. New ids are inserted in one statement as in insertEvents; each
   * other event (an id already stored, or a later line of the same id in this batch) then replaces the stored
   * event if it ranks higher, in batch order, exactly as SQLite does.
   */
  async commitImportBatch(given: ImportBatch): Promise<ImportBatchResult> {
    if (given.events.length === 0 && given.states.length === 0 && given.drop === undefined) return { inserted: 0, replaced: 0, metered: 0 };
    const all = given.events.map(storableEvent);
    await this.ensurePartitions(all.map((e) => e.startedAt));
    return withDeadlockRetry(() =>
      this.sql.begin(async (tx) => {
        let inserted = 0;
        let replaced = 0;
        const dropped = given.drop === undefined || given.drop.length === 0 ? 0 : await dropImportedCopies(tx, given.drop);
        // Requests the gateway already metered (ImportBatchResult.metered) are not stored again.
        const candidates = meteringCandidates(all);
        const gateway =
          candidates.length === 0
            ? []
            : (await tx<{ id: string }[]>`
                SELECT DISTINCT provider_request_id AS id FROM events
                WHERE source = 'gateway' AND endpoint = 'messages' AND provider_request_id = ANY(${candidates}::text[])`).map((r) => r.id);
        const { kept, meteredIds } = splitMetered(all, new Set(gateway));
        if (meteredIds.length > 0) await dropImportedCopies(tx, meteredIds);
        const batch = { ...given, events: kept };
        const metered = meteredIds.length;
        // Where the copy this batch stored (inserted or replaced) starts, by id (see ofStoredCopy).
        const startOf = new Map<string, number>();
        const replacedIds = new Set<string>();
        if (batch.events.length > 0) {
          const rows = await tx.unsafe<{ id: string }[]>(INSERT_EVENTS_IDS_SQL, eventColumns(batch.events), { prepare: true });
          const fresh = new Set(rows.map((r) => r.id));
          inserted = fresh.size;
          for (const event of batch.events) {
            // The first occurrence of a new id is the one inserted; every other line competes with what is stored.
            if (fresh.delete(event.id)) startOf.set(event.id, event.startedAt);
            else if (await replaceIfBetter(tx, event, batch.refresh === true)) {
              replaced += 1;
              startOf.set(event.id, event.startedAt);
              replacedIds.add(event.id);
            }
          }
        }
        // Fingerprints in the same transaction as their events and the file offsets (as in SQLite), each only with
        // the copy of its event that is stored.
        if (batch.fingerprints && batch.fingerprints.length > 0) {
          const kept = ofStoredCopy(batch.fingerprints, (id) => startOf.get(id));
          if (kept.length > 0) {
            const replacedCopies = kept.map((f) => f.eventId).filter((id) => replacedIds.has(id));
            if (replacedCopies.length > 0) await tx`DELETE FROM fingerprints WHERE event_id = ANY(${replacedCopies}::text[])`;
            await insertFingerprintsWith(tx, kept);
          }
        }
        await audit.putImportStates(tx, batch.states);
        return { inserted, replaced, metered, ...(given.drop === undefined ? {} : { dropped }) };
      }),
    );
  }

  async advanceCounters(points: readonly CounterPoint[]): Promise<number[]> {
    return withDeadlockRetry(() => audit.advanceCounters(this.sql, points));
  }

  async commitOtel(commit: OtelCommit): Promise<void> {
    await this.ensurePartitions(commit.perRequest.map((e) => e.startedAt));
    const written = await withDeadlockRetry(() =>
      this.sql.begin(async (tx) => {
        // Requests with points of one interval take turns, as do those moving one counter series, and those naming one
        // lock (spans and histogram intervals of one resource and model).
        await audit.lockNames(tx, [
          ...audit.counterLocks(commit.counters),
          ...commit.intervals.map((id) => `goodhart:otel-interval:${id}`),
          ...commit.locks.map((name) => `goodhart:otel:${name}`),
        ]);
        const perRequest = commit.perRequest.map(storableEvent);
        if (perRequest.length > 0) await tx.unsafe(INSERT_EVENTS_COUNT_SQL, eventColumns(perRequest), { prepare: true });
        const counters = await audit.advanceIn(tx, commit.counters);
        const intervals = new Map((await audit.getOtelIntervals(tx, commit.intervals, commit.covering)).map((i) => [i.id, i]));
        const events = new Map<string, UsageEvent>();
        const eventIds = [...new Set([...intervals.keys(), ...commit.events])];
        if (eventIds.length > 0) {
          const rows = await tx.unsafe<StoredEventRow[]>(`${EVENT_SELECT} WHERE id = ANY($1::text[])`, [eventIds], { prepare: true });
          for (const row of rows) events.set(row.id, eventFromRow(row));
        }
        const read = { counters, intervals, events, previousEnds: await audit.previousIntervalEnds(tx, commit.previous) };
        const spans = await audit.spanTotals(tx, commit.windows(read));
        const writes = commit.build({ ...read, spans });
        await audit.putOtelIntervals(tx, writes.intervals);
        const made = writes.events.map(storableEvent);
        if (made.length > 0) {
          const rows = await tx.unsafe<{ id: string }[]>(INSERT_EVENTS_IDS_SQL, eventColumns(made), { prepare: true });
          const inserted = new Set(rows.map((r) => r.id));
          for (const e of made) if (!inserted.has(e.id)) await replaceEvent(tx, e, (old) => old.source !== 'gateway');
        }
        if (writes.drop.length > 0) await dropImportedCopies(tx, writes.drop);
        await audit.insertOutcomes(tx, writes.outcomes);
        return made;
      }),
    );
    // Telemetry is recent, so its months' partitions exist (open makes this month's and the next); an event of another
    // month waited in the default partition, and moves to its own now.
    await this.ensurePartitions(written.map((e) => e.startedAt));
  }

  async otelTagged(sessions: readonly string[], tag: string, limit: number): Promise<{ id: string; sessionId: string }[]> {
    if (sessions.length === 0) return [];
    return this.sql<{ id: string; sessionId: string }[]>`
      SELECT id, session_id AS "sessionId" FROM events
      WHERE session_id = ANY(${sessions as string[]}::text[]) AND source = 'otel' AND tags ? ${tag}
      LIMIT ${limit}`;
  }

  async insertOutcomes(outcomes: readonly OutcomeEvent[]): Promise<number> {
    return audit.insertOutcomes(this.sql, outcomes);
  }

  async listOutcomes(filter: OutcomeFilter & { limit?: number }): Promise<OutcomeEvent[]> {
    return audit.listOutcomes(this.sql, filter);
  }

  async listEvents(filter: EventFilter & { limit?: number; order?: 'asc' | 'desc' }): Promise<UsageEvent[]> {
    const { where, params } = whereClause(storableFilter(filter));
    const dir = filter.order === 'desc' ? 'DESC' : 'ASC';
    let text = `${EVENT_SELECT} ${where} ORDER BY started_at ${dir}, id ${dir}`;
    if (filter.limit !== undefined) {
      if (!Number.isInteger(filter.limit) || filter.limit < 0) {
        throw new GoodhartError('invalid_request', 400, `limit must be a non-negative integer, got ${filter.limit}`);
      }
      text += ` LIMIT ${filter.limit}`;
    }
    const rows = await this.sql.unsafe<StoredEventRow[]>(text, params, { prepare: true });
    return rows.map(eventFromRow);
  }

  async aggregate(groupBy: GroupBy, filter: EventFilter, opts: AggregateOptions = {}): Promise<UsageAggregate[]> {
    // Validated and canonicalised by Intl, exactly as the SQLite store does, so both read the same zone.
    const timeZone = localDateFormatter(opts.timeZone ?? 'UTC').resolvedOptions().timeZone;
    const plan = aggregateSql(groupBy, storableFilter(filter), { timeZone, rollups: this.rollups, ...(opts.by === undefined ? {} : { by: opts.by }) });
    let rows: AggregateRow[];
    try {
      rows = await this.sql.unsafe<AggregateRow[]>(plan.text, plan.params, { prepare: true });
    } catch (cause) {
      if (isPgError(cause) && cause.code === '22023' && /time zone/.test(cause.message)) {
        throw new GoodhartError('invalid_request', 400, `PostgreSQL does not know the time zone "${timeZone}". Use another IANA name for the same zone.`, { cause });
      }
      throw cause;
    }
    const result = rows.map((row) => {
      const a = toAggregate(row.group_key ?? NONE_KEY, row);
      return opts.by === undefined ? a : { ...a, by: row.by_key ?? NONE_KEY };
    });
    const second = (a: UsageAggregate, b: UsageAggregate): number => compareKeys(a.by ?? '', b.by ?? '');
    return groupBy === 'day' || groupBy === 'month'
      ? result.sort((a, b) => compareKeys(a.key, b.key) || second(a, b))
      : result.sort((a, b) => b.costUsd - a.costUsd || b.requests - a.requests || compareKeys(a.key, b.key) || second(a, b));
  }

  async createKey(key: KeyRecord): Promise<void> {
    try {
      await this.sql.begin(async (tx) => {
        await tx`INSERT INTO keys ${tx(keyToRow(key))}`;
        await tx`UPDATE meta SET value = value + 1 WHERE key = 'keys_version'`;
      });
    } catch (cause) {
      if (isPgError(cause) && cause.code === '23505') {
        throw new GoodhartError('invalid_request', 409, `A key with id ${key.id} or the same hash already exists.`, { cause });
      }
      throw cause;
    }
  }

  async findKeyByHash(hash: string): Promise<KeyRecord | undefined> {
    const [row] = await this.sql<KeyRow[]>`SELECT * FROM keys WHERE hash = ${hash}`;
    return row === undefined ? undefined : keyFromRow(row);
  }

  async listKeys(): Promise<KeyRecord[]> {
    const rows = await this.sql<KeyRow[]>`SELECT * FROM keys ORDER BY created_at, id`;
    return rows.map(keyFromRow);
  }

  async revokeKey(idOrPrefix: string, at: number): Promise<KeyRecord | undefined> {
    return this.sql.begin(async (tx): Promise<KeyRecord | undefined> => {
      let rows = await tx<KeyRow[]>`SELECT * FROM keys WHERE id = ${idOrPrefix} FOR UPDATE`;
      if (rows.length === 0) rows = await tx<KeyRow[]>`SELECT * FROM keys WHERE prefix = ${idOrPrefix} ORDER BY id FOR UPDATE`;
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
      await tx`UPDATE keys SET revoked_at = ${at} WHERE id = ${row.id}`;
      await tx`UPDATE meta SET value = value + 1 WHERE key = 'keys_version'`;
      return keyFromRow({ ...row, revoked_at: at });
    });
  }

  async keysVersion(): Promise<number> {
    const [row] = await this.sql<{ value: number }[]>`SELECT value FROM meta WHERE key = 'keys_version'`;
    return row?.value ?? 0;
  }

  async close(): Promise<void> {
    await this.sql.end({ timeout: 5 });
  }
}

/** The batch as one array per column, in EVENT_COLUMNS order. */
function eventColumns(events: readonly UsageEvent[]): (string | number | null)[][] {
  const columns = EVENT_COLUMNS.map((): (string | number | null)[] => []);
  for (const event of events) {
    const row = eventToRow(event);
    EVENT_COLUMNS.forEach(([name], i) => columns[i]!.push(row[name]));
  }
  return columns;
}

/**
 * A deadlock (two transactions locking the same rows in different orders: an import's replacements against a
 * gateway flush) or a serialization failure rolls the whole transaction back, so running it again is safe.
 */
async function withDeadlockRetry<T>(run: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (cause) {
      if (attempt >= 3 || !isPgError(cause) || (cause.code !== '40P01' && cause.code !== '40001')) throw cause;
    }
  }
}

const SIDECHAIN_TAG = 'sidechain';

/**
 * The replace rule's rank: a main-chain line beats a sidechain one, then the larger token sum wins, then the earlier
 * start (a later log's re-dated copy of a request never takes the original's place), as in SQLite.
 */
function rankOf(e: UsageEvent): [number, number, number] {
  return [e.tags.includes(SIDECHAIN_TAG) ? 0 : 1, e.inputTokens + e.outputTokens, -e.startedAt];
}

/** -1, 0 or 1 as rank `a` is below, equal to or above rank `b`. */
function compareRanks(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! > b[i]! ? 1 : -1;
  return 0;
}

/**
 * Replaces the stored event with `event` (same id) when `event` ranks higher, moving it to another partition if
 * its start time changed, and moves its contribution in the hourly rollup from the old row to the new one.
 */
async function replaceIfBetter(tx: TxSql, event: UsageEvent, orEqual = false): Promise<boolean> {
  return replaceEvent(tx, event, (old) => {
    const order = compareRanks(rankOf(event), rankOf(old));
    // A record of the same rank replaces the stored one only where what the config decides differs (price, person),
    // or its source (an importer given a source of its own).
    const refreshes =
      orEqual && order === 0 &&
      (old.costUsd !== event.costUsd || old.userId !== event.userId || old.teamId !== event.teamId || old.projectId !== event.projectId || old.source !== event.source);
    return order > 0 || refreshes;
  });
}

/**
 * Replaces the stored event with `event` (same id) when `replaces` says so of the stored one,
 * moving it to another partition if its start time changed, and its contribution in the hourly rollup with it.
 */
async function replaceEvent(tx: TxSql, event: UsageEvent, replaces: (old: UsageEvent) => boolean): Promise<boolean> {
  const [claim] = await tx<{ started_at: number }[]>`SELECT started_at FROM event_ids WHERE id = ${event.id} FOR UPDATE`;
  if (claim === undefined) return false;
  const [oldRow] = await tx.unsafe<StoredEventRow[]>(`${EVENT_SELECT} WHERE id = $1 AND started_at = $2`, [event.id, claim.started_at], { prepare: true });
  if (oldRow === undefined) return false;
  const old = eventFromRow(oldRow);
  if (!replaces(old)) return false;

  const row = eventToRow(event);
  // tags go as JSON text cast in SQL: postgres.js would JSON.stringify a jsonb parameter a second time.
  const names = EVENT_COLUMNS.map(([name]) => name).filter((name) => name !== 'id');
  await tx.unsafe(
    `UPDATE events SET ${names.map((name, i) => `${name} = $${i + 3}${name === 'tags' || name === 'tool_calls' ? '::text::jsonb' : ''}`).join(', ')}
     WHERE id = $1 AND started_at = $2`,
    [event.id, old.startedAt, ...names.map((name) => (name === 'usage_estimated' || name === 'streamed' || name === 'client_aborted' ? row[name] === 1 : row[name]))],
    { prepare: true },
  );
  await tx`UPDATE event_ids SET started_at = ${event.startedAt} WHERE id = ${event.id}`;
  await moveRollup(tx, old, event);
  return true;
}

/**
 * Removes imported events whose request the gateway metered, stored before its event was (an import before this check
 * existed, or a late gateway write), or that an import drops (ImportBatch.drop): with their id claim, rollup
 * contribution and fingerprints. One query when, as nearly always, none is stored. Returns how many it removed.
 */
async function dropImportedCopies(tx: TxSql, ids: readonly string[]): Promise<number> {
  let n = 0;
  const claims = await tx<{ id: string; started_at: number }[]>`SELECT id, started_at FROM event_ids WHERE id = ANY(${ids as string[]}::text[]) FOR UPDATE`;
  for (const claim of claims) {
    const [row] = await tx.unsafe<StoredEventRow[]>(`${EVENT_SELECT} WHERE id = $1 AND started_at = $2`, [claim.id, claim.started_at], { prepare: true });
    if (row === undefined || row.source === 'gateway') continue;
    await tx`DELETE FROM events WHERE id = ${claim.id} AND started_at = ${claim.started_at}`;
    await tx`DELETE FROM event_ids WHERE id = ${claim.id}`;
    await tx`DELETE FROM fingerprints WHERE event_id = ${claim.id}`;
    await moveRollup(tx, eventFromRow(row), null);
    n += 1;
  }
  return n;
}

/** The rollup row an event counts in, and what it adds there (`sign` -1 takes it away). */
function rollupDelta(e: UsageEvent, sign: 1 | -1): (string | number | null)[] {
  return [
    Math.floor(e.startedAt / HOUR_MS) * HOUR_MS,
    e.userId, e.teamId, e.projectId, e.modelRequested, e.modelServed, e.provider, e.source,
    sign, sign * e.inputTokens, sign * e.cacheReadTokens, sign * e.cacheWrite5mTokens, sign * e.cacheWrite1hTokens,
    sign * e.outputTokens, sign * e.reasoningTokens, sign * (e.costUsd ?? 0), e.costUsd === null ? sign : 0,
    e.usageEstimated ? sign : 0, e.startedAt, e.startedAt,
  ];
}

const ROLLUP_KEY_MATCH = `hour_start = $1 AND user_id IS NOT DISTINCT FROM $2 AND team_id IS NOT DISTINCT FROM $3
  AND project_id IS NOT DISTINCT FROM $4 AND model_requested IS NOT DISTINCT FROM $5
  AND model_served IS NOT DISTINCT FROM $6 AND provider = $7 AND source = $8`;

/**
 * Subtracts the old event's sums and adds the new one's (additive upserts commute with concurrent inserts), then
 * drops rows left with no request and re-derives first_at/last_at of the touched rows from events: a minimum
 * cannot be un-applied. The upserts hold those rows' locks until commit, so no concurrent insert into them can
 * be missed by the re-derivation.
 */
async function moveRollup(tx: TxSql, old: UsageEvent, now: UsageEvent | null): Promise<void> {
  const deltas = now === null ? [rollupDelta(old, -1)] : [rollupDelta(old, -1), rollupDelta(now, 1)];
  const sameKey = now !== null && deltas[0]!.slice(0, 8).every((v, i) => v === deltas[1]![i]);
  const rows = sameKey
    ? [deltas[0]!.map((v, i) => (i >= 8 && i < 18 ? Number(v) + Number(deltas[1]![i]) : i >= 18 ? deltas[1]![i]! : v))]
    : deltas;
  for (const values of rows) {
    await tx.unsafe(
      `INSERT INTO usage_hourly AS h (hour_start, ${ROLLUP_DIMS}, requests, input_tokens, cache_read_tokens,
         cache_write_5m_tokens, cache_write_1h_tokens, output_tokens, reasoning_tokens, cost_usd, unpriced, estimated,
         first_at, last_at)
       VALUES (${values.map((_, i) => `$${i + 1}`).join(', ')}) ${ROLLUP_UPSERT}`,
      values,
      { prepare: true },
    );
  }
  for (const values of rows) {
    const key = values.slice(0, 8);
    await tx.unsafe(`DELETE FROM usage_hourly WHERE ${ROLLUP_KEY_MATCH} AND requests <= 0`, key, { prepare: true });
    await tx.unsafe(
      `UPDATE usage_hourly SET (first_at, last_at) = (
         SELECT min(started_at), max(started_at) FROM events
         WHERE started_at >= $1 AND started_at < $1 + ${HOUR_MS} AND user_id IS NOT DISTINCT FROM $2
           AND team_id IS NOT DISTINCT FROM $3 AND project_id IS NOT DISTINCT FROM $4
           AND model_requested IS NOT DISTINCT FROM $5 AND model_served IS NOT DISTINCT FROM $6
           AND provider = $7 AND source = $8)
       WHERE ${ROLLUP_KEY_MATCH}`,
      key,
      { prepare: true },
    );
  }
}

function whereClause(filter: EventFilter): { where: string; params: (string | number)[] } {
  const clauses: string[] = [];
  const params: (string | number)[] = [];
  const add = (clause: (p: string) => string, value: string | number | undefined): void => {
    if (value === undefined) return;
    params.push(value);
    clauses.push(clause(`$${params.length}`));
  };
  /** null: the events without one. */
  const addDim = (column: string, value: string | null | undefined): void => {
    if (value === null) clauses.push(`${column} IS NULL`);
    else add((p) => `${column} = ${p}`, value);
  };
  add((p) => `started_at >= ${p}`, filter.since);
  add((p) => `started_at < ${p}`, filter.until);
  addDim('team_id', filter.teamId);
  addDim('user_id', filter.userId);
  addDim('project_id', filter.projectId);
  // Either name matches, so `--model gpt-4o` finds events served as the dated snapshot too.
  add((p) => `(model_served = ${p} OR model_requested = ${p})`, filter.model);
  add((p) => `source = ${p}`, filter.source);
  add((p) => `session_id = ${p}`, filter.sessionId);
  return { where: clauses.length === 0 ? '' : `WHERE ${clauses.join(' AND ')}`, params };
}

/**
 * After a failed open: closes the pool it made, then throws a GoodhartError as it is and anything else as the
 * `config_invalid` error `explain` words for it (what failed and what to check).
 */
export async function failOpen(sql: { end(opts: { timeout: number }): Promise<void> }, cause: unknown, explain: (cause: unknown) => string): Promise<never> {
  await sql.end({ timeout: 1 }).catch(() => {});
  if (cause instanceof GoodhartError) throw cause;
  throw new GoodhartError('config_invalid', 500, explain(cause), { cause });
}

/**
 * A connection URL without its password, safe for an error message. Up to the last `@` before the path, so a
 * password with an unencoded `@` is hidden whole.
 */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/@]*:)[^/]*@/i, '$1***@');
}

interface PgError {
  code: string;
  message: string;
}

function isPgError(e: unknown): e is PgError {
  return e instanceof Error && typeof (e as { code?: unknown }).code === 'string';
}

/** The cause in one line; postgres.js connection errors carry the code (ECONNREFUSED…) but a bare message. */
const newerSchema = (url: string, current: number): GoodhartError =>
  new GoodhartError(
    'config_invalid',
    500,
    `The Postgres database at ${redactUrl(url)} has schema version ${current}, newer than this goodhart supports (${MIGRATIONS.length}). Upgrade goodhart, or point --db / GOODHART_DB at another database.`,
  );

function describeError(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && !e.message.includes(code) ? `${e.message} (${code})` : e.message;
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function toAggregate(key: string, row: AggregateRow): UsageAggregate {
  return {
    key,
    requests: row.requests,
    inputTokens: row.input_tokens,
    cacheReadTokens: row.cache_read_tokens,
    cacheWrite5mTokens: row.cache_write_5m_tokens,
    cacheWrite1hTokens: row.cache_write_1h_tokens,
    outputTokens: row.output_tokens,
    reasoningTokens: row.reasoning_tokens,
    costUsd: row.cost_usd,
    unpricedRequests: row.unpriced,
    estimatedRequests: row.estimated,
    firstAt: row.first_at,
    lastAt: row.last_at,
    models: [...(row.models ?? [])].sort(),
  };
}

type EventParams = Record<EventColumn, string | number | null>;

