import { z } from 'zod';
import { modelPriceOverrideSchema, type ModelPriceOverride } from '../usage/pricing.js';

/** Ids people type in the CLI and see in reports: short, no spaces, no surprises in URLs or SQL. */
const id = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$/, 'use letters, digits, "_", ".", "@" or "-" (at most 128 characters)');

/** Per-million-token prices in USD, for self-hosted or not-yet-catalogued models (one schema, shared with pricing). */
export const modelPriceSchema = modelPriceOverrideSchema;
export type ModelPrice = ModelPriceOverride;

export const PROVIDER_TYPES = ['openai', 'anthropic', 'openai-compatible'] as const;
export type ProviderType = (typeof PROVIDER_TYPES)[number];

const providerSchema = z
  .object({
    type: z.enum(PROVIDER_TYPES).describe('Wire format: openai, anthropic, or openai-compatible (vLLM, Ollama, OpenRouter, Azure OpenAI…)'),
    baseUrl: z
      .url({ protocol: /^https?$/, error: 'must be an http(s) URL, e.g. https://api.openai.com/v1' })
      .describe('OpenAI style includes /v1 (like OPENAI_BASE_URL); Anthropic style does not (like ANTHROPIC_BASE_URL)'),
    apiKey: z.string().optional().describe('Use ${ENV_VAR}; never commit a key. Optional for local servers.'),
    /** Extra headers sent upstream, e.g. Azure's `api-key`, OpenRouter's `HTTP-Referer`. */
    headers: z.record(z.string(), z.string()).optional(),
    /** Query parameters appended upstream, e.g. Azure's `api-version`. */
    query: z.record(z.string(), z.string()).optional(),
    /**
     * Model names (or `prefix*` globs) this provider serves. Defaults: openai serves gpt-*, o1*, o3*, o4*, chatgpt-*,
     * text-embedding-*, …; anthropic serves claude-*; openai-compatible serves only what is listed here or in `models`.
     */
    models: z.array(z.string().min(1)).optional(),
    timeoutMs: z
      .number()
      .int()
      .positive()
      .optional()
      .describe('Time to wait for response headers and between stream chunks (default server.upstreamTimeoutMs)'),
  })
  .strict();
export type ProviderConfig = z.infer<typeof providerSchema>;

const modelSchema = z
  .object({
    name: z.string().min(1).describe('The model name clients send'),
    provider: id.describe('A key of `providers`'),
    upstreamName: z.string().min(1).optional().describe('The name sent upstream, when it differs (e.g. an Azure deployment)'),
    price: modelPriceSchema.optional().describe('Overrides the price catalogue for this model'),
  })
  .strict();
export type ModelConfig = z.infer<typeof modelSchema>;

const teamSchema = z.object({ id, name: z.string().optional() }).strict();
const userSchema = z
  .object({ id, team: id.optional(), email: z.string().optional(), name: z.string().optional() })
  .strict();
const projectSchema = z.object({ id, team: id.optional(), repo: z.string().optional() }).strict();

export const serverSchema = z
  .object({
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8787),
    /**
     * 32 MiB: Anthropic accepts request bodies up to 32 MB and OpenAI about as much; a larger body is a mistake
     * (a pasted binary, a runaway agent) and is refused with 413 before it costs anything.
     */
    bodyLimitBytes: z.number().int().positive().default(32 * 1024 * 1024),
    /**
     * 10 minutes: long reasoning requests can take minutes before the first byte; beyond this the client gets 504.
     */
    upstreamTimeoutMs: z.number().int().positive().default(600_000),
  })
  .strict();

export const configSchema = z
  .object({
    server: serverSchema.default(serverSchema.parse({})),
    db: z.string().optional().describe('SQLite file path (default ./.goodhart/goodhart.db, or $GOODHART_DB)'),
    providers: z.record(id, providerSchema).default({}),
    models: z.array(modelSchema).default([]),
    teams: z.array(teamSchema).default([]),
    users: z.array(userSchema).default([]),
    projects: z.array(projectSchema).default([]),
  })
  .strict();

export type GoodhartConfig = z.infer<typeof configSchema>;
export type GoodhartConfigInput = z.input<typeof configSchema>;
