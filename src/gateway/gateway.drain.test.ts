import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startHarness } from '../testing/harness.js';

/** A raw connection to the gateway, and a promise of everything it read until it closed. */
function open(url: string): { socket: Socket; closed: Promise<string> } {
  const { port } = new URL(url);
  const socket = connect(Number(port), '127.0.0.1');
  let got = '';
  socket.on('data', (d: Buffer) => (got += d.toString()));
  socket.on('error', () => {});
  const closed = new Promise<string>((r) => socket.once('close', () => r(got)));
  return { socket, closed };
}

const connected = (s: Socket) => new Promise<void>((r) => (s.readyState === 'open' ? r() : s.once('connect', () => r())));

describe('draining', () => {
  it('is not held by clients that never finish sending, and still finishes the streams in flight', async () => {
    const h = await startHarness({ drainGrace: { headersMs: 300, bodyMs: 600 }, sim: { interTokenMs: 2 } });
    const silent = open(h.url);
    const headers = open(h.url);
    const body = open(h.url);
    await Promise.all([silent, headers, body].map((c) => connected(c.socket)));
    headers.socket.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${h.key}\r\n`);
    body.socket.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${h.key}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"model":`);
    const stream = await h.openai.chat.completions.create({ model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'long [[sim:tokens=300]]' }] });
    await new Promise((r) => setTimeout(r, 100));

    const closing = h.gateway.close().then(() => 'closed');
    let output = 0;
    for await (const c of stream) output = c.usage?.completion_tokens ?? output;
    expect(output).toBe(300);
    // Each cut in turn: the silent one at once, the others after their grace (Node's own timeouts stop with close()).
    const order: string[] = [];
    await Promise.all([
      silent.closed.then(() => order.push('silent')),
      headers.closed.then(() => order.push('headers')),
      body.closed.then(() => order.push('body')),
    ]);
    expect(order).toEqual(['silent', 'headers', 'body']);
    const timer = new Promise<string>((r) => setTimeout(() => r('still draining after 5 s'), 5_000).unref());
    expect(await Promise.race([closing, timer])).toBe('closed');
    const events = await h.store.listEvents({});
    expect(events.map((e) => [e.status, e.streamed, e.outputTokens])).toEqual([[200, true, 300]]);
    await h.close();
  });
});
