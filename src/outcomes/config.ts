import { z } from 'zod';
import { idSchema as id } from '../config/id.js';

/**
 * The `outcomes:` section of goodhart.yaml: who a git author or a GitHub/GitLab login is, how spend is linked to
 * shipped work, and the webhook secrets. Every window has a default and a reason.
 */

const positiveInt = z.number().int().positive();
const secret = z
  .string()
  .min(16, 'use a random secret of at least 16 characters (e.g. `openssl rand -hex 32`), given as ${ENV_VAR}');

const personSchema = z
  .object({
    user: id.describe('The Goodhart user this person is'),
    team: id.optional().describe('Default: the team of `users[]` with this id'),
    emails: z.array(z.string().min(3)).default([]).describe('Git author emails (commits, pushes); case-insensitive'),
    logins: z.array(z.string().min(1)).default([]).describe('GitHub / GitLab usernames (pull requests, deployments)'),
  })
  .strict();
export type PersonConfig = z.output<typeof personSchema>;

export const outcomesConfigSchema = z
  .object({
    people: z
      .array(personSchema)
      .default([])
      .describe('Git emails and logins → users; `identities` (gitEmail) and `users[].email` are used too'),
    /**
     * 14 days: a change reverted within two weeks did not stick (a bad merge, a broken deploy); one reverted months
     * later was real work that the product moved on from, and still counts.
     */
    revertWindowDays: positiveInt.default(14).describe('A change reverted within this many days stops counting'),
    /**
     * 72 hours: work done with an assistant usually lands as a commit or pull request within a working day or two;
     * a longer window lets unrelated spend take credit for the next thing the person ships.
     */
    linkWindowHours: positiveInt
      .default(72)
      .describe('Person + project + time linking: spend counts toward outcomes shipped this many hours after it'),
    /**
     * 30 days: a ticket or a branch is rarely open longer; spend tagged with it earlier than that is about something
     * else with the same name (a reused branch, a reopened ticket).
     */
    explicitMaxAgeDays: positiveInt
      .default(30)
      .describe('Task, branch and ticket links reach back at most this many days before the outcome'),
    /**
     * $100 a week: a few hours of heavy agent use. Below it, spend without an outcome is not worth anyone's
     * attention; above it, the person is asked (never told) what it was for.
     */
    questionMinUsdPerWeek: z.number().nonnegative().default(100).describe('Weekly spend with nothing linked that raises a question'),
    ticketPrefixes: z
      .array(z.string().regex(/^[A-Z][A-Z0-9]{0,9}$/, 'an upper-case project key such as PROJ'))
      .default([])
      .describe('Ticket keys to recognise (PROJ → PROJ-123); default any KEY-123 but the usual false friends (UTF-8, SHA-256…)'),
    defaultBranches: z
      .array(z.string().min(1))
      .default(['main', 'master', 'develop', 'trunk', 'HEAD'])
      .describe('Branches shared by everyone: never used to link spend to a pull request by branch'),
    bots: z
      .array(z.string().min(1))
      .default([])
      .describe("More bot logins or git emails (besides GitHub's `name[bot]` apps and GitLab's project and group bots) whose outcomes do not count"),
    countBots: z
      .boolean()
      .default(false)
      .describe('Count outcomes bots authored (dependency updates, release automation) too; off: they are no one\'s work'),
    trustedPosters: z
      .array(id)
      .default([])
      .describe('Users (CI, ticket bridges, an OpenTelemetry collector) whose keys may POST /v1/outcomes, or send OTLP telemetry, for other people; everyone else posts their own'),
    /**
     * True: an organisation without a ticket bridge or CI posting outcomes still has a way to record them. Turn it off
     * once trusted sources report them: an ordinary key could otherwise claim ticket ids nobody closed.
     */
    selfReported: z
      .boolean()
      .default(true)
      .describe(
        'Whether an ordinary key may POST /v1/outcomes commits, merged pull requests, closed tickets and deployments for its owner (the poster\'s word: any trusted record of the same one replaces it); false: only custom outcomes',
      ),
    webhooks: z
      .object({
        github: z
          .object({ secrets: z.array(secret).min(1).describe('Webhook secrets (several while rotating); use ${ENV_VAR}') })
          .strict()
          .optional()
          .describe('POST /v1/outcomes/github: X-Hub-Signature-256 is checked against these'),
        gitlab: z
          .object({ tokens: z.array(secret).min(1).describe('Secret tokens (several while rotating); use ${ENV_VAR}') })
          .strict()
          .optional()
          .describe('POST /v1/outcomes/gitlab: X-Gitlab-Token is checked against these'),
      })
      .strict()
      .default({}),
  })
  .strict();

export type OutcomesConfig = z.output<typeof outcomesConfigSchema>;

export function defaultOutcomesConfig(): OutcomesConfig {
  return outcomesConfigSchema.parse({});
}
