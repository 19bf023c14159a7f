import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Running } from '../cli/commands/serve.js';
import { configSchema } from '../config/schema.js';
import { startRelay, type Relay } from '../testing/relay.js';

/**
 * The admin API while its Postgres database does not answer: a retryable 503 that says so (a generic 500 "internal
 * error, report it" before), and service again once the database is back. The database is reached through a relay
 * the test cuts.
 */
const PG_URL = process.env['GOODHART_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = `gh_outage_${randomBytes(4).toString('hex')}`;
const ADMIN_KEY = 'adm-outage-test-0123456789';
let admin: postgres.Sql;
let relay: Relay;
let running: Running | undefined;

beforeAll(async () => {
  admin = postgres(PG_URL, { max: 1, onnotice: () => {} });
  await admin`CREATE SCHEMA ${admin(SCHEMA)}`;
  const target = new URL(PG_URL);
  relay = await startRelay(target.hostname, Number(target.port || 5432));
  const via = new URL(PG_URL);
  via.host = `${relay.host}:${relay.port}`;
  via.searchParams.set('search_path', SCHEMA);
  const config = configSchema.parse({
    providers: { openai: { type: 'openai', baseUrl: 'http://127.0.0.1:9/v1', apiKey: 'sk' } },
    admin: { keys: [{ id: 'ops', key: ADMIN_KEY, role: 'admin' }] },
    detect: { live: { enabled: false } },
  });
  running = await startGateway(config, via.toString(), 0, '127.0.0.1');
});
afterAll(async () => {
  await relay?.restore().catch(() => {});
  await running?.stop().catch(() => {});
  await relay?.close();
  await admin`DROP SCHEMA IF EXISTS ${admin(SCHEMA)} CASCADE`;
  await admin.end({ timeout: 5 });
});

const putBudget = () =>
  fetch(`${running!.url}/admin/v1/budgets/eve-daily`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ scope: 'user:eve', amount: 5, period: 'day', thresholds: [] }),
  });

describe('the admin API when Postgres does not answer', () => {
  it('answers 503, retryable, saying the database does not answer; and works again once it does', async () => {
    expect((await putBudget()).status).toBe(200);
    await relay.cut();
    const down = await putBudget();
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toBe('5');
    const body = (await down.json()) as { error: { message: string; type: string } };
    expect(body.error.message).toMatch(/^The database does not answer \((ECONNREFUSED|ECONNRESET|CONNECTION_\w+|CONNECT_TIMEOUT)\), so this could not be done\. Try again shortly/);
    await relay.restore();
    let again = 0;
    for (let i = 0; i < 50 && again !== 200; i++) {
      again = (await putBudget()).status;
      if (again !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(again).toBe(200);
  }, 30_000);
});
