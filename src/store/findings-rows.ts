import type { Fingerprint } from '../detect/fingerprint/types.js';
import { storable, storableJson } from './rows.js';
import { MINHASH_SLOTS } from '../detect/fingerprint/text.js';
import type { Evidence, Finding, RuleId, SubjectKind } from '../detect/types.js';

/**
 * The column form of findings and fingerprints, shared by the SQLite and Postgres findings tables.
 *
 * Fingerprints are binary: the MinHash signature as 64 little-endian uint32 (256 bytes), block hashes as 6-byte
 * big-endian integers. None of it is text, and none of it can be turned back into text.
 */

export interface FindingRow {
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
  /** JSON text. */
  evidence: string;
  detected_at: number;
}

export interface FingerprintRow {
  event_id: string;
  at: number;
  user_id: string | null;
  session_id: string | null;
  /** 0/1 (SQLite) or a boolean (Postgres). */
  human_turn: number | boolean;
  prompt: Buffer | null;
  /** JSON text. */
  features: string | null;
  blocks: Buffer | null;
  tool_step: number | null;
  tools_declared: number;
  complexity: number | null;
}

export function findingToRow(f: Finding): FindingRow {
  return {
    id: f.id,
    rule: f.rule,
    subject_kind: f.subject.kind,
    subject_id: storable(f.subject.id),
    user_id: storable(f.userId),
    team_id: storable(f.teamId),
    session_id: storable(f.sessionId),
    start_at: f.start,
    end_at: f.end,
    wasted_usd: f.wastedUsd,
    waste_method: f.wasteMethod,
    confidence: f.confidence,
    summary: f.summary,
    suggestion: f.suggestion,
    evidence: storableJson(f.evidence),
    detected_at: f.detectedAt,
  };
}

// Rows are trusted: only findingToRow() writes them.
export function findingFromRow(r: FindingRow): Finding {
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

export function fingerprintToRow(f: Fingerprint): FingerprintRow {
  return {
    event_id: f.eventId,
    at: f.at,
    user_id: storable(f.userId),
    session_id: storable(f.sessionId),
    human_turn: f.humanTurn ? 1 : 0,
    prompt: packPrompt(f.prompt),
    features: f.features === null ? null : JSON.stringify(f.features),
    blocks: packBlocks(f.blocks),
    tool_step: f.toolStep,
    tools_declared: f.toolsDeclared,
    complexity: f.complexity,
  };
}

export function fingerprintFromRow(r: FingerprintRow): Fingerprint {
  return {
    eventId: r.event_id,
    at: r.at,
    userId: r.user_id,
    sessionId: r.session_id,
    humanTurn: r.human_turn === 1 || r.human_turn === true,
    prompt: unpackPrompt(r.prompt),
    features: r.features === null ? null : (JSON.parse(r.features) as Fingerprint['features']),
    blocks: unpackBlocks(r.blocks),
    toolStep: r.tool_step,
    toolsDeclared: r.tools_declared,
    complexity: r.complexity,
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

/**
 * The fingerprints of an import batch that go with the copy of their event this batch stored. One request can be
 * logged in several files (Claude Code copies a subagent's lines into the session's log); the copy that ranks
 * highest is the event kept, whatever order the files are read in (on one thread or several), and the fingerprint
 * computed in that copy's context is kept with it (the importer's BatchWriter holds one per id, of the better
 * copy). `storedStart` knows the ids whose event this batch inserted or replaced, with the stored copy's start; a
 * fingerprint shares `at` with its copy. Fingerprints of copies that lost are dropped; the store deletes the
 * fingerprint of a copy that a batch replaced.
 */
export function ofStoredCopy(fps: readonly Fingerprint[], storedStart: (eventId: string) => number | undefined): Fingerprint[] {
  return fps.filter((f) => storedStart(f.eventId) === f.at);
}
