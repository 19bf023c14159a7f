/**
 * Outcomes benchmark: on the simulated organisation (src/simulate, the waste-detection engineer's `goodhart
 * simulate`), rank people by cost per outcome and by tokens, and show where honest heavy users and tokenmaxxers land.
 *
 * The simulation has honest heavy users (large spend, outcomes that follow their work) but no tokenmaxxers, so this
 * adds them the way they happen: a few light or normal users (not waste carriers) who keep long agent loops running
 * on a premium model every working day to climb a token leaderboard. Their real work, and so their outcomes, stay
 * what they were. Simulated PRs count as merged pull requests; spend is linked by the production rules.
 *
 *   npm run bench:outcomes -- --seed 1 --people 300 --days 42 [--json]
 */
import { analyseOutcomes } from '../../src/outcomes/analyse.js';
import type { OutcomeEvent } from '../../src/outcomes/event.js';
import type { EfficiencyRow } from '../../src/outcomes/metrics.js';
import { SliceBuilder } from '../../src/outcomes/slices.js';
import { testConfig } from '../../src/outcomes/testing.js';
import { simulate, type SimulationSummary } from '../../src/simulate/generate.js';
import { Rng } from '../../src/simulate/random.js';
import type { UsageEvent } from '../../src/usage/event.js';
import { createPricer } from '../../src/usage/pricing.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const seed = Number(arg('seed', '1'));
const people = Number(arg('people', '300'));
const days = Number(arg('days', '42'));
const json = process.argv.includes('--json');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const pricer = createPricer();

type Group = 'honest heavy' | 'tokenmaxxer' | 'waste carrier' | 'normal' | 'light';

interface Who {
  teamId: string | null;
  projectId: string | null;
  repo: string | null;
  tokens: number;
}

/**
 * One tokenmaxxer's working day: agent loops on the model most of the organisation's agents use, big cached
 * contexts, little output, until the day's token target is reached (set so they top a tokens leaderboard by a
 * plausible margin, not by orders of magnitude).
 */
function tokenmaxxDay(rng: Rng, userId: string, who: Who, dayStart: number, targetTokens: number, seq: { n: number }): UsageEvent[] {
  const out: UsageEvent[] = [];
  const model = 'claude-sonnet-4-5';
  let tokens = 0;
  for (let loop = 0; tokens < targetTokens; loop++) {
    let t = dayStart + rng.uniform(9, 17) * HOUR;
    for (let step = 0, steps = rng.int(20, 60); step < steps && tokens < targetTokens; step++, t += rng.uniform(20, 90) * 1000) {
      const input = Math.round(rng.uniform(40_000, 120_000));
      const cacheRead = Math.round(input * 0.85);
      const output = Math.round(rng.uniform(300, 2_500));
      const usage = { input: { total: input, noCache: input - cacheRead, cacheRead, cacheWrite5m: 0, cacheWrite1h: 0 }, output: { total: output, text: output, reasoning: 0 }, raw: null };
      tokens += input + output;
      seq.n += 1;
      out.push({
        id: `tmx-${userId}-${seq.n}`, source: 'gateway', providerRequestId: null, startedAt: Math.round(t), firstTokenAt: null, endedAt: Math.round(t + 20_000),
        userId, teamId: who.teamId, projectId: who.projectId, keyId: null, sessionId: `tmx-${userId}-${dayStart}-${loop}`, tags: [],
        repo: who.repo, branch: null, provider: 'anthropic', endpoint: 'messages', modelRequested: model, modelServed: model,
        inputTokens: input, cacheReadTokens: cacheRead, cacheWrite5mTokens: 0, cacheWrite1hTokens: 0, outputTokens: output, reasoningTokens: 0,
        costUsd: pricer.price(usage, model, 'anthropic').costUsd, usageEstimated: false, status: 200, errorClass: null,
        streamed: true, clientAborted: false, rawUsage: null,
      });
    }
  }
  return out;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const t0 = performance.now();
const slices = new SliceBuilder();
const who = new Map<string, Who>();
const gen = simulate({ seed, people, days });
let next = gen.next();
let events = 0;
while (next.done !== true) {
  for (const { event: e } of next.value.records) {
    slices.add(e);
    events += 1;
    if (e.userId === null) continue;
    const w = who.get(e.userId) ?? { teamId: e.teamId, projectId: e.projectId, repo: e.repo, tokens: 0 };
    w.tokens += e.inputTokens + e.outputTokens;
    who.set(e.userId, w);
  }
  next = gen.next();
}
const summary: SimulationSummary = next.value;

const groupOf = new Map<string, Group>();
for (const u of summary.archetypes['light'] ?? []) groupOf.set(u, 'light');
for (const u of summary.archetypes['normal'] ?? []) groupOf.set(u, 'normal');
for (const u of summary.honestHeavy) groupOf.set(u, 'honest heavy');
for (const list of Object.values(summary.carriers)) for (const u of list) groupOf.set(u, 'waste carrier');

// Tokenmaxxers: 4% of the organisation (at least 5), from light and normal people who carry no waste behaviour.
const rng = new Rng(seed, 4242);
const pool = rng.shuffle([...groupOf.entries()].filter(([, g]) => g === 'light' || g === 'normal').map(([u]) => u).sort());
const maxxers = pool.slice(0, Math.max(5, Math.round(people * 0.04)));
const seq = { n: 0 };
// Each tokenmaxxer ends with 1.2–2× the tokens of the median honest heavy user: the top of a tokens leaderboard.
const heavyTokens = median(summary.honestHeavy.map((u) => who.get(u)?.tokens ?? 0));
const workdays = Array.from({ length: days }, (_, d) => d).filter((d) => d % 7 < 5).length;
for (const u of maxxers) {
  groupOf.set(u, 'tokenmaxxer');
  const w = who.get(u) ?? { teamId: null, projectId: null, repo: null, tokens: 0 };
  const perDay = Math.max(0, rng.uniform(1.2, 2) * heavyTokens - w.tokens) / workdays;
  for (let d = 0; d < days; d++) {
    if (d % 7 >= 5) continue;
    for (const e of tokenmaxxDay(rng, u, w, summary.start + d * DAY, perDay, seq)) {
      slices.add(e);
      w.tokens += e.inputTokens + e.outputTokens;
      events += 1;
    }
  }
  who.set(u, w);
}

const outcomes: OutcomeEvent[] = summary.outcomes.map((o) => ({
  id: o.id, kind: o.kind, userId: o.userId, teamId: o.teamId, repo: o.repo,
  sessionId: null, at: o.at, count: o.count, source: 'api', attrs: { simulated: 'true' },
}));
const since = summary.start;
const until = summary.start + days * DAY;
const analysis = analyseOutcomes({ slices: slices.build(), outcomes, since, until, config: testConfig({}), now: until });
const rows = analysis.rows('user').filter((r) => r.spendUsd > 0);

// Rank 0 = cheapest per outcome; people with no outcome at all rank last (by spend).
const byCost = [...rows].sort((a, b) => (a.costPerOutcome ?? Number.POSITIVE_INFINITY) - (b.costPerOutcome ?? Number.POSITIVE_INFINITY) || b.spendUsd - a.spendUsd);
const byTokens = [...rows].sort((a, b) => (who.get(b.subject.id)?.tokens ?? 0) - (who.get(a.subject.id)?.tokens ?? 0));
const pctRank = (list: EfficiencyRow[], id: string): number => list.findIndex((r) => r.subject.id === id) / Math.max(1, list.length - 1);
const questions = new Map<string, number>();
for (const q of analysis.questions) questions.set(q.userId!, (questions.get(q.userId!) ?? 0) + 1);

const weeks = days / 7;
const GROUPS: Group[] = ['honest heavy', 'tokenmaxxer', 'waste carrier', 'normal', 'light'];
const table = GROUPS.map((g) => {
  const members = rows.filter((r) => groupOf.get(r.subject.id) === g);
  const costRanks = members.map((r) => pctRank(byCost, r.subject.id));
  return {
    group: g,
    people: members.length,
    spendPerWeek: median(members.map((r) => r.spendUsd / weeks)),
    outcomesPerWeek: median(members.map((r) => r.outcomes.total / weeks)),
    costPerOutcome: median(members.map((r) => r.costPerOutcome ?? Number.POSITIVE_INFINITY)),
    linkedShare: median(members.map((r) => r.linkedShare ?? 0)),
    tokenRank: median(members.map((r) => pctRank(byTokens, r.subject.id))),
    costRank: median(costRanks),
    bestQuartile: costRanks.filter((x) => x <= 0.25).length / Math.max(1, members.length),
    worstQuartile: costRanks.filter((x) => x >= 0.75).length / Math.max(1, members.length),
    questionsPerPerson: members.reduce((a, r) => a + (questions.get(r.subject.id) ?? 0), 0) / Math.max(1, members.length),
  };
});

// What a tokens leaderboard celebrates: its top quarter. Who among them buys outcomes?
const top = byTokens.slice(0, Math.ceil(byTokens.length / 4));
const topByCost = [...top].sort((a, b) => (a.costPerOutcome ?? Number.POSITIVE_INFINITY) - (b.costPerOutcome ?? Number.POSITIVE_INFINITY) || b.spendUsd - a.spendUsd);
const topTable = GROUPS.map((g) => {
  const members = top.filter((r) => groupOf.get(r.subject.id) === g);
  return { group: g, people: members.length, costRank: median(members.map((r) => pctRank(topByCost, r.subject.id))), costPerOutcome: median(members.map((r) => r.costPerOutcome ?? Number.POSITIVE_INFINITY)) };
}).filter((t) => t.people > 0);

const heavy = table.find((t) => t.group === 'honest heavy')!;
const maxx = table.find((t) => t.group === 'tokenmaxxer')!;
const topHeavy = topTable.find((t) => t.group === 'honest heavy');
const topMaxx = topTable.find((t) => t.group === 'tokenmaxxer');
const holds = maxx.costRank > 0.75 && topHeavy !== undefined && topMaxx !== undefined && topHeavy.costRank < 0.5 && topMaxx.costRank > 0.75;
const ms = performance.now() - t0;

if (json) {
  process.stdout.write(`${JSON.stringify({ seed, people, days, events, links: analysis.links.length, table, topOfTokenLeaderboard: topTable, holds, seconds: ms / 1000 }, null, 2)}\n`);
} else {
  const f = (n: number, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : '∞');
  const p = (n: number) => `${Math.round(n * 100)}%`;
  const lines = [
    `Simulated organisation: seed ${seed}, ${people} people, ${days} days, ${events.toLocaleString('en-US')} requests (${maxxers.length} tokenmaxxers added); ${analysis.counted.length.toLocaleString('en-US')} outcome records, ${analysis.links.length.toLocaleString('en-US')} links.`,
    'Rank percentiles: 0% = top of the list. "Token rank" is a tokens leaderboard (most tokens first); "cost rank" orders by cost per outcome (cheapest first). Medians per group.',
    '',
    '| Group | People | Spend/week | Outcomes/week | Cost/outcome | Linked | Token rank | Cost rank | Best quartile | Worst quartile | Questions/person |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...table.map((t) => `| ${t.group} | ${t.people} | $${f(t.spendPerWeek)} | ${f(t.outcomesPerWeek, 1)} | $${f(t.costPerOutcome)} | ${p(t.linkedShare)} | ${p(t.tokenRank)} | ${p(t.costRank)} | ${p(t.bestQuartile)} | ${p(t.worstQuartile)} | ${f(t.questionsPerPerson, 1)} |`),
    '',
    `Top quarter of the tokens leaderboard (${top.length} people), re-ranked by cost per outcome:`,
    '',
    '| Group | People | Cost/outcome | Cost rank |',
    '|---|---:|---:|---:|',
    ...topTable.map((t) => `| ${t.group} | ${t.people} | $${f(t.costPerOutcome)} | ${p(t.costRank)} |`),
    '',
    `${holds ? 'HOLDS' : 'DOES NOT HOLD'}: among the heaviest token users, honest heavy users rank ${p(topHeavy?.costRank ?? Number.NaN)} and tokenmaxxers ${p(topMaxx?.costRank ?? Number.NaN)} on cost per outcome; across everyone, tokenmaxxers rank ${p(maxx.costRank)} and honest heavy users ${p(heavy.costRank)}. (${(ms / 1000).toFixed(0)} s)`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
process.exitCode = holds ? 0 : 1;
