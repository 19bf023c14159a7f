import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../store/sqlite/sqlite-store.js';
import { createPricer } from '../../usage/pricing.js';
import { tempDir } from '../testing.js';
import { USAGE_APIS } from './registry.js';
import { runUsageApiImport, type UsageApiImportOptions } from './run.js';
import { fakeUsageApi, type FakeRequest } from './testing.js';

const { dir, cleanup } = tempDir('usage-range');
afterAll(cleanup);
let n = 0;

const at = (iso: string): number => Date.parse(iso);
/** Two keys' requests on 9 April, one in the morning and one in the afternoon (UTC). */
const requests: FakeRequest[] = [
  { t: at('2026-04-09T03:00:00Z'), provider: 'openai', model: 'gpt-4o-mini-2024-07-18', input: 1000, output: 100, apiKeyId: 'key_morning' },
  { t: at('2026-04-09T15:00:00Z'), provider: 'openai', model: 'gpt-4o-mini-2024-07-18', input: 2000, output: 200, apiKeyId: 'key_afternoon' },
];

async function run(store: SqliteStore, extra: Partial<UsageApiImportOptions>) {
  const api = fakeUsageApi(requests);
  const summary = await runUsageApiImport({
    api: { ...USAGE_APIS['openai-usage'], ...(await USAGE_APIS['openai-usage'].load()) },
    store,
    pricer: createPricer(),
    rules: { identities: [], users: [] },
    adminKey: 'sk-admin-test',
    env: {},
    fetch: api.fetch,
    ...extra,
  });
  const usage = api.asked.find((u) => u.pathname.endsWith('/usage/completions'));
  const asked = usage === undefined ? null : [usage.searchParams.get('start_time'), usage.searchParams.get('end_time')].map((s) => new Date(Number(s) * 1000).toISOString());
  return { summary, asked };
}

const stored = async (store: SqliteStore) => (await store.listEvents({})).map((e) => e.inputTokens).sort((a, b) => a - b);

describe('usage API ranges are whole UTC days', () => {
  it('asks for the whole first and last day when --since or --until has a time of day, and removes none of what is stored', async () => {
    const store = new SqliteStore(join(dir, `r-${++n}.db`));
    expect((await run(store, { since: '2026-04-09', until: '2026-04-09' })).summary).toMatchObject({ eventsAdded: 2, eventsRemoved: 0 });
    // From noon: the day's bucket would hold only the afternoon, and the morning's stored row be removed.
    const fromNoon = await run(store, { since: '2026-04-09T12:00:00Z', until: '2026-04-09' });
    expect(fromNoon.asked).toEqual(['2026-04-09T00:00:00.000Z', '2026-04-10T00:00:00.000Z']);
    expect(fromNoon.summary).toMatchObject({ eventsAdded: 0, eventsRemoved: 0 });
    // To noon: the afternoon's row.
    const toNoon = await run(store, { since: '2026-04-09', until: '2026-04-09T12:00:00Z' });
    expect(toNoon.asked).toEqual(['2026-04-09T00:00:00.000Z', '2026-04-10T00:00:00.000Z']);
    expect(toNoon.summary).toMatchObject({ eventsAdded: 0, eventsRemoved: 0 });
    expect(await stored(store)).toEqual([1000, 2000]);
    await store.close();
  });

  it('starts the default range (30 days back from now) at 00:00 UTC of its first day', async () => {
    const store = new SqliteStore(join(dir, `r-${++n}.db`));
    await run(store, { since: '2026-04-09', until: '2026-04-09' });
    // Now is 12:00 UTC on 9 May: the default start, 9 April 12:00, is widened to the whole of 9 April.
    const byDefault = await run(store, { now: () => at('2026-05-09T12:00:00Z') });
    expect(byDefault.asked).toEqual(['2026-04-09T00:00:00.000Z', '2026-05-09T12:00:00.000Z']);
    expect(byDefault.summary).toMatchObject({ eventsAdded: 0, eventsRemoved: 0 });
    expect(await stored(store)).toEqual([1000, 2000]);
    await store.close();
  });

  it('keeps the buckets of saved responses by the same whole days', async () => {
    const file = join(dir, 'saved.json');
    const api = fakeUsageApi(requests);
    const body = await (await api.fetch(new URL('https://api.openai.com/v1/organization/usage/completions?start_time=1775692800&end_time=1775779200&group_by[]=api_key_id&group_by[]=model'))).json();
    writeFileSync(file, JSON.stringify(body));
    const store = new SqliteStore(join(dir, `r-${++n}.db`));
    const { summary } = await run(store, { files: [file], adminKey: undefined, since: '2026-04-09T12:00:00Z', until: '2026-04-09T13:00:00Z' });
    expect(summary).toMatchObject({ eventsAdded: 2 });
    expect(summary.skipped['out_of_range'] ?? 0).toBe(0);
    // A time of day before its end is still a reversed range.
    await expect(run(store, { since: '2026-04-09T12:00:00Z', until: '2026-04-09T06:00:00Z' })).rejects.toThrow(/is not before --until/);
    await store.close();
  });
});
