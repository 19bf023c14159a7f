/**
 * What else was tried for the complexity classifier, and how far it gets: 5-fold cross-validation on the TRAIN split
 * only (the held-out fifth that bench/route/run.ts reports on is never read here). For each approach, the share of
 * prompts the weak model answered correctly among the 20/40/60% it scores lowest, averaged over the folds.
 *
 *   npx tsx bench/route/alternatives.ts [name]   # all: ~30 minutes on a busy 2-core machine; [name]: rows containing it
 *
 * For comparison, the shipped classifier's own cross-validation: npx tsx scripts/train-router.ts --dry-run --cv
 *
 * Every input is known at request time (the question and its answer options); the models' responses in the CSVs are
 * never read. Two rows are references a request cannot carry: they are told the MMLU subject / dataset.
 */
import { createHash } from 'node:crypto';
import { loadExamples, type Example } from './data.js';

const SHARES = [0.2, 0.4, 0.6];
const DIM = 1 << 18;
const MASK = DIM - 1;

function fnv(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The question, and its answer options when the prompt ends in MMLU's "A. … D. …\nAnswer:". */
function splitPrompt(p: string): { stem: string; choices: string[] } {
  const m = /\nA\. [\s\S]*\nB\. [\s\S]*\nC\. [\s\S]*\nD\. [\s\S]*\nAnswer:\s*$/.exec(p);
  if (!m) return { stem: p, choices: [] };
  return { stem: p.slice(0, m.index), choices: p.slice(m.index).replace(/\nAnswer:\s*$/, '').split(/\n[A-D]\. /).slice(1) };
}

const TOKEN = /[a-z0-9]+|[^\sa-z0-9]/g;

interface Sparse {
  idx: Int32Array;
  val: Float32Array;
}

interface FeatureSet {
  bigrams: boolean;
  chars: boolean;
  subject: boolean;
}

/** Hashed bag of question tokens, option tokens, optional word bigrams and char 3-5-grams; unit length. */
function hashed(e: Example, f: FeatureSet): Sparse {
  const m = new Map<number, number>();
  const add = (k: string, v = 1) => {
    const h = fnv(k) & MASK;
    m.set(h, (m.get(h) ?? 0) + v);
  };
  const { stem, choices } = splitPrompt(e.prompt);
  const words = stem.toLowerCase().match(TOKEN) ?? [];
  for (const w of new Set(words)) add(`w${w}`);
  for (const c of choices) for (const w of new Set(c.toLowerCase().match(TOKEN) ?? [])) add(`c${w}`);
  if (f.bigrams) for (let i = 0; i + 1 < words.length; i++) add(`b${words[i]} ${words[i + 1]}`);
  if (f.chars) {
    const t = ` ${stem.toLowerCase().replace(/\s+/g, ' ')} `;
    const grams = new Set<string>();
    for (let n = 3; n <= 5; n++) for (let i = 0; i + n <= t.length; i++) grams.add(t.slice(i, i + n));
    for (const g of grams) add(`g${g}`);
  }
  if (f.subject) add(`s${e.source}`, 3);
  let norm = 0;
  for (const v of m.values()) norm += v * v;
  norm = Math.sqrt(norm) || 1;
  const keys = [...m.keys()].sort((a, b) => a - b);
  return { idx: Int32Array.from(keys), val: Float32Array.from(keys.map((k) => m.get(k)! / norm)) };
}

/** Full-batch Adam on the L2-regularised log loss (label 1 = the weak model was wrong; soft labels allowed). */
function logistic(X: readonly Sparse[], y: readonly number[], l2: number, iterations = 200): Float64Array {
  const th = new Float64Array(DIM + 1);
  const m = new Float64Array(DIM + 1);
  const v = new Float64Array(DIM + 1);
  const g = new Float64Array(DIM + 1);
  for (let t = 1; t <= iterations; t++) {
    g.fill(0);
    X.forEach((x, r) => {
      let z = th[DIM]!;
      for (let j = 0; j < x.idx.length; j++) z += th[x.idx[j]!]! * x.val[j]!;
      const e = 1 / (1 + Math.exp(-z)) - y[r]!;
      for (let j = 0; j < x.idx.length; j++) g[x.idx[j]!]! += e * x.val[j]!;
      g[DIM]! += e;
    });
    for (let j = 0; j <= DIM; j++) {
      const gj = g[j]! / X.length + (j < DIM ? l2 * th[j]! : 0);
      if (gj === 0 && m[j] === 0) continue;
      m[j] = 0.9 * m[j]! + 0.1 * gj;
      v[j] = 0.999 * v[j]! + 0.001 * gj * gj;
      th[j]! -= (0.05 * m[j]!) / (1 - 0.9 ** t) / (Math.sqrt(v[j]! / (1 - 0.999 ** t)) + 1e-8);
    }
  }
  return th;
}

function dot(th: Float64Array, x: Sparse): number {
  let z = th[DIM]!;
  for (let j = 0; j < x.idx.length; j++) z += th[x.idx[j]!]! * x.val[j]!;
  return z;
}

/** Question words and bigrams, option words. */
function tfidfTokens(p: string): string[] {
  const { stem, choices } = splitPrompt(p);
  const w = stem.toLowerCase().match(/[a-z0-9]+/g) ?? [];
  const out = [...w];
  for (let i = 0; i + 1 < w.length; i++) out.push(`${w[i]}_${w[i + 1]}`);
  for (const c of choices) for (const t of c.toLowerCase().match(/[a-z0-9]+/g) ?? []) out.push(`c:${t}`);
  return out;
}

/** TF-IDF vectors (unit length) over the fit prompts' document frequencies. */
function tfidf(fit: readonly Example[]): { fitVecs: Map<string, number>[]; vec: (p: string) => Map<string, number> } {
  const tokens = tfidfTokens;
  const df = new Map<string, number>();
  const fitTokens = fit.map((e) => tokens(e.prompt));
  for (const t of fitTokens) for (const w of new Set(t)) df.set(w, (df.get(w) ?? 0) + 1);
  const vec = (t: string[]) => {
    const tf = new Map<string, number>();
    for (const w of t) tf.set(w, (tf.get(w) ?? 0) + 1);
    const out = new Map<string, number>();
    let s = 0;
    for (const [w, c] of tf) {
      const d = df.get(w);
      if (!d) continue;
      const x = (1 + Math.log(c)) * Math.log(fit.length / d);
      out.set(w, x);
      s += x * x;
    }
    for (const [w, x] of out) out.set(w, x / (Math.sqrt(s) || 1));
    return out;
  };
  return { fitVecs: fitTokens.map(vec), vec: (p: string) => vec(tokens(p)) };
}

/** kNN over TF-IDF (question words, bigrams, option words), cosine: the weak-wrong rate of the k nearest, smoothed. */
function knn(fit: readonly Example[], test: readonly Example[], k: number): number[] {
  const { fitVecs, vec } = tfidf(fit);
  const postings = new Map<string, [number, number][]>();
  fitVecs.forEach((v, i) => {
    for (const [w, x] of v) {
      let l = postings.get(w);
      if (!l) postings.set(w, (l = []));
      l.push([i, x]);
    }
  });
  const wrong = fit.map((e) => (e.weakCorrect ? 0 : 1));
  const base = wrong.reduce((a: number, b) => a + b, 0) / fit.length;
  return test.map((e) => {
    const sim = new Float64Array(fit.length);
    for (const [w, x] of vec(e.prompt)) for (const [i, y] of postings.get(w) ?? []) sim[i]! += x * y;
    const top = Array.from(sim.keys()).sort((a, b) => sim[b]! - sim[a]!).slice(0, k);
    let num = 0;
    let den = 0;
    for (const i of top) {
      num += sim[i]! * wrong[i]!;
      den += sim[i]!;
    }
    return (num + 2 * base) / (den + 2);
  });
}

/**
 * Nearest centroids: spherical k-means (K clusters) on the TF-IDF vectors, each centroid cut to its `top` heaviest
 * terms; a prompt's score is the similarity-weighted weak-wrong rate of its `m` nearest clusters. A compact stand-in
 * for kNN: K × top numbers instead of every training prompt.
 */
function centroids(fit: readonly Example[], test: readonly Example[], K: number, top: number, m: number): number[] {
  const { fitVecs, vec } = tfidf(fit);
  const wrong = fit.map((e) => (e.weakCorrect ? 0 : 1));
  const base = wrong.reduce((a: number, b) => a + b, 0) / fit.length;
  // Deterministic seeds: every (n/K)-th prompt.
  let cents: Map<string, number>[] = Array.from({ length: K }, (_, c) => new Map(fitVecs[Math.floor((c * fitVecs.length) / K)]!));
  const nearest = (v: Map<string, number>, cs: Map<string, number>[], post: Map<string, [number, number][]>) => {
    const sim = new Float64Array(cs.length);
    for (const [w, x] of v) for (const [c, y] of post.get(w) ?? []) sim[c]! += x * y;
    return sim;
  };
  const postingsOf = (cs: Map<string, number>[]) => {
    const post = new Map<string, [number, number][]>();
    cs.forEach((c, i) => {
      for (const [w, x] of c) {
        let l = post.get(w);
        if (!l) post.set(w, (l = []));
        l.push([i, x]);
      }
    });
    return post;
  };
  let assign = new Int32Array(fitVecs.length);
  for (let iter = 0; iter < 8; iter++) {
    const post = postingsOf(cents);
    assign = Int32Array.from(fitVecs.map((v) => {
      const sim = nearest(v, cents, post);
      let best = 0;
      for (let c = 1; c < K; c++) if (sim[c]! > sim[best]!) best = c;
      return best;
    }));
    const sums = Array.from({ length: K }, () => new Map<string, number>());
    fitVecs.forEach((v, i) => {
      const s = sums[assign[i]!]!;
      for (const [w, x] of v) s.set(w, (s.get(w) ?? 0) + x);
    });
    cents = sums.map((s, c) => {
      if (s.size === 0) return cents[c]!;
      const kept = [...s].sort((a, b) => b[1] - a[1]).slice(0, top);
      const n = Math.sqrt(kept.reduce((a, [, x]) => a + x * x, 0)) || 1;
      return new Map(kept.map(([w, x]) => [w, x / n]));
    });
  }
  const count = new Float64Array(K);
  const bad = new Float64Array(K);
  assign.forEach((c, i) => {
    count[c]! += 1;
    bad[c]! += wrong[i]!;
  });
  const rate = Array.from({ length: K }, (_, c) => (bad[c]! + 5 * base) / (count[c]! + 5));
  const post = postingsOf(cents);
  return test.map((e) => {
    const sim = nearest(vec(e.prompt), cents, post);
    const order = Array.from(sim.keys()).sort((a, b) => sim[b]! - sim[a]!).slice(0, m);
    let num = 0;
    let den = 0;
    for (const c of order) {
      num += sim[c]! * rate[c]!;
      den += sim[c]!;
    }
    return den > 0 ? num / den : base;
  });
}

function ranks(s: readonly number[]): number[] {
  const out = new Array<number>(s.length);
  s.map((x, i) => [x, i] as const)
    .sort((a, b) => a[0] - b[0])
    .forEach(([, i], r) => (out[i] = r / s.length));
  return out;
}

/** Area under the ROC curve of the scores for "the weak model was wrong" (ties count half). */
function auc(scores: readonly number[], test: readonly Example[]): number {
  const order = scores.map((s, i) => [s, i] as const).sort((a, b) => a[0] - b[0]);
  let rankSum = 0;
  let pos = 0;
  for (let r = 0; r < order.length; ) {
    let end = r;
    while (end + 1 < order.length && order[end + 1]![0] === order[r]![0]) end++;
    const mid = (r + end) / 2 + 1;
    for (let j = r; j <= end; j++) {
      if (!test[order[j]![1]]!.weakCorrect) {
        rankSum += mid;
        pos++;
      }
    }
    r = end + 1;
  }
  const neg = order.length - pos;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

function routedAccuracy(scores: readonly number[], test: readonly Example[], share: number): number {
  const order = scores.map((s, i) => [s, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const k = Math.round(order.length * share);
  let ok = 0;
  for (let i = 0; i < k; i++) if (test[order[i]![1]]!.weakCorrect) ok++;
  return ok / k;
}

type Approach = (fit: readonly Example[], test: readonly Example[]) => number[];

const lr =
  (f: FeatureSet, l2: number): Approach =>
  (fit, test) => {
    const th = logistic(fit.map((e) => hashed(e, f)), fit.map((e) => (e.weakCorrect ? 0 : 1)), l2);
    return test.map((e) => dot(th, hashed(e, f)));
  };
const words = { bigrams: false, chars: false, subject: false };

/**
 * Distillation: the hashed LR trained on kNN scores of the fit prompts (each scored by a kNN that did not see it:
 * 5 inner folds), mixed with the 0/1 label. Same model size and speed as the plain LR.
 */
const distilled =
  (mix: number): Approach =>
  (fit, test) => {
    const soft = new Array<number>(fit.length).fill(0);
    const inner = fit.map((e) => createHash('sha256').update(`inner:${e.prompt}`).digest().readUInt32BE(0) % 5);
    for (let f = 0; f < 5; f++) {
      const idx = fit.map((_, i) => i).filter((i) => inner[i] === f);
      const scores = knn(fit.filter((_, i) => inner[i] !== f), idx.map((i) => fit[i]!), 100);
      idx.forEach((i, j) => (soft[i] = scores[j]!));
    }
    const y = fit.map((e, i) => mix * (e.weakCorrect ? 0 : 1) + (1 - mix) * soft[i]!);
    const th = logistic(fit.map((e) => hashed(e, words)), y, 1e-4);
    return test.map((e) => dot(th, hashed(e, words)));
  };

const APPROACHES: [string, Approach][] = [
  ['hashed LR: question + option tokens', lr(words, 1e-4)],
  ['hashed LR: + word bigrams', lr({ ...words, bigrams: true }, 1e-4)],
  ['hashed LR: + word bigrams + char 3-5-grams', lr({ ...words, bigrams: true, chars: true }, 1e-4)],
  ['kNN over TF-IDF, k=100', (fit, test) => knn(fit, test, 100)],
  [
    'rank average: hashed LR 0.3 + kNN 0.7',
    (fit, test) => {
      const a = ranks(lr(words, 1e-4)(fit, test));
      const b = ranks(knn(fit, test, 100));
      return a.map((x, i) => 0.3 * x + 0.7 * b[i]!);
    },
  ],
  ['hashed LR distilled from kNN (label 0)', distilled(0)],
  ['hashed LR distilled from kNN (label 0.5)', distilled(0.5)],
  ['nearest centroids, K=300, 50 terms, m=3', (fit, test) => centroids(fit, test, 300, 50, 3)],
  ['nearest centroids, K=150, 100 terms, m=3', (fit, test) => centroids(fit, test, 150, 100, 3)],
  [
    'rank average: hashed LR 0.3 + centroids(300) 0.7',
    (fit, test) => {
      const a = ranks(lr(words, 1e-4)(fit, test));
      const b = ranks(centroids(fit, test, 300, 50, 3));
      return a.map((x, i) => 0.3 * x + 0.7 * b[i]!);
    },
  ],
  [
    'reference: told the subject (train rate)',
    (fit, test) => {
      const rate = new Map<string, [number, number]>();
      for (const e of fit) {
        const r = rate.get(e.source) ?? [0, 0];
        r[0] += e.weakCorrect ? 0 : 1;
        r[1] += 1;
        rate.set(e.source, r);
      }
      return test.map((e) => {
        const r = rate.get(e.source) ?? [0, 1];
        return r[0] / r[1];
      });
    },
  ],
  ['reference: told the subject + hashed LR tokens', lr({ ...words, subject: true }, 1e-4)],
];

function main(): void {
  const train = loadExamples().filter((e) => e.split === 'train');
  const fold = (e: Example) => createHash('sha256').update(`cv:${e.prompt}`).digest().readUInt32BE(0) % 5;
  const only = process.argv[2];
  console.log(`5-fold cross-validation on the train split (${train.length} prompts); weak-correct among routed:\n`);
  console.log(`${'approach'.padEnd(48)} |    20% |    40% |    60% |   AUC`);
  console.log(`${'-'.repeat(48)}-|--------|--------|--------|------`);
  for (const [name, run] of APPROACHES) {
    if (only && !name.includes(only)) continue;
    const sum = SHARES.map(() => 0);
    let area = 0;
    for (let f = 0; f < 5; f++) {
      const fit = train.filter((e) => fold(e) !== f);
      const test = train.filter((e) => fold(e) === f);
      const scores = run(fit, test);
      SHARES.forEach((s, i) => (sum[i]! += routedAccuracy(scores, test, s) / 5));
      area += auc(scores, test) / 5;
    }
    console.log(`${name.padEnd(48)} | ${sum.map((x) => `${(x * 100).toFixed(1)}%`.padStart(6)).join(' | ')} | ${area.toFixed(3)}`);
  }
}

main();
