import type { Person } from './org.js';
import type { Rng } from './random.js';
import { MINUTE, SECOND, askDocument, answerOutput, pickDocument, resultTokens, runChat, runSession, stepOutput, toolGap } from './activities.js';
import { reword, taskPrompt, toolStep } from './text.js';
import { AgentSession, type World } from './world.js';

/**
 * The labelled behaviours, one function each. Every one varies in strength (how many repeats, how similar, how
 * regular), so some instances are weak enough to be missed: recall is measured, not built in.
 */

/**
 * 4–7 prompts, each a rewording of the one before, in one session or in fresh sessions abandoned one by one. With
 * `tries` given (2–3), the honest look-alike: ordinary iteration, not labelled.
 */
export function rephraseLoop(w: World, rng: Rng, p: Person, start: number, tries?: number): void {
  const n = tries ?? rng.int(4, 7);
  const sameSession = rng.chance(0.6);
  let text = taskPrompt(rng, p.vocab);
  let s = new AgentSession(w, p, start, p.agentModel);
  let t = start;
  let end = start;
  for (let i = 0; i < n; i++) {
    if (i > 0) {
      text = reword(rng, text, p.vocab, rng.uniform(0.75, 0.97));
      t = end + rng.lognormal(70 * SECOND, 0.6);
      if (sameSession) s.wait(t - s.t);
      else s = new AgentSession(w, p, t, p.agentModel);
    }
    s.prompt(text, stepOutput(w, rng));
    const steps = rng.int(0, 4);
    const seed = rng.int(0, 1e9);
    for (let k = 0; k < steps; k++) {
      const st = toolStep(rng, p.vocab, seed, k);
      s.toolStep(toolGap(rng), st.calls, st.results, resultTokens(rng), k === steps - 1 ? answerOutput(w, rng) : stepOutput(w, rng));
    }
    end = s.t;
  }
  if (tries === undefined) w.label('rephrase-loop', p, sameSession ? s.id : null, start, end);
}

/** A large document asked about 6–18 times over a few hours, never from the prompt cache. */
export function contextBloat(w: World, rng: Rng, p: Person, start: number): void {
  const doc = pickDocument(w, rng, 24_000);
  const n = rng.int(6, 18);
  const requests = [];
  let t = start;
  for (let i = 0; i < n; i++) {
    requests.push({ at: t, cached: false });
    t += Math.min(50 * MINUTE, rng.lognormal(8 * MINUTE, 0.8));
  }
  const model = rng.pick(['claude-sonnet-4-5', 'claude-sonnet-4-5', 'gemini-2.5-pro', 'claude-opus-4-1']);
  const { first, last } = askDocument(w, rng, p, doc, requests, model);
  w.label('context-bloat', p, null, first, last);
}

/** A day of quick questions (12–30) on a premium model. */
export function premiumOverkill(w: World, rng: Rng, p: Person, dayStart: number, dayLength: number): void {
  const model = p.index % 2 === 0 ? 'claude-opus-4-1' : 'o3';
  const n = rng.int(12, 30);
  const times = Array.from({ length: n }, () => dayStart + rng.next() * dayLength).sort((a, b) => a - b);
  let first = Number.POSITIVE_INFINITY;
  let last = 0;
  for (const at of times) {
    const { end } = runChat(w, rng, p, at, { model, simple: true, prompts: 1 });
    first = Math.min(first, at);
    last = Math.max(last, end);
  }
  w.label('premium-overkill', p, null, first, last);
}

/** A script asking the same thing every 1–10 minutes (±1–4%) for 2–8 hours, in the evening or at night. */
export function idleLoop(w: World, rng: Rng, p: Person, start: number): void {
  const interval = rng.pick([60, 90, 120, 180, 300, 600]) * SECOND;
  const jitter = rng.uniform(0.01, 0.04);
  const hours = rng.uniform(2, 8);
  const model = rng.pick(['gpt-5-mini', 'claude-sonnet-4-5', 'claude-haiku-4-5', 'gpt-5']);
  const noun = rng.pick(p.vocab);
  const fp = w.turn(`check the ${noun} job and summarize any new errors in the ${rng.pick(p.vocab)} log`);
  const input = rng.int(3_000, 12_000);
  let t = start;
  let end = start;
  while (t < start + hours * 3_600_000) {
    end = w.emit({ person: p, at: t, sessionId: null, model, input, cacheRead: model.startsWith('gpt') ? input - 200 : 0, output: rng.int(40, 300), fp }).end;
    t += interval * (1 + jitter * rng.normal());
  }
  w.label('idle-loop', p, null, start, end);
}

/**
 * A session where the agent gets stuck: the same step (call and result) 4–9 times, or two steps alternating, with no
 * one stepping in; 10% of the time the result text varies a little (a timestamp), which no exact hash can see.
 */
export function agentCircle(w: World, rng: Rng, p: Person, start: number): void {
  const s = new AgentSession(w, p, start, p.agentModel);
  s.prompt(taskPrompt(rng, p.vocab), stepOutput(w, rng));
  const seed = rng.int(0, 1e9);
  const before = rng.int(2, 8);
  for (let k = 0; k < before; k++) {
    const st = toolStep(rng, p.vocab, seed, k);
    s.toolStep(toolGap(rng), st.calls, st.results, resultTokens(rng), stepOutput(w, rng));
  }
  const a = toolStep(rng, p.vocab, seed, 1000);
  const b = toolStep(rng, p.vocab, seed, 2000);
  const alternate = rng.chance(0.35);
  const repeats = alternate ? rng.int(3, 6) : rng.int(4, 9);
  const drifting = rng.chance(0.1);
  const size = resultTokens(rng);
  let first = 0;
  for (let r = 0; r < repeats; r++) {
    for (const st of alternate ? [a, b] : [a]) {
      const results = drifting ? `${st.results} at ${r}` : st.results;
      const at = s.t;
      s.toolStep(toolGap(rng), st.calls, results, size, stepOutput(w, rng));
      if (r === 1 && first === 0) first = at;
    }
  }
  w.label('agent-circle', p, s.id, first, s.t);
  if (rng.chance(0.5)) {
    s.wait(rng.lognormal(60 * SECOND, 0.5));
    s.prompt(`stop repeating that. the ${rng.pick(p.vocab)} ${rng.pick(p.vocab)} is in ${rng.pick(p.vocab)}.ts, read it first`, stepOutput(w, rng));
  }
}

/** 6–12 sessions on the same task started within minutes; each takes a few steps, one carries on. */
export function fanOut(w: World, rng: Rng, p: Person, start: number): void {
  const n = rng.int(6, 12);
  const span = rng.uniform(1, 4) * MINUTE;
  const prompt = taskPrompt(rng, p.vocab);
  const winner = rng.int(0, n - 1);
  let end = start;
  for (let i = 0; i < n; i++) {
    const at = start + (span * i) / n + rng.uniform(0, 20) * SECOND;
    if (i === winner) {
      end = Math.max(end, runSession(w, rng, p, at, { turns: rng.int(2, 4), steps: 6, firstPrompt: prompt }).end);
      continue;
    }
    const s = new AgentSession(w, p, at, p.agentModel);
    s.prompt(rng.chance(0.5) ? prompt : reword(rng, prompt, p.vocab, 0.9), stepOutput(w, rng));
    const seed = rng.int(0, 1e9);
    for (let k = 0, steps = rng.int(2, 6); k < steps; k++) {
      const st = toolStep(rng, p.vocab, seed, k);
      s.toolStep(toolGap(rng), st.calls, st.results, resultTokens(rng), Math.min(300, stepOutput(w, rng)));
    }
    end = Math.max(end, s.t);
  }
  w.label('fan-out', p, null, start, end);
}

/** Long autonomous premium-model runs started just to use tokens: one prompt, then 25–70 steps. */
export function surgeSessions(w: World, rng: Rng, p: Person, dayStart: number, dayLength: number): { first: number; last: number } {
  const model = p.agentModel.startsWith('claude') ? 'claude-opus-4-1' : 'gpt-5';
  let first = Number.POSITIVE_INFINITY;
  let last = 0;
  for (let i = 0, n = rng.int(3, 6); i < n; i++) {
    const at = dayStart + rng.next() * dayLength * 0.8;
    const r = runSession(w, rng, p, at, { turns: 1, steps: rng.uniform(30, 60), model });
    first = Math.min(first, at);
    last = Math.max(last, r.end);
  }
  return { first, last };
}

/** A runaway day: the premium model for every agent session and three times the sessions (at least ten). */
export function spendSpike(w: World, rng: Rng, p: Person, dayStart: number, dayLength: number): void {
  const model = p.agentModel.startsWith('claude') ? 'claude-opus-4-1' : 'o1';
  let first = Number.POSITIVE_INFINITY;
  let last = 0;
  for (let i = 0, n = Math.max(10, Math.round(p.sessionsPerDay * 3)); i < n; i++) {
    const at = dayStart + rng.next() * dayLength * 0.85;
    const r = runSession(w, rng, p, at, { turns: rng.int(3, 8), steps: 9, model });
    first = Math.min(first, at);
    last = Math.max(last, r.end);
  }
  w.label('spend-anomaly', p, null, first, last);
}
