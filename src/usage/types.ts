/**
 * The one normalised usage shape every provider, importer and receiver converts into.
 *
 * Conventions (see ../shared/reference/formats.md):
 * - `input.total` INCLUDES cache reads and cache writes (OpenAI's convention, and what the price catalogue expects).
 *   Anthropic reports disjoint buckets; its converter adds them up.
 * - `output.total` INCLUDES reasoning tokens.
 * - `raw` keeps the provider's original usage object so events can be re-priced or re-checked later.
 */
export interface NormalisedUsage {
  input: {
    total: number;
    /** Input tokens neither read from nor written to a cache. */
    noCache: number;
    cacheRead: number;
    /** Cache writes billed at the 5-minute rate (Anthropic's default, and OpenAI-compatible "cache_write"). */
    cacheWrite5m: number;
    /** Cache writes billed at the 1-hour rate. */
    cacheWrite1h: number;
  };
  output: {
    total: number;
    /** Visible output (total minus reasoning). */
    text: number;
    reasoning: number;
  };
  raw: unknown;
}

export const emptyUsage = (): NormalisedUsage => ({
  input: { total: 0, noCache: 0, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 0 },
  output: { total: 0, text: 0, reasoning: 0 },
  raw: null,
});
