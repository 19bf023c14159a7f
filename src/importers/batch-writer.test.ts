import { describe, expect, it } from 'vitest';
import type { Fingerprint } from '../detect/fingerprint/types.js';
import { makeTestEvent } from '../store/store-contract.js';
import type { AuditStore, ImportBatch } from '../store/types.js';
import { BatchWriter } from './batch-writer.js';
import type { FileResult } from './process-file.js';

/**
 * A request logged in two files (a subagent's sidechain file and the session's log): whichever file is read
 * first, the batch holds the main-chain copy and that copy's fingerprint.
 */
const fp = (eventId: string, humanTurn: boolean): Fingerprint => ({
  eventId, at: 7_000, userId: 'dev', sessionId: 's', humanTurn, prompt: null, features: null, blocks: [], toolStep: null, toolsDeclared: 16, complexity: humanTurn ? 0.3 : null,
});
const file = (path: string, sidechain: boolean): FileResult => ({
  path, events: [makeTestEvent({ id: 'dup', startedAt: 7_000, source: 'claude-code', tags: sidechain ? ['sidechain'] : [] })],
  usageRecords: 1, parserDuplicates: 0, bytesRead: 100, linesRead: 2, skipped: {}, problems: [],
  fingerprints: [fp('dup', sidechain)], state: null, deferred: [],
});

async function batchOf(files: FileResult[]): Promise<ImportBatch> {
  const batches: ImportBatch[] = [];
  const store = { commitImportBatch: async (b: ImportBatch) => (batches.push(b), { inserted: b.events.length, replaced: 0, metered: 0 }) } as unknown as AuditStore;
  const writer = new BatchWriter(store, () => 0);
  for (const f of files) await writer.add(f);
  await writer.flush();
  expect(batches).toHaveLength(1);
  return batches[0]!;
}

describe('BatchWriter', () => {
  it('keeps the better copy of a request and its fingerprint, in either file order', async () => {
    for (const order of [[file('session.jsonl', false), file('agent.jsonl', true)], [file('agent.jsonl', true), file('session.jsonl', false)]]) {
      const b = await batchOf(order);
      expect(b.events.map((e) => e.tags)).toEqual([[]]);
      expect(b.fingerprints).toEqual([fp('dup', false)]);
    }
  });

  it('keeps the earlier of two equal copies (a Codex fork re-dates its parent\'s requests), in either file order', async () => {
    const at = (path: string, startedAt: number): FileResult => {
      const f = file(path, false);
      return { ...f, events: [{ ...f.events[0]!, startedAt, sessionId: path }], fingerprints: [{ ...fp('dup', false), at: startedAt, sessionId: path }] };
    };
    for (const order of [[at('parent.jsonl', 7_000), at('fork.jsonl', 9_000)], [at('fork.jsonl', 9_000), at('parent.jsonl', 7_000)]]) {
      const b = await batchOf(order);
      expect(b.events.map((e) => [e.startedAt, e.sessionId])).toEqual([[7_000, 'parent.jsonl']]);
      expect(b.fingerprints?.map((f) => f.sessionId)).toEqual(['parent.jsonl']);
    }
  });
});
