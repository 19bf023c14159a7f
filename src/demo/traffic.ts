import { createRng } from '../sim/random.js';
import { mayUsePremium, type DemoPerson } from './org.js';

/**
 * What the demo's people send. Regular traffic: each person works through the prompt list in an order of their own,
 * so nobody repeats a question within minutes (repeating one every minute and a half, as the demo once did, is a
 * rephrase loop that never ends, and a loop is reported only once it ends). Scripted episodes: one person rewords one
 * question four times, as people do when the answers keep missing, which live detection reports as it ends.
 */

export interface DemoCall {
  path: string;
  body: Record<string, unknown>;
}

/** A small deterministic generator (the simulator's mulberry32): the demo's traffic and history are the same at every start. */
export const rng = createRng;

export function pickOf<T>(xs: readonly T[], r: () => number): T {
  return xs[Math.floor(r() * xs.length) % xs.length]!;
}

/** Distinct questions: no two share enough words to look like a rewording of each other. */
export const PROMPTS: readonly string[] = [
  'Summarise the attached incident report in three bullet points.',
  'Write a unit test for a function that parses ISO dates.',
  'Explain the difference between optimistic and pessimistic locking.',
  'Refactor this function to avoid the nested loops and explain the complexity.',
  'Draft a short changelog entry for the new retry policy.',
  'What is 17% of 2,340? Show the steps.',
  'Suggest names for a service that reconciles card settlements overnight.',
  'How do I make a Postgres index build without locking writes?',
  'Review this SQL migration for anything that could block production traffic.',
  'Translate this error message for a customer-facing status page.',
  'Which HTTP status should an API return when a quota is exhausted, and why?',
  'Write a bash one-liner that finds the ten largest files under /var/log.',
  'Compare gRPC and REST for internal service calls in a small team.',
  'Outline a rollback plan for a feature flag that corrupted cached sessions.',
  'Explain what a p99 latency budget means to a product manager.',
  'Generate five realistic test fixtures for a multi-currency invoice.',
  'Why would a Kubernetes pod stay in CrashLoopBackOff after a config change?',
  'Turn these meeting notes into action items with owners.',
  'Propose a schema for storing feature usage events with retention in mind.',
  'Explain the tradeoffs of UUIDv7 against auto-increment primary keys.',
  'Write a regex that validates IBANs loosely, and list its limits.',
  'Give a checklist for reviewing a pull request that touches authentication.',
  'How should we version a public webhook payload without breaking consumers?',
  'Estimate the monthly storage for ten million small JSON documents.',
];

const SYSTEM = 'You are a careful senior engineer. '.repeat(200);

/**
 * The models a person uses, by the API they call: everyone the same ones (a model only one colleague uses is left out
 * of a member's team page), seniors and leads the premium tier's too.
 */
function models(p: DemoPerson): { chat: string[]; messages: string[]; responses: string[] } {
  return mayUsePremium(p)
    ? { chat: ['gpt-4o-mini', 'gpt-4.1', 'gpt-5-mini', 'gpt-4o'], messages: ['claude-sonnet-4-5', 'claude-opus-4-1', 'claude-haiku-4-5'], responses: ['gpt-5'] }
    : { chat: ['gpt-4o-mini', 'gpt-4.1', 'gpt-5-mini', 'gpt-4o'], messages: ['claude-haiku-4-5', 'claude-sonnet-4-5'], responses: ['gpt-5-mini'] };
}

/** The APIs the demo calls, in turn: every ten requests hold each of them (chat and messages most). */
const KINDS = ['chat', 'messages', 'responses', 'messages', 'chat', 'embeddings', 'messages', 'chat', 'messages', 'responses'] as const;

/** The `n`th regular request, of `p`, asking `prompt`. */
export function regularCall(p: DemoPerson, prompt: string, r: () => number, n: number): DemoCall {
  const m = models(p);
  const stream = r() < 0.7;
  const kind = KINDS[n % KINDS.length]!;
  if (kind === 'chat') {
    return { path: '/v1/chat/completions', body: { model: pickOf(m.chat, r), stream, messages: [{ role: 'user', content: prompt }] } };
  }
  if (kind === 'messages') {
    return {
      path: '/v1/messages',
      body: {
        model: pickOf(m.messages, r),
        max_tokens: 1024,
        stream,
        system: [{ type: 'text', text: SYSTEM, cache_control: { type: 'ephemeral' } }],
        messages: [{ role: 'user', content: prompt }],
      },
    };
  }
  if (kind === 'responses') return { path: '/v1/responses', body: { model: pickOf(m.responses, r), stream, input: prompt } };
  return { path: '/v1/embeddings', body: { model: 'text-embedding-3-small', input: [prompt, pickOf(PROMPTS, r)] } };
}

/**
 * Regular traffic: who sends the next request, and what. Each person walks the prompt list from a start and with a
 * stride of their own, so their questions repeat only after the whole list (minutes apart: no rephrase loop).
 */
export class RegularTraffic {
  private readonly r: () => number;
  private readonly seen = new Map<string, number>();
  private sent = 0;

  constructor(
    private readonly people: readonly DemoPerson[],
    seed = 7,
  ) {
    this.r = rng(seed);
  }

  next(): { person: DemoPerson; call: DemoCall; session: string } {
    const person = pickOf(this.people, this.r);
    const n = this.seen.get(person.id) ?? 0;
    this.seen.set(person.id, n + 1);
    const i = this.people.indexOf(person);
    const prompt = PROMPTS[(i * 5 + n * (i % 2 === 0 ? 7 : 5)) % PROMPTS.length]!;
    // A session per eight requests of a person: one after another, never many at once (fan-out's pattern).
    return { person, call: regularCall(person, prompt, this.r, this.sent++), session: `demo-${person.id}-${Math.floor(n / 8)}` };
  }
}

/**
 * A rephrase loop: four tries at one question, each reworded after reading the answer. The rule asks for 4 tries
 * or more, the second on at least 15 s after the last answer, 40 s apart on the median, irregular (a timer is an
 * idle loop), each within `maxGapMinutes` (the demo's: 1) of the last; the tries in between must have cost $0.02 or
 * more (the superseded answers), hence the file pasted before the question (about 6k tokens on claude-sonnet-4-5).
 */
export const LOOP_TRIES: readonly string[] = [
  'fix the failing ledger sync test in ledger.ts so the retry does not loop forever on an empty batch',
  'please fix the failing ledger sync test in ledger.ts, the retry still loops forever on an empty batch',
  'no, fix the ledger sync test in ledger.ts: the retry loops forever when the batch is empty',
  'again: the ledger sync test in ledger.ts fails because the retry loops forever on an empty batch, fix it',
];
/** Seconds from the first try: gaps of 24, 45 and 52 s (median 45, irregular). */
export const LOOP_AT_S: readonly number[] = [0, 24, 69, 121];
export const LOOP_MODEL = 'claude-sonnet-4-5';

/** A source file of about 22 KB (6k tokens), the same at every start: the context of the loop's question. */
export function ledgerSource(): string {
  const out: string[] = ['// ledger.ts: settles card batches into the ledger, retrying transient failures.\n'];
  for (let i = 0; i < 60; i++) {
    out.push(
      `export async function settleBatch${i}(batch: Entry[], attempt = 0): Promise<number> {\n` +
        `  if (attempt > MAX_RETRIES_${i % 7}) throw new LedgerError('batch ${i} gave up after ' + attempt + ' tries');\n` +
        `  const posted = await post(batch.filter((e) => e.amount !== 0 && e.account !== 'ACC-${(i * 37) % 1000}'));\n` +
        `  return posted < batch.length ? settleBatch${i}(batch.slice(posted), attempt + 1) : posted;\n}\n`,
    );
  }
  return out.join('');
}

/** The Anthropic request of try `i`: the pasted file and an earlier answer, then the reworded question. */
export function loopCall(i: number, source = ledgerSource()): DemoCall {
  return {
    path: '/v1/messages',
    body: {
      model: LOOP_MODEL,
      max_tokens: 400,
      messages: [
        { role: 'user', content: `Here is our ledger module:\n\n${source}` },
        { role: 'assistant', content: 'Thanks, I have read ledger.ts. What would you like to change?' },
        { role: 'user', content: LOOP_TRIES[i]! },
      ],
    },
  };
}
