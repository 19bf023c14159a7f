import { fingerprintOf, fingerprintRequest } from '../detect/fingerprint/fingerprint.js';
import type { Fingerprint } from '../detect/fingerprint/types.js';
import { uuidv7 } from '../keys/ids.js';
import type { UsageEvent } from '../usage/event.js';
import type { Pricer } from '../usage/pricing.js';
import { mayUsePremium, projectOf, type DemoPerson } from './org.js';
import { LOOP_AT_S, LOOP_MODEL, loopCall, rng } from './traffic.js';

/**
 * The demo's made-up past: two weeks of its people's usage, stored as gateway events before the gateway starts, so
 * the dashboard has days to chart, budgets have spend to stand at and forecasts a rate (the demo's own traffic
 * starts from nothing). Each person spends about their `dailyUsd` on a working day, a quarter of it at weekends;
 * today holds the hours before the start. One person's rephrase loop of the last working day is fingerprinted as the
 * gateway would have, so waste detection has a finding to show as soon as it has read the history.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Days of history before today. */
export const HISTORY_DAYS = 14;
/** Requests of a person in a day at most (about 4,500 events in all, stored in well under a second). */
const MAX_PER_DAY = 28;
/** Who rephrased a question over and over on the last working day (a senior in research). */
export const HISTORY_LOOP_USER = 'john';

interface Shape {
  provider: 'openai' | 'anthropic';
  endpoint: UsageEvent['endpoint'];
  model: string;
  input: number;
  cacheRead: number;
  cacheWrite: number;
  output: number;
  reasoning: number;
}

/** What a person calls, in turn: each of their models once before any twice (a model only one colleague uses is left out of a member's team page). */
function callsOf(p: DemoPerson): [Shape['endpoint'], string][] {
  const premium = mayUsePremium(p);
  return [
    ['messages', 'claude-sonnet-4-5'],
    ['chat.completions', 'gpt-4o-mini'],
    ...(premium ? [['messages', 'claude-opus-4-1'] as [Shape['endpoint'], string]] : []),
    ['chat.completions', 'gpt-4.1'],
    ['messages', 'claude-haiku-4-5'],
    ['responses', premium ? 'gpt-5' : 'gpt-5-mini'],
    ['chat.completions', 'gpt-5-mini'],
    ['chat.completions', 'gpt-4o'],
    ['embeddings', 'text-embedding-3-small'],
  ];
}

function shapeOf(endpoint: Shape['endpoint'], model: string, r: () => number): Shape {
  const between = (lo: number, hi: number) => Math.round(lo + r() * (hi - lo));
  if (endpoint === 'messages') {
    const cacheRead = r() < 0.7 ? between(3_000, 8_000) : 0;
    const cacheWrite = cacheRead === 0 ? between(500, 2_000) : between(0, 600);
    return { provider: 'anthropic', endpoint, model, input: between(600, 2_000) + cacheRead + cacheWrite, cacheRead, cacheWrite, output: between(300, 1_000), reasoning: 0 };
  }
  if (endpoint === 'chat.completions') {
    const reasoning = model.startsWith('gpt-5') ? between(100, 700) : 0;
    const cacheRead = r() < 0.4 ? between(1_024, 4_000) : 0;
    return { provider: 'openai', endpoint, model, input: between(500, 3_000) + cacheRead, cacheRead, cacheWrite: 0, output: between(200, 800) + reasoning, reasoning };
  }
  if (endpoint === 'responses') {
    const reasoning = between(200, 1_200);
    return { provider: 'openai', endpoint, model, input: between(800, 4_000), cacheRead: 0, cacheWrite: 0, output: between(200, 700) + reasoning, reasoning };
  }
  return { provider: 'openai', endpoint, model, input: between(200, 4_000), cacheRead: 0, cacheWrite: 0, output: 0, reasoning: 0 };
}

function costOf(pricer: Pricer, s: Shape): number {
  const noCache = s.input - s.cacheRead - s.cacheWrite;
  const price = pricer.price(
    {
      input: { total: s.input, noCache, cacheRead: s.cacheRead, cacheWrite5m: s.cacheWrite, cacheWrite1h: 0 },
      output: { total: s.output, text: s.output - s.reasoning, reasoning: s.reasoning },
      raw: null,
    },
    s.model,
    s.provider,
  );
  return price.costUsd ?? 0;
}

export interface DemoHistory {
  events: UsageEvent[];
  fingerprints: Fingerprint[];
}

function event(p: DemoPerson, keyId: string | null, startedAt: number, durationMs: number, session: string, s: Shape, costUsd: number): UsageEvent {
  return {
    id: uuidv7(startedAt),
    source: 'gateway',
    providerRequestId: null,
    startedAt,
    firstTokenAt: s.output > 0 ? startedAt + Math.min(800, durationMs) : null,
    endedAt: startedAt + durationMs,
    userId: p.id,
    teamId: p.team,
    projectId: projectOf(p),
    keyId,
    sessionId: session,
    tags: ['demo'],
    repo: null,
    branch: null,
    provider: s.provider,
    endpoint: s.endpoint,
    modelRequested: s.model,
    modelServed: s.model,
    inputTokens: s.input,
    cacheReadTokens: s.cacheRead,
    cacheWrite5mTokens: s.cacheWrite,
    cacheWrite1hTokens: 0,
    outputTokens: s.output,
    reasoningTokens: s.reasoning,
    costUsd,
    usageEstimated: false,
    status: 200,
    errorClass: null,
    streamed: s.endpoint !== 'embeddings',
    clientAborted: false,
    rawUsage: null,
  };
}

/**
 * The history up to `now` (UTC days; today up to a couple of minutes before `now`). Deterministic but for the
 * dates, so each start looks alike. `secret` is the store's fingerprint secret: the loop's fingerprints must be
 * made with it to be compared with anything.
 */
export function demoHistory(opts: { now: number; people: readonly DemoPerson[]; keyIds: ReadonlyMap<string, string>; pricer: Pricer; secret: string }): DemoHistory {
  const { now, people, pricer } = opts;
  const r = rng(20_26);
  const events: UsageEvent[] = [];
  const today = now - (now % DAY);
  const end = now - 2 * MINUTE;
  let lastWorkday = today - DAY;
  while ([0, 6].includes(new Date(lastWorkday).getUTCDay())) lastWorkday -= DAY;
  for (let d = HISTORY_DAYS; d >= 0; d--) {
    const day = today - d * DAY;
    const weekday = new Date(day).getUTCDay();
    const weekend = weekday === 0 || weekday === 6;
    // Working hours, 08:00-18:00 UTC; today, the ten hours before the start (from midnight at the earliest).
    const from = d === 0 ? Math.max(day, end - 10 * HOUR) : day + 8 * HOUR;
    const until = d === 0 ? end : day + 18 * HOUR;
    if (until <= from) continue;
    const share = d === 0 ? Math.max(0.15, (until - from) / (10 * HOUR)) : 1;
    for (const p of people) {
      // Everyone a little at weekends: a day fewer than two colleagues used is left out of a member's team page, and
      // with it, when those days together are one colleague's, the whole chart.
      const target = p.dailyUsd * share * (weekend ? 0.25 : 1) * (0.7 + 0.6 * r());
      const starts: number[] = [];
      const shapes: Shape[] = [];
      const costs: number[] = [];
      const calls = callsOf(p);
      const first = Math.floor(r() * calls.length);
      for (let spent = 0; spent < target && shapes.length < MAX_PER_DAY; ) {
        const [endpoint, model] = calls[(first + shapes.length) % calls.length]!;
        const s = shapeOf(endpoint, model, r);
        shapes.push(s);
        costs.push(costOf(pricer, s));
        spent += costs[costs.length - 1]!;
        starts.push(from + Math.floor(r() * (until - from)));
      }
      starts.sort((a, b) => a - b);
      shapes.forEach((s, i) => {
        const at = starts[i]!;
        const session = `demo-${p.id}-${new Date(day).toISOString().slice(0, 10)}-${Math.floor(((at - from) / (until - from)) * 3)}`;
        events.push(event(p, opts.keyIds.get(p.id) ?? null, at, 1_500 + Math.floor(r() * 20_000), session, s, costs[i]!));
      });
    }
  }
  const fingerprints: Fingerprint[] = [];
  const looper = people.find((p) => p.id === HISTORY_LOOP_USER);
  if (looper !== undefined && lastWorkday >= today - HISTORY_DAYS * DAY) {
    const start = lastWorkday + 14 * HOUR + 20 * MINUTE;
    const session = `demo-${looper.id}-loop`;
    LOOP_AT_S.forEach((s, i) => {
      const call = loopCall(i);
      const shape: Shape = { provider: 'anthropic', endpoint: 'messages', model: LOOP_MODEL, input: 5_950, cacheRead: 0, cacheWrite: 0, output: 320 + 20 * i, reasoning: 0 };
      const e = event(looper, opts.keyIds.get(looper.id) ?? null, start + s * 1_000, 3_500, session, shape, costOf(pricer, shape));
      events.push(e);
      const core = fingerprintRequest(call.body, 'messages', opts.secret);
      if (core !== null) fingerprints.push(fingerprintOf(core, { eventId: e.id, at: e.startedAt, userId: e.userId, sessionId: e.sessionId }));
    });
  }
  events.sort((a, b) => a.startedAt - b.startedAt);
  return { events, fingerprints };
}

/** Gateway spend per team, and per day on average, of a history (what the demo's budgets are set from). */
export function historySpend(events: readonly UsageEvent[]): { teamSpend: Record<string, number>; dailyUsd: number } {
  const teamSpend: Record<string, number> = {};
  let total = 0;
  for (const e of events) {
    total += e.costUsd ?? 0;
    if (e.teamId !== null) teamSpend[e.teamId] = (teamSpend[e.teamId] ?? 0) + (e.costUsd ?? 0);
  }
  return { teamSpend, dailyUsd: total / (HISTORY_DAYS + 1) };
}
