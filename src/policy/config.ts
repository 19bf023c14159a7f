import { z } from 'zod';
import { idSchema as id } from '../config/id.js';
import { checkTimeZone } from '../report/dates.js';
import { PERIODS } from './period.js';
import { SCOPE_RE } from './scope.js';

/**
 * Governance sections of goodhart.yaml: budgets, rate limits, model tiers, roles, alert sinks, admin keys, the
 * time zone periods are calendar-aligned in. The same schemas validate admin API bodies (src/admin/).
 */

export const UNITS = ['usd', 'tokens'] as const;
export type Unit = (typeof UNITS)[number];

export const BUDGET_ACTIONS = ['block', 'downgrade'] as const;

/** What a role may do in the admin API besides asking for access (every authenticated person may). */
export const PERMISSIONS = ['approve', 'manage', 'budgets', 'audit'] as const;
export type Permission = (typeof PERMISSIONS)[number];

const scope = z
  .string()
  .regex(SCOPE_RE, 'use org, team:ID, user:ID, project:ID, key:ID or tag:TAG (ID "*" = one per value)')
  // Tags are lower-cased as requests arrive (gateway/proxy.ts parseTags): `tag:Search` is the budget of `search`.
  .overwrite((s) => (s.startsWith('tag:') ? s.toLowerCase() : s));

const percent = z.number().gt(0).max(100);

export const budgetSchema = z
  .object({
    id,
    scope: scope.describe('org, team:ID, user:ID, project:ID, key:ID or tag:TAG; an ID of * gives each value its own budget'),
    amount: z.number().positive().describe('USD, or tokens (input + output) with unit: tokens; the baseline of a hybrid budget'),
    unit: z.enum(UNITS).default('usd'),
    period: z.enum(PERIODS).default('month').describe('Calendar-aligned in timeZone; none = all time'),
    thresholds: z
      .array(percent)
      .default([50, 80, 100])
      .describe('Percentages that raise an alert once per period and a warning header'),
    action: z.enum(BUDGET_ACTIONS).default('block').describe('At the cap: block (429) or downgrade to a cheaper model'),
    downgradeAt: percent
      .default(80)
      .describe('action downgrade: from this percentage requests go to downgradeTo; 100% still blocks'),
    downgradeTo: z
      .union([z.string().min(1), z.record(z.string(), z.string().min(1))])
      .optional()
      .describe('A model on the same provider, or a map from provider id to model'),
    hybrid: z
      .object({
        percentile: z.number().min(1).max(100).default(90),
        lookback: z.number().int().min(1).max(104).default(8).describe('Complete past periods to look at'),
      })
      .strict()
      .optional()
      .describe('amount becomes amount + the percentile of the scope’s spend over its last `lookback` periods'),
    contact: z.string().max(200).optional().describe('Whom to ask for more, shown in the 429 message'),
  })
  .strict()
  .refine((b) => b.action !== 'downgrade' || b.downgradeTo !== undefined, {
    message: 'action downgrade needs downgradeTo (a cheaper model, or a map from provider id to model)',
    path: ['downgradeTo'],
  })
  .refine((b) => !(b.hybrid && b.period === 'none'), { message: 'a hybrid budget needs a period', path: ['hybrid'] });
export type BudgetConfig = z.output<typeof budgetSchema>;

export const rateLimitSchema = z
  .object({
    id,
    scope: scope.describe('Usually key:*, user:* or team:*; or one team/user/key'),
    rpm: z.number().int().positive().optional().describe('Requests per minute (sliding window)'),
    tpm: z
      .number()
      .int()
      .positive()
      .optional()
      .describe('Tokens per minute: input + declared max output reserved up front, settled to the real count'),
  })
  .strict()
  .refine((r) => r.rpm !== undefined || r.tpm !== undefined, { message: 'give rpm, tpm or both' });
export type RateLimitConfig = z.output<typeof rateLimitSchema>;

export const roleSchema = z
  .object({
    tiers: z.array(id).default([]).describe('Model tiers people with this role may use'),
    permissions: z.array(z.enum(PERMISSIONS)).default([]).describe('approve (own team), manage, budgets, audit'),
  })
  .strict();
export type RoleConfig = z.output<typeof roleSchema>;

/** Roles when the config names none: the usual ladder. Tiers a config does not define are simply never matched. */
export const DEFAULT_ROLES: Record<string, RoleConfig> = {
  member: { tiers: ['economy', 'standard'], permissions: [] },
  senior: { tiers: ['economy', 'standard', 'premium'], permissions: [] },
  lead: { tiers: ['economy', 'standard', 'premium'], permissions: ['approve'] },
  admin: { tiers: ['economy', 'standard', 'premium'], permissions: ['approve', 'manage', 'budgets', 'audit'] },
  finance: { tiers: ['economy', 'standard'], permissions: ['budgets', 'audit'] },
};

export const tierModelsSchema = z.array(z.string().min(1)).describe('Model names or prefix* globs');

const sinkSchema = z
  .object({
    type: z.enum(['webhook', 'slack']).describe('webhook: JSON body; slack: a Slack-compatible incoming webhook'),
    url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
    headers: z.record(z.string(), z.string()).optional(),
    findings: z
      .enum(['off', 'team', 'person'])
      .optional()
      .describe('Waste findings and budget forecasts here: person (names the person), team (the team only, the default for slack) or off; default for webhook: person'),
  })
  .strict();

export const alertsSchema = z
  .object({
    sinks: z.array(sinkSchema).default([]),
    /** 6 attempts over ~1 minute (1, 2, 4, 8, 16 s): rides out a webhook receiver's restart, then gives up. */
    maxAttempts: z.number().int().min(1).max(20).default(6),
    initialBackoffMs: z.number().int().positive().default(1000),
  })
  .strict();
export type AlertsConfig = z.output<typeof alertsSchema>;

const adminKeySchema = z
  .object({
    id,
    key: z
      .string()
      .min(16, 'too short: an admin key needs at least 16 characters. Generate one with `openssl rand -hex 24` and give it as ${ENV_VAR}')
      .optional().describe('The admin key itself (use ${ENV_VAR}); or give sha256'),
    sha256: z.string().regex(/^[0-9a-f]{64}$/).optional().describe('SHA-256 hex of the admin key'),
    role: id.default('admin'),
  })
  .strict()
  .refine((k) => (k.key === undefined) !== (k.sha256 === undefined), { message: 'give exactly one of key or sha256' });

export const adminSchema = z
  .object({
    keys: z.array(adminKeySchema).default([]).describe('Keys for the admin API, besides people’s own gh_ keys'),
  })
  .strict();

export const accessSchema = z
  .object({
    /** A week: long enough for a piece of work, short enough that access does not quietly become permanent. */
    defaultHours: z.number().positive().default(168),
    /** 90 days: anything longer should be a role change, which is audited as such. */
    maxHours: z.number().positive().default(2160),
    untieredModels: z
      .enum(['allow', 'deny'])
      .default('allow')
      .describe('Models listed in no tier: allowed to everyone, or refused'),
  })
  .strict();

/** The top-level keys governance adds to the config schema (spread into it). */
export const governanceShape = {
  timeZone: z
    .string()
    .default('UTC')
    .refine(
      (tz) => {
        try {
          checkTimeZone(tz);
          return true;
        } catch {
          return false;
        }
      },
      { message: 'unknown time zone: use an IANA name such as UTC, Europe/Berlin or America/New_York' },
    )
    .describe('IANA time zone budget periods are calendar-aligned in'),
  budgets: z.array(budgetSchema).default([]),
  rateLimits: z.array(rateLimitSchema).default([]),
  tiers: z.record(id, tierModelsSchema).default({}).describe('Tier id (economy, standard, premium…) to models'),
  roles: z.record(id, roleSchema).optional().describe('Role id to allowed tiers and admin permissions (default: member, senior, lead, admin, finance)'),
  defaultRole: id.default('member').describe('The role of a user the config or admin API gives none'),
  access: accessSchema.default(accessSchema.parse({})),
  alerts: alertsSchema.default(alertsSchema.parse({})),
  admin: adminSchema.default(adminSchema.parse({})),
};
