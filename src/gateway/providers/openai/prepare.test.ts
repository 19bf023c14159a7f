import { describe, expect, it } from 'vitest';
import { openaiAdapter, withLeadingMember } from './index.js';

const prepare = (body: object, upstreamModel: string | null = null) => {
  const raw = Buffer.from(JSON.stringify(body, null, 1));
  const json = JSON.parse(raw.toString()) as Record<string, unknown>;
  const out = openaiAdapter.prepare('chat.completions', json, raw, upstreamModel);
  return { ...out, sent: JSON.parse(Buffer.from(out.body).toString()) as Record<string, unknown>, raw };
};

describe('OpenAI request preparation', () => {
  it('asks a stream for usage by splicing the member into the raw bytes, keeping everything else as sent', () => {
    const body = { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi "there" {}' }], temperature: 0.2 };
    const out = prepare(body);
    expect(out.dropUsageChunk).toBe(true);
    expect(out.sent).toEqual({ ...body, stream_options: { include_usage: true } });
    expect(Buffer.from(out.body).subarray(-out.raw.length + 1).equals(out.raw.subarray(1))).toBe(true);
  });

  it('merges into options the client sent, and re-serialises when the model is renamed', () => {
    expect(prepare({ model: 'm', stream: true, messages: [], stream_options: { foo: 1 } }).sent.stream_options).toEqual({ foo: 1, include_usage: true });
    const renamed = prepare({ model: 'team-gpt', stream: true, messages: [] }, 'gpt-4o-2024-08-06');
    expect(renamed.sent).toEqual({ model: 'gpt-4o-2024-08-06', stream: true, messages: [], stream_options: { include_usage: true } });
  });

  it('leaves a client that asked for usage, and a non-streamed request, byte for byte alone', () => {
    const asked = prepare({ model: 'm', stream: true, messages: [], stream_options: { include_usage: true } });
    expect(asked.dropUsageChunk).toBe(false);
    expect(asked.body).toBe(asked.raw);
    const plain = prepare({ model: 'm', messages: [] });
    expect(plain.body).toBe(plain.raw);
  });

  it('splices only into a non-empty object', () => {
    const m = Buffer.from('"a":1,');
    expect(withLeadingMember(Buffer.from(' \n{"b":2}'), m)?.toString()).toBe(' \n{"a":1,"b":2}');
    expect(withLeadingMember(Buffer.from('{ }'), m)).toBeNull();
    expect(withLeadingMember(Buffer.from('[1]'), m)).toBeNull();
  });
});
