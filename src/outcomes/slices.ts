import type { EventFilter, Store } from '../store/types.js';
import type { EventSource, UsageEvent } from '../usage/event.js';
import { weekStart } from './counted.js';
import { taskTags } from './tickets.js';

/**
 * Spend, compacted for linking: usage events summed per person, team, project, repository, branch, task tags and
 * UTC hour. Linking needs no finer grain (its windows are hours to days), and a month of an organisation's events
 * becomes a few thousand slices instead of millions of rows. Pure, except `loadSpendSlices` which reads the store.
 */
export interface SpendSlice {
  userId: string | null;
  teamId: string | null;
  projectId: string | null;
  repo: string | null;
  branch: string | null;
  /** `task:<id>` tags of the requests (clients send `x-goodhart-tags: task:PROJ-123`). */
  tasks: string[];
  /** First and last request time (epoch ms). */
  start: number;
  end: number;
  costUsd: number;
  /** Input (cache included) + output tokens. */
  tokens: number;
  requests: number;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/**
 * What kind of record of spend each source keeps, most detailed first. The same requests can be recorded by several:
 * Claude Code through the gateway is metered by it and reported again by Claude Code's telemetry and by Anthropic's
 * usage reports (which the README says to read beside the gateway's events, not added to them).
 */
export const SPEND_RECORDS = ['per-request', 'telemetry', 'per-person report', 'organisation report'] as const;
export type SpendRecord = (typeof SPEND_RECORDS)[number];

export const SPEND_RECORD_OF = {
  gateway: 'per-request',
  // Coding agents' logs: per request, and a request the gateway metered is not imported again.
  'claude-code': 'per-request',
  codex: 'per-request',
  gemini: 'per-request',
  otel: 'telemetry',
  'anthropic-claude-code': 'per-person report',
  'openai-usage': 'organisation report',
  'anthropic-usage': 'organisation report',
} as const satisfies Record<EventSource, SpendRecord>;

/**
 * Spend is counted once per person and week (Monday to Monday, UTC), from the most detailed kind of record of it
 * there is (SPEND_RECORDS): a person's week metered by the gateway or read from their agents' logs is counted from
 * those, and their telemetry and the providers' reports of that week are left out, as they describe the same
 * requests; a week with no per-request record is counted from telemetry, then from reports. As Claude Code's commit
 * counts are used for a person's week only when git reported none (counted.ts). One source (`--source`) is one kind.
 *
 * The organisation's usage reports (`openai-usage`, `anthropic-usage`) are compared per provider and week across
 * everyone instead: their rows are attributed by API key, and the gateway reaches the provider with its own upstream
 * key, so the report's rows of the gateway's traffic are never in the same person's week as the gateway's events of
 * it. A provider's report rows of a week are left out when any more detailed record of that provider that week exists.
 */
const rank = (source: EventSource): number => SPEND_RECORDS.indexOf(SPEND_RECORD_OF[source]);
const ORG_REPORT = SPEND_RECORDS.indexOf('organisation report');
const personWeek = (userId: string | null, at: number): string => `${userId ?? ''}\u0000${weekStart(at)}`;
const providerWeek = (provider: string, at: number): string => `${provider}\u0000${weekStart(at)}`;

export class SliceBuilder {
  private readonly slices = new Map<string, SpendSlice & { rank: number; personWeek: string; providerWeek: string | null }>();
  /** The most detailed kind of record seen, per person and week. */
  private readonly best = new Map<string, number>();
  /** Providers and weeks with a record more detailed than the organisation's usage reports. */
  private readonly detailed = new Set<string>();

  add(e: UsageEvent): void {
    const tasks = taskTags(e.tags);
    const hour = Math.floor(e.startedAt / HOUR_MS);
    const r = rank(e.source);
    const pw = personWeek(e.userId, e.startedAt);
    this.best.set(pw, Math.min(this.best.get(pw) ?? r, r));
    const prw = providerWeek(e.provider, e.startedAt);
    if (r < ORG_REPORT) this.detailed.add(prw);
    const orgReport = r === ORG_REPORT ? prw : null;
    const key = [e.userId, e.teamId, e.projectId, e.repo, e.branch, tasks.join(','), hour, r, orgReport ?? ''].join('\u0000');
    let s = this.slices.get(key);
    if (s === undefined) {
      s = {
        userId: e.userId, teamId: e.teamId, projectId: e.projectId, repo: e.repo, branch: e.branch, tasks,
        start: e.startedAt, end: e.startedAt, costUsd: 0, tokens: 0, requests: 0, rank: r, personWeek: pw, providerWeek: orgReport,
      };
      this.slices.set(key, s);
    }
    s.start = Math.min(s.start, e.startedAt);
    s.end = Math.max(s.end, e.startedAt);
    s.costUsd += e.costUsd ?? 0;
    s.tokens += e.inputTokens + e.outputTokens;
    s.requests += 1;
  }

  /** The slices of the kind of record each person's week is counted from (organisation reports: each provider's week). */
  build(): SpendSlice[] {
    return [...this.slices.values()]
      .filter((s) => s.rank === this.best.get(s.personWeek) && !(s.providerWeek !== null && this.detailed.has(s.providerWeek)))
      .map(({ rank: _rank, personWeek: _pw, providerWeek: _prw, ...slice }) => slice)
      .sort((a, b) => a.start - b.start);
  }
}

export function slicesOf(events: Iterable<UsageEvent>): SpendSlice[] {
  const b = new SliceBuilder();
  for (const e of events) b.add(e);
  return b.build();
}

/** Reads events a day at a time (bounded memory on any store) and slices them. */
export async function loadSpendSlices(store: Pick<Store, 'listEvents'>, filter: EventFilter & { since: number; until: number }): Promise<SpendSlice[]> {
  const b = new SliceBuilder();
  for (let t = filter.since; t < filter.until; t += DAY_MS) {
    for (const e of await store.listEvents({ ...filter, since: t, until: Math.min(filter.until, t + DAY_MS) })) b.add(e);
  }
  return b.build();
}
