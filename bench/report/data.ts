import type { UsageEvent } from '../../src/usage/event.js';

/**
 * A large organisation's quarter: 10 million requests over 92 days (about 75 a minute), 400 people in 12 teams,
 * each on 2 of 30 projects, six models, three sources. Deterministic (mulberry32), so runs compare.
 */
export const FROM = Date.parse('2026-08-01T00:00:00Z');
export const DAYS = 92;
export const USERS = 400;
export const TEAMS = 12;
export const PROJECTS = 30;
export const MODELS = [
  ['openai', 'gpt-4o', 'gpt-4o-2024-08-06', 2.5e-6, 10e-6],
  ['openai', 'gpt-4o-mini', 'gpt-4o-mini-2024-07-18', 0.15e-6, 0.6e-6],
  ['anthropic', 'claude-sonnet-4', 'claude-sonnet-4-20250514', 3e-6, 15e-6],
  ['anthropic', 'claude-haiku-3-5', 'claude-3-5-haiku-20241022', 0.8e-6, 4e-6],
  ['anthropic', 'claude-opus-4', 'claude-opus-4-20250514', 15e-6, 75e-6],
  ['openai', 'o3', 'o3-2025-04-16', 2e-6, 8e-6],
] as const;
const SOURCES = ['gateway', 'gateway', 'gateway', 'claude-code', 'codex'] as const;

export const teamOf = (u: number): string => `team-${String(u % TEAMS).padStart(2, '0')}`;
export const userName = (u: number): string => `user-${String(u).padStart(3, '0')}`;

export function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A small integer hash, so a person's tool and project for a day are stable without keeping state. */
const mix = (a: number, b: number): number => {
  let x = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b, 0xc2b2ae35);
  x ^= x >>> 13;
  return (Math.imul(x, 0x27d4eb2d) >>> 0) % 1_000_003;
};

/**
 * Events [from, to) of `total`, spread evenly in time with jitter (batches arrive roughly in time order). As people
 * work: a person uses one tool (source) and one of their two projects on a given day, their usual model for four
 * requests in five and another model for the rest.
 */
export function eventsBatch(from: number, to: number, total: number, rand: () => number): UsageEvent[] {
  const span = DAYS * 86_400_000;
  const out: UsageEvent[] = new Array(to - from);
  for (let i = from; i < to; i++) {
    const u = Math.floor(rand() * USERS);
    const startedAt = FROM + Math.floor(((i + rand()) / total) * span);
    const day = Math.floor(startedAt / 86_400_000);
    const m = MODELS[rand() < 0.8 ? u % MODELS.length : (u + 1 + Math.floor(rand() * (MODELS.length - 1))) % MODELS.length]!;
    const input = 500 + Math.floor(rand() * 20_000);
    const cache = Math.floor(rand() * input);
    const output = 50 + Math.floor(rand() * 2_000);
    const h = mix(u, day);
    out[i - from] = {
      id: `ev-${i.toString(36).padStart(6, '0')}`,
      source: SOURCES[h % SOURCES.length]!,
      providerRequestId: null,
      startedAt,
      firstTokenAt: null,
      endedAt: startedAt + 2_000,
      userId: userName(u),
      teamId: teamOf(u),
      projectId: `proj-${(u * 7 + (h >> 3) % 2) % PROJECTS}`,
      keyId: `key-${u}`,
      sessionId: `s-${u}-${Math.floor(startedAt / 3_600_000)}`,
      tags: [],
      repo: null,
      branch: null,
      provider: m[0],
      endpoint: m[0] === 'openai' ? 'chat.completions' : 'messages',
      modelRequested: m[1],
      modelServed: m[2],
      inputTokens: input,
      cacheReadTokens: cache,
      cacheWrite5mTokens: 0,
      cacheWrite1hTokens: 0,
      outputTokens: output,
      reasoningTokens: 0,
      costUsd: Math.round(((input - cache) * m[3] + cache * m[3] * 0.1 + output * m[4]) * 1e9) / 1e9,
      usageEstimated: false,
      status: 200,
      errorClass: null,
      streamed: true,
      clientAborted: false,
      rawUsage: null,
    };
  }
  return out;
}
