import type { Amounts } from './state.js';
import type { AdmissionRequest } from './types.js';
import { imageTokens } from '../usage/estimate.js';
import {
  billed,
  billingAsked,
  cheapInputBound,
  choicesOf,
  declaredMaxOutput,
  exactInputBound,
  generates,
  hearsAudio,
  modelOutputLimit,
  speaks,
  TOOL_RESULT_TOKENS,
  toolCallsAllowed,
  type ToolCallAllowance,
  type WorstCaseExtras,
  type WorstCasePricer,
} from './worst-case.js';

const NO_LIMITS: ReadonlyMap<string, number> = new Map();

/** The catalogue's provider id: OpenAI-compatible servers are matched by model name alone (as the proxy prices). */
export const catalogueProvider = (provider: string, type: string): string => (type === 'openai-compatible' ? provider : type);

/**
 * The worst-case cost of one request, refined on demand: first from the body's byte count (free), then, only
 * when that does not fit a budget or a limit, from a real token count.
 */
export class Quote {
  readonly bill: boolean;
  /** The output cap the client declared (× `n` choices), or null. */
  readonly declared: number | null;
  /** Choices asked for (chat `n`), each generating up to the output cap. */
  private readonly choices: number;
  /** Input tokens: an upper bound, exact once `countExactly` has run. */
  input: number;
  /** Built-in tool calls the request allows (web and file search), billed per call. */
  private readonly tools: readonly ToolCallAllowance[];
  /** Input tokens those calls may add (what they read), on top of the body's. */
  private readonly toolInput: number;
  /** What the pricer adds to the tokens: those calls, and the service tier asked for (`service_tier`, `speed`). */
  private readonly extras: WorstCaseExtras | undefined;
  /** The same, the output spoken (a model that speaks, or `modalities` asking for audio); made when needed. */
  private spoken: WorstCaseExtras | undefined;
  private counted: boolean;
  private readonly provider: string;

  constructor(
    private readonly req: AdmissionRequest,
    private readonly pricer: WorstCasePricer,
    private readonly outputLimits: ReadonlyMap<string, number> = NO_LIMITS,
  ) {
    this.bill = billed(req.endpoint);
    this.declared = declaredMaxOutput(req.endpoint, req.body);
    this.choices = req.endpoint === 'chat.completions' ? choicesOf(req.body) : 1;
    // Images given by URL are a few bytes for hundreds of tokens: their estimates are added to the byte bound.
    this.input = this.bill ? cheapInputBound(req.bodyBytes) + imageTokens(req.endpoint, req.body) : 0;
    this.counted = !this.bill;
    this.tools = this.bill ? toolCallsAllowed(req.endpoint, req.body) : [];
    this.toolInput = this.tools.reduce((n, t) => n + t.calls, 0) * TOOL_RESULT_TOKENS;
    const billing = this.bill ? billingAsked(req.body) : undefined;
    this.extras = this.tools.length > 0 || billing !== undefined ? { tools: this.tools, billing } : undefined;
    this.provider = catalogueProvider(req.provider, req.providerType);
  }

  /** Whether the request allows built-in tool calls (reserved per call). */
  get toolCalls(): boolean {
    return this.tools.length > 0;
  }

  /** Counts the input with the tokenizer; true when that lowered the bound (worth trying again). */
  countExactly(): boolean {
    if (this.counted) return false;
    this.counted = true;
    if (hearsAudio(this.req.endpoint, this.req.body)) return false;
    const exact = exactInputBound(this.req.endpoint, this.req.providerType, this.req.body);
    if (exact >= this.input) return false;
    this.input = exact;
    return true;
  }

  output(model: string): number {
    if (!generates(this.req.endpoint)) return 0;
    // Without a declared cap, each of the `n` choices may reach the model's limit.
    return this.declared ?? modelOutputLimit(model, this.outputLimits) * this.choices;
  }

  /**
   * USD (NaN when the model has no price) and tokens. Anthropic input is priced as 1-hour cache writes, its dearest.
   * Built-in tool calls the request allows are priced per call, and what they read as input (TOOL_RESULT_TOKENS each);
   * a dearer service tier asked for (priority, fast mode) at its price; output that may be spoken at the audio rate.
   */
  cost(model: string): Amounts {
    if (!this.bill) return { usd: 0, tokens: 0 };
    // A model routed by its provider's prefix (`oai/gpt-5`) is priced as the model that provider is sent (`gpt-5`).
    const prefix = `${this.req.provider}/`;
    const priced = model.startsWith(prefix) ? model.slice(prefix.length) : model;
    const output = this.output(priced);
    const input = this.input + this.toolInput;
    const extras = output > 0 && speaks(this.req.body, priced) ? (this.spoken ??= { ...this.extras, audio: true }) : this.extras;
    const usd = this.pricer.cost(priced, this.provider, input, output, this.req.providerType === 'anthropic', extras);
    return { usd: usd ?? Number.NaN, tokens: input + output };
  }

  /** Tokens a per-minute limit reserves: input and the declared output (undeclared output is counted as it comes). */
  rateTokens(): number {
    return this.bill ? this.input + (this.declared ?? 0) : 0;
  }
}
