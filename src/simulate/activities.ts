import type { Person } from './org.js';
import type { Rng } from './random.js';
import { docQuestion, followUp, simplePrompt, taskPrompt, toolStep } from './text.js';
import { AgentSession, synth, type World } from './world.js';

/** Honest activity: the coding-agent sessions, chats and document questions every person produces. */

export const SECOND = 1000;
export const MINUTE = 60_000;
export const HOUR = 3_600_000;

export interface SessionPlan {
  turns: number;
  /** Mean tool steps per turn. */
  steps: number;
  model?: string;
  /** Use this first prompt (fan-out and rephrase episodes reuse a prompt). */
  firstPrompt?: string;
  tags?: string[];
  /** Probability that a step is repeated identically once or twice (a retry after a flaky tool). */
  retry?: number;
}

export interface SessionResult {
  session: AgentSession;
  end: number;
  prompts: number;
}

/** Tool time between agent steps: seconds typically, sometimes a build or test run of minutes. */
export function toolGap(rng: Rng): number {
  return rng.chance(0.08) ? rng.uniform(20, 150) * SECOND : rng.lognormal(4 * SECOND, 0.9);
}

/** Size of a tool result (file contents, command output) in tokens. */
export function resultTokens(rng: Rng): number {
  return Math.min(20_000, Math.round(rng.lognormal(500, 1.0)));
}

export function stepOutput(w: World, rng: Rng): number {
  return rng.pick(w.traces.chat)[1];
}

export function answerOutput(w: World, rng: Rng): number {
  return Math.min(4_000, rng.pick(w.traces.long).output);
}

/**
 * Repository context an agent reads at the start: a Mooncake prefix (capped at 24k tokens), one of four per project
 * (the same files are read again in every session of a codebase).
 */
export function repoContext(w: World, rng: Rng, p: Person): { key: string; blocks: number[] } {
  const variant = rng.int(0, 3);
  const row = w.traces.long[(hashTeam(p.teamId) * 7 + variant * 977) % w.traces.long.length]!;
  return { key: `${p.teamId}:${variant}`, blocks: row.blocks.slice(0, 48) };
}

function hashTeam(team: string): number {
  let h = 0;
  for (let i = 0; i < team.length; i++) h = (h * 31 + team.charCodeAt(i)) >>> 0;
  return h;
}

/** A normal agent session: a task, follow-ups, tool steps with distinct results, think time between turns. */
export function runSession(w: World, rng: Rng, p: Person, start: number, plan: SessionPlan): SessionResult {
  const s = new AgentSession(w, p, start, plan.model ?? p.agentModel, { repo: repoContext(w, rng, p), ...(plan.tags ? { tags: plan.tags } : {}) });
  let prompt = plan.firstPrompt ?? taskPrompt(rng, p.vocab);
  const seed = rng.int(0, 1e9);
  for (let turn = 0; turn < plan.turns; turn++) {
    if (turn > 0) {
      s.wait(rng.lognormal(90 * SECOND, 0.9));
      prompt = followUp(rng, p.vocab, prompt);
    }
    if (rng.chance(0.02)) {
      // The provider failed; the person (or the agent) sends the same prompt again: a legitimate retry.
      const retries = rng.int(1, 2);
      for (let k = 0; k < retries; k++) {
        w.emit({ person: p, at: s.t, sessionId: s.id, model: s.model, input: 20_000, output: 0, fp: w.turn(prompt, { tools: 12 }), status: 529, errorClass: 'upstream_5xx' });
        s.wait(rng.uniform(3, 40) * SECOND);
      }
    }
    s.prompt(prompt, stepOutput(w, rng));
    const steps = Math.max(0, Math.round(rng.lognormal(plan.steps, 0.7)));
    for (let k = 0; k < steps; k++) {
      const step = toolStep(rng, p.vocab, seed, s.stepCount + 1);
      const last = k === steps - 1;
      s.toolStep(toolGap(rng), step.calls, step.results, resultTokens(rng), last ? answerOutput(w, rng) : stepOutput(w, rng));
      if (rng.chance(plan.retry ?? 0.03)) {
        const again = rng.int(1, 2);
        for (let j = 0; j < again; j++) s.toolStep(toolGap(rng), step.calls, step.results, resultTokens(rng), stepOutput(w, rng));
      }
    }
  }
  return { session: s, end: s.t, prompts: plan.turns };
}

export interface ChatOptions {
  model?: string;
  simple?: boolean;
  prompts?: number;
  tags?: string[];
}

/** A chat conversation (through the gateway, no tools): small contexts from the Azure trace. */
export function runChat(w: World, rng: Rng, p: Person, start: number, opts: ChatOptions = {}): { end: number; prompts: number; cost: number } {
  const model = opts.model ?? p.chatModel;
  const chain = w.newChain();
  const [ctxTokens] = rng.pick(w.traces.chat);
  let context = Math.min(ctxTokens, 6_000);
  chain.push(synth(`chat-${start}-${p.id}`, context));
  let t = start;
  let cost = 0;
  const prompts = opts.prompts ?? rng.int(1, 3);
  for (let i = 0; i < prompts; i++) {
    const simple = opts.simple ?? rng.chance(p.simpleShare);
    const text = simple ? simplePrompt(rng) : taskPrompt(rng, p.vocab);
    const output = simple ? Math.min(450, rng.pick(w.traces.chat)[1]) : answerOutput(w, rng);
    const input = context + Math.ceil(text.length / 4);
    // OpenAI-style automatic caching of a repeated prefix of 1024+ tokens.
    const cacheRead = i > 0 && context >= 1024 ? context : 0;
    const fp = w.turn(text, { blocks: chain.hashes(), contextTokens: context });
    const { end, event } = w.emit({ person: p, at: t, sessionId: null, model, input, cacheRead, output, fp, ...(opts.tags ? { tags: opts.tags } : {}) });
    cost += event.costUsd ?? 0;
    chain.push(text);
    chain.push(synth(`${event.id}:a`, event.outputTokens));
    context = input + event.outputTokens;
    t = end + rng.lognormal(60 * SECOND, 0.8);
  }
  return { end: t, prompts, cost };
}

/** A large document (a Mooncake prefix of `minTokens`+ tokens) and questions about it. */
export function pickDocument(w: World, rng: Rng, minTokens = 16_000): number[] {
  for (let i = 0; i < 200; i++) {
    const row = rng.pick(w.traces.long);
    if (row.input >= minTokens) return row.blocks;
  }
  return rng.pick(w.traces.long).blocks;
}

export interface DocRequest {
  at: number;
  cached: boolean;
}

/** Questions about one document at given times; `cached` requests read the document from the prompt cache. */
export function askDocument(w: World, rng: Rng, p: Person, doc: readonly number[], requests: readonly DocRequest[], model: string): { first: number; last: number; cost: number } {
  const chain = w.newChain();
  w.pushTraceBlocks(chain, doc);
  const blocks = chain.hashes();
  const docTokens = doc.length * 512;
  let first = Number.POSITIVE_INFINITY;
  let last = 0;
  let cost = 0;
  for (const r of requests) {
    const text = docQuestion(rng, p.vocab);
    const input = docTokens + Math.ceil(text.length / 4);
    const fp = w.turn(text, { blocks, contextTokens: docTokens });
    const { end, event } = w.emit({ person: p, at: r.at, sessionId: null, model, input, cacheRead: r.cached ? docTokens : 0, cacheWrite: 0, output: Math.min(500, rng.pick(w.traces.chat)[1]), fp });
    first = Math.min(first, r.at);
    last = Math.max(last, end);
    cost += event.costUsd ?? 0;
  }
  return { first, last, cost };
}
