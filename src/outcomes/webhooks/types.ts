import type { z } from 'zod';
import type { GoodhartConfig } from '../../config/schema.js';
import { GoodhartError } from '../../errors.js';
import { resolveProject } from '../../importers/attribution.js';
import { MAX_STORED_TIME } from '../../store/rows.js';
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
      const t = parsePayloadTime(iso);
      // A time the stores do not keep (MAX_STORED_TIME: 1970 to 2099) is a forged or broken date (git takes any
      // author date: year 3000, year -1000), read as unreadable: the delivery's time.
      return Number.isFinite(t) && t >= 0 && t <= MAX_STORED_TIME ? t : now();
    },
    parse(schema, payload, what) {
      const r = schema.safeParse(payload);
      if (!r.success) throw new GoodhartError('invalid_request', 400, `Not a ${what} payload as documented: ${zodProblems(r.error)}.`);
      return r.data;
    },
  };
}

/**
 * A payload's time in epoch ms, NaN when unreadable. ISO 8601, and GitLab's own forms: `2013-12-03 17:23:34 UTC` and
 * `2026-12-05 20:00:00 +0100` (some hooks write the offset so). A time without a zone is UTC (never the zone of the
 * machine that receives it).
 */
export function parsePayloadTime(text: string): number {
  const m = /^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d(?::\d\d(?:\.\d+)?)?)\s*(Z|UTC|[+-]\d\d(?::?\d\d)?)?$/i.exec(text.trim());
  if (m === null) return Date.parse(text);
  const zone = m[3] === undefined || /^(Z|UTC)$/i.test(m[3]) ? 'Z' : m[3].length === 3 ? `${m[3]}:00` : `${m[3].slice(0, 3)}:${m[3].slice(-2)}`;
  return Date.parse(`${m[1]}T${m[2]}${zone}`);
}
