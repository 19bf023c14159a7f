import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCall, gatewayUrl } from './admin-client.js';

/** Where the admin CLI finds the gateway: --url, $GOODHART_URL, else the port the config tells `serve` to use. */

const dir = mkdtempSync(join(tmpdir(), 'goodhart-admin-client-'));
let server: Server;
let port = 0;
const seen: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers.authorization}`);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ actor: 'admin-key:ops' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

describe('the gateway the admin CLI calls', () => {
  it('is at the config\'s server.port when neither --url nor $GOODHART_URL is given', async () => {
    const config = join(dir, 'goodhart.yaml');
    writeFileSync(config, `server: { port: ${port} }\n`);
    expect(await adminCall({ config, key: 'admin-key' }, 'GET', '/me', undefined, {})).toEqual({ actor: 'admin-key:ops' });
    expect(seen).toEqual(['GET /admin/v1/me Bearer admin-key']);
    // $GOODHART_CONFIG names it as well; a wildcard host is reached on loopback.
    writeFileSync(config, `server: { host: 0.0.0.0, port: ${port} }\n`);
    expect(await gatewayUrl({}, { GOODHART_CONFIG: config })).toBe(`http://127.0.0.1:${port}`);
    writeFileSync(config, 'server: { host: "::", port: 9000 }\n');
    expect(await gatewayUrl({ config }, {})).toBe('http://[::1]:9000');
  });

  it('is --url, else $GOODHART_URL, whatever the config says; serve\'s default without a config', async () => {
    const config = join(dir, 'other.yaml');
    writeFileSync(config, 'server: { port: 9001 }\n');
    expect(await gatewayUrl({ config, url: 'http://gw.example:1234/' }, { GOODHART_URL: 'http://env.example:1' })).toBe('http://gw.example:1234');
    expect(await gatewayUrl({ config }, { GOODHART_URL: 'http://env.example:1' })).toBe('http://env.example:1');
    expect(await gatewayUrl({}, {})).toBe('http://127.0.0.1:8787');
  });
});
