import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatFindingsTable } from '../../detect/format.js';
import { csvField } from '../../report/csv.js';
import { drawTable } from '../../report/table.js';
import { visible, visibleText } from '../../report/visible.js';
import { SqliteStore } from '../../store/sqlite/sqlite-store.js';
import { makeTestEvent } from '../../store/store-contract.js';
import { runEvents } from './events.js';
import { runReport } from './report.js';

/**
 * Any key holder chooses the `user` an OpenAI request carries (Anthropic: metadata.user_id), and the store keeps it as
 * the session id: a table must show its escape sequences, never send them to the terminal of whoever reads reports.
 */
const EVIL = 's\u001b[2J\u001b[31mEVIL\u001b]0;owned\u0007\u009b1m\u202ereversed\u2066\r\nnext\u007f';
const SHOWN = 's\\x1b[2J\\x1b[31mEVIL\\x1b]0;owned\\x07\\x9b1m\\u202ereversed\\u2066\\x0d\\x0anext\\x7f';
// What must never reach a terminal: C0 but the line breaks the output itself has, DEL, C1, bidi overrides/isolates.
const RAW_CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;

const dir = mkdtempSync(join(tmpdir(), 'goodhart-ctl-'));
const db = join(dir, 'goodhart.db');

beforeAll(async () => {
  const store = new SqliteStore(db);
  await store.insertEvents([
    makeTestEvent({ id: 'e1', startedAt: Date.parse('2025-03-10T09:00:00Z'), userId: EVIL, teamId: 'core', sessionId: EVIL, modelServed: `gpt\u001b[8m-hidden`, costUsd: 0.01 }),
  ]);
  await store.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('control characters from the store', () => {
  it('are escaped one by one: C0, DEL, C1 and bidi overrides; other text is untouched', () => {
    expect(visible(EVIL)).toBe(SHOWN);
    expect(visible('Zoë 数据 claude-… a\\b')).toBe('Zoë 数据 claude-… a\\b');
    expect(visibleText('line one\nline\u001b two')).toBe('line one\nline\\x1b two');
  });

  it('report session, users and models print them visibly, in tables and CSV', async () => {
    for (const kind of ['session', 'users', 'models'] as const) {
      const text = await runReport({ kind, db });
      expect(text).not.toMatch(RAW_CONTROL);
      const csv = await runReport({ kind, csv: true, db });
      expect(csv.replace(/\r\n/g, '\n')).not.toMatch(RAW_CONTROL);
    }
    // A long session id is shortened in the middle in the table (its whole text is in --csv, below): both ends shown escaped.
    const session = await runReport({ kind: 'session', db });
    expect(session).toContain('s\\x1b[2J\\x1b[31mEVIL\\x1b]0...reversed\\u2066\\x0d\\x0anext\\x7f');
    expect(await runReport({ kind: 'models', db })).toContain('gpt\\x1b[8m-hidden');
    expect((await runReport({ kind: 'session', csv: true, db })).split('\r\n')[1]).toMatch(new RegExp(`^${SHOWN.replace(/[\\[\]]/g, '\\$&')},1,`));
  });

  it('the table stays aligned: each line of it is as wide as the others', async () => {
    const lines = (await runReport({ kind: 'session', db })).split('\n').filter((l) => /^[┌│├└]/.test(l));
    expect(new Set(lines.map((l) => [...l].length)).size).toBe(1);
  });

  it('events prints them visibly; --json keeps the exact text', async () => {
    const text = await runEvents({ db });
    expect(text).not.toMatch(RAW_CONTROL);
    expect(text).toContain('EVIL');
    const [event] = JSON.parse(await runEvents({ db, json: true })) as { userId: string; sessionId: string }[];
    expect(event!.userId).toBe(EVIL);
    expect(event!.sessionId).toBe(EVIL);
  });

  it('every table drawn (admin lists, keys, findings) escapes its cells', () => {
    expect(drawTable({ head: ['id', 'user'] }, [['k1', EVIL]])).not.toMatch(RAW_CONTROL);
    expect(drawTable({ head: ['id'], compact: true }, [[`a\u001b]8;;http://x\u0007b`]])).toContain('a\\x1b]8;;http://x\\x07b');
    const finding = {
      start: 0,
      rule: 'rephrase-loop',
      subject: { kind: 'user', id: EVIL },
      wastedUsd: 1,
      confidence: 0.9,
      summary: `user ${EVIL} asked again`,
      suggestion: 'do better',
    } as unknown as Parameters<typeof formatFindingsTable>[0][number];
    expect(formatFindingsTable([finding], 'UTC')).not.toMatch(RAW_CONTROL);
  });

  it('CSV keeps defusing cells a spreadsheet would evaluate', () => {
    expect(csvField('=HYPERLINK("http://x")')).toBe(`"'=HYPERLINK(""http://x"")"`);
    expect(csvField('\tx')).toBe('\\x09x');
    expect(csvField(-5)).toBe('-5');
  });
});
