import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { foldSpendRows } from '../store/spend-rows.js';
import { startHarness, type Harness } from '../testing/harness.js';

/**
 * Tags are lower-cased as requests arrive: `Search` and `SEARCH` do not escape a `tag:search` budget (nor one the
 * config writes `tag:Search`), they are stored as `search`, and tags stored before in another case count toward it.
 */

let h: Harness;
const client = (tags: string) => new OpenAI({ baseURL: `${h.url}/v1`, apiKey: h.key, maxRetries: 0, defaultHeaders: { 'x-goodhart-tags': tags } });
/** A request costing exactly `tokens` µ$ (free input, $1 per million output tokens). */
const chat = (c: OpenAI, tokens: number) =>
  c.chat.completions.create({ model: 'dear', max_tokens: tokens, messages: [{ role: 'user', content: `Go. [[sim:tokens=${tokens}]]` }] }).withResponse();

beforeAll(async () => {
  h = await startHarness({
    config: () => ({
      models: [{ name: 'dear', provider: 'openai', upstreamName: 'gpt-4.1', price: { input: 0, output: 1 } }],
      budgets: [{ id: 'search-tag', scope: 'tag:Search', amount: 0.003, period: 'week', thresholds: [] }],
    }),
  });
});
afterAll(async () => {
  await h.close();
});

describe('tags in any case', () => {
  it('count toward the one budget of their tag, and are stored lower-cased', async () => {
    const first = await chat(client('Search'), 1000);
    expect(first.response.headers.get('x-goodhart-budget')).toBe('search-tag; scope=tag:search; unit=usd');
    const second = await chat(client('SEARCH, feature:Checkout'), 1000);
    // Both count: $0.001 spent by the first, $0.001 spent or still reserved by the second (its worst case is its cost).
    // The engine's figures: a tag's budget is shared, so its header gives what is left only to 1% of the amount.
    const [tag] = await h.gateway.governance!.policy.status(Date.now());
    expect([tag!.scopeKey, tag!.spent + tag!.reserved]).toEqual(['tag:search', expect.closeTo(0.002, 9)]);
    expect(second.response.headers.get('x-goodhart-budget-remaining')).toBe('0.000990');
    await expect(chat(client('sEaRcH'), 2000)).rejects.toMatchObject({ status: 429, message: expect.stringContaining('Budget "search-tag" (tag:search, per week)') });
    const events = await h.events();
    expect(events.map((e) => [e.status, e.tags])).toEqual([[200, ['search']], [200, ['search', 'feature:checkout']], [429, ['search']]]);
  });

  it('stored before in another case, count toward the same budget when history is loaded', () => {
    const row = (tags: string[], usd: number) => ({ day: 0, user_id: null, team_id: null, project_id: null, key_id: null, tags: JSON.stringify(tags), usd, tokens: 1 });
    const folded = foldSpendRows([row(['Search'], 1), row(['search'], 2), row(['SEARCH', 'search'], 4)]).filter((r) => r.scopeKey.startsWith('tag:'));
    expect(folded).toEqual([{ day: 0, scopeKey: 'tag:search', usd: 7, tokens: 3 }]);
  });
});
