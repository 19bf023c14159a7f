import type { UsageEvent } from '../usage/event.js';
import { defaultDetectConfig, type DetectConfigInput } from './config.js';
import { DetectionEngine } from './engine.js';
import { fingerprintOf, fingerprintRequest, fingerprintTurn, type TurnParts } from './fingerprint/fingerprint.js';
import type { Fingerprint } from './fingerprint/types.js';
import type { DetectInput, Finding, OutcomeInput, RuleId } from './types.js';

/** Builders for hand-made detector cases (tests only). */

export const SECRET = 'test-secret-0123456789abcdef';
export const T0 = Date.UTC(2026, 8, 7, 9); // Monday 09:00 UTC
export const MIN = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

let seq = 0;

export function event(over: Partial<UsageEvent> & { startedAt: number }): UsageEvent {
  const id = over.id ?? `ev-${(++seq).toString().padStart(8, '0')}`;
  return {
    id,
    source: 'gateway',
    providerRequestId: null,
    firstTokenAt: null,
    endedAt: over.startedAt + 3_000,
    userId: 'alice',
    teamId: 'team-a',
    projectId: 'proj-a',
    keyId: 'key-alice',
    sessionId: null,
    tags: [],
    repo: null,
    branch: null,
    provider: 'anthropic',
    endpoint: 'messages',
    modelRequested: 'claude-sonnet-4-5',
    modelServed: 'claude-sonnet-4-5',
    inputTokens: 2_000,
    cacheReadTokens: 0,
    cacheWrite5mTokens: 0,
    cacheWrite1hTokens: 0,
    outputTokens: 200,
    reasoningTokens: 0,
    costUsd: 0.05,
    usageEstimated: false,
    status: 200,
    errorClass: null,
    streamed: false,
    clientAborted: false,
    rawUsage: null,
    ...over,
  };
}

export function fingerprint(e: UsageEvent, parts: TurnParts, blocks?: number[]): Fingerprint {
  const core = fingerprintTurn(parts, SECRET);
  return { ...core, ...(blocks ? { blocks } : {}), eventId: e.id, at: e.startedAt, userId: e.userId, sessionId: e.sessionId };
}

/** A report of about `chars` characters, different for each `seed`: sections, numbers, a few repeated phrases. */
export function pastedDocument(seed: number, chars: number): string {
  const topics = ['retention', 'audit records', 'invoices', 'ledger', 'on-call', 'tenants', 'backups', 'encryption', 'access reviews'];
  const out: string[] = [`Operations handbook ${seed}\n`];
  let n = out[0]!.length;
  for (let i = 0; n < chars; i++) {
    const k = (i * 7 + seed * 13) % topics.length;
    const p = `Section ${seed}.${i}: ${topics[k]}. Records for tenant ${(i * 31 + seed * 17) % 977} are kept ${(i * 11 + seed) % 90} days; the ${topics[(k + 3) % topics.length]} job runs at ${(i + seed) % 24}:${((i * 7) % 60).toString().padStart(2, '0')} and reports to team ${(i * 3 + seed) % 41}.\n`;
    out.push(p);
    n += p.length;
  }
  return out.join('');
}

/** A request carrying a typed prompt. */
export function prompt(text: string, over: Partial<UsageEvent> & { startedAt: number }, opts: { tools?: number; blocks?: number[] } = {}): DetectInput {
  const e = event(over);
  return { event: e, fp: fingerprint(e, { newText: text, toolsDeclared: opts.tools ?? 0 }, opts.blocks) };
}

/** A request whose newest (and only) message is `content`, fingerprinted from the Anthropic body a client sends. */
export function pasted(content: string, over: Partial<UsageEvent> & { startedAt: number }): DetectInput {
  const e = event(over);
  const core = fingerprintRequest({ model: e.modelRequested, max_tokens: 1024, messages: [{ role: 'user', content }] }, 'messages', SECRET)!;
  return { event: e, fp: fingerprintOf(core, { eventId: e.id, at: e.startedAt, userId: e.userId, sessionId: e.sessionId }) };
}

/** An agent step: the request carrying a tool call's result. */
export function step(calls: string, results: string, over: Partial<UsageEvent> & { startedAt: number }): DetectInput {
  const e = event(over);
  return { event: e, fp: fingerprint(e, { toolCalls: calls, toolResults: results, toolsDeclared: 8 }) };
}

export function run(rule: RuleId, inputs: DetectInput[], config: DetectConfigInput = {}, outcomes: OutcomeInput[] = []): Finding[] {
  const engine = new DetectionEngine({ rules: [rule], config: defaultDetectConfig(config) });
  const sorted = [...inputs].sort((a, b) => a.event.startedAt - b.event.startedAt);
  const outs = [...outcomes].sort((a, b) => a.at - b.at);
  let i = 0;
  for (const x of sorted) {
    while (i < outs.length && outs[i]!.at <= x.event.startedAt) engine.pushOutcome(outs[i++]!);
    engine.push(x);
  }
  while (i < outs.length) engine.pushOutcome(outs[i++]!);
  return engine.finish(sorted.length > 0 ? sorted[sorted.length - 1]!.event.endedAt + DAY : T0);
}

/** Six different questions a person might ask about one pasted handbook (pastedDocument). */
export const HANDBOOK_QUESTIONS: readonly string[] = [
  'What does the handbook say about how long audit records are kept?',
  'Which team gets the report from the backups job?',
  'Summarise the encryption sections in five bullet points.',
  'Is there any tenant whose records are kept for less than a week?',
  'List the jobs that run between midnight and 6am.',
  'Who reviews access, and how often?',
];
