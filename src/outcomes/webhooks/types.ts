import type { z } from 'zod';
import type { GoodhartConfig } from '../../config/schema.js';
import { GoodhartError } from '../../errors.js';
import { resolveProject } from '../../importers/attribution.js';
import type { OutcomeEvent } from '../event.js';
import { createPeopleResolver, type Who } from '../people.js';
import type { OutcomesConfig } from '../config.js';

/** What the payload mappers need: people and projects from the config, the clock, strict parsing. */
export interface WebhookContext {
  who(p: { email?: string | null; login?: string | null; host?: string | null }): Pick<Who, 'userId' | 'teamId'>;
  project(repo: string): string | null;
  /** The team of a configured user. */
  teamOf(userId: string): string | null;
  /** `outcomes:` of the config: ticket rules, default branches, bots, self-reporting. */
  rules: OutcomesConfig;
  /** An ISO time from the payload in epoch ms; the receive time when absent or unreadable. */
  time(iso: string | null | undefined): number;
  /** Validates a payload; a mismatch is a 400 naming the field. */
  parse<T>(schema: z.ZodType<T>, payload: unknown, what: string): T;
}

export interface WebhookResult {
  outcomes: OutcomeEvent[];
  /** Why nothing was recorded (an event or action that is not shipped work). */
  ignored?: string;
}

export function zodProblems(error: z.ZodError, prefix = ''): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${[prefix, ...i.path.map(String)].filter((p) => p !== '').join('.') || '(body)'}: ${i.message}`)
    .join('; ');
}

export function createWebhookContext(config: Pick<GoodhartConfig, 'identities' | 'users' | 'outcomes' | 'projects'>, now: () => number): WebhookContext {
  const people = createPeopleResolver(config);
  return {
    who: (p) => people(p),
    project: (repo) => resolveProject(null, `https://${repo}`, config.projects).projectId,
    teamOf: (userId) => config.users.find((u) => u.id === userId)?.team ?? null,
    rules: config.outcomes,
    time(iso) {
      if (iso == null) return now();
      // GitLab writes `2013-12-03 17:23:34 UTC` as well as ISO 8601.
      const t = Date.parse(iso.replace(/ UTC$/, 'Z').replace(/^(\d{4}-\d\d-\d\d) /, '$1T'));
      return Number.isFinite(t) ? t : now();
    },
    parse(schema, payload, what) {
      const r = schema.safeParse(payload);
      if (!r.success) throw new GoodhartError('invalid_request', 400, `Not a ${what} payload as documented: ${zodProblems(r.error)}.`);
      return r.data;
    },
  };
}
