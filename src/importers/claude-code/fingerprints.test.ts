import { describe, expect, it } from 'vitest';
import { similarity } from '../../detect/fingerprint/text.js';
import { fingerprintText } from '../../detect/fingerprint/fingerprint.js';
import { stableId } from '../ids.js';
import { fingerprintClaudeLines } from './fingerprints.js';

const SECRET = 'import-fingerprint-secret-01234';
const PROMPT = 'add retries with exponential backoff to the webhook sender in src/hooks/send.ts';

const user = (content: unknown, ts: string) => JSON.stringify({ type: 'user', sessionId: 's1', timestamp: ts, message: { role: 'user', content } });
const assistant = (id: string, req: string, content: unknown[], ts: string) =>
  JSON.stringify({ type: 'assistant', sessionId: 's1', requestId: req, timestamp: ts, message: { id, model: 'claude-sonnet-4-5', role: 'assistant', content, usage: { input_tokens: 10, output_tokens: 5 } } });

describe('Claude Code transcript fingerprints', () => {
  const lines = [
    user(PROMPT, '2026-10-01T10:00:00Z'),
    assistant('msg_1', 'req_1', [{ type: 'text', text: 'Reading the file.' }], '2026-10-01T10:00:03Z'),
    assistant('msg_1', 'req_1', [{ type: 'tool_use', id: 't1', name: 'Read', input: { file: 'src/hooks/send.ts' } }], '2026-10-01T10:00:03Z'),
    user([{ type: 'tool_result', tool_use_id: 't1', content: 'export async function send() {}' }], '2026-10-01T10:00:04Z'),
    assistant('msg_2', 'req_2', [{ type: 'tool_use', id: 't2', name: 'Read', input: { file: 'src/hooks/send.ts' } }], '2026-10-01T10:00:08Z'),
    user([{ type: 'tool_result', tool_use_id: 't2', content: 'export async function send() {}' }], '2026-10-01T10:00:09Z'),
    assistant('msg_3', 'req_3', [{ type: 'text', text: 'Done.' }], '2026-10-01T10:00:12Z'),
  ];

  it('gives the typed prompt a human-turn fingerprint under the importer’s event id', () => {
    const fps = fingerprintClaudeLines(lines, SECRET);
    expect(fps).toHaveLength(3);
    expect(fps[0]!.eventId).toBe(stableId('claude-code', 'm\u0000msg_1\u0000req_1'));
    expect(fps[0]!.humanTurn).toBe(true);
    expect(similarity(fps[0]!.prompt!, fingerprintText(PROMPT, SECRET).signature!)).toBe(1);
    expect(fps[0]!.at).toBe(Date.parse('2026-10-01T10:00:03Z'));
  });

  it('makes tool steps of call + result, equal when the agent repeats itself', () => {
    const [, second, third] = fingerprintClaudeLines(lines, SECRET);
    expect(second!.humanTurn).toBe(false);
    expect(second!.toolStep).not.toBeNull();
    expect(third!.toolStep).toBe(second!.toolStep);
  });
});
