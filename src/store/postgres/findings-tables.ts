import type postgres from 'postgres';
import { readOrCreateSecretFile } from '../../detect/fingerprint/secret-file.js';
import type { Fingerprint } from '../../detect/fingerprint/types.js';
import type { EventRef, FindingsStore, LiveSource } from '../../detect/store.js';
import type { Finding, FindingFilter } from '../../detect/types.js';
import type { UsageEvent } from '../../usage/event.js';
import { findingFromRow, findingToRow, fingerprintFromRow, fingerprintToRow, type FindingRow, type FingerprintRow } from '../findings-rows.js';
import { eventFromRow, type StoredEventRow } from '../rows.js';

/**
 * The Postgres side of waste detection (migration 5), with the behaviour of SQLite's (sqlite/findings-tables.ts):
 * findings, request fingerprints, the fingerprint secret, live detection's lease and feed. Exposed as
 * `store.findings` on PostgresStore, on the store's own connection pool.
 *
 * The feed's position is (the id of the transaction that stored the event, the event id), read only below
 * pg_snapshot_xmin of the current snapshot: every transaction with a smaller id has finished, so no event can
 * later appear below a position already read, whatever order replicas commit in. A cursor is `xact/id`; a mark
 * is `xmin/` (everything below xmin: ids are never empty).
 */

type Sql = postgres.Sql<{ int8: number }>;

/** Rows per statement: 16 columns × 1,000 stays far below Postgres' 65,535 parameters. */
const CHUNK = 1_000;

/** Epoch milliseconds on the database's clock. */
const NOW_MS = '(extract(epoch from clock_timestamp()) * 1000)::int8';

function parseCursor(s: string): { xact: string; id: string } {
  const slash = s.indexOf('/');
  const xact = slash < 0 ? '' : s.slice(0, slash);
  if (!/^\d+$/.test(xact)) throw new Error(`not a Postgres feed cursor: "${s}"`);
  return { xact, id: s.slice(slash + 1) };
}

/** Finding columns, with the evidence as JSON text (postgres.js would serialize a string parameter again). */
const FINDING_SELECT = `id, rule, subject_kind, subject_id, user_id, team_id, session_id, start_at, end_at, wasted_usd,
  waste_method, confidence, summary, suggestion, evidence::text AS evidence, detected_at`;
const FINGERPRINT_SELECT = `event_id, at, user_id, session_id, human_turn, prompt, features::text AS features, blocks,
  tool_step, tools_declared, complexity`;

export class PostgresFindingsTables implements FindingsStore, LiveSource {
  constructor(
    private readonly sql: Sql,
    private readonly keyFile: string,
  ) {}

  async upsertFindings(findings: readonly Finding[]): Promise<number> {
    // The last of several with one id wins, as INSERT OR REPLACE does (one statement may not update a row twice).
    const byId = new Map(findings.map((f) => [f.id, f]));
    const unique = [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
    let n = 0;
    for (let i = 0; i < unique.length; i += CHUNK) {
      const rows = unique.slice(i, i + CHUNK).map((f) => {
        const r = findingToRow(f);
        return { ...r, evidence: this.sql.json(f.evidence as unknown as postgres.JSONValue) };
      });
      const result = await this.sql`
        INSERT INTO findings ${this.sql(rows)}
        ON CONFLICT (id) DO UPDATE SET rule = EXCLUDED.rule, subject_kind = EXCLUDED.subject_kind,
          subject_id = EXCLUDED.subject_id, user_id = EXCLUDED.user_id, team_id = EXCLUDED.team_id,
          session_id = EXCLUDED.session_id, start_at = EXCLUDED.start_at, end_at = EXCLUDED.end_at,
          wasted_usd = EXCLUDED.wasted_usd, waste_method = EXCLUDED.waste_method, confidence = EXCLUDED.confidence,
          summary = EXCLUDED.summary, suggestion = EXCLUDED.suggestion, evidence = EXCLUDED.evidence,
          detected_at = EXCLUDED.detected_at`;
      n += result.count;
    }
    return n;
  }

  async listFindings(filter: FindingFilter): Promise<Finding[]> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    const add = (clause: (p: string) => string, value: string | number | undefined): void => {
      if (value === undefined) return;
      params.push(value);
      where.push(clause(`$${params.length}`));
    };
    add((p) => `end_at >= ${p}`, filter.since);
    add((p) => `start_at < ${p}`, filter.until);
    add((p) => `user_id = ${p}`, filter.userId);
    add((p) => `team_id = ${p}`, filter.teamId);
    add((p) => `rule = ${p}`, filter.rule);
    const limit = filter.limit !== undefined && Number.isSafeInteger(filter.limit) && filter.limit >= 0 ? ` LIMIT ${filter.limit}` : '';
    const text = `SELECT ${FINDING_SELECT} FROM findings ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY start_at DESC, id${limit}`;
    const rows = await this.sql.unsafe<FindingRow[]>(text, params, { prepare: true });
    return rows.map(findingFromRow);
  }

  async deleteFindings(filter: { since: number; until: number; rules: readonly string[] }): Promise<number> {
    if (filter.rules.length === 0) return 0;
    const result = await this.sql`
      DELETE FROM findings WHERE start_at >= ${filter.since} AND start_at < ${filter.until} AND rule = ANY(${[...filter.rules]}::text[])`;
    return result.count;
  }

  /**
   * The gateway writes these in batches as requests finish: one statement of column arrays, the same text for
   * every batch size (prepared once per connection), binary columns as hex.
   */
  async insertFingerprints(fps: readonly Fingerprint[]): Promise<number> {
    return insertFingerprintsWith(this.sql, fps);
  }

  async listFingerprints(filter: { since: number; until: number }): Promise<Fingerprint[]> {
    const rows = await this.sql.unsafe<FingerprintRow[]>(
      `SELECT ${FINGERPRINT_SELECT} FROM fingerprints WHERE at >= $1 AND at < $2 ORDER BY at, event_id`,
      [filter.since, filter.until],
      { prepare: true },
    );
    return rows.map(fingerprintFromRow);
  }

  async fingerprintsOf(eventIds: readonly string[]): Promise<Fingerprint[]> {
    if (eventIds.length === 0) return [];
    const rows = await this.sql.unsafe<FingerprintRow[]>(
      `SELECT ${FINGERPRINT_SELECT} FROM fingerprints WHERE event_id = ANY($1::text[])`,
      [[...eventIds] as unknown as string],
      { prepare: true },
    );
    return rows.map(fingerprintFromRow);
  }

  async deleteFingerprintsBefore(before: number): Promise<number> {
    return (await this.sql`DELETE FROM fingerprints WHERE at < ${before}`).count;
  }

  /**
   * Kept in a file on this host (mode 0600), never in the database: with the secret, stored prompt hashes can be
   * inverted against a dictionary. Replicas on several hosts each make their own, so their fingerprints never
   * match: set `detect.fingerprints.secret` (the same on every replica) for them.
   */
  async fingerprintSecret(): Promise<string> {
    return readOrCreateSecretFile(this.keyFile);
  }

  async feedMark(): Promise<string> {
    const [row] = await this.sql<{ h: string }[]>`SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS h`;
    return `${row!.h}/`;
  }

  async readFeed(after: string, upTo: string, limit: number): Promise<{ events: EventRef[]; next: string }> {
    const a = parseCursor(after);
    const b = parseCursor(upTo);
    // Ids and starts in index order, from event_ids alone (the plain bounds on xact, implied by the row comparisons,
    // let the planner prove the partial index applies): each page costs its own size, however far behind the cursor
    // is. Not prepared: every read is planned for its own range.
    const rows = await this.sql.unsafe<{ feed_xact: string; id: string; started_at: number }[]>(
      `SELECT xact::text AS feed_xact, id, started_at FROM event_ids
       WHERE xact IS NOT NULL AND xact >= $1::xid8 AND xact <= $3::xid8
         AND (xact, id) > ($1::xid8, $2) AND (xact, id) <= ($3::xid8, $4)
       ORDER BY xact, id LIMIT $5`,
      [a.xact, a.id, b.xact, b.id, limit],
      { prepare: false },
    );
    const last = rows[rows.length - 1];
    return { events: rows.map((r) => ({ id: r.id, startedAt: Number(r.started_at) })), next: last === undefined ? after : `${last.feed_xact}/${last.id}` };
  }

  async eventsOf(refs: readonly EventRef[]): Promise<UsageEvent[]> {
    if (refs.length === 0) return [];
    // By id and start: the primary key of each monthly partition.
    const rows = await this.sql.unsafe<StoredEventRow[]>(
      `SELECT e.* FROM unnest($1::text[], $2::int8[]) AS r(id, started_at) JOIN events e ON e.id = r.id AND e.started_at = r.started_at`,
      [refs.map((r) => r.id) as unknown as string, refs.map((r) => r.startedAt) as unknown as string],
      { prepare: true },
    );
    return rows.map(eventFromRow);
  }

  async listEventsUpTo(filter: { since: number; until: number; after?: EventRef; limit?: number }, upTo: string): Promise<UsageEvent[]> {
    const after = filter.after ?? { startedAt: filter.since, id: '' };
    const b = parseCursor(upTo);
    // Events stored before migration 5 have no transaction id: they are all older than any mark.
    const rows = await this.sql.unsafe<StoredEventRow[]>(
      `SELECT e.* FROM events e JOIN event_ids i ON i.id = e.id AND i.started_at = e.started_at
       WHERE e.started_at >= $1 AND e.started_at < $2 AND (i.xact IS NULL OR (i.xact, i.id) <= ($3::xid8, $4))
         AND (e.started_at, e.id) > ($5::int8, $6)
       ORDER BY e.started_at, e.id
       LIMIT $7`,
      [filter.since, filter.until, b.xact, b.id, after.startedAt, after.id, filter.limit ?? null],
      { prepare: false },
    );
    return rows.map(eventFromRow);
  }

  async acquireLease(name: string, holder: string, ttlMs: number): Promise<{ cursor: string | null } | null> {
    const rows = await this.sql.unsafe<{ cursor: string | null }[]>(
      `INSERT INTO detect_live AS d (name, holder, lease_until, cursor, updated_at)
       VALUES ($1, $2, ${NOW_MS} + $3::int8, NULL, ${NOW_MS})
       ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, lease_until = EXCLUDED.lease_until, updated_at = EXCLUDED.updated_at
       WHERE d.holder = EXCLUDED.holder OR d.lease_until < EXCLUDED.updated_at
       RETURNING d.cursor`,
      [name, holder, Math.round(ttlMs)],
    );
    return rows.length === 0 ? null : { cursor: rows[0]!.cursor };
  }

  async saveCursor(name: string, holder: string, cursor: string, ttlMs: number): Promise<boolean> {
    const result = await this.sql.unsafe(
      `UPDATE detect_live SET cursor = $3, lease_until = ${NOW_MS} + $4::int8, updated_at = ${NOW_MS} WHERE name = $1 AND holder = $2`,
      [name, holder, cursor, Math.round(ttlMs)],
    );
    return result.count === 1;
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    await this.sql`UPDATE detect_live SET lease_until = 0 WHERE name = ${name} AND holder = ${holder}`;
  }
}

/**
 * Inserts fingerprints (an event id already present is ignored) with a connection or inside a transaction: an
 * import writes them in the transaction of its events.
 */
export async function insertFingerprintsWith(sql: Pick<Sql, 'unsafe'>, fps: readonly Fingerprint[]): Promise<number> {
  if (fps.length === 0) return 0;
  const cols: (string | number | null)[][] = Array.from({ length: 11 }, () => []);
  for (const f of fps) {
    const r = fingerprintToRow(f);
    const values = [
      r.event_id, r.at, r.user_id, r.session_id, f.humanTurn ? 1 : 0, r.prompt?.toString('hex') ?? null, r.features,
      r.blocks?.toString('hex') ?? null, r.tool_step, r.tools_declared, r.complexity,
    ];
    values.forEach((v, i) => cols[i]!.push(v));
  }
  const result = await sql.unsafe(
    `INSERT INTO fingerprints (event_id, at, user_id, session_id, human_turn, prompt, features, blocks, tool_step, tools_declared, complexity)
     SELECT event_id, at, user_id, session_id, human_turn <> 0, decode(prompt, 'hex'), features::jsonb, decode(blocks, 'hex'),
       tool_step, tools_declared, complexity
     FROM unnest($1::text[], $2::int8[], $3::text[], $4::text[], $5::int2[], $6::text[], $7::text[], $8::text[], $9::int8[], $10::int4[], $11::float8[])
       AS b(event_id, at, user_id, session_id, human_turn, prompt, features, blocks, tool_step, tools_declared, complexity)
     ON CONFLICT (event_id) DO NOTHING`,
    cols as unknown as string[],
    { prepare: true },
  );
  return result.count;
}
