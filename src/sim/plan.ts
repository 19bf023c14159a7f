/**
 * What the simulated model answers: a pure function of the request (and the server seed). Providers turn
 * the plan into their wire format; the plan holds the exact token counts they report.
 *
 * Invariant: every reported count is gpt-tokenizer's count of the text actually emitted (text, tool-call
 * arguments, thinking), plus OpenAI's hidden reasoning tokens, which have no text.
 */
import { chunkPieces, generatePieces, splitFragments, truncateChunks, WORDS } from './prose.js';
import { createRng, hashString, randInt, type Rng } from './random.js';
import { countTokens } from './tokens.js';
import type { Directives } from './directives.js';

export interface PlanRequest {
  seed: number;
  model: string;
  /** Prompt fingerprint: the output is deterministic per (seed, model, prompt). */
  fingerprint: string;
  inputTokens: number;
  /** max_tokens / max_completion_tokens / max_output_tokens; includes reasoning and thinking. */
  maxTokens: number | undefined;
  directives: Directives;
  /** Set when the answer is a call of this tool. */
  tool: { name: string; schema: unknown } | undefined;
  /** OpenAI reasoning models: hidden reasoning tokens, scaled by `reasoning_effort`. */
  hiddenReasoning: { effort: string | undefined } | undefined;
  /** Anthropic extended thinking: a visible thinking block within this budget. */
  thinkingBudget: number | undefined;
  stop: readonly string[];
}

export type FinishReason = 'stop' | 'length' | 'tool' | 'stop_sequence';

export interface OutputPlan {
  text: string;
  textChunks: string[];
  textTokens: number;
  toolCall: { name: string; input: unknown; arguments: string; fragments: string[]; tokens: number } | undefined;
  thinking: { text: string; chunks: string[]; tokens: number; signature: string; signatureChunks: string[] } | undefined;
  reasoningTokens: number;
  /** Everything billed as output: text + tool arguments + thinking + hidden reasoning. */
  outputTokens: number;
  finish: FinishReason;
  stopSequence: string | null;
  /** Number of content deltas a stream carries: for pacing and `die-after`. */
  contentChunks: number;
}

const EFFORT_SCALE: Record<string, number> = { none: 0.125, minimal: 0.125, low: 0.5, medium: 1, high: 2, xhigh: 3 };

/** Default answer length: 20 to 400 tokens, longer for longer prompts. */
function defaultLength(h: number, inputTokens: number): number {
  return Math.min(400, 20 + (h % 100) + Math.floor(inputTokens / 8));
}

function reasoningTokens(h: number, effort: string | undefined): number {
  const base = 64 * (1 + ((h >>> 8) % 12)); // 64..768
  return Math.max(1, Math.round(base * (EFFORT_SCALE[effort ?? 'medium'] ?? 1)));
}

/** Plausible arguments for a JSON schema: every declared property, a value of its type. */
export function argumentsFor(schema: unknown, rng: Rng, depth = 0): unknown {
  if (typeof schema !== 'object' || schema === null || depth > 6) return 'value';
  const s = schema as Record<string, unknown>;
  if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum[0];
  if ('const' in s) return s.const;
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type;
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      const props = s.properties;
      if (typeof props === 'object' && props !== null) {
        for (const [key, sub] of Object.entries(props as Record<string, unknown>)) out[key] = argumentsFor(sub, rng, depth + 1);
      }
      return out;
    }
    case 'array':
      return [argumentsFor(s.items, rng, depth + 1)];
    case 'integer':
      return randInt(rng, 1, 100);
    case 'number':
      return Math.round(rng() * 10_000) / 100;
    case 'boolean':
      return rng() < 0.5;
    case 'null':
      return null;
    case 'string':
      return WORDS[Math.floor(rng() * WORDS.length)] ?? 'value';
    default:
      return typeof s.properties === 'object' ? argumentsFor({ ...s, type: 'object' }, rng, depth) : 'value';
  }
}

function signatureFor(rng: Rng): string {
  const bytes = Buffer.alloc(96);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(rng() * 256);
  return bytes.toString('base64');
}

export function planOutput(req: PlanRequest): OutputPlan {
  const h = hashString(req.fingerprint, hashString(req.model, req.seed));
  const rng = createRng(h);
  const cap = req.maxTokens;

  let reasoning = req.hiddenReasoning === undefined ? 0 : reasoningTokens(h, req.hiddenReasoning.effort);
  if (cap !== undefined) reasoning = Math.min(reasoning, Math.floor(cap / 2));

  let thinking: OutputPlan['thinking'];
  if (req.thinkingBudget !== undefined) {
    let n = Math.min(req.thinkingBudget, randInt(rng, 40, 240));
    if (cap !== undefined) n = Math.max(0, Math.min(n, cap - 1));
    const pieces = generatePieces(h ^ 0x7f4a7c15, n);
    const text = pieces.join('');
    const signature = signatureFor(rng);
    thinking = {
      text,
      chunks: chunkPieces(h ^ 0x7f4a7c15, pieces),
      tokens: countTokens(text),
      signature,
      signatureChunks: [signature],
    };
  }
  const used = reasoning + (thinking?.tokens ?? 0);

  if (req.tool !== undefined) {
    const input = argumentsFor(req.tool.schema ?? { type: 'object' }, rng);
    const args = JSON.stringify(input) ?? '{}';
    const tokens = countTokens(args);
    const fragments = splitFragments(h, args);
    return {
      text: '',
      textChunks: [],
      textTokens: 0,
      toolCall: { name: req.tool.name, input, arguments: args, fragments, tokens },
      thinking,
      reasoningTokens: reasoning,
      outputTokens: used + tokens,
      finish: 'tool',
      stopSequence: null,
      contentChunks: fragments.length + (thinking?.chunks.length ?? 0),
    };
  }

  const wanted = req.directives.tokens ?? defaultLength(h, req.inputTokens);
  const room = cap === undefined ? Infinity : Math.max(0, cap - used);
  const n = Math.min(wanted, room);
  let finish: FinishReason = wanted > room ? 'length' : 'stop';
  const pieces = generatePieces(h, n);
  let text = pieces.join('');
  let textChunks = chunkPieces(h, pieces);

  let stopSequence: string | null = null;
  let cut = -1;
  for (const s of req.stop) {
    if (s === '') continue;
    const at = text.indexOf(s);
    if (at !== -1 && (cut === -1 || at < cut)) {
      cut = at;
      stopSequence = s;
    }
  }
  if (stopSequence !== null) {
    text = text.slice(0, cut);
    textChunks = truncateChunks(textChunks, cut);
    finish = 'stop_sequence';
  }
  const textTokens = countTokens(text);
  return {
    text,
    textChunks,
    textTokens,
    toolCall: undefined,
    thinking,
    reasoningTokens: reasoning,
    outputTokens: used + textTokens,
    finish,
    stopSequence,
    contentChunks: textChunks.length + (thinking?.chunks.length ?? 0),
  };
}
