import { readFileSync } from 'node:fs';
import type { GoodhartConfig } from '../../config/schema.js';
import type { GatewayProvider } from '../import-config.js';
import { GoodhartError } from '../../errors.js';
import type { OutcomeEvent } from '../../outcomes/event.js';
import type { AuditStore } from '../../store/types.js';
import { usageExtras, type UsageEvent } from '../../usage/event.js';
import type { Pricer } from '../../usage/pricing.js';
import { resolveIdentity, type Identity } from '../attribution.js';
import { stableId } from '../ids.js';
import { createPriceMemo } from '../price-memo.js';
import { addProblem, countSkip, emptySummary, type ImportSummary } from '../summary.js';
import { apiErrorOf, type WrongInput } from '../wrong-input.js';
import { checkBuckets, type BucketCheck } from './bucket-check.js';
import { bucketDate, bucketStartOf, dayTag } from './bucket-date.js';
import { gatewayOverlapWarning, gatewayRowMatcher } from './gateway-traffic.js';
import { nextPageUrl } from './paging.js';
import { USAGE_API_SOURCES, USAGE_APIS } from './registry.js';
import type { ApiUsageRow, ConvertedPage, UsageApi, UsageApiInfo } from './types.js';

/**
 * Pages through a provider's usage API (or reads saved responses) and writes one event per usage row, priced at
 * per-request rates (see PriceMemo.priceAggregate), plus outcome events. Ids are derived from each row's bucket and
 * grouping, so importing an overlapping range again only adds what is new.
 */
export interface UsageApiImportOptions {
  api: UsageApi & UsageApiInfo;
  store: AuditStore;
  pricer: Pricer;
  /**
   * Who is who: `identities`, `users[].email`, and `outcomes.people` emails when given; `projects` with their
   * `providerIds` (the providers' project and workspace ids) and teams.
   */
  rules: Pick<GoodhartConfig, 'identities' | 'users'> & { outcomes?: { people: GoodhartConfig['outcomes']['people'] }; projects?: GoodhartConfig['projects'] };
  adminKey?: string | undefined;
  baseUrl?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
  /** The config's `timeZone`: a day's bucket is dated at noon of its date there (bucket-date.ts). Default UTC. */
  timeZone?: string;
  /** The gateway's providers: rows of their `usageReportIds` are the gateway's own traffic, not stored (gateway-traffic.ts). */
  gatewayProviders?: readonly GatewayProvider[];
  /** Saved responses to read instead of calling the API. */
  files?: readonly string[];
  fetch?: typeof fetch;
  env?: NodeJS.ProcessEnv;
  now?: () => number;
  /** Retries of a 429/5xx response, with backoff (Retry-After honoured). */
  retries?: number;
}

export type UsageApiSummary = ImportSummary & {
  /**
   * Pages of the API's responses read: called (then `files` is 0 and `bytesRead` their bodies' size), or in the saved
   * files.
   */
  pagesRead: number;
  /** USD in the provider's cost report, over `costReportRows` rows in the range. */
  reportedCostUsd: number;
  costReportRows: number;
  /** Pages of the provider's cost report read (called, or saved pages holding cost rows); 0: none was read. */
  costReportPages: number;
  /** USD of the usage rows priced from the catalogue. */
  pricedCostUsd: number;
  /** USD of the usage rows that carry the provider's own estimate (Claude Code analytics), taken as it is. */
  estimatedCostUsd: number;
  /** Stored rows of a bucket read again from the API that it no longer has (grouped otherwise now): removed. */
  eventsRemoved: number;
  /** Of `eventsUpdated`, rows stored at another date (at the start of their day, by earlier releases) dated anew. */
  eventsRedated: number;
  /** Outcomes stored: new ones, and days already stored whose counts changed (a day reported again as it grew). */
  outcomesAdded: number;
  /** What the summary should tell beside its counts (days the gateway's traffic may be counted twice). */
  warnings: string[];
};

const MAX_PAGES = 10_000;
const DAY_MS = 86_400_000;

export async function runUsageApiImport(opts: UsageApiImportOptions): Promise<UsageApiSummary> {
  const started = performance.now();
  const now = opts.now ?? Date.now;
  const summary: UsageApiSummary = { ...emptySummary(opts.api.eventSource), pagesRead: 0, reportedCostUsd: 0, costReportRows: 0, costReportPages: 0, pricedCostUsd: 0, estimatedCostUsd: 0, eventsRemoved: 0, eventsRedated: 0, outcomesAdded: 0, warnings: [] };
  const memo = createPriceMemo(opts.pricer);
  const projectOf = projectsByProviderId(opts.rules.projects ?? []);
  const timeZone = opts.timeZone ?? 'UTC';
  const events = new Map<string, UsageEvent>();
  /** Each event's bucket (its start and end): a day's event is dated within it, not at its start. */
  const buckets = new Map<string, { at: number; endedAt: number }>();
  // Rows of the gateway's own upstream traffic (providers.ID.usageReportIds), by id with their bucket: not stored.
  const isGateway = gatewayRowMatcher(opts.api, opts.gatewayProviders ?? []);
  const metered = new Map<string, { at: number; endedAt: number }>();
  const outcomes: OutcomeEvent[] = [];
  let rows = 0;

  // Saved responses may cover more than asked: --since/--until keep the buckets that start within them.
  const fromFiles = opts.files !== undefined && opts.files.length > 0;
  // Whole UTC days, the APIs' buckets: a time of day widens the range to its day (since to that day's 00:00 UTC, until
  // to the next 00:00 UTC). The API's answer for a day is taken as whole and replaces the rows stored of it, so a
  // request that began or ended within a day would have been taken for that whole day and removed the rest of it.
  const sinceGiven = opts.since === undefined ? undefined : parseDate(opts.since, '--since');
  // A YYYY-MM-DD --until includes that day, as `goodhart report --until` does.
  const untilGiven = opts.until === undefined ? undefined : parseDate(opts.until, '--until', true);
  const sinceDate = sinceGiven === undefined ? undefined : startOfUtcDay(sinceGiven);
  const untilDate = untilGiven === undefined ? undefined : endOfUtcDay(untilGiven);
  if (sinceGiven !== undefined && untilGiven !== undefined && sinceGiven.getTime() >= untilGiven.getTime()) {
    throw new GoodhartError(
      'invalid_request',
      400,
      `--since ${opts.since} is not before --until ${opts.until}: nothing to import. A YYYY-MM-DD --until includes that day (--since 2026-10-01 --until 2026-10-01 is one day).`,
    );
  }
  const baseUrl = checkBaseUrl(opts.baseUrl ?? opts.api.defaultBaseUrl, opts.api.defaultBaseUrl);
  const lo = fromFiles && sinceDate !== undefined ? sinceDate.getTime() : Number.NEGATIVE_INFINITY;
  const hi = fromFiles && untilDate !== undefined ? untilDate.getTime() : Number.POSITIVE_INFINITY;
  const inRange = (at: number): boolean => at >= lo && at < hi;
  const take = (page: ConvertedPage, where: string, costReport: boolean): void => {
    summary.linesRead += page.rows.length + page.bad;
    if (costReport) summary.costReportPages += 1;
    if (page.bad > 0) {
      countSkip(summary, 'bad_shape', page.bad);
      addProblem(summary, where, 0, `${page.bad} result ${page.bad === 1 ? 'row' : 'rows'} not in the documented shape`);
    }
    for (const c of page.costs) {
      if (!inRange(c.at)) continue;
      summary.reportedCostUsd += c.usd;
      summary.costReportRows += 1;
    }
    for (const row of page.rows) {
      if (!inRange(row.at)) {
        countSkip(summary, 'out_of_range');
        continue;
      }
      if (isGateway?.(row) === true) {
        metered.set(eventId(opts.api, row), { at: row.at, endedAt: row.endedAt });
        continue;
      }
      rows += 1;
      const e = toEvent(opts.api, row, memo, opts.rules, timeZone, projectOf);
      if (row.reportedCostUsd === null) summary.pricedCostUsd += e.costUsd ?? 0;
      else summary.estimatedCostUsd += e.costUsd ?? 0;
      events.set(e.id, e);
      buckets.set(e.id, { at: row.at, endedAt: row.endedAt });
    }
    for (const o of page.outcomes) {
      if (!inRange(o.at)) continue;
      const who = resolveIdentity({ email: o.email, apiKey: o.apiKey }, opts.rules);
      const { email: _e, apiKey: _k, ...rest } = o;
      // A day's counts, dated as its usage is (their ids keep the day's start).
      outcomes.push({ ...rest, at: bucketDate(o.at, o.at + DAY_MS, timeZone), userId: who.userId, teamId: who.teamId });
    }
  };

  if (opts.files !== undefined && opts.files.length > 0) {
    for (const file of opts.files) {
      summary.files += 1;
      summary.filesRead += 1;
      let body: unknown;
      try {
        const text = readFileSync(file, 'utf8');
        summary.bytesRead += Buffer.byteLength(text);
        body = JSON.parse(text);
      } catch (err) {
        countSkip(summary, err instanceof SyntaxError ? 'invalid_json' : 'bad_shape');
        addProblem(summary, file, 0, err instanceof SyntaxError ? 'invalid_json' : `unreadable: ${String(err)}`);
        continue;
      }
      for (const raw of Array.isArray(body) ? body : [body]) {
        const page = opts.api.convertPage(raw);
        // Nothing of it in the documented shape: a saved error, or another API's page, is said as such.
        const wrong = page.bad > 0 && page.rows.length + page.costs.length + page.outcomes.length === 0 ? await wrongPage(raw, file, opts.api) : null;
        summary.pagesRead += 1;
        if (wrong === null) {
          // A saved page is known to be the cost report's only by its cost rows.
          take(page, file, page.costs.length > 0);
          continue;
        }
        summary.linesRead += 1;
        countSkip(summary, 'bad_shape');
        addProblem(summary, file, 0, wrong.hint);
        if (!(summary.wrongInput ??= []).some((w) => w.path === wrong.path)) summary.wrongInput.push(wrong);
      }
    }
  } else {
    const env = opts.env ?? process.env;
    const key = opts.adminKey ?? env[opts.api.keyEnv];
    if (key === undefined || key.trim() === '') {
      throw new GoodhartError('config_invalid', 500, `No admin key. Pass --admin-key or set ${opts.api.keyEnv} (an organization admin key, not a project API key), or import saved responses with --file.`);
    }
    // The default end is now: the current day's bucket holds what the API has of it so far, all of it.
    const until = untilDate ?? new Date(now());
    const since = sinceDate ?? startOfUtcDay(new Date(until.getTime() - 30 * DAY_MS));
    if (since.getTime() >= until.getTime()) {
      throw new GoodhartError('invalid_request', 400, `--since ${opts.since ?? ''} is not before --until (default: now): nothing to import.`);
    }
    const doFetch = opts.fetch ?? fetch;
    for (const first of opts.api.requests(baseUrl, since, until)) {
      let url: URL | null = first;
      // A server that keeps answering has_more with a cursor it gave before would be followed for ever.
      const cursors = new Set<string>();
      for (let n = 0; url !== null && n < MAX_PAGES; n++) {
        const { body, bytes } = await getJson(doFetch, url, opts.api.headers(key), opts.retries ?? 3);
        summary.pagesRead += 1;
        summary.bytesRead += bytes;
        const page = opts.api.convertPage(body);
        const costPath = opts.api.costReportPath;
        take(page, url.pathname, costPath !== undefined && url.pathname.endsWith(costPath));
        if (page.hasMore && page.nextPage === null) {
          // Not the end: the API said so. What follows could not be asked for; the summary says the report is short.
          addProblem(summary, first.pathname, 0, `answered has_more: true with no next_page: the API says more pages follow but gave no cursor to ask for them, so the pages after page ${n + 1} of this report were not read. Import again later, or a shorter range (--since/--until).`);
        }
        if (!page.hasMore || page.nextPage === null) break;
        if (cursors.has(page.nextPage)) {
          throw new GoodhartError(
            'upstream_error',
            502,
            `${first.pathname} answered has_more with next_page "${page.nextPage.slice(0, 100)}", a page it had already given: stopped instead of reading the same pages again. Nothing was stored; try again later, or import a shorter range.`,
          );
        }
        cursors.add(page.nextPage);
        url = nextPageUrl(first, page.nextPage);
      }
    }
  }

  const all = [...events.values()];
  let drop: string[] = [];
  if (all.length > 0 || metered.size > 0) {
    // The API's answer for a bucket is whole; saved responses may hold part of one. The gateway's rows are part of
    // it: checked with the others, and removed where an import before they were named stored them.
    const check = await checkStoredBuckets(opts.store, opts.api, all, new Map([...buckets, ...metered]), !fromFiles, metered);
    if (check.reason !== null) throw new GoodhartError('invalid_request', 400, `${opts.api.eventSource}: ${check.reason} Nothing was stored.`);
    // Rows stored at another date are removed and stored again in the same transaction: the replace rule keeps the
    // earlier of two records of one id, so they would keep their old date.
    drop = [...new Set([...check.drop, ...check.redate, ...check.metered])];
    // The API is read again in full for the range: a stored row takes the current prices, identity rules and
    // source (Claude Code analytics was stored as anthropic-usage before it had a source of its own).
    const r = await opts.store.commitImportBatch({ events: all, states: [], refresh: true, ...(drop.length === 0 ? {} : { drop }) });
    const redated = Math.min(check.redate.length, r.dropped ?? 0, r.inserted);
    const gatewayCopies = Math.min(check.metered.length, (r.dropped ?? 0) - redated);
    summary.eventsRemoved = (r.dropped ?? 0) - redated - gatewayCopies;
    summary.eventsAdded = r.inserted - redated;
    summary.eventsUpdated = r.replaced + redated;
    summary.eventsRedated = redated;
  }
  // The gateway's rows are records of requests it counted: duplicates, said as such (formatSummaryLine).
  summary.meteredByGateway = metered.size;
  summary.duplicates = rows - summary.eventsAdded + metered.size;
  if (metered.size === 0) {
    const rowsByDay = [...buckets.entries()].map(([id, b]) => ({ day: b.at, model: events.get(id)?.modelServed ?? null }));
    const warning = await gatewayOverlapWarning(opts.store, opts.api, rowsByDay, opts.gatewayProviders ?? []);
    if (warning !== null) summary.warnings.push(warning);
  }
  summary.outcomesAdded = await opts.store.insertOutcomes(outcomes);
  summary.durationMs = Math.round(performance.now() - started);
  return summary;
}

const API_NAMES: Record<(typeof USAGE_API_SOURCES)[number], string> = {
  'openai-usage': "OpenAI's usage or cost report",
  'anthropic-usage': "Anthropic's usage or cost report",
  'anthropic-claude-code': "Anthropic's Claude Code analytics",
};

/** A saved response none of whose rows `api` reads: an API error, or a page another usage API reads; else null. */
async function wrongPage(body: unknown, file: string, api: UsageApi & UsageApiInfo): Promise<WrongInput | null> {
  const error = apiErrorOf(body);
  if (error !== null) {
    return {
      path: file,
      looksLike: 'api-error',
      hint: `${file} is an API error response, not a usage page (${error.slice(0, 200)}): there is nothing in it to import. Save the page again once the request succeeds (with an organization admin key), or let goodhart call the API (--admin-key or $${api.keyEnv}).`,
    };
  }
  const self = USAGE_API_SOURCES.find((s) => USAGE_APIS[s].eventSource === api.eventSource);
  for (const other of USAGE_API_SOURCES) {
    if (other === self) continue;
    const page = (await USAGE_APIS[other].load()).convertPage(body);
    if (page.bad === 0 && page.rows.length + page.costs.length + page.outcomes.length > 0) {
      const what = self === undefined ? 'this import' : API_NAMES[self];
      return { path: file, looksLike: other, hint: `${file} is a page of ${API_NAMES[other]}, not ${what}: import it with \`goodhart import ${other} --file ${file}\`.` };
    }
  }
  return null;
}

/** A row's event id: from its bucket and grouping (stable across imports and releases). */
const eventId = (api: UsageApiInfo, row: ApiUsageRow): string => stableId(api.idSource ?? api.eventSource, row.key);

/** Configured projects by the providers' ids of them (`projects[].providerIds`). */
function projectsByProviderId(projects: GoodhartConfig['projects']): Map<string, { id: string; team: string | null }> {
  const out = new Map<string, { id: string; team: string | null }>();
  for (const p of projects) for (const pid of p.providerIds ?? []) if (!out.has(pid)) out.set(pid, { id: p.id, team: p.team ?? null });
  return out;
}

function toEvent(
  api: UsageApiInfo,
  row: ApiUsageRow,
  memo: ReturnType<typeof createPriceMemo>,
  rules: UsageApiImportOptions['rules'],
  timeZone: string,
  projectOf: ReadonlyMap<string, { id: string; team: string | null }>,
): UsageEvent {
  const source = api.eventSource;
  const identity: Identity = { account: row.account, apiKey: row.apiKey, email: row.email };
  const who = resolveIdentity(identity, rules);
  // The provider's project (OpenAI project, Anthropic workspace) as configured, else its raw id. Its team is the
  // row's when the person has none, as a gateway key's own team counts only for someone the directory puts in none.
  const project = row.projectId === null ? undefined : projectOf.get(row.projectId);
  const catalogue = row.model === null ? null : memo.priceAggregate(row.usage, row.model, row.provider, row.at, row.longContext);
  const u = row.usage;
  const day = dayTag(row.at, row.endedAt);
  return {
    id: eventId(api, row),
    source,
    providerRequestId: null,
    startedAt: bucketDate(row.at, row.endedAt, timeZone),
    firstTokenAt: null,
    endedAt: row.endedAt,
    userId: who.userId,
    teamId: who.teamId ?? project?.team ?? null,
    projectId: project?.id ?? row.projectId,
    keyId: null,
    sessionId: null,
    tags: day === null ? row.tags : [...row.tags, day],
    repo: null,
    branch: null,
    provider: row.provider,
    endpoint: row.provider === 'openai' ? 'chat.completions' : 'messages',
    modelRequested: row.model,
    modelServed: row.model,
    inputTokens: u.input.total,
    cacheReadTokens: u.input.cacheRead,
    cacheWrite5mTokens: u.input.cacheWrite5m,
    cacheWrite1hTokens: u.input.cacheWrite1h,
    outputTokens: u.output.total,
    reasoningTokens: u.output.reasoning,
    ...usageExtras(u),
    costUsd: row.reportedCostUsd ?? catalogue,
    usageEstimated: false,
    status: 200,
    errorClass: null,
    streamed: false,
    clientAborted: false,
    rawUsage: JSON.stringify(u.raw),
  };
}

/**
 * Whether storing `events` would count a bucket already stored twice, and what to remove (bucket-check.ts); and
 * which stored rows the import has at another date (`redate`): days stored at their start by earlier releases, or
 * dated in another `timeZone`.
 */
async function checkStoredBuckets(
  store: AuditStore,
  api: UsageApiInfo,
  events: readonly UsageEvent[],
  buckets: ReadonlyMap<string, { at: number; endedAt: number }>,
  replace: boolean,
  gateway: ReadonlyMap<string, unknown>,
): Promise<BucketCheck & { redate: string[]; metered: string[] }> {
  const source = api.eventSource;
  const incoming = [...buckets.entries()].map(([id, b]) => ({ id, ...b }));
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const b of incoming) {
    lo = Math.min(lo, b.at);
    hi = Math.max(hi, b.endedAt);
  }
  // A stored bucket overlapping the import's starts at most a day (the widest bucket) before its first one and before
  // its last one ends, and its row is dated within it (at most a day after its start).
  const range = { since: lo - DAY_MS, until: hi + DAY_MS };
  const listed = await store.listEvents({ source, ...range });
  // Claude Code analytics stored as anthropic-usage by earlier releases: other rows, not the usage report's.
  const stored = listed.filter((e) => source !== 'anthropic-usage' || !e.tags.includes('claude-code-analytics'));
  const rowOf = (e: UsageEvent) => ({ id: e.id, at: bucketStartOf(e), endedAt: e.endedAt });
  const check = checkBuckets(incoming, stored.map(rowOf), replace);
  // Rows of this import stored under the source whose name seeds its ids (analytics stored as anthropic-usage).
  const legacy = api.idSource !== undefined && api.idSource !== source ? await store.listEvents({ source: api.idSource, ...range }) : [];
  const dated = new Map(events.map((e) => [e.id, e.startedAt]));
  const redate = [...listed, ...legacy].filter((e) => dated.has(e.id) && dated.get(e.id) !== e.startedAt).map((e) => e.id);
  // The gateway's rows stored by an import before `usageReportIds` named them.
  const metered = listed.filter((e) => gateway.has(e.id)).map((e) => e.id);
  return { ...check, redate, metered };
}

/** `--base-url` as an http(s) URL, checked before any request (a bare host made `new URL` throw a TypeError). */
function checkBaseUrl(value: string, example: string): string {
  let url: URL | null = null;
  try {
    url = new URL(value);
  } catch {
    url = null;
  }
  if (url === null || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.host === '') {
    throw new GoodhartError('invalid_request', 400, `--base-url: "${value}" is not an http(s) URL. Write it whole, with its scheme, e.g. --base-url ${example}.`);
  }
  return value;
}

/** A YYYY-MM-DD day starts at 00:00 UTC (the APIs' daily buckets); with `endOfDay`, the range ends as the day does. */
function parseDate(value: string, option: string, endOfDay = false): Date {
  const day = /^\d{4}-\d{2}-\d{2}$/.test(value);
  const ms = Date.parse(day ? `${value}T00:00:00Z` : value);
  if (!Number.isFinite(ms)) throw new GoodhartError('invalid_request', 400, `${option}: "${value}" is not a date. Use YYYY-MM-DD or ISO 8601.`);
  return new Date(day && endOfDay ? ms + DAY_MS : ms);
}

const startOfUtcDay = (d: Date): Date => new Date(Math.floor(d.getTime() / DAY_MS) * DAY_MS);
const endOfUtcDay = (d: Date): Date => new Date(Math.ceil(d.getTime() / DAY_MS) * DAY_MS);

/** The body of a 200, parsed, and its size in bytes. */
async function getJson(doFetch: typeof fetch, url: URL, headers: Record<string, string>, retries: number): Promise<{ body: unknown; bytes: number }> {
  for (let attempt = 0; ; attempt++) {
    let res: Response;
    try {
      res = await doFetch(url, { headers, signal: AbortSignal.timeout(60_000) });
    } catch (cause) {
      if (attempt < retries) {
        await sleep(backoff(attempt, null));
        continue;
      }
      throw new GoodhartError('upstream_unreachable', 502, `Cannot reach ${url.origin}: ${String(cause)}. Check --base-url and the network.`, { cause, retryable: true });
    }
    if (res.ok) {
      // A 200 whose body is cut short or not JSON (a proxy's page, a dropped connection): retried like a 5xx.
      let text: string;
      try {
        text = await res.text();
        return { body: JSON.parse(text) as unknown, bytes: Buffer.byteLength(text) };
      } catch (cause) {
        if (attempt < retries) {
          await sleep(backoff(attempt, null));
          continue;
        }
        throw new GoodhartError(
          'upstream_error',
          502,
          `${url.pathname} answered 200 but its body is not complete JSON (${cause instanceof Error ? cause.message : String(cause)}), ${retries + 1} times. Try again later; if it persists, check --base-url points at the provider's API and not a proxy's page.`,
          { cause, retryable: true },
        );
      }
    }
    const text = await res.text().catch(() => '');
    if ((res.status === 429 || res.status >= 500) && attempt < retries) {
      await sleep(backoff(attempt, res.headers.get('retry-after')));
      continue;
    }
    const hint =
      res.status === 401 || res.status === 403
        ? ' The admin key was refused: it must be an organization admin key (sk-admin-… / sk-ant-admin…).'
        : res.status === 404
          ? ` Check --base-url: OpenAI's ends in /v1 (https://api.openai.com/v1), Anthropic's does not (https://api.anthropic.com); this import asked ${url.origin}${url.pathname}.`
          : '';
    throw new GoodhartError('upstream_error', 502, `${url.pathname} answered ${res.status}: ${text.slice(0, 300)}.${hint}`);
  }
}

function backoff(attempt: number, retryAfter: string | null): number {
  const s = retryAfter === null ? NaN : Number(retryAfter);
  return Number.isFinite(s) ? Math.min(s * 1000, 60_000) : Math.min(500 * 2 ** attempt, 10_000);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
