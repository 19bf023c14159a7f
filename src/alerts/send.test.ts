import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson } from './send.js';

/**
 * One attempt ends at `timeoutMs`, however the receiver spends it: a real local receiver that answers 200 at once
 * and then trickles its body (a chunk every 500 ms for 4 s), and one that never answers.
 */

let receiver: Server;
let url = '';

beforeAll(async () => {
  receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url === '/silent') return;
      res.writeHead(200, { 'content-type': 'text/plain' });
      let chunks = 0;
      const timer = setInterval(() => {
        res.write('.');
        if (++chunks === 8) {
          clearInterval(timer);
          res.end();
        }
      }, 500);
      res.on('close', () => clearInterval(timer));
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});
afterAll(async () => {
  receiver.closeAllConnections();
  await new Promise((resolve) => receiver.close(resolve));
});

describe('postJson', () => {
  it('ends an attempt at timeoutMs while the receiver trickles its answer, delivered by its 200', async () => {
    const started = Date.now();
    const r = await postJson({ url: `${url}/trickle` }, '{}', { maxAttempts: 1, initialBackoffMs: 1, timeoutMs: 1000 });
    expect(r).toEqual({ ok: true, attempts: 1, last: '', permanent: false });
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('ends an attempt at timeoutMs when the receiver never answers', async () => {
    const started = Date.now();
    const r = await postJson({ url: `${url}/silent` }, '{}', { maxAttempts: 1, initialBackoffMs: 1, timeoutMs: 500 });
    expect(r).toEqual({ ok: false, attempts: 1, last: 'no answer within 500 ms', permanent: false });
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
