import type { Rng } from './random.js';

/**
 * Synthetic prompt text: only ever fingerprinted and then dropped. It has to behave like real prompts where the
 * detectors look: prompts of one project share vocabulary (so unrelated prompts are not trivially dissimilar), a
 * rewording keeps most of the content words, simple requests read like simple requests to the routing classifier.
 */

const NOUNS = (
  'ledger invoice tenant billing account session token cache queue worker scheduler parser lexer router handler ' +
  'middleware migration schema index table column query cursor batch stream buffer socket client server gateway ' +
  'endpoint webhook payload header cookie config flag feature rollout metric counter histogram trace span logger ' +
  'report dashboard widget form button modal layout theme component hook reducer store selector action effect ' +
  'test fixture mock snapshot coverage build bundle pipeline deploy release branch commit merge conflict rebase ' +
  'docker image container cluster pod service ingress secret volume backup restore replica shard partition lock ' +
  'mutex thread pool timeout retry backoff circuit limiter quota budget price currency tax discount coupon cart ' +
  'order shipment warehouse inventory product catalog search ranking embedding vector model prompt dataset label ' +
  'user profile avatar permission role policy audit event notification email template locale translation'
).split(' ');

const VERBS = 'fix add implement update write refactor debug remove extend rework simplify optimise port wire handle support'.split(' ');
const FILES = 'src/api src/core src/db src/ui src/jobs src/auth src/billing src/search lib/util test/e2e scripts'.split(' ');
const CLAUSES = [
  'it no longer drops the last item',
  'the retry does not loop forever',
  'it handles an empty response',
  'the totals match the report',
  'it survives a restart',
  'the flaky test passes reliably',
  'errors are reported with the request id',
  'the old path keeps working during the rollout',
  'it stops leaking connections under load',
  'the pagination cursor is stable',
];
const COMPLEX_TAILS = [
  'Explain the trade-offs before changing anything.',
  'Why does this happen only under concurrency? Investigate the race first.',
  'Design the migration so it can run without downtime.',
  'Analyze the performance and propose two alternatives.',
  'Keep the public interface; add tests for the edge cases.',
  'Check how the other services call it before you refactor.',
];
const SIMPLE = [
  (r: Rng): string => `convert this date to ISO 8601: ${r.int(1, 28)} March ${r.int(2019, 2026)}`,
  (r: Rng): string => `what is the capital of ${r.pick(['France', 'Peru', 'Kenya', 'Japan', 'Canada', 'Norway'])}`,
  (r: Rng): string => `rename ${r.pick(NOUNS)}Id to ${r.pick(NOUNS)}Key in this line`,
  (r: Rng): string => `translate "the ${r.pick(NOUNS)} could not be saved" to ${r.pick(['German', 'French', 'Spanish', 'Italian'])}`,
  (r: Rng): string => `summarize in one sentence: the ${r.pick(NOUNS)} now uses the new ${r.pick(NOUNS)}`,
  (r: Rng): string => `format this as json: name ${r.pick(NOUNS)}, count ${r.int(1, 99)}`,
  (r: Rng): string => `spell check: recieve the ${r.pick(NOUNS)} adress`,
  (r: Rng): string => `list three synonyms for ${r.pick(['quick', 'large', 'careful', 'simple'])}`,
  (r: Rng): string => `regex for a ${r.pick(['date', 'uuid', 'email', 'semver'])} string`,
  (r: Rng): string => `uppercase this: ${r.pick(NOUNS)} ${r.pick(NOUNS)}`,
];

/** A project's vocabulary: a subset of the shared nouns, so its prompts overlap the way one codebase's do. */
export function projectVocabulary(rng: Rng): string[] {
  return rng.shuffle([...NOUNS]).slice(0, 36);
}

/** A coding task for an agent: 15–70 words, sometimes with code or reasoning wording. */
export function taskPrompt(rng: Rng, vocab: readonly string[]): string {
  const w = (): string => rng.pick(vocab);
  const parts = [
    `${rng.pick(VERBS)} the ${w()} ${w()} in ${rng.pick(FILES)}/${w()}.ts so that ${rng.pick(CLAUSES)}.`,
    `The ${w()} ${w()} calls the ${w()} ${w()} before the ${w()} is ready.`,
  ];
  const extra = rng.int(0, 3);
  for (let i = 0; i < extra; i++) parts.push(`Also ${rng.pick(VERBS)} the ${w()} ${w()} and the ${w()}.`);
  if (rng.chance(0.4)) parts.push(rng.pick(COMPLEX_TAILS));
  if (rng.chance(0.25)) parts.push(`\`\`\`ts\nconst ${w()} = await ${w()}.get(${w()}Id);\nif (!${w()}) throw new Error('${w()}');\n\`\`\``);
  return parts.join(' ');
}

const OPENERS = ['ok', 'thanks', 'good', 'nice', 'hmm', 'right', 'great', 'alright', 'sure', 'perfect', ''];
const ASKS = [
  (w: () => string, v: () => string): string => `now ${v()} the ${w()} ${w()} too`,
  (w: () => string, v: () => string): string => `can you ${v()} ${w()} handling in the ${w()}`,
  (w: () => string): string => `the ${w()} still breaks when ${w()} is empty`,
  (w: () => string): string => `run the ${w()} tests again and show me the failures`,
  (w: () => string, v: () => string): string => `${v()} a test for the ${w()} ${w()} case`,
  (w: () => string): string => `why is ${w()} slower after this`,
  (w: () => string): string => `move the ${w()} logic into its own module next to ${w()}`,
  (w: () => string): string => `commit this with a message about the ${w()}`,
  (w: () => string): string => `what happens to ${w()} if the ${w()} times out`,
  (w: () => string, v: () => string): string => `please ${v()} the ${w()} docs to match`,
  (w: () => string): string => `use the existing ${w()} helper instead of a new ${w()}`,
  (w: () => string): string => `revert the change to ${w()} and keep the rest`,
  (w: () => string): string => `check the ${w()} callers in ${w()} before renaming`,
  (w: () => string): string => `add logging around the ${w()} retry`,
  (w: () => string): string => `the types in ${w()} don't line up with ${w()}`,
  (w: () => string): string => `split the ${w()} function, it does too much`,
];
const TAILS = ['', '', '', 'then run the build', 'keep it minimal', 'no new dependencies', 'and update the changelog', 'same for the other endpoints', 'be careful with the migration'];

/** A follow-up in the same conversation: new instructions on the same code (shares some nouns, not the wording). */
export function followUp(rng: Rng, vocab: readonly string[], previous: string): string {
  const prevWords = previous.split(/\W+/).filter((x) => vocab.includes(x));
  const w = (): string => (prevWords.length > 0 && rng.chance(0.3) ? rng.pick(prevWords) : rng.chance(0.6) ? rng.pick(vocab) : rng.pick(NOUNS));
  const v = (): string => rng.pick(VERBS);
  const parts = [rng.pick(OPENERS), rng.pick(ASKS)(w, v)];
  if (rng.chance(0.4)) parts.push(rng.pick(ASKS)(w, v));
  parts.push(rng.pick(TAILS));
  return parts.filter((x) => x.length > 0).join(rng.chance(0.5) ? ', ' : '. ');
}

export function simplePrompt(rng: Rng): string {
  return rng.pick(SIMPLE)(rng);
}

const DOC_QUESTIONS = [
  (w: () => string, n: number): string => `what does section ${n} say about ${w()} ${w()}`,
  (w: () => string): string => `is there anything on ${w()} limits or ${w()} retention`,
  (w: () => string): string => `list the requirements for the ${w()} ${w()}`,
  (w: () => string): string => `does it mention how ${w()} and ${w()} interact`,
  (w: () => string, n: number): string => `summarize chapter ${n}`,
  (w: () => string): string => `who owns the ${w()} according to this`,
  (w: () => string): string => `find every place the ${w()} ${w()} is defined`,
  (w: () => string): string => `compare the ${w()} proposal with the current ${w()}`,
  (w: () => string): string => `what are the open questions about ${w()}`,
  (w: () => string, n: number): string => `explain table ${n} in plain words`,
  (w: () => string): string => `which deadlines apply to the ${w()} migration`,
  (w: () => string): string => `draft three test cases for the ${w()} rules described here`,
];

/** A question about a large document pasted before it. */
export function docQuestion(rng: Rng, vocab: readonly string[]): string {
  const w = (): string => (rng.chance(0.6) ? rng.pick(vocab) : rng.pick(NOUNS));
  return rng.pick(DOC_QUESTIONS)(w, rng.int(1, 12));
}

const FILLERS = ['please', 'again', 'no,', 'I mean', 'actually', 'just', 'again:', 'that is not it.', 'try again:'];
const SWAP: Record<string, string> = { fix: 'repair', add: 'include', update: 'change', write: 'create', remove: 'delete', debug: 'investigate', handle: 'deal with' };

const CLARIFY = ['it is in', 'the error says', 'I mean the one in', 'do not touch', 'only change', 'like before but with', 'the problem is the'];

/**
 * A rewording, the way people edit a prompt that did not work: keeps a share `keep` of the words (the others are
 * dropped or swapped for a synonym or another project word), often adds a clarification, sometimes moves a clause,
 * and adds a filler or two.
 */
export function reword(rng: Rng, text: string, vocab: readonly string[], keep: number): string {
  const words = text.split(/\s+/).filter((x) => x.length > 0);
  const out: string[] = [];
  for (const word of words) {
    if (rng.chance(keep)) out.push(word);
    else if (rng.chance(0.5)) out.push(SWAP[word] ?? rng.pick(vocab));
  }
  if (rng.chance(0.6)) out.push(`${rng.pick(CLARIFY)} the ${rng.pick(vocab)} ${rng.pick(vocab)}`);
  if (out.length > 6 && rng.chance(0.3)) {
    const cut = rng.int(2, out.length - 2);
    out.push(...out.splice(0, cut));
  }
  const fillers = rng.int(1, 2);
  for (let i = 0; i < fillers; i++) out.splice(rng.int(0, out.length), 0, rng.pick(FILLERS));
  return out.join(' ');
}

const TOOLS = ['Read', 'Edit', 'Bash', 'Grep', 'Glob', 'Write'];

/** One agent step: the tool call and its result (the result text only needs to differ when the outcome differs). */
export function toolStep(rng: Rng, vocab: readonly string[], sessionSeed: number, step: number): { calls: string; results: string } {
  const tool = rng.pick(TOOLS);
  const arg = tool === 'Bash' ? rng.pick(['npm test', 'npm run build', 'git status', 'git diff', 'npx tsc --noEmit']) : `${rng.pick(FILES)}/${rng.pick(vocab)}.ts`;
  return { calls: `${tool} {"arg":"${arg}"}`, results: `result ${sessionSeed}:${step}` };
}
