import { describe, expect, it } from 'vitest';
import { SseSplitter } from './sse.js';

describe('SseSplitter', () => {
  it('reassembles events cut at every possible byte', () => {
    const stream =
      'event: message_start\ndata: {"a":1}\n\n: keep-alive comment\n\ndata: {"b":\ndata: 2}\n\ndata: [DONE]\n\n';
    for (let cut = 1; cut < stream.length; cut++) {
      const s = new SseSplitter();
      const events = [...s.push(stream.slice(0, cut)), ...s.push(stream.slice(cut))];
      expect(events.map((e) => e.raw).join('')).toBe(stream);
      expect(events.map((e) => e.data)).toEqual(['{"a":1}', '', '{"b":\n2}', '[DONE]']);
      expect(events[0]!.event).toBe('message_start');
      expect(s.rest()).toBe('');
    }
  });

  it('handles CRLF separators and keeps an unfinished tail', () => {
    const s = new SseSplitter();
    const events = s.push('data: x\r\n\r\ndata: partial');
    expect(events).toHaveLength(1);
    expect(events[0]!.data).toBe('x');
    expect(s.rest()).toBe('data: partial');
  });

  it('refuses an event that never ends instead of growing without bound', () => {
    const s = new SseSplitter();
    const big = 'x'.repeat(1024 * 1024);
    expect(() => {
      for (let i = 0; i < 9; i++) s.push(big);
    }).toThrow(/larger than/);
  });
});
