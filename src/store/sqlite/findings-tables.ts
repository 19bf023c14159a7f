import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { Fingerprint } from '../../detect/fingerprint/types.js';
import { MINHASH_SLOTS } from '../../detect/fingerprint/text.js';
import type { FindingsStore } from '../../detect/store.js';
import type { Evidence, Finding, FindingFilter, RuleId, SubjectKind } from '../../detect/types.js';

/**
 * The SQLite side of waste detection (migration 3): findings, request fingerprints and the fingerprint secret.
 * Kept apart from SqliteStore, which only exposes it as `store.findings`.
 *
 * Fingerprints are binary: the MinHash signature as 64 little-endian uint32 (256 bytes), block hashes as 6-byte
 * big-endian integers. None of it is text, and none of it can be turned back into text.
 */

interface FindingRow {
  id: string;
  rule: string;
  subject_kind: string;
  subject_id: string;
  user_id: string | null;
  team_id: string | null;
  session_id: string | null;
  start_at: number;
  end_at: number;
  wasted_usd: number;
  waste_method: string;
  confidence: number;
  summary: string;
  suggestion: string;
  evidence: string;
  detected_at: number;
}

interface FingerprintRow {
  event_id: string;
  at: number;
  user_id: string | null;
  session_id: string | null;
  human_turn: number;
  prompt: Buffer | null;
  features: string | null;
  blocks: Buffer | null;
  tool_step: number | null;
  tools_declared: number;
  complexity: number | null;
}

function toFinding(r: FindingRow): Finding {
  return {
    id: r.id,
    rule: r.rule as RuleId,
    subject: { kind: r.subject_kind as SubjectKind, id: r.subject_id },
    userId: r.user_id,
    teamId: r.team_id,
    sessionId: r.session_id,
    start: r.start_at,
    end: r.end_at,
    evidence: JSON.parse(r.evidence) as Evidence,
    wastedUsd: r.wasted_usd,
    wasteMethod: r.waste_method,
    confidence: r.confidence,
    summary: r.summary,
    suggestion: r.suggestion,
    detectedAt: r.detected_at,
  };
}

function packBlocks(blocks: readonly number[]): Buffer | null {
  if (blocks.length === 0) return null;
  const buf = Buffer.alloc(blocks.length * 6);
  blocks.forEach((b, i) => buf.writeUIntBE(b, i * 6, 6));
  return buf;
}

function unpackBlocks(buf: Buffer | null): number[] {
  const out: number[] = [];
  if (buf !== null) for (let i = 0; i + 6 <= buf.length; i += 6) out.push(buf.readUIntBE(i, 6));
  return out;
}

function packPrompt(sig: Uint32Array | null): Buffer | null {
  if (sig === null) return null;
  const buf = Buffer.alloc(MINHASH_SLOTS * 4);
  for (let i = 0; i < MINHASH_SLOTS; i++) buf.writeUInt32LE(sig[i]!, i * 4);
  return buf;
}

function unpackPrompt(buf: Buffer | null): Uint32Array | null {
  if (buf === null || buf.length !== MINHASH_SLOTS * 4) return null;
  const sig = new Uint32Array(MINHASH_SLOTS);
  for (let i = 0; i < MINHASH_SLOTS; i++) sig[i] = buf.readUInt32LE(i * 4);
  return sig;
}

export class SqliteFindingsTables implements FindingsStore {
  private readonly upsertMany: (rows: readonly Finding[]) => number;
  private readonly insertFps: (rows: readonly Fingerprint[]) => number;

  constructor(private readonly db: Database.Database) {
    const upsert = db.prepare(`INSERT OR REPLACE INTO findings (id, rule, subject_kind, subject_id, user_id, team_id, session_id,
      start_at, end_at, wasted_usd, waste_method, confidence, summary, suggestion, evidence, detected_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.upsertMany = db.transaction((rows: readonly Finding[]) => {
      let n = 0;
      for (const f of rows) {
        n += upsert.run(
          f.id, f.rule, f.subject.kind, f.subject.id, f.userId, f.teamId, f.sessionId, f.start, f.end, f.wastedUsd,
          f.wasteMethod, f.confidence, f.summary, f.suggestion, JSON.stringify(f.evidence), f.detectedAt,
        ).changes;
      }
      return n;
    });
    const insert = db.prepare(`INSERT OR IGNORE INTO fingerprints (event_id, at, user_id, session_id, human_turn, prompt,
      features, blocks, tool_step, tools_declared, complexity) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.insertFps = db.transaction((rows: readonly Fingerprint[]) => {
      let n = 0;
      for (const f of rows) {
        n += insert.run(
          f.eventId, f.at, f.userId, f.sessionId, f.humanTurn ? 1 : 0, packPrompt(f.prompt),
          f.features === null ? null : JSON.stringify(f.features), packBlocks(f.blocks), f.toolStep, f.toolsDeclared, f.complexity,
        ).changes;
      }
      return n;
    });
  }

  async upsertFindings(findings: readonly Finding[]): Promise<number> {
    return findings.length === 0 ? 0 : this.upsertMany(findings);
  }

  async listFindings(filter: FindingFilter): Promise<Finding[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.since !== undefined) {
      where.push('end_at >= ?');
      params.push(filter.since);
    }
    if (filter.until !== undefined) {
      where.push('start_at < ?');
      params.push(filter.until);
    }
    if (filter.userId !== undefined) {
      where.push('user_id = ?');
      params.push(filter.userId);
    }
    if (filter.teamId !== undefined) {
      where.push('team_id = ?');
      params.push(filter.teamId);
    }
    if (filter.rule !== undefined) {
      where.push('rule = ?');
      params.push(filter.rule);
    }
    const limit = filter.limit !== undefined && Number.isSafeInteger(filter.limit) && filter.limit >= 0 ? ` LIMIT ${filter.limit}` : '';
    const sql = `SELECT * FROM findings ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY start_at DESC, id${limit}`;
    return (this.db.prepare(sql).all(...params) as FindingRow[]).map(toFinding);
  }

  async deleteFindings(filter: { since: number; until: number; rules: readonly string[] }): Promise<number> {
    if (filter.rules.length === 0) return 0;
    const marks = filter.rules.map(() => '?').join(', ');
    return this.db
      .prepare(`DELETE FROM findings WHERE start_at >= ? AND start_at < ? AND rule IN (${marks})`)
      .run(filter.since, filter.until, ...filter.rules).changes;
  }

  async insertFingerprints(fps: readonly Fingerprint[]): Promise<number> {
    return this.insertFingerprintsNow(fps);
  }

  /** insertFingerprints, synchronously: inside another transaction (an import batch) it joins that one. */
  insertFingerprintsNow(fps: readonly Fingerprint[]): number {
    return fps.length === 0 ? 0 : this.insertFps(fps);
  }

  async listFingerprints(filter: { since: number; until: number }): Promise<Fingerprint[]> {
    const rows = this.db
      .prepare('SELECT * FROM fingerprints WHERE at >= ? AND at < ? ORDER BY at, event_id')
      .all(filter.since, filter.until) as FingerprintRow[];
    return rows.map((r) => ({
      eventId: r.event_id,
      at: r.at,
      userId: r.user_id,
      sessionId: r.session_id,
      humanTurn: r.human_turn === 1,
      prompt: unpackPrompt(r.prompt),
      features: r.features === null ? null : (JSON.parse(r.features) as Fingerprint['features']),
      blocks: unpackBlocks(r.blocks),
      toolStep: r.tool_step,
      toolsDeclared: r.tools_declared,
      complexity: r.complexity,
    }));
  }

  async deleteFingerprintsBefore(before: number): Promise<number> {
    return this.db.prepare('DELETE FROM fingerprints WHERE at < ?').run(before).changes;
  }

  async fingerprintSecret(): Promise<string> {
    // INSERT OR IGNORE then SELECT: two processes racing on a new database agree on whichever row won.
    this.db.prepare("INSERT OR IGNORE INTO detect_secrets (name, value) VALUES ('fingerprint', ?)").run(randomBytes(32).toString('base64'));
    const row = this.db.prepare("SELECT value FROM detect_secrets WHERE name = 'fingerprint'").get() as { value: string };
    return row.value;
  }
}
