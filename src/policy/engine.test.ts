import { describe, expect, it } from 'vitest';
import { configSchema, type GoodhartConfigInput } from '../config/schema.js';
import { GoodhartError } from '../errors.js';
import type { KeyRecord } from '../store/types.js';
import type { Endpoint } from '../usage/event.js';
import { createPricer } from '../usage/pricing.js';
import type { NormalisedUsage } from '../usage/types.js';
import { Directory } from './directory.js';
import { GovernanceEngine, type BudgetAlert } from './engine.js';
import type { AdmissionResult } from './types.js';

/** The engine alone, with an injected clock: budgets, periods, thresholds, downgrades, hybrid amounts. */

const KEY: KeyRecord = {
  id: 'k1',
  hash: 'h',
  prefix: 'gh_test',
  userId: 'alice',
  teamId: 'platform',
  projectId: 'checkout',
  name: null,
  createdAt: 0,
  revokedAt: null,
};

/** $1 per million tokens in and out: a request of N tokens costs N µ$. */
const pricer = createPricer({ flat: { input: 1, output: 1 }, cheap: { input: 0.1, output: 0.1 } });

function engine(cfg: Partial<GoodhartConfigInput>, clock: { t: number }, alerts: BudgetAlert[] = []): GovernanceEngine {
  const config = configSchema.parse(cfg);
  return new GovernanceEngine({
    spec: new Directory(config).spec(),
    pricer,
    now: () => clock.t,
    reservationTtlMs: 600_000,
    onAlert: (a) => alerts.push(a),
    maxWaitMs: 0,
  });
}

function admit(
  e: GovernanceEngine,
  t: number,
  opts: { model?: string; maxTokens?: number; endpoint?: Endpoint; tags?: string[]; body?: Record<string, unknown>; inFlight?: () => boolean } = {},
): AdmissionResult {
  const endpoint = opts.endpoint ?? 'chat.completions';
  const body = opts.body ?? { model: opts.model ?? 'flat', max_tokens: opts.maxTokens ?? 1000, messages: [{ role: 'user', content: 'hi' }] };
  const r = e.admit({
    key: KEY,
    endpoint,
    model: opts.model ?? 'flat',
    provider: 'openai',
    providerType: 'openai',
    tags: opts.tags ?? [],
    body,
    bodyBytes: Buffer.byteLength(JSON.stringify(body)),
    headers: {},
    now: t,
    ...(opts.inFlight ? { inFlight: opts.inFlight } : {}),
  });
  if (r instanceof Promise) throw new Error('expected a synchronous admission');
  return r;
}

/** A chat request for `flat` with a `servable` answer from the gateway's router. */
function admitWith(e: GovernanceEngine, t: number, extra: { servable: (model: string) => boolean }): AdmissionResult {
  const body = { model: 'flat', max_tokens: 1000, messages: [{ role: 'user', content: 'hi' }] };
  const r = e.admit({ key: KEY, endpoint: 'chat.completions', model: 'flat', provider: 'openai', providerType: 'openai', tags: [], body, bodyBytes: 80, headers: {}, now: t, servable: extra.servable });
  if (r instanceof Promise) throw new Error('expected a synchronous admission');
  return r;
}

const usage = (input: number, output: number): NormalisedUsage => ({
  input: { total: input, noCache: input, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 0 },
  output: { total: output, text: output, reasoning: 0 },
  raw: null,
});

/** A request that really used `tokens` flat tokens (= `tokens` µ$). */
function spend(e: GovernanceEngine, t: number, tokens: number, model = 'flat'): AdmissionResult {
  const r = admit(e, t, { model, maxTokens: tokens });
  r.settle({ usage: usage(0, tokens), costUsd: tokens / 1e6, model });
  return r;
}

const refused = (f: () => unknown): GoodhartError => {
  try {
    f();
  } catch (err) {
    if (err instanceof GoodhartError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
};

const at = (s: string) => Date.parse(s);

/** What `admit` reserves for a default body far from the limit: its bytes (+64 framing) and max_tokens, in µ$. */
const reservation = (maxTokens: number) =>
  (Buffer.byteLength(JSON.stringify({ model: 'flat', max_tokens: maxTokens, messages: [{ role: 'user', content: 'hi' }] })) + 64 + maxTokens) / 1e6;

describe('budget periods with an injected clock (Europe/Berlin)', () => {
  // A person's budget: its remaining header is exact (a shared one's is rounded down to 1% of the amount).
  const cfg = (period: 'day' | 'week' | 'month' | 'quarter', amount = 0.01): Partial<GoodhartConfigInput> => ({
    timeZone: 'Europe/Berlin',
    budgets: [{ id: 'alice', scope: 'user:alice', amount, period, thresholds: [] }],
  });

  it('a day budget resets at local midnight, not UTC midnight', () => {
    const clock = { t: at('2025-03-09T22:30:00Z') }; // 23:30 in Berlin
    const e = engine(cfg('day'), clock);
    spend(e, clock.t, 9000); // $0.009 of $0.01
    expect(refused(() => admit(e, clock.t, { maxTokens: 2000 })).code).toBe('budget_exceeded');
    // 23:59:59 Berlin: still the same day.
    expect(refused(() => admit(e, at('2025-03-09T22:59:59Z'), { maxTokens: 2000 })).httpStatus).toBe(429);
    // 00:00 Berlin (23:00 UTC, an hour before UTC midnight): a new day with the whole budget.
    const fresh = admit(e, at('2025-03-09T23:00:00Z'), { maxTokens: 2000 });
    expect(fresh.headers['x-goodhart-budget-reset']).toBe('2025-03-10T23:00:00.000Z');
    expect(Number(fresh.headers['x-goodhart-budget-remaining'])).toBeCloseTo(0.01 - reservation(2000), 9);
  });

  it('a request that started before midnight is booked on the day it started', () => {
    const clock = { t: at('2025-03-09T22:59:00Z') };
    const e = engine(cfg('day'), clock);
    const late = admit(e, clock.t, { maxTokens: 9000 });
    clock.t = at('2025-03-09T23:01:00Z'); // settles after midnight
    late.settle({ usage: usage(0, 9000), costUsd: 0.009, model: 'flat' });
    // The new day is untouched: 9000 µ$ still fit, and only this request's own reservation is taken.
    const next = admit(e, clock.t, { maxTokens: 9000 });
    expect(Number(next.headers['x-goodhart-budget-remaining'])).toBeCloseTo(0.01 - reservation(9000), 9);
  });

  it('week, month and quarter windows follow the local calendar', () => {
    const t = at('2025-06-30T22:30:00Z'); // Tuesday 1 July, 00:30 in Berlin
    for (const [period, reset] of [
      ['week', '2025-07-06T22:00:00.000Z'], // Monday 7 July, 00:00 Berlin
      ['month', '2025-07-31T22:00:00.000Z'],
      ['quarter', '2025-09-30T22:00:00.000Z'],
    ] as const) {
      const e = engine(cfg(period), { t });
      expect(admit(e, t).headers['x-goodhart-budget-reset']).toBe(reset);
    }
  });

  it('a changed amount keeps the real spend of the window; a changed period recomputes it', () => {
    const clock = { t: at('2025-05-10T10:00:00Z') };
    const config = configSchema.parse(cfg('month'));
    const e = engine(cfg('month'), clock);
    spend(e, at('2025-05-02T10:00:00Z'), 6000); // earlier this month
    spend(e, clock.t, 3000); // today
    // Raise the amount: the month's 9000 µ$ stay spent.
    e.setSpec({ ...new Directory(config).spec(), budgets: [{ ...config.budgets[0]!, amount: 0.02 }] });
    expect(Number(admit(e, clock.t, { maxTokens: 1 }).headers['x-goodhart-budget-remaining'])).toBeCloseTo(0.02 - 0.009 - reservation(1), 9);
    // Make it a day budget: only today's 3000 µ$ (and the request in flight) count now, not the month's.
    e.setSpec({ ...new Directory(config).spec(), budgets: [{ ...config.budgets[0]!, period: 'day' }] });
    const r = admit(e, clock.t, { maxTokens: 1 });
    expect(Number(r.headers['x-goodhart-budget-remaining'])).toBeCloseTo(0.01 - 0.003 - 2 * reservation(1), 9);
  });
});

describe('soft thresholds and hard caps', () => {
  it('alerts once per threshold per period, warns in a header, and alerts the refusal when a request is refused', () => {
    const clock = { t: at('2025-05-10T10:00:00Z') };
    const alerts: BudgetAlert[] = [];
    const e = engine({ budgets: [{ id: 'org', scope: 'org', amount: 0.01, period: 'month', contact: '#ai-budget' }] }, clock, alerts);
    spend(e, clock.t, 4000);
    expect(alerts).toEqual([]);
    spend(e, clock.t, 1500); // 55%
    spend(e, clock.t, 100); // still 56%: no second 50% alert
    expect(alerts.map((a) => a.threshold)).toEqual([50]);
    const warned = spend(e, clock.t, 2500); // admitted at 56%: warning header; settles at 81%
    expect(warned.headers['x-goodhart-budget-warning']).toBe('budget org (org) is at 56% of $0.0100; resets 2025-06-01T00:00:00.000Z');
    expect(alerts.map((a) => a.threshold)).toEqual([50, 80]);
    const err = refused(() => admit(e, clock.t, { maxTokens: 5000 }));
    expect(err.message).toContain('To get more, ask #ai-budget');
    expect(alerts.map((a) => [a.threshold, a.reason])).toEqual([
      [50, 'threshold'],
      [80, 'threshold'],
      [null, 'blocked'],
    ]);
    refused(() => admit(e, clock.t, { maxTokens: 5000 }));
    expect(alerts).toHaveLength(3);
    // Next month: the thresholds are armed again.
    spend(e, at('2025-06-02T00:00:00Z'), 5000);
    expect(alerts.map((a) => a.threshold)).toEqual([50, 80, null, 50]);
  });

  it('announces one large request refused early as the refusal only: the thresholds below still alert when spend gets there', () => {
    const clock = { t: at('2025-05-10T10:00:00Z') };
    const alerts: BudgetAlert[] = [];
    const e = engine({ budgets: [{ id: 'org', scope: 'org', amount: 0.01, period: 'month', thresholds: [10, 20, 50, 80, 100] }] }, clock, alerts);
    spend(e, clock.t, 2500); // 25%: one alert for 20%, naming 10% passed on the way
    expect(alerts.map((a) => [a.threshold, a.passed, a.reason])).toEqual([[20, [10], 'threshold']]);
    refused(() => admit(e, clock.t, { maxTokens: 9000 })); // would cost more than is left
    refused(() => admit(e, clock.t, { maxTokens: 9000 }));
    expect(alerts.map((a) => [a.threshold, a.reason, a.spent])).toEqual([
      [20, 'threshold', 0.0025],
      [null, 'blocked', 0.0025],
    ]);
    spend(e, clock.t, 3000); // 55%: its own crossing
    spend(e, clock.t, 3000); // 85%
    expect(alerts.slice(2).map((a) => [a.threshold, a.reason])).toEqual([[50, 'threshold'], [80, 'threshold']]);
  });

  it('announces a refusal or a downgrade at the real spend, and each threshold when spend really reaches it', () => {
    const clock = { t: at('2025-05-10T10:00:00Z') };
    const alerts: BudgetAlert[] = [];
    const e = engine({ budgets: [{ id: 'org', scope: 'org', amount: 0.01, period: 'day' }] }, clock, alerts);
    spend(e, clock.t, 1000); // 10%
    refused(() => admit(e, clock.t, { maxTokens: 100_000 })); // could cost $0.10
    expect(alerts.map((a) => [a.threshold, a.reason, a.blocked?.action, a.spent])).toEqual([[null, 'blocked', 'refused', 0.001]]);
    expect(alerts[0]!.blocked!.cost).toBeGreaterThan(0.1);
    spend(e, clock.t, 4500); // 55%
    spend(e, clock.t, 3000); // 85%
    const last = admit(e, clock.t, { maxTokens: 1000 });
    last.settle({ usage: usage(0, 1500), costUsd: 0.0015, model: 'flat' }); // 100%
    expect(alerts.slice(1).map((a) => [a.threshold, a.reason])).toEqual([[50, 'threshold'], [80, 'threshold'], [100, 'threshold']]);
    // Refused again at 100%: "reached 100%" said it.
    refused(() => admit(e, clock.t, { maxTokens: 10 }));
    expect(alerts).toHaveLength(4);

    const down: BudgetAlert[] = [];
    const d = engine(
      { budgets: [{ id: 'team', scope: 'team:platform', amount: 0.01, period: 'day', thresholds: [50, 100], action: 'downgrade', downgradeAt: 80, downgradeTo: 'cheap' }] },
      clock,
      down,
    );
    spend(d, clock.t, 3100); // 31%
    const r = admit(d, clock.t, { maxTokens: 6000 });
    expect(r.model).toBe('cheap');
    r.settle({ usage: usage(0, 0), costUsd: 0, model: 'cheap' });
    expect(down.map((a) => [a.threshold, a.reason, a.blocked?.action, a.spent])).toEqual([[null, 'blocked', 'downgraded', 0.0031]]);
    spend(d, clock.t, 2400); // 55%
    expect(down.slice(1).map((a) => [a.threshold, a.reason])).toEqual([[50, 'threshold']]);
  });

  it('announces a refusal again once spend has reached a higher threshold: one oversized request refused early hides nothing later', () => {
    const clock = { t: at('2025-05-10T10:00:00Z') };
    const alerts: BudgetAlert[] = [];
    const e = engine({ budgets: [{ id: 'org', scope: 'org', amount: 0.01, period: 'day' }] }, clock, alerts);
    spend(e, clock.t, 1000); // 10%
    refused(() => admit(e, clock.t, { maxTokens: 100_000 })); // one oversized request
    spend(e, clock.t, 8600); // 96%
    for (let i = 0; i < 5; i++) refused(() => admit(e, clock.t, { maxTokens: 1000 })); // now every ordinary request is refused
    expect(alerts.map((a) => [a.threshold, a.passed, a.reason, Math.round(a.spent * 1e6)])).toEqual([
      [null, [], 'blocked', 1000],
      [80, [50], 'threshold', 9600],
      [null, [], 'blocked', 9600], // once for this level, not five times
    ]);
    expect(alerts[2]!.dedupKey).not.toBe(alerts[0]!.dedupKey);
    expect(alerts[2]!.blocked).toMatchObject({ action: 'refused', limit: 0.01 });
    // Spend reaching 100% is still announced as such.
    const last = admit(e, clock.t, { maxTokens: 100 });
    last.settle({ usage: usage(0, 400), costUsd: 0.0004, model: 'flat' });
    expect(alerts.slice(3).map((a) => [a.threshold, a.reason])).toEqual([[100, 'threshold']]);
    refused(() => admit(e, clock.t, { maxTokens: 10 }));
    expect(alerts).toHaveLength(4);
  });

  it('sends one alert for a request that passes several thresholds at once: the highest, naming the others', () => {
    const clock = { t: at('2025-05-10T10:00:00Z') };
    const alerts: BudgetAlert[] = [];
    const e = engine({ budgets: [{ id: 'org', scope: 'org', amount: 0.01, period: 'day' }] }, clock, alerts);
    const big = admit(e, clock.t, { maxTokens: 1000 });
    big.settle({ usage: usage(0, 18_000), costUsd: 0.018, model: 'flat' }); // 0% to 180% in one request
    expect(alerts.map((a) => [a.threshold, a.passed, a.spent])).toEqual([[100, [50, 80], 0.018]]);
    expect(alerts[0]!.dedupKey).toBe(`org|org|${at('2025-05-10T00:00:00Z')}|100`);
    refused(() => admit(e, clock.t, { maxTokens: 10 }));
    expect(alerts).toHaveLength(1);
  });

  it('does not announce again a threshold a raised amount leaves under spend; one it puts back above spend is announced when reached again', () => {
    const clock = { t: at('2025-05-10T10:00:00Z') };
    const alerts: BudgetAlert[] = [];
    const cfg = (amount: number): Partial<GoodhartConfigInput> => ({ budgets: [{ id: 'alice-day', scope: 'user:alice', amount, period: 'day' }] });
    const e = engine(cfg(0.05), clock, alerts);
    spend(e, clock.t, 41_000); // 82% of $0.05
    expect(alerts.map((a) => [a.threshold, a.passed])).toEqual([[80, [50]]]);
    // Raised to $0.06: spend is 68%, still past 50% (announced: not again), back under 80% (re-armed).
    e.setSpec(new Directory(configSchema.parse(cfg(0.06))).spec());
    spend(e, clock.t, 1000); // 70%
    expect(alerts).toHaveLength(1);
    spend(e, clock.t, 7000); // 80% of $0.06: crossed again
    expect(alerts.slice(1).map((a) => [a.threshold, a.passed, a.amount])).toEqual([[80, [], 0.06]]);
    expect(alerts[1]!.dedupKey).not.toBe(alerts[0]!.dedupKey);
    // Raised again, spend still past 80%: nothing to announce.
    e.setSpec(new Directory(configSchema.parse(cfg(0.0601))).spec());
    spend(e, clock.t, 100);
    expect(alerts).toHaveLength(2);
  });

  it('downgrade mode serves the cheaper model past the downgrade point, and says so', () => {
    const clock = { t: at('2025-05-10T10:00:00Z') };
    const e = engine(
      { budgets: [{ id: 'team', scope: 'team:platform', amount: 0.01, action: 'downgrade', downgradeAt: 80, downgradeTo: 'cheap' }] },
      clock,
    );
    spend(e, clock.t, 7000);
    const r = admit(e, clock.t, { maxTokens: 2000 });
    expect(r.model).toBe('cheap');
    expect(r.headers['x-goodhart-downgraded']).toBe('flat -> cheap; budget=team');
    r.settle({ usage: usage(0, 2000), costUsd: 0.0002, model: 'cheap' });
    // 100% still blocks, downgraded or not.
    expect(refused(() => admit(e, clock.t, { maxTokens: 40_000 })).code).toBe('budget_exceeded');
  });

  it('past the downgrade point, serves as asked what no downgrade model serves, up to 100%', () => {
    const clock = { t: at('2025-05-10T10:00:00Z') };
    const alerts: BudgetAlert[] = [];
    const e = engine(
      { budgets: [{ id: 'team', scope: 'team:platform', amount: 0.01, action: 'downgrade', downgradeAt: 50, downgradeTo: 'cheap' }] },
      clock,
      alerts,
    );
    spend(e, clock.t, 6000); // 60%: past the downgrade point
    // The downgrade model itself, an embedding, a token count, and a request on a wire the downgrade model is not on.
    const asked = [
      admit(e, clock.t, { model: 'cheap', maxTokens: 500 }),
      admit(e, clock.t, { endpoint: 'embeddings', body: { model: 'flat', input: 'x'.repeat(100) } }),
      admit(e, clock.t, { endpoint: 'messages.count_tokens', body: { model: 'flat', messages: [] } }),
      admitWith(e, clock.t, { servable: (m) => m !== 'cheap' }),
    ];
    expect(asked.map((r) => [r.model ?? null, r.headers['x-goodhart-downgraded'] ?? null])).toEqual([
      [null, null],
      [null, null],
      [null, null],
      [null, null],
    ]);
    for (const r of asked) r.settle({ usage: usage(0, 0), costUsd: 0, model: 'flat' });
    // A chat request the downgrade model can serve is still downgraded.
    expect(admitWith(e, clock.t, { servable: () => true }).model).toBe('cheap');
    // No alert claims the budget is used up: it is at 60%.
    expect(alerts.some((a) => a.threshold === 100)).toBe(false);
    // Up to 100%, not past it.
    expect(refused(() => admit(e, clock.t, { model: 'cheap', maxTokens: 100_000 })).code).toBe('budget_exceeded');
  });

  it('downgrades to a tier written with * (NAME* lists NAME), and says so when a downgrade budget has no target', () => {
    const clock = { t: at('2025-05-10T10:00:00Z') };
    const alerts: BudgetAlert[] = [];
    const e = engine(
      {
        tiers: { economy: ['cheap*', 'tiny-*'], premium: ['flat*'] },
        budgets: [
          { id: 'team', scope: 'team:platform', amount: 0.01, action: 'downgrade', downgradeAt: 50, downgradeTo: 'economy' },
          { id: 'org', scope: 'org', amount: 1, action: 'downgrade', downgradeAt: 50, downgradeTo: { anthropic: 'claude-haiku-4-5' }, thresholds: [] },
        ],
        roles: { member: { tiers: ['economy', 'premium'] } },
      },
      clock,
      alerts,
    );
    spend(e, clock.t, 6000);
    expect(admit(e, clock.t, { maxTokens: 500 }).model).toBe('cheap');
    // The org budget's target is for another provider: past its point a request from here is refused, saying why.
    const e2 = engine({ budgets: [{ id: 'org', scope: 'org', amount: 0.01, action: 'downgrade', downgradeAt: 50, downgradeTo: { anthropic: 'claude-haiku-4-5' } }] }, clock, alerts);
    spend(e2, clock.t, 4000);
    spend(e2, clock.t, 900); // just under the point
    const err = refused(() => admit(e2, clock.t, { maxTokens: 500 }));
    expect(err.message).toMatch(/^Budget "org" \(org, per month\) would pass its downgrade point with this request \(50%: \$0\.00500 of \$0\.0100; 49% spent\), and it has no downgrade model for provider "openai" \(downgradeTo names one for anthropic only\)/);
    expect(alerts.some((a) => a.budgetId === 'org' && a.threshold === 100)).toBe(false);
  });

  it('says why a downgrade budget could not downgrade: its model has no price; a point under 1% keeps its decimal', () => {
    const clock = { t: at('2025-05-10T10:00:00Z') };
    const e = engine({ budgets: [{ id: 'team', scope: 'team:platform', amount: 1, action: 'downgrade', downgradeAt: 0.1, downgradeTo: 'no-price-model' }] }, clock);
    spend(e, clock.t, 900); // 0.09%
    const err = refused(() => admit(e, clock.t, { maxTokens: 500 }));
    expect(err.message).toMatch(
      /^Budget "team" \(team:platform, per month\) would pass its downgrade point with this request \(0\.1%: \$0\.00100 of \$1\.00; under 1% spent\), and its downgrade model "no-price-model" has no price, so a USD budget cannot account for it\. Ask an admin to give it a price under `models:`/,
    );
    expect(err.message).not.toContain('set downgradeTo for this provider');
  });

  it('counts every route: an exhausted budget refuses embeddings, responses and messages, saying when it resets; free count_tokens passes', () => {
    const clock = { t: at('2025-05-10T10:00:00Z') };
    const e = engine({ budgets: [{ id: 'org', scope: 'org', amount: 0.001, period: 'day' }] }, clock);
    const emb = admit(e, clock.t, { endpoint: 'embeddings', body: { model: 'flat', input: 'x'.repeat(100) } });
    emb.settle({ usage: usage(1000, 0), costUsd: 0.001, model: 'flat' });
    for (const endpoint of ['chat.completions', 'responses', 'messages', 'embeddings'] as const) {
      const err = refused(() => admit(e, clock.t, { endpoint, body: { model: 'flat', input: 'x', messages: [] } }));
      expect(err.code).toBe('budget_exceeded');
      expect(err.message).toMatch(/^Budget "org" \(org, per day\) is used up: .*; nothing is left until it resets 2025-05-11 00:00:00 UTC\./);
      expect(err.message).not.toMatch(/smaller max_tokens|may cost up to/);
    }
    // count_tokens costs nothing at the provider: there is nothing for the budget to protect.
    const count = admit(e, clock.t, { endpoint: 'messages.count_tokens', body: { model: 'flat', messages: [] } });
    count.settle({ usage: null, costUsd: 0, model: 'flat' });
  });

  it('tag budgets and token budgets', async () => {
    const clock = { t: at('2025-05-10T10:00:00Z') };
    const e = engine({ budgets: [{ id: 'search', scope: 'tag:search', amount: 3000, unit: 'tokens', period: 'day' }] }, clock);
    const r = admit(e, clock.t, { tags: ['search'], maxTokens: 1000 });
    expect(r.headers['x-goodhart-budget']).toBe('search; scope=tag:search; unit=tokens');
    r.settle({ usage: usage(500, 1500), costUsd: 0.002, model: 'flat' });
    // Input and output count: 2000 tokens. A tag's budget is shared, so the refusal gives it as a percentage.
    expect((await e.status(clock.t)).map((b) => [b.scopeKey, b.spent, b.reserved])).toEqual([['tag:search', 2000, 0]]);
    expect(refused(() => admit(e, clock.t, { tags: ['search'], maxTokens: 1000 })).message).toContain('66% spent and 0% reserved by requests in flight, of 3,000 tokens; 33% left');
    expect(() => admit(e, clock.t, { tags: ['other'], maxTokens: 1000 })).not.toThrow();
  });

  it('refuses a model without a price under a USD budget instead of letting it through', () => {
    const e = engine({ budgets: [{ id: 'org', scope: 'org', amount: 1 }] }, { t: 0 });
    const err = refused(() => admit(e, at('2025-05-10T10:00:00Z'), { model: 'my-llama' }));
    expect(err.httpStatus).toBe(403);
    expect(err.message).toContain('has no price');
  });
});

describe('hybrid budgets and leaked reservations', () => {
  it('adds the percentile of the scope’s own trailing spend to the baseline', () => {
    const clock = { t: at('2025-05-14T10:00:00Z') }; // a Wednesday
    const e = engine({ budgets: [{ id: 'hyb', scope: 'user:alice', amount: 0.01, period: 'week', hybrid: { percentile: 90, lookback: 4 } }] }, clock);
    // Past weeks' spend (as loaded from the store at start): 1, 2, 3 and 10 m$ → p90 of 4 values is the 4th.
    const mondays = ['2025-05-05', '2025-04-28', '2025-04-21', '2025-04-14'];
    void e.state.load(mondays.map((d, i) => ({ day: at(`${d}T00:00:00Z`), scopeKey: 'user:alice', usd: [0.001, 0.002, 0.003, 0.01][i]!, tokens: 0 })));
    const r = admit(e, clock.t, { maxTokens: 1 });
    expect(Number(r.headers['x-goodhart-budget-remaining'])).toBeCloseTo(0.02 - reservation(1), 9);
  });

  it('releases a reservation whose request never settled once it is older than the upstream timeout', () => {
    const clock = { t: at('2025-05-10T10:00:00Z') };
    const e = engine({ budgets: [{ id: 'org', scope: 'org', amount: 0.01, period: 'day' }] }, clock);
    admit(e, clock.t, { maxTokens: 9000 }); // never settled
    expect(refused(() => admit(e, clock.t, { maxTokens: 9000 })).code).toBe('budget_exceeded');
    expect(e.sweep(clock.t + 599_000)).toBe(0);
    expect(e.sweep(clock.t + 600_001)).toBe(1);
    expect(() => admit(e, clock.t + 600_001, { maxTokens: 9000 })).not.toThrow();
  });

  it('keeps the reservation of a request in flight past the upstream timeout, which bounds silence, not length', () => {
    const clock = { t: at('2025-05-10T10:00:00Z') };
    const e = engine({ budgets: [{ id: 'org', scope: 'org', amount: 0.01, period: 'day' }] }, clock);
    const stream = { open: true };
    const r = admit(e, clock.t, { maxTokens: 9000, inFlight: () => stream.open });
    // Streaming for 25 minutes, swept every 2.5 (a quarter of the TTL): the reservation holds throughout.
    for (let minutes = 2.5; minutes <= 25; minutes += 2.5) {
      expect(e.sweep(clock.t + minutes * 60_000)).toBe(0);
      expect(refused(() => admit(e, clock.t + minutes * 60_000, { maxTokens: 9000 })).code).toBe('budget_exceeded');
    }
    expect(e.state.inFlight()).toBe(1);
    // Settled as usual: released, booked.
    r.settle({ usage: usage(10, 8000), costUsd: 0.00801, model: 'flat' });
    expect(refused(() => admit(e, clock.t + 25 * 60_000, { maxTokens: 9000 })).code).toBe('budget_exceeded');
    expect(() => admit(e, clock.t + 25 * 60_000, { maxTokens: 1000 })).not.toThrow();
  });

  it('releases a reservation a TTL after its request was last seen in flight, when it never settles', () => {
    const clock = { t: at('2025-05-10T10:00:00Z') };
    const e = engine({ budgets: [{ id: 'org', scope: 'org', amount: 0.01, period: 'day' }] }, clock);
    const stream = { open: true };
    admit(e, clock.t, { maxTokens: 9000, inFlight: () => stream.open }); // never settled
    expect(e.sweep(clock.t + 900_000)).toBe(0); // seen in flight at +15 min
    stream.open = false;
    expect(e.sweep(clock.t + 900_000 + 599_000)).toBe(0);
    expect(refused(() => admit(e, clock.t + 1_499_000, { maxTokens: 9000 })).code).toBe('budget_exceeded');
    expect(e.sweep(clock.t + 900_000 + 600_001)).toBe(1);
    expect(() => admit(e, clock.t + 1_500_001, { maxTokens: 9000 })).not.toThrow();
  });
});
