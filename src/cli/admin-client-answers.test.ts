import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { adminCall, numList } from './admin-client.js';
import { registerBudgets } from './commands/budgets.js';

/** Another server where the gateway should be: a proxy's HTML error page, a web app on the same port. */
let server: Server;
let url = '';

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url?.includes('/budgets')) {
      res.writeHead(502, { 'content-type': 'text/html' }).end('<html>\n<head><title>502 Bad Gateway</title></head>\n<body>nginx</body></html>');
    } else {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('OK \u001b[2J');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('adminCall', () => {
  it('says the URL answered with something that is not JSON, and which, instead of a SyntaxError', async () => {
    await expect(adminCall({ url, key: 'k'.repeat(20) }, 'GET', '/budgets')).rejects.toMatchObject({
      name: 'GoodhartError',
      message: `${url}/admin/v1/budgets answered HTTP 502 with something that is not JSON (content-type text/html, starting "<html> <head><title>502 Bad Gateway</title></head> <body>nginx</body></html>"): it is not a Goodhart gateway's admin API. Check that GOODHART_URL or --url points at \`goodhart serve\` (its address and port, without /admin/v1), not at a proxy or another server.`,
    });
    await expect(adminCall({ url, key: 'k'.repeat(20) }, 'GET', '/users')).rejects.toThrow(/answered HTTP 200 with something that is not JSON \(content-type text\/plain, starting "OK \\x1b\[2J"\)/);
  });

  it('budgets set --thresholds refuses a part that is not a number, before calling the gateway', async () => {
    expect(numList('--thresholds')('50, 80,100')).toEqual([50, 80, 100]);
    const program = new Command().exitOverride();
    registerBudgets(program);
    await expect(
      program.parseAsync(['node', 'goodhart', 'budgets', 'set', 'b1', '--scope', 'org', '--amount', '5', '--thresholds', '50,abc', '--url', url, '--key', 'k'.repeat(20)]),
    ).rejects.toThrow('--thresholds: "abc" is not a number; give numbers separated by commas (e.g. 50,80,100), got "50,abc".');
  });
});
