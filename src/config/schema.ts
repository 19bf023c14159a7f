import { isIP } from 'node:net';
import { z } from 'zod';
import { governanceShape } from '../policy/config.js';
import { idSchema } from './id.js';
import { defaultRoutingConfig, routingSchema } from '../route/config.js';
import { detectConfigSchema } from '../detect/config.js';
import { outcomesConfigSchema } from '../outcomes/config.js';
import { modelPriceOverrideSchema, type ModelPriceOverride } from '../usage/pricing.js';

/** Ids people type in the CLI and see in reports (one definition, shared with governance and the admin API). */
const id = idSchema;

/** Per-million-token prices in USD, for self-hosted or not-yet-catalogued models (one schema, shared with pricing). */
export const modelPriceSchema = modelPriceOverrideSchema;
export type ModelPrice = ModelPriceOverride;

export const PROVIDER_TYPES = ['openai', 'anthropic', 'openai-compatible'] as const;
export type ProviderType = (typeof PROVIDER_TYPES)[number];

/**
 * Each type's usual base URL, for defaults and error messages: the official SDKs' (OpenAI's ends in /v1, Anthropic's
 * does not), and a local server's (Ollama) for openai-compatible.
 */
export const PROVIDER_BASE_URLS = {
  openai: 'https://api.openai.com/v1',
  anthropic: 'https://api.anthropic.com',
  'openai-compatible': 'http://127.0.0.1:11434/v1',
} as const satisfies Record<ProviderType, string>;

/** An id a provider's usage report names (key_…, apikey_…, proj_…, wrkspc_…): never a key itself. */
const reportedId = z
  .string()
  .min(1)
  .refine((s) => !/^sk-/i.test(s), 'the id the usage report shows (key_…, apikey_…, proj_…, wrkspc_…), not the API key itself: never put a key here');

/**
 * How the provider's admin usage report names this gateway's own upstream traffic: the id of the key in `apiKey`
 * (OpenAI `api_key_id`, key_…; Anthropic `api_key_id`, apikey_…), or a project used by the gateway alone (OpenAI
 * `project_id`, proj_…; Anthropic `workspace_id`, wrkspc_…). `goodhart import openai-usage|anthropic-usage` stores no
 * row carrying one of them: the gateway metered those requests itself.
 */
export const usageReportIdsSchema = z
  .object({
    apiKeyIds: z.array(reportedId).default([]).describe("The gateway's upstream keys, as the usage report's api_key_id (OpenAI key_…, Anthropic apikey_…)"),
    projectIds: z
      .array(reportedId)
      .default([])
      .describe('Projects only the gateway uses, as the usage report names them (OpenAI project_id proj_…, Anthropic workspace_id wrkspc_…)'),
  })
  .strict();

const providerSchema = z
  .object({
    type: z.enum(PROVIDER_TYPES).describe('Wire format: openai, anthropic, or openai-compatible (vLLM, Ollama, OpenRouter, Azure OpenAI…)'),
    baseUrl: z
      // load.ts adds the example for the provider's type (and says when it is missing).
      .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
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
    usageReportIds: usageReportIdsSchema
      .optional()
      .describe("openai, anthropic: how the provider's admin usage report names this gateway's own traffic (its key's id, its projects); imports of that report skip those rows, which the gateway metered"),
  })
  .strict();
export type ProviderConfig = z.infer<typeof providerSchema>;

const modelSchema = z
  .object({
    name: z.string().min(1).describe('The model name clients send'),
    provider: id.describe('A key of `providers`'),
    upstreamName: z.string().min(1).optional().describe('The name sent upstream, when it differs (e.g. an Azure deployment)'),
    price: modelPriceSchema.optional().describe('Overrides the price catalogue for this model'),
    maxOutputTokens: z
      .number()
      .int()
      .positive()
      .optional()
      .describe('Most output tokens the model can return: the worst case budgets reserve when a request sets no max_tokens'),
  })
  .strict();
export type ModelConfig = z.infer<typeof modelSchema>;

export const teamSchema = z.object({ id, name: z.string().optional() }).strict();
export const userSchema = z
  .object({
    id,
    team: id.optional(),
    email: z.string().optional(),
    name: z.string().optional(),
    role: id.optional().describe('Governance role (member, senior, lead, admin, finance…); default: defaultRole'),
  })
  .strict();
export const projectSchema = z
  .object({
    id,
    team: id.optional(),
    repo: z.string().optional(),
    providerIds: z
      .array(reportedId)
      .optional()
      .describe("The project's ids in the providers' usage reports (OpenAI project_id proj_…, Anthropic workspace_id wrkspc_…): imported rows of them go to this project"),
  })
  .strict();

/**
 * Audit mode attribution: who a piece of imported usage belongs to. The first rule whose every given `match` field
 * equals the event's (case-insensitive) wins; without a match the user is the email, else the OS user.
 */
const identitySchema = z
  .object({
    match: z
      .object({
        osUser: z.string().min(1).optional().describe('Login name on the machine the logs come from'),
        gitEmail: z.string().min(1).optional().describe('`git config user.email` in the directory the agent ran in'),
        email: z.string().min(1).optional().describe('Account email (OTel user.email, Claude Code analytics, usage APIs)'),
        account: z
          .string()
          .min(1)
          .optional()
          .describe('Account or user id: OTel user.account_uuid / user.id, OpenAI user_id, Anthropic account_id'),
        apiKey: z.string().min(1).optional().describe('Provider API key id or name (usage APIs)'),
      })
      .strict()
      .refine((m) => Object.values(m).some((v) => v !== undefined), 'give at least one of osUser, gitEmail, email, account, apiKey'),
    user: id.describe('The Goodhart user the usage is attributed to'),
    team: id.optional().describe("The team the usage is attributed to; default: the user's team in `users:`"),
  })
  .strict();
export type IdentityRule = z.infer<typeof identitySchema>;

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
    /**
     * Off by default: a gateway reached directly must not let any client say what its connection was. Behind a TLS
     * proxy (deploy/nginx.conf) the connection from the proxy is plain HTTP, so the dashboard's session cookie is
     * marked Secure only when X-Forwarded-Proto says https and the peer is trusted: `true` (any peer: the gateway is
     * reachable only through the proxy) or the proxies' addresses.
     */
    trustProxy: z
      .union([z.boolean(), z.array(z.string().refine(isProxyAddress, 'an IP address, a CIDR range (10.0.0.0/8) or loopback, linklocal, uniquelocal')).min(1)])
      .default(false)
      .describe('Honour X-Forwarded-Proto and X-Forwarded-For from a TLS-terminating proxy: true (any peer) or its addresses/CIDR ranges; default false'),
  })
  .strict();

/** What Fastify's trustProxy (proxy-addr) takes in a list: an address, a CIDR range, or a named range. */
function isProxyAddress(s: string): boolean {
  if (s === 'loopback' || s === 'linklocal' || s === 'uniquelocal') return true;
  const [address, bits, ...rest] = s.split('/');
  const v = isIP(address ?? '');
  if (v === 0 || rest.length > 0) return false;
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (v === 4 ? 32 : 128));
}

/**
 * What the dashboard shows to people who may not see a group's individuals (members, of their own team's totals).
 * A member can take their own figures out of their team's total: with one other person in it, what remains is that
 * colleague's spend, requests, daily series and model mix. So a total is shown to them only when they and at least
 * `minGroupSize - 1` others used it in the period (the statistical offices' threshold rule: 3 contributors, so no
 * contributor can subtract their way to another's figures). 1 turns the rule off.
 */
export const dashboardSchema = z
  .object({
    minGroupSize: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(3)
      .describe("A member sees their team's totals for a month only when they and at least minGroupSize - 1 others spent on the team's AI in it (default 3; 1: always)"),
    // 0.85: the dominance rule's usual share. Above it, the total less the member's own is within 15% of one
    // colleague's spend however many others spent a little.
    maxShare: z
      .number()
      .gt(0)
      .max(1)
      .default(0.85)
      .describe("Nor when one of those others spent more than this share of what the others spent (default 0.85; 1: no such rule)"),
  })
  .strict();

/**
 * Redis, shared by gateway replicas: budget reservations and spend, rate-limit counters, alert de-duplication.
 * Without it each process keeps budgets in memory, which is right for one process and wrong for several.
 */
export const redisSchema = z
  .object({
    url: z
      .string()
      .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379/0')
      .describe('redis://[:password@]host:port/db (or rediss:// for TLS); default $GOODHART_REDIS_URL'),
    keyPrefix: z
      .string()
      .min(1)
      .max(100)
      .regex(/^[A-Za-z0-9_:.{}-]+$/, 'use letters, digits and _ : . - { } only')
      .default('goodhart:')
      .describe('Prefix of every key Goodhart writes: several deployments may share one Redis under different prefixes'),
  })
  .strict();
export type RedisConfig = z.infer<typeof redisSchema>;

export const configSchema = z
  .object({
    server: serverSchema.default(serverSchema.parse({})),
    db: z
      .string()
      .optional()
      .describe('SQLite file path, or a postgres:// URL for several replicas (default ./.goodhart/goodhart.db, or $GOODHART_DB)'),
    redis: redisSchema.optional().describe('Shared budget state for several gateway replicas (README: Running several replicas)'),
    providers: z.record(id, providerSchema).default({}),
    models: z.array(modelSchema).default([]),
    fallbacks: z
      .record(z.string().min(1), z.array(z.string().min(1)).min(1))
      .default({})
      .describe(
        'Model → equivalent models (or provider-id/model) tried in order when its provider answers 429 or 5xx, times out or cannot be reached, before anything reached the client',
      ),
    teams: z.array(teamSchema).default([]),
    users: z.array(userSchema).default([]),
    projects: z.array(projectSchema).default([]),
    identities: z.array(identitySchema).default([]).describe('Attribution of imported usage (goodhart import, OTLP)'),
    detect: detectConfigSchema.prefault({}).describe('Waste detection: fingerprints and thresholds (README: Waste detection)'),
    // Governance: budgets, rate limits, tiers, roles, alerts, admin keys (src/policy/config.ts).
    ...governanceShape,
    routing: routingSchema.default(defaultRoutingConfig()).describe('Right-sizing: route simple requests down a model ladder (src/route/)'),
    outcomes: outcomesConfigSchema.prefault({}).describe('Outcomes: git authors → people, linking windows, webhook secrets (README: Outcomes)'),
    dashboard: dashboardSchema.prefault({}).describe('What the dashboard shows to people who may not see individuals (README: Dashboard)'),
  })
  .strict();

export type GoodhartConfig = z.infer<typeof configSchema>;
export type GoodhartConfigInput = z.input<typeof configSchema>;
