/**
 * Request bodies, validated at the edge (zod). Loose objects: the real APIs accept many more fields than the
 * simulator reads, and a client sending them must not get a 400. Content blocks stay `unknown` and are read
 * defensively by prompt.ts.
 */
import { z } from 'zod';
import { SimError } from './errors.js';
import type { SimProviderId } from './models.js';

const positiveInt = z.number().int().min(1);

export const ChatCompletionBody = z.looseObject({
  model: z.string(),
  messages: z.array(z.looseObject({ role: z.string(), content: z.unknown().optional() })).min(1),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
  max_tokens: positiveInt.nullish(),
  max_completion_tokens: positiveInt.nullish(),
  tools: z
    .array(
      z.looseObject({
        type: z.string().optional(),
        function: z.looseObject({ name: z.string(), description: z.string().nullish(), parameters: z.unknown().optional() }),
      }),
    )
    .nullish(),
  tool_choice: z
    .union([z.string(), z.looseObject({ type: z.string(), function: z.looseObject({ name: z.string() }).optional() })])
    .nullish(),
  stop: z.union([z.string(), z.array(z.string())]).nullish(),
  reasoning_effort: z.string().nullish(),
  service_tier: z.string().nullish(),
  modalities: z.array(z.string()).nullish(),
  audio: z.looseObject({ voice: z.unknown().optional(), format: z.string().optional() }).nullish(),
});
export type ChatCompletionBody = z.infer<typeof ChatCompletionBody>;

export const ResponsesBody = z.looseObject({
  model: z.string(),
  input: z.union([z.string(), z.array(z.unknown())]),
  instructions: z.string().nullish(),
  stream: z.boolean().nullish(),
  max_output_tokens: positiveInt.nullish(),
  tools: z
    .array(
      z.looseObject({
        type: z.string(),
        name: z.string().optional(),
        description: z.string().nullish(),
        parameters: z.unknown().optional(),
      }),
    )
    .nullish(),
  tool_choice: z.union([z.string(), z.looseObject({ type: z.string(), name: z.string().optional() })]).nullish(),
  reasoning: z.looseObject({ effort: z.string().nullish() }).nullish(),
  store: z.boolean().nullish(),
  temperature: z.number().nullish(),
  top_p: z.number().nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
  service_tier: z.string().nullish(),
});
export type ResponsesBody = z.infer<typeof ResponsesBody>;

const tokenArray = z.array(z.number().int().min(0));
export const EmbeddingsBody = z.looseObject({
  model: z.string(),
  input: z.union([z.string(), z.array(z.string()).min(1), tokenArray.min(1), z.array(tokenArray.min(1)).min(1)]),
  encoding_format: z.enum(['float', 'base64']).nullish(),
  dimensions: positiveInt.nullish(),
});
export type EmbeddingsBody = z.infer<typeof EmbeddingsBody>;

export const CacheControl = z.looseObject({ type: z.literal('ephemeral'), ttl: z.enum(['5m', '1h']).optional() });

const anthropicPrompt = {
  model: z.string(),
  messages: z
    .array(z.looseObject({ role: z.enum(['user', 'assistant']), content: z.union([z.string(), z.array(z.unknown())]) }))
    .min(1),
  system: z
    .union([
      z.string(),
      z.array(z.looseObject({ type: z.string(), text: z.string().optional(), cache_control: CacheControl.nullish() })),
    ])
    .nullish(),
  tools: z
    .array(
      z.looseObject({
        /** Absent or `custom` for client tools; server tools name their version (`web_search_20250305`). */
        type: z.string().optional(),
        name: z.string(),
        max_uses: positiveInt.optional(),
        description: z.string().optional(),
        input_schema: z.unknown().optional(),
        cache_control: CacheControl.nullish(),
      }),
    )
    .nullish(),
  tool_choice: z.looseObject({ type: z.string(), name: z.string().optional() }).nullish(),
  thinking: z.looseObject({ type: z.string(), budget_tokens: positiveInt.optional() }).nullish(),
  cache_control: CacheControl.nullish(),
};

export const CountTokensBody = z.looseObject(anthropicPrompt);
export type CountTokensBody = z.infer<typeof CountTokensBody>;

export const MessagesBody = z.looseObject({
  ...anthropicPrompt,
  max_tokens: positiveInt,
  stop_sequences: z.array(z.string()).nullish(),
  stream: z.boolean().nullish(),
  speed: z.enum(['standard', 'fast']).nullish(),
});
export type MessagesBody = z.infer<typeof MessagesBody>;

/** Validates a body, turning the first problem into a 400 worded the way each provider words it. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown, provider: SimProviderId): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue === undefined ? '' : issue.path.map(String).join('.');
  const missing = issue?.code === 'invalid_type' && issue.message.includes('received undefined');
  if (provider === 'anthropic') {
    const text = missing ? 'Field required' : (issue?.message ?? 'Invalid request');
    throw new SimError(400, path === '' ? text : `${path}: ${text}`);
  }
  if (missing) {
    throw new SimError(400, `Missing required parameter: '${path}'.`, { param: path, openaiCode: 'missing_required_parameter' });
  }
  throw new SimError(400, `Invalid value for '${path}': ${issue?.message ?? 'invalid'}.`, {
    param: path === '' ? null : path,
    openaiCode: 'invalid_value',
  });
}
