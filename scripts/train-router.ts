/**
 * Learns the complexity classifier's weights (src/route/weights.ts) from the RouteLLM labels: logistic regression,
 * label = "the weak model got it wrong", on the train split only (bench/route/data.ts: 80% by hash of the prompt).
 * The regularisation and the vocabulary cut-off are chosen on a validation fold carved out of train, by the share
 * of weak-correct answers among the 40% lowest-scored prompts. The held-out split is never read here.
 *
 *   npx tsx scripts/train-router.ts            # writes src/route/weights.ts
 *   npx tsx scripts/train-router.ts --dry-run  # prints the validation results only
 *   npx tsx scripts/train-router.ts --cv       # and a 5-fold cross-validation of the chosen settings on train
 *
 * One validation fold of ~2,500 prompts is noisy (±1.5 points at 40% routed); --cv averages five folds of the train
 * split, which is how competing feature sets should be compared before the held-out split is looked at.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { asChatBody, loadExamples, type Example } from '../bench/route/data.js';
import { DENSE_FEATURES, DENSE_NAMES, structuralLogit, type RouterWeights } from '../src/route/classifier.js';
import { extractFeatures, type Extracted } from '../src/route/features.js';

interface Row {
  x: Extracted;
  /** The hand-set structural terms: a fixed offset the learned weights fit around. */
  offset: number;
  dense: number[];
  words: string[];
  y: number;
  weakCorrect: boolean;
}

function toRow(e: Example): Row {
  const x = extractFeatures(asChatBody(e.prompt), 'chat.completions');
  return {
    x,
    offset: structuralLogit(x.features),
    dense: DENSE_NAMES.map((n) => DENSE_FEATURES[n](x.features)),
    words: x.words,
    y: e.weakCorrect ? 0 : 1,
    weakCorrect: e.weakCorrect,
  };
}

/** A second, independent hash bit: one train prompt in five validates the hyperparameters. */
function isValidation(prompt: string): boolean {
  return createHash('sha256').update(`validation:${prompt}`).digest().readUInt32BE(0) % 5 === 0;
}

function vocabulary(rows: readonly Row[], minDf: number): string[] {
  const df = new Map<string, number>();
  for (const r of rows) for (const w of r.words) df.set(w, (df.get(w) ?? 0) + 1);
  return [...df].filter(([, n]) => n >= minDf).map(([w]) => w).sort();
}

/** Full-batch Adam on the L2-regularised log loss: deterministic, a few seconds for 12k prompts. */
function train(rows: readonly Row[], vocab: readonly string[], l2: number, iterations = 400): RouterWeights {
  const D = DENSE_NAMES.length;
  const index = new Map(vocab.map((w, i) => [w, D + i]));
  const encoded = rows.map((r) => ({
    dense: r.dense,
    idx: r.words.map((w) => index.get(w)).filter((i): i is number => i !== undefined),
    offset: r.offset,
    y: r.y,
  }));
  const P = D + vocab.length + 1; // last: bias
  const theta = new Float64Array(P);
  const m = new Float64Array(P);
  const v = new Float64Array(P);
  const grad = new Float64Array(P);
  const lr = 0.05;
  const n = encoded.length;
  for (let t = 1; t <= iterations; t++) {
    grad.fill(0);
    for (const e of encoded) {
      let z = e.offset + theta[P - 1]!;
      for (let j = 0; j < D; j++) z += theta[j]! * e.dense[j]!;
      for (const i of e.idx) z += theta[i]!;
      const g = 1 / (1 + Math.exp(-z)) - e.y;
      for (let j = 0; j < D; j++) grad[j]! += g * e.dense[j]!;
      for (const i of e.idx) grad[i]! += g;
      grad[P - 1]! += g;
    }
    for (let j = 0; j < P; j++) {
      const gj = grad[j]! / n + (j < P - 1 ? l2 * theta[j]! : 0);
      m[j] = 0.9 * m[j]! + 0.1 * gj;
      v[j] = 0.999 * v[j]! + 0.001 * gj * gj;
      const mh = m[j]! / (1 - 0.9 ** t);
      const vh = v[j]! / (1 - 0.999 ** t);
      theta[j]! -= (lr * mh) / (Math.sqrt(vh) + 1e-8);
    }
  }
  const dense = Object.fromEntries(DENSE_NAMES.map((name, j) => [name, theta[j]!])) as RouterWeights['dense'];
  const wordWeights: Record<string, number> = {};
  vocab.forEach((w, i) => (wordWeights[w] = theta[D + i]!));
  return { bias: theta[P - 1]!, dense, words: wordWeights };
}

function logit(r: Row, w: RouterWeights): number {
  let z = r.offset + w.bias;
  DENSE_NAMES.forEach((name, j) => (z += w.dense[name] * r.dense[j]!));
  for (const word of r.words) if (Object.hasOwn(w.words, word)) z += w.words[word]!;
  return z;
}

/** Share of weak-correct prompts among the `share` lowest-scored (the ones a router would send down). */
export function routedAccuracy(scores: readonly number[], correct: readonly boolean[], share: number): number {
  const order = scores.map((s, i) => [s, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const k = Math.round(order.length * share);
  let ok = 0;
  for (let i = 0; i < k; i++) if (correct[order[i]![1]]) ok++;
  return k > 0 ? ok / k : 0;
}

/** Weights rounded to 3 decimals; words whose weight rounds below 0.02 are dropped (they move no decision). */
function compact(w: RouterWeights): RouterWeights {
  const r = (x: number) => Math.round(x * 1000) / 1000;
  const wordsOut: Record<string, number> = {};
  for (const [k, x] of Object.entries(w.words)) if (Math.abs(x) >= 0.02) wordsOut[k] = r(x);
  return {
    bias: r(w.bias),
    dense: Object.fromEntries(Object.entries(w.dense).map(([k, x]) => [k, r(x)])) as RouterWeights['dense'],
    words: wordsOut,
  };
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(sorted.length * q) - 1))]!;
}

/** Area under the ROC curve of the scores for "the weak model was wrong" (ties broken by order; scores are continuous). */
function auc(scores: readonly number[], correct: readonly boolean[]): number {
  const order = scores.map((s, i) => [s, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let rankSum = 0;
  let pos = 0;
  order.forEach(([, i], r) => {
    if (!correct[i]) {
      rankSum += r + 1;
      pos++;
    }
  });
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * (order.length - pos));
}

/** 5-fold cross-validation on the train split: weak-correct among the 20/40/60% lowest-scored of each fold, and the AUC. */
function crossValidate(examples: readonly Example[], minDf: number, l2: number): number[] {
  const rows = examples.map((e) => ({ fold: createHash('sha256').update(`cv:${e.prompt}`).digest().readUInt32BE(0) % 5, r: toRow(e) }));
  const sum = [0, 0, 0, 0];
  for (let f = 0; f < 5; f++) {
    const fitRows = rows.filter((x) => x.fold !== f).map((x) => x.r);
    const held = rows.filter((x) => x.fold === f).map((x) => x.r);
    const w = train(fitRows, vocabulary(fitRows, minDf), l2);
    const scores = held.map((r) => logit(r, w));
    [0.2, 0.4, 0.6].forEach((share, i) => (sum[i]! += routedAccuracy(scores, held.map((r) => r.weakCorrect), share) / 5));
    sum[3]! += auc(scores, held.map((r) => r.weakCorrect)) / 5;
  }
  return sum;
}

function main(): void {
  const dry = process.argv.includes('--dry-run');
  const examples = loadExamples().filter((e) => e.split === 'train');
  const fit: Row[] = [];
  const val: Row[] = [];
  for (const e of examples) (isValidation(e.prompt) ? val : fit).push(toRow(e));
  console.log(`train split: ${examples.length} prompts (${fit.length} fit, ${val.length} validation)`);

  let best: { l2: number; minDf: number; acc: number } | undefined;
  for (const minDf of (process.env.MINDF ?? '10,30').split(',').map(Number)) {
    const vocab = vocabulary(fit, minDf);
    for (const l2 of (process.env.L2 ?? '0.01,0.03').split(',').map(Number)) {
      const w = train(fit, vocab, l2);
      const scores = val.map((r) => logit(r, w));
      const acc = routedAccuracy(scores, val.map((r) => r.weakCorrect), 0.4);
      console.log(`  minDf=${minDf} l2=${l2} vocab=${vocab.length}: weak-correct among 40% routed = ${(acc * 100).toFixed(1)}%`);
      if (!best || acc > best.acc) best = { l2, minDf, acc };
    }
  }
  if (!best) throw new Error('no examples');
  console.log(`chosen: minDf=${best.minDf} l2=${best.l2}`);
  if (process.argv.includes('--cv')) {
    const cv = crossValidate(examples, best.minDf, best.l2);
    console.log(`5-fold cross-validation on train, weak-correct among routed 20% / 40% / 60%: ${cv.slice(0, 3).map((x) => `${(x * 100).toFixed(1)}%`).join(' / ')}; AUC ${cv[3]!.toFixed(3)}`);
  }
  if (dry) return;

  const all = [...fit, ...val];
  const w = compact(train(all, vocabulary(all, best.minDf), best.l2));
  const trainScores = all.map((r) => 1 / (1 + Math.exp(-logit(r, w)))).sort((a, b) => a - b);
  const calibration = {
    route20: quantile(trainScores, 0.2),
    route40: quantile(trainScores, 0.4),
    route60: quantile(trainScores, 0.6),
  };
  const r4 = (x: number) => Math.round(x * 10_000) / 10_000;
  const src = `/**
 * GENERATED by scripts/train-router.ts: do not edit. Logistic-regression weights of the complexity classifier,
 * learned on the RouteLLM train split (${all.length} GSM8K + MMLU prompts; label: Mixtral-8x7B answered wrong).
 * minDf=${best.minDf}, l2=${best.l2}. Positive weights mean "more likely to need the premium model".
 */
import type { RouterWeights } from './classifier.js';

/** Scores at which 20%, 40% and 60% of the train prompts fall at or below (the share routed down). */
export const ROUTER_CALIBRATION = ${JSON.stringify({ route20: r4(calibration.route20), route40: r4(calibration.route40), route60: r4(calibration.route60) })} as const;

export const ROUTER_WEIGHTS: RouterWeights = {
  bias: ${w.bias},
  dense: ${JSON.stringify(w.dense)},
  words: ${JSON.stringify(w.words)},
};
`;
  writeFileSync(new URL('../src/route/weights.ts', import.meta.url), src);
  console.log(`wrote src/route/weights.ts: ${Object.keys(w.words).length} words, calibration ${JSON.stringify(calibration)}`);
}

main();
