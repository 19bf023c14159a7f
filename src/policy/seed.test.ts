import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../config/schema.js';
import { createGateway, type Gateway } from '../gateway/server.js';
import { openStore } from '../store/open.js';
import { makeTestEvent } from '../store/store-contract.js';
import type { Store } from '../store/types.js';

/**
 * A gateway that starts mid-period picks up the spend of the current windows from stored gateway events, in the
 * configured time zone, per scope; imported usage (not through the gateway) is not counted twice.
 */

const dir = mkdtempSync(join(tmpdir(), 'goodhart-seed-'));
let store: Store;
let gateway: Gateway;
const now = Date.parse('2025-03-12T10:00:00Z'); // Wednesday, 06:00 in New York (EDT since 9 March)

beforeAll(async () => {
  store = await openStore(join(dir, 'goodhart.db'));
  await store.insertEvents([
    // Today in New York (after 04:00 UTC).
    makeTestEvent({ startedAt: Date.parse('2025-03-12T04:30:00Z'), teamId: 'core', userId: 'alice', tags: ['search'], costUsd: 1, inputTokens: 100, outputTokens: 50 }),
    makeTestEvent({ startedAt: Date.parse('2025-03-12T09:00:00Z'), teamId: 'core', userId: 'bob', costUsd: 2 }),
    // Yesterday in New York, though already the 12th in UTC.
    makeTestEvent({ startedAt: Date.parse('2025-03-12T03:30:00Z'), teamId: 'core', userId: 'alice', costUsd: 4 }),
    // Monday of this week, and last week.
    makeTestEvent({ startedAt: Date.parse('2025-03-10T12:00:00Z'), teamId: 'core', userId: 'alice', costUsd: 8 }),
    makeTestEvent({ startedAt: Date.parse('2025-03-09T12:00:00Z'), teamId: 'core', userId: 'alice', costUsd: 16 }),
    // Imported from Claude Code logs: reported, not governed twice.
    makeTestEvent({ source: 'claude-code', startedAt: Date.parse('2025-03-12T05:00:00Z'), teamId: 'core', userId: 'alice', costUsd: 32 }),
  ]);
  const config = configSchema.parse({
    timeZone: 'America/New_York',
    budgets: [
      { id: 'core-day', scope: 'team:core', amount: 100, period: 'day' },
      { id: 'core-week', scope: 'team:core', amount: 100, period: 'week' },
      { id: 'users-month', scope: 'user:*', amount: 100, period: 'month' },
      { id: 'search-tokens', scope: 'tag:search', amount: 1000, unit: 'tokens', period: 'day' },
    ],
  });
  gateway = await createGateway({ config, store, now: () => now });
});
afterAll(async () => {
  await gateway.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('seeding budgets from stored spend', () => {
  it('starts each budget window from the spend already in the store', async () => {
    const status = await gateway.governance!.policy.status(now);
    const spent = Object.fromEntries(status.map((s) => [s.instance, s.spent]));
    expect(spent['core-day|team:core']).toBe(1 + 2);
    expect(spent['core-week|team:core']).toBe(1 + 2 + 4 + 8);
    expect(spent['search-tokens|tag:search']).toBe(150);
    // Per-user instances are listed from the start for everyone with stored gateway spend (not only once they send a
    // request after a restart), with that spend; an imported-only user is not governed.
    expect(spent['users-month|user:alice']).toBe(1 + 4 + 8 + 16);
    expect(spent['users-month|user:bob']).toBe(2);
    expect(Object.keys(spent).filter((k) => k.startsWith('users-month|')).sort()).toEqual(['users-month|user:alice', 'users-month|user:bob']);
    const ledger = gateway.governance!.policy.state;
    const month = { start: Date.parse('2025-03-01T05:00:00Z'), end: Date.parse('2025-04-01T04:00:00Z') };
    expect(ledger.windowSpend('usd', [month], (k) => k === 'user:alice')).toEqual(new Map([['user:alice', [1 + 4 + 8 + 16]]]));
  });
});
