/**
 * Test helpers: OTLP/JSON payloads shaped as Claude Code's exporter (the OpenTelemetry JS SDK) and GenAI-instrumented
 * SDKs (opentelemetry-instrumentation-openai-v2) send them, with the points split or left out as a collector's batch
 * processor or a sampler would.
 */
export type Kv = { key: string; value: { stringValue: string } | { boolValue: boolean } | { intValue: string } | { doubleValue: number } };

export const kv = (key: string, v: string | number | boolean): Kv => ({
  key,
  value: typeof v === 'string' ? { stringValue: v } : typeof v === 'boolean' ? { boolValue: v } : Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v },
});

/** Epoch milliseconds as OTLP's nanosecond decimal string. */
export const nsOf = (ms: number): string => String(BigInt(ms) * 1_000_000n);

export const CLAUDE_CODE_RESOURCE = { attributes: [kv('service.name', 'claude-code'), kv('service.version', '2.0.37'), kv('os.type', 'linux'), kv('host.arch', 'x64')] };

/** Claude Code's standard attributes of one session (every metric point carries them). */
export const claudeCodeSession = (session: string, email: string): Kv[] => [
  kv('user.id', `hash-${email}`),
  kv('session.id', session),
  kv('app.version', '2.0.37'),
  kv('organization.id', 'org-1'),
  kv('user.email', email),
  kv('user.account_uuid', `acct-${email}`),
  kv('terminal.type', 'vscode'),
];

export type TokenType = 'input' | 'output' | 'cacheRead' | 'cacheCreation';

/**
 * One Claude Code metrics export of one model: `claude_code.token.usage` points of the types given and a
 * `claude_code.cost.usage` point when `cost` is given (as one request, or part of one when a collector split it).
 */
export function claudeCodeMetrics(opts: {
  session: Kv[];
  model: string;
  tokens: Partial<Record<TokenType, number>>;
  cost?: number;
  commits?: number;
  startMs: number;
  endMs: number;
  temporality: 1 | 2;
}) {
  const point = (v: number, extra: Kv[]) => ({ attributes: [...opts.session, ...extra], startTimeUnixNano: nsOf(opts.startMs), timeUnixNano: nsOf(opts.endMs), asDouble: v });
  const sum = (name: string, unit: string, dataPoints: ReturnType<typeof point>[]) => ({ name, unit, description: '', sum: { aggregationTemporality: opts.temporality, isMonotonic: true, dataPoints } });
  const model = kv('model', opts.model);
  const types = (['input', 'output', 'cacheRead', 'cacheCreation'] as const).filter((t) => opts.tokens[t] !== undefined);
  const metrics = [];
  if (types.length > 0) metrics.push(sum('claude_code.token.usage', 'tokens', types.map((t) => point(opts.tokens[t]!, [model, kv('type', t)]))));
  if (opts.cost !== undefined) metrics.push(sum('claude_code.cost.usage', 'USD', [point(opts.cost, [model])]));
  if (opts.commits !== undefined) metrics.push(sum('claude_code.commit.count', '', [point(opts.commits, [])]));
  return { resourceMetrics: [{ resource: CLAUDE_CODE_RESOURCE, scopeMetrics: [{ scope: { name: 'com.anthropic.claude_code', version: '2.0.37' }, metrics }] }] };
}

const GENAI_SCOPE = { name: 'opentelemetry.instrumentation.openai_v2' };
const genaiAttrs = (model: string) => [kv('gen_ai.operation.name', 'chat'), kv('gen_ai.provider.name', 'openai'), kv('gen_ai.request.model', model), kv('gen_ai.response.model', model)];

/** A GenAI SDK's `gen_ai.client.token.usage` histogram: the input and/or output point of one interval. */
export function genaiHistogram(opts: {
  resource: Kv[];
  model: string;
  tokens: { input?: number; output?: number };
  requests: number;
  startMs: number;
  endMs: number;
  temporality: 1 | 2;
}) {
  const dataPoints = (['input', 'output'] as const)
    .filter((t) => opts.tokens[t] !== undefined)
    .map((t) => ({
      attributes: [...genaiAttrs(opts.model), kv('gen_ai.token.type', t)],
      startTimeUnixNano: nsOf(opts.startMs),
      timeUnixNano: nsOf(opts.endMs),
      count: String(opts.requests),
      sum: opts.tokens[t]!,
      bucketCounts: ['0', String(opts.requests)],
      explicitBounds: [1],
    }));
  return {
    resourceMetrics: [{
      resource: { attributes: opts.resource },
      scopeMetrics: [{ scope: GENAI_SCOPE, metrics: [{ name: 'gen_ai.client.token.usage', unit: '{token}', histogram: { aggregationTemporality: opts.temporality, dataPoints } }] }],
    }],
  };
}

/** GenAI chat spans (one per request, as sampled) of one resource. */
export function genaiSpans(resource: Kv[], spans: { traceId: string; spanId: string; model: string; input: number; output: number; startMs: number; endMs: number }[]) {
  return {
    resourceSpans: [{
      resource: { attributes: resource },
      scopeSpans: [{
        scope: GENAI_SCOPE,
        spans: spans.map((s) => ({
          traceId: s.traceId,
          spanId: s.spanId,
          name: `chat ${s.model}`,
          kind: 3,
          startTimeUnixNano: nsOf(s.startMs),
          endTimeUnixNano: nsOf(s.endMs),
          attributes: [...genaiAttrs(s.model), kv('gen_ai.usage.input_tokens', s.input), kv('gen_ai.usage.output_tokens', s.output)],
          status: {},
        })),
      }],
    }],
  };
}
