import type { Endpoint } from '../usage/event.js';
import { extractFeatures, type Extracted, type RequestFeatures } from './features.js';
import { ROUTER_WEIGHTS } from './weights.js';

/**
 * The complexity classifier: how likely a request needs the premium model. A logistic model over request features
 * and words of the new user text, learned offline by scripts/train-router.ts on the RouteLLM labels (did the weak
 * model answer correctly?) and committed as weights.ts; plus hand-set terms for what that data cannot teach (tools,
 * agent loops, images, long outputs, reasoning effort: every labelled prompt is one plain user message).
 * Pure and synchronous: p50 ≈ 13 µs per benchmark prompt, ≈ 70 µs for a 190 KB agent transcript (bench/route).
 */

export const TASK_CLASSES = [
  'agent',
  'code',
  'math',
  'multiple_choice',
  'transform',
  'reasoning',
  'question',
  'chat',
] as const;
export type TaskClass = (typeof TASK_CLASSES)[number];

/** The dense, learned inputs: names are the keys of the weights file, values read from the features. */
export const DENSE_FEATURES = {
  newLength: (f) => Math.log1p(f.newChars) / 8,
  contextLength: (f) => Math.log1p(f.contextChars) / 10,
  turns: (f) => Math.log1p(Math.max(0, f.turns - 1)),
  code: (f) => Math.min(f.codeLines, 20) / 5,
  math: (f) => Math.log1p(f.mathSignals),
  numbers: (f) => Math.log1p(f.numbers),
  multiStep: (f) => Math.log1p(f.multiStep),
  simpleTask: (f) => Math.log1p(f.simpleTask),
  choices: (f) => (f.choices >= 2 ? 1 : 0),
  negation: (f) => (f.negations > 0 ? 1 : 0),
  sentences: (f) => Math.log1p(f.sentences),
  longWords: (f) => f.longWordShare * 4,
} as const satisfies Record<string, (f: RequestFeatures) => number>;
export type DenseFeature = keyof typeof DENSE_FEATURES;
export const DENSE_NAMES = Object.keys(DENSE_FEATURES) as DenseFeature[];

/**
 * Hand-set logit terms for what the labelled data never (or hardly) varies. Each says how much more likely the
 * premium model is needed; the values are judgement, sized so that any one of them moves a request typical of the
 * data (score ≈ 0.2, logit ≈ -1.4) past the default one-tier threshold. Training treats them as a fixed offset.
 */
export const STRUCTURAL_TERMS = {
  /**
   * Open-ended, multi-step work (prove, design, refactor, analyse…): where weak models fall furthest behind, and
   * which the labelled data (short-answer benchmarks) barely contains. Two such words keep a request on premium.
   */
  openEnded: (f) => Math.min(f.multiStep, 2) * 0.35,
  /** Code to read or write. */
  code: (f) => (f.codeLines >= 3 ? 0.4 : 0),
  /** Long conversations: the answer depends on context a weaker model tracks worse. */
  conversation: (f) => (f.contextChars > 20_000 ? 0.3 : 0) + (f.turns > 6 ? 0.2 : 0),
  /** Tool use and agent loops: a wrong call costs a whole loop, and weak models pick tools worse. */
  tools: (f) => (f.tools > 0 ? 0.6 : 0) + (f.toolChoiceForced ? 0.2 : 0) + Math.min(f.toolTurns, 10) * 0.08,
  /** Long outputs (reports, whole files) expose a weaker model's drift. */
  output: (f) => (f.maxOutputTokens !== null && f.maxOutputTokens > 4_000 ? 0.5 : 0),
  /** The caller asked for deliberate reasoning. */
  reasoning: (f) => f.reasoning * 0.6,
  /** Images and documents: perception quality drops fastest down the ladder. */
  media: (f) => Math.min(f.images + f.files, 4) * 0.3,
  /** Schema-bound output: small models break schemas more often. */
  schema: (f) => (f.jsonSchema ? 0.3 : 0),
} as const satisfies Record<string, (f: RequestFeatures) => number>;

export interface RouterWeights {
  bias: number;
  dense: Readonly<Record<DenseFeature, number>>;
  words: Readonly<Record<string, number>>;
}

export interface Score {
  /** 0…1: the estimated probability that the cheaper tier would get this request wrong. Lower is simpler. */
  score: number;
  taskClass: TaskClass;
  features: RequestFeatures;
}

export function taskClassOf(f: RequestFeatures): TaskClass {
  if (f.tools > 0 || f.toolTurns > 0) return 'agent';
  if (f.codeLines >= 3) return 'code';
  if (f.choices >= 2) return 'multiple_choice';
  if (f.mathSignals >= 2 || (f.numbers >= 3 && f.newChars < 2_000)) return 'math';
  if (f.simpleTask > 0 && f.multiStep === 0) return 'transform';
  if (f.multiStep > 0 || f.newChars > 2_000) return 'reasoning';
  if (f.newChars < 200 && f.sentences <= 2) return 'chat';
  return 'question';
}

const hasOwn = Object.prototype.hasOwnProperty;

/** The learned part of the logit: dense features and the distinct words of the new text. */
export function learnedLogit(x: Extracted, w: RouterWeights): number {
  let z = w.bias;
  for (const name of DENSE_NAMES) z += w.dense[name] * DENSE_FEATURES[name](x.features);
  for (const word of x.words) if (hasOwn.call(w.words, word)) z += w.words[word]!;
  return z;
}

export function structuralLogit(f: RequestFeatures): number {
  let z = 0;
  for (const term of Object.values(STRUCTURAL_TERMS)) z += term(f);
  return z;
}

function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

/** Scores an already extracted request with given weights (training and benchmarks use this directly). */
export function scoreExtracted(x: Extracted, w: RouterWeights = ROUTER_WEIGHTS): Score {
  const z = learnedLogit(x, w) + structuralLogit(x.features);
  return { score: sigmoid(z), taskClass: taskClassOf(x.features), features: x.features };
}

/** Scores a request body of a chat endpoint (chat completions, Responses, Anthropic Messages). */
export function scoreRequest(body: Readonly<Record<string, unknown>>, endpoint: Endpoint): Score {
  return scoreExtracted(extractFeatures(body, endpoint));
}
