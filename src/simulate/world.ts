import { BlockChain } from '../detect/fingerprint/blocks.js';
import { fingerprintTurn } from '../detect/fingerprint/fingerprint.js';
import { deriveKeys } from '../detect/fingerprint/keys.js';
import type { Fingerprint, FingerprintCore } from '../detect/fingerprint/types.js';
import type { RuleId } from '../detect/types.js';
import type { OutcomeEvent } from '../outcomes/event.js';
import type { UsageEvent } from '../usage/event.js';
import { createPricer, type Pricer } from '../usage/pricing.js';
import type { Person } from './org.js';
import type { Rng } from './random.js';
import type { Traces } from './traces.js';

/** The simulator's shared state: the event sink, ids, labels, outcomes, and text → fingerprint plumbing. */

/**
 * A labelled span. `honest-spike` marks unusual but legitimate spend (an overnight autonomous run that ships): no
 * waste rule should fire on it, and a spend anomaly on it is a true anomaly.
 */
export interface Label {
  rule: RuleId | 'honest-spike';
  userId: string;
  teamId: string;
  sessionId: string | null;
  start: number;
  end: number;
}

/**
 * A simulated outcome: an OutcomeEvent (src/outcomes/event.ts) recorded as if posted to `POST /v1/outcomes` (source
 * `api`), marked `attrs.origin = goodhart-simulate`.
 */
export interface SimOutcome extends OutcomeEvent {
  kind: 'commit' | 'pull_request_merged';
  userId: string;
  teamId: string;
}

export interface SimRecord {
  event: UsageEvent;
  fp: Fingerprint | null;
}

export interface Request {
  person: Person;
  at: number;
  sessionId: string | null;
  model: string;
  input: number;
  cacheRead?: number;
  cacheWrite?: number;
  output: number;
  fp: FingerprintCore | null;
  status?: number;
  errorClass?: string | null;
  tags?: string[];
  source?: UsageEvent['source'];
}

const FILLER = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor '.repeat(4096);
/** Synthetic text of about `tokens` tokens whose identity is `id`: what gets hashed into context blocks. */
export function synth(id: string, tokens: number): string {
  return `<${id}>${FILLER.slice(0, Math.min(FILLER.length, Math.max(0, Math.round(tokens * 4))))}`;
}

export const providerOf = (model: string): string => (model.startsWith('claude') ? 'anthropic' : model.startsWith('gemini') ? 'google' : 'openai');

/** Output speed (tokens/s) and time to first token: enough realism for durations and overlaps. */
const TOKENS_PER_SECOND = 70;

export class World {
  readonly pricer: Pricer = createPricer();
  readonly labels: Label[] = [];
  pending: SimRecord[] = [];
  pendingOutcomes: SimOutcome[] = [];
  events = 0;
  private sessions = 0;
  private readonly agentPrefixes = new Map<string, BlockChain>();
  private readonly blockText = new Map<number, string>();

  constructor(
    readonly rng: Rng,
    readonly secret: string,
    readonly traces: Traces,
    readonly start: number,
  ) {}

  sessionId(p: Person): string {
    return `s-${p.id}-${(++this.sessions).toString(36)}`;
  }

  /** A deterministic UUIDv7-shaped id from the time and a counter. */
  private eventId(at: number): string {
    const ts = at.toString(16).padStart(12, '0');
    const n = (++this.events).toString(16).padStart(15, '0');
    return `${ts.slice(0, 8)}-${ts.slice(8, 12)}-7${n.slice(0, 3)}-8${n.slice(3, 6)}-${n.slice(6)}000`;
  }

  /**
   * A chain already holding an agent's system prompt and tool definitions and, when given, the repository context it
   * reads first (a Mooncake prefix per project): hashed once, cloned per session.
   */
  agentPrefix(kind: string, tokens: number, repo?: { key: string; blocks: readonly number[] }): BlockChain {
    const key = repo === undefined ? kind : `${kind}:${repo.key}`;
    let chain = this.agentPrefixes.get(key);
    if (chain === undefined) {
      chain = new BlockChain(deriveKeys(this.secret));
      chain.push(synth(`system-${kind}`, tokens));
      if (repo !== undefined) this.pushTraceBlocks(chain, repo.blocks);
      this.agentPrefixes.set(key, chain);
    }
    return chain.clone();
  }

  /** Pushes Mooncake prefix blocks (512 tokens each) as text: equal ids give equal text, so equal hashes. */
  pushTraceBlocks(chain: BlockChain, ids: readonly number[]): void {
    for (const id of ids) {
      let text = this.blockText.get(id);
      if (text === undefined) {
        text = synth(`m${id}`, 512).slice(0, 2048).padEnd(2048, '.');
        this.blockText.set(id, text);
      }
      chain.push(text);
    }
  }

  newChain(): BlockChain {
    return new BlockChain(deriveKeys(this.secret));
  }

  /** The fingerprint of a turn, computed from its text (which the caller then drops). `contextTokens` sizes the context for the classifier. */
  turn(text: string | null, opts: { calls?: string; results?: string; blocks?: number[]; tools?: number; contextTokens?: number } = {}): FingerprintCore {
    const core = fingerprintTurn(
      {
        newText: text,
        ...(opts.calls !== undefined ? { toolCalls: opts.calls } : {}),
        ...(opts.results !== undefined ? { toolResults: opts.results } : {}),
        toolsDeclared: opts.tools ?? 0,
        contextChars: (opts.contextTokens ?? 0) * 4,
      },
      this.secret,
    );
    if (opts.blocks) core.blocks = opts.blocks;
    return core;
  }

  /** Records one request; returns its end time. */
  emit(r: Request): { end: number; event: UsageEvent } {
    const failed = r.errorClass !== undefined && r.errorClass !== null;
    const output = failed ? 0 : Math.max(1, Math.round(r.output));
    const ttft = 400 + this.rng.next() * 2500;
    const end = Math.round(r.at + ttft + (output / TOKENS_PER_SECOND) * 1000);
    const cacheRead = failed ? 0 : Math.round(r.cacheRead ?? 0);
    const cacheWrite = failed ? 0 : Math.round(r.cacheWrite ?? 0);
    const input = Math.round(r.input);
    const provider = providerOf(r.model);
    const usage = {
      input: { total: input, noCache: Math.max(0, input - cacheRead - cacheWrite), cacheRead, cacheWrite5m: cacheWrite, cacheWrite1h: 0 },
      output: { total: output, text: output, reasoning: 0 },
      raw: null,
    };
    const id = this.eventId(r.at);
    const at = Math.round(r.at);
    const event: UsageEvent = {
      id,
      source: r.source ?? 'gateway',
      providerRequestId: null,
      startedAt: at,
      firstTokenAt: failed ? null : Math.round(r.at + ttft),
      endedAt: end,
      userId: r.person.id,
      teamId: r.person.teamId,
      projectId: r.person.projectId,
      keyId: `key-${r.person.id}`,
      sessionId: r.sessionId,
      tags: r.tags ?? [],
      repo: `example/${r.person.teamId}`,
      branch: null,
      provider,
      endpoint: provider === 'anthropic' ? 'messages' : 'chat.completions',
      modelRequested: r.model,
      modelServed: r.model,
      inputTokens: failed ? 0 : input,
      cacheReadTokens: cacheRead,
      cacheWrite5mTokens: cacheWrite,
      cacheWrite1hTokens: 0,
      outputTokens: output,
      reasoningTokens: 0,
      costUsd: failed ? 0 : this.pricer.price(usage, r.model, provider).costUsd,
      usageEstimated: false,
      status: r.status ?? 200,
      errorClass: r.errorClass ?? null,
      streamed: true,
      clientAborted: false,
      rawUsage: null,
    };
    const fp: Fingerprint | null = r.fp === null ? null : { ...r.fp, eventId: id, at, userId: r.person.id, sessionId: r.sessionId };
    this.pending.push({ event, fp });
    return { end, event };
  }

  label(rule: Label['rule'], p: Person, sessionId: string | null, start: number, end: number): void {
    this.labels.push({ rule, userId: p.id, teamId: p.teamId, sessionId, start, end });
  }

  outcome(p: Person, kind: SimOutcome['kind'], at: number, count: number): void {
    if (count <= 0) return;
    this.pendingOutcomes.push({
      id: `o-${p.id}-${kind}-${at}`,
      kind,
      userId: p.id,
      teamId: p.teamId,
      repo: `example/${p.teamId}`,
      sessionId: null,
      at,
      count,
      source: 'api',
      attrs: { origin: 'goodhart-simulate' },
      projectId: p.projectId,
    });
  }
}

/** A coding-agent session: a growing context, cached prefixes, human prompts and tool steps in sequence. */
export class AgentSession {
  readonly id: string;
  t: number;
  private context: number;
  private lastEnd = 0;
  private readonly chain: BlockChain;
  private step = 0;
  cost = 0;
  output = 0;
  requests = 0;

  constructor(
    private readonly w: World,
    readonly person: Person,
    start: number,
    readonly model: string,
    opts: { repo?: { key: string; blocks: readonly number[] }; tags?: string[] } = {},
  ) {
    this.id = w.sessionId(person);
    this.t = start;
    const kind = providerOf(model) === 'anthropic' ? 'claude-code' : 'codex';
    this.chain = w.agentPrefix(kind, kind === 'claude-code' ? 14_000 : 9_000, opts.repo);
    this.context = (kind === 'claude-code' ? 14_000 : 9_000) + (opts.repo?.blocks.length ?? 0) * 512;
    this.tags = opts.tags ?? [];
  }

  private readonly tags: string[];

  private request(fp: FingerprintCore, newTokens: number, output: number, newText: string): number {
    const w = this.w;
    const input = this.context + newTokens;
    const warm = this.lastEnd > 0 && this.t - this.lastEnd <= 5 * 60_000;
    const cacheRead = warm ? this.context : 0;
    const { end, event } = w.emit({
      person: this.person,
      at: this.t,
      sessionId: this.id,
      model: this.model,
      input,
      cacheRead,
      cacheWrite: input - cacheRead,
      output,
      fp,
      tags: this.tags,
      source: providerOf(this.model) === 'anthropic' ? 'claude-code' : 'codex',
    });
    this.chain.push(newText);
    this.chain.push(synth(`${this.id}:a${this.step}`, output));
    this.context = input + event.outputTokens;
    this.lastEnd = end;
    this.t = end;
    this.cost += event.costUsd ?? 0;
    this.output += event.outputTokens;
    this.requests++;
    return end;
  }

  /** A human prompt; returns its end time. */
  prompt(text: string, output: number): number {
    const fp = this.w.turn(text, { blocks: this.chain.hashes(), tools: 12, contextTokens: this.context });
    return this.request(fp, Math.ceil(text.length / 4) + 20, output, text);
  }

  /**
   * One tool step: after `gapMs` of tool time, the request carrying the previous call's result. `calls`/`results`
   * name the step (equal strings = the same step); `resultTokens` is the size of the result.
   */
  toolStep(gapMs: number, calls: string, results: string, resultTokens: number, output: number): number {
    this.t += gapMs;
    this.step++;
    const fp = this.w.turn(null, { calls, results, blocks: this.chain.hashes(), tools: 12 });
    return this.request(fp, resultTokens, output, synth(`${this.id}:r${this.step}:${results}`, resultTokens));
  }

  wait(ms: number): void {
    this.t += ms;
  }

  get stepCount(): number {
    return this.step;
  }
}
