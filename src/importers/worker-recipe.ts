import type { GoodhartConfig } from '../config/schema.js';
import { pricerWith } from '../usage/catalogue-pricer.js';
import type { ModelPriceOverride } from '../usage/pricing.js';
import { createLocalAttributor } from './attribution.js';
import { createGitLookup, type GitScope } from './git-info.js';
import { createPriceMemo, type LearningPriceMemo, type PriceBookEntry } from './price-memo.js';
import type { FileContext } from './process-file.js';
import { FILE_IMPORTERS } from './registry.js';
import type { FileSource } from './types.js';

/**
 * Everything a file import needs, as plain data, so worker threads can build the same FileContext as the main
 * thread (functions do not cross thread boundaries).
 */
export interface WorkerRecipe {
  source: FileSource;
  /** Who is who and which project: the main thread's attributor reads the same (import.ts). */
  config: Pick<GoodhartConfig, 'identities' | 'users' | 'projects'> & { outcomes?: { people: GoodhartConfig['outcomes']['people'] } };
  /** Validated by the main thread (the config's schema): the worker does not load zod to check them again. */
  priceOverrides: Record<string, ModelPriceOverride>;
  identity: { osUser: string | null; account: string | null };
  /** Whose git settings give `user.email` besides the repository's own (git-info.ts). */
  gitScope: GitScope;
  maxLineBytes?: number | undefined;
  maxWholeFileBytes: number;
  /** The SQLite file workers write to (their own connections). Without it, imports run on the main thread. */
  dbPath?: string | undefined;
  fingerprints: { secret: string; since: number } | null;
  /** What earlier runs learnt from the price catalogue (price-book.ts). */
  priceBook?: PriceBookEntry[] | undefined;
  /** `--full`: stored events are refreshed by records of the same rank (ImportBatch.refresh). */
  refresh?: boolean | undefined;
  /** The workers' shared write lock (write-lock.ts), set by the pool. */
  writeLock?: SharedArrayBuffer | undefined;
}

export function contextFromRecipe(r: WorkerRecipe): FileContext & { memo: LearningPriceMemo } {
  return {
    importer: FILE_IMPORTERS[r.source],
    memo: createPriceMemo(pricerWith(new Map(Object.entries(r.priceOverrides))), r.priceBook ?? []),
    attribute: createLocalAttributor(r.config, r.identity, createGitLookup({ scope: r.gitScope })),
    maxLineBytes: r.maxLineBytes,
    maxWholeFileBytes: r.maxWholeFileBytes,
    fingerprints: r.fingerprints,
  };
}
