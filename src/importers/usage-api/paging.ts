import { z } from 'zod';
import type { ConvertedPage } from './types.js';

/**
 * What the providers' admin usage APIs share: a page is `{data: […], has_more, next_page}`, the next page is the
 * same request with `page=<next_page>`, and usage and cost reports are time buckets of result rows. Each provider
 * module only says how one item (bucket or row) reads; run.ts pages with `nextPageUrl`.
 */

/** `{data: item[], has_more, next_page}`. */
export function pageOf<T extends z.ZodType>(item: T) {
  return z.looseObject({ data: z.array(item), has_more: z.boolean().nullish(), next_page: z.string().nullish() });
}

export function emptyPage(): ConvertedPage {
  return { rows: [], outcomes: [], costs: [], bad: 0, hasMore: false, nextPage: null };
}

type Page<I> = { data: I[]; has_more?: boolean | null | undefined; next_page?: string | null | undefined };

/** Parses a page and hands each item to `each`; a body that is not a page counts as one bad item. */
export function convertPage<I>(body: unknown, schema: z.ZodType<Page<I>>, each: (item: I, out: ConvertedPage) => void): ConvertedPage {
  const out = emptyPage();
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    out.bad = 1;
    return out;
  }
  out.hasMore = parsed.data.has_more === true;
  out.nextPage = parsed.data.next_page ?? null;
  for (const item of parsed.data.data) each(item, out);
  return out;
}

/**
 * A usage or cost report: pages of time buckets of result rows. A result the cost schema reads adds to the
 * reported cost (`usdOf` null: not a number, a bad row); else the usage schema's row; else a bad row.
 */
export interface BucketReport<B extends { results: unknown[] }, C, U> {
  page: z.ZodType<Page<B>>;
  /** The bucket's start and end (epoch ms), or null when unreadable (its rows are bad). */
  span(bucket: B): [number, number] | null;
  cost: z.ZodType<C>;
  usdOf(cost: C): number | null;
  usage: z.ZodType<U>;
  /** The event row of a usage result, or null when it is not usable (bad). */
  row(at: number, endedAt: number, usage: U, raw: unknown): ConvertedPage['rows'][number] | null;
}

export function convertBucketReport<B extends { results: unknown[] }, C, U>(body: unknown, report: BucketReport<B, C, U>): ConvertedPage {
  return convertPage(body, report.page, (bucket, out) => {
    const span = report.span(bucket);
    if (span === null) {
      out.bad += bucket.results.length;
      return;
    }
    for (const raw of bucket.results) {
      const cost = report.cost.safeParse(raw);
      if (cost.success) {
        const usd = report.usdOf(cost.data);
        if (usd === null) out.bad += 1;
        else out.costs.push({ at: span[0], usd });
        continue;
      }
      const usage = report.usage.safeParse(raw);
      const row = usage.success ? report.row(span[0], span[1], usage.data, raw) : null;
      if (row === null) out.bad += 1;
      else out.rows.push(row);
    }
  });
}

/** `base` + `path` with the given query parameters (repeated keys kept, in order). */
export function reportUrl(base: string, path: string, params: readonly (readonly [string, string])[]): URL {
  const url = new URL(`${base.replace(/\/+$/, '')}${path}`);
  for (const [k, v] of params) url.searchParams.append(k, v);
  return url;
}

/** The next page of a request: the same URL with `page=<cursor>`. */
export function nextPageUrl(url: URL, cursor: string): URL {
  const next = new URL(url);
  next.searchParams.set('page', cursor);
  return next;
}
