import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { ModelPriceOverride } from '../usage/pricing.js';
import type { PriceBookEntry, Rates } from './price-memo.js';

/**
 * The price book: the per-token rates the importers' price memo learnt (price-memo.ts), kept in the database so
 * that a re-import does not load the price catalogue (the catalogue and its schema library take longer to load
 * than a day of logs takes to price). It belongs to one catalogue: the key names the catalogue package's version,
 * this module's version and the config's price overrides, and a book under another key is never read.
 */
export interface PriceBookStore {
  /** The stored book for this catalogue key, as written; null when there is none. */
  readPriceBook(key: string): Promise<string | null>;
  /** Stores the book for this key, dropping books of other keys. */
  writePriceBook(key: string, book: string): Promise<void>;
}

export function priceBookStoreOf(store: object): PriceBookStore | undefined {
  const s = store as Partial<PriceBookStore>;
  return typeof s.readPriceBook === 'function' && typeof s.writePriceBook === 'function' ? (s as PriceBookStore) : undefined;
}

/**
 * Bumped when the memo's rates change meaning (what it learns, how it prices) or the pricer corrects the catalogue
 * (2: Sonnet 4's long-context tiers, pricing.ts): older books are then not read.
 */
const BOOK_FORMAT = 2;

/**
 * The key of the book for these overrides: the catalogue package's version (read from its package.json, without
 * loading the catalogue), this program's version and the overrides. Null when the catalogue's version cannot be
 * read: then no book is kept.
 */
export function priceBookKey(overrides: Record<string, ModelPriceOverride>): string | null {
  const catalogue = packageVersion('@pydantic/genai-prices');
  if (catalogue === null) return null;
  const ours = ownVersion();
  const sorted = Object.keys(overrides)
    .sort()
    .map((k) => [k, overrides[k]]);
  const hash = createHash('sha256').update(JSON.stringify(sorted)).digest('hex').slice(0, 16);
  return `genai-prices@${catalogue} goodhart@${ours} book@${BOOK_FORMAT} overrides:${hash}`;
}

function packageVersion(name: string): string | null {
  try {
    // The package's exports hide its package.json; its entry point sits in dist/ beside it.
    const entry = createRequire(import.meta.url).resolve(name);
    for (let dir = dirname(entry), i = 0; i < 4; dir = dirname(dir), i++) {
      try {
        const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
        if (pkg.name === name && typeof pkg.version === 'string') return pkg.version;
      } catch {
        // not here: one folder up
      }
    }
  } catch {
    // not installed where this module can see it
  }
  return null;
}

function ownVersion(): string {
  try {
    for (let dir = dirname(new URL(import.meta.url).pathname), i = 0; i < 5; dir = dirname(dir), i++) {
      try {
        const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
        if (pkg.name === 'goodhart' && typeof pkg.version === 'string') return pkg.version;
      } catch {
        // not here: one folder up
      }
    }
  } catch {
    // no file URL (bundled oddly): the version is then unknown
  }
  return 'unknown';
}

/** JSON of the book; rates without a tier (`linearUpTo` infinite) and entries with no end store null. */
export function serialiseBook(entries: readonly PriceBookEntry[]): string {
  return JSON.stringify({
    format: BOOK_FORMAT,
    entries: entries.map((e) => ({
      ...e,
      price: e.price === 'unpriced' ? e.price : { ...e.price, linearUpTo: Number.isFinite(e.price.linearUpTo) ? e.price.linearUpTo : null },
    })),
  });
}

const RATE_KEYS = ['noCache', 'cacheRead', 'cacheWrite5m', 'cacheWrite1h', 'text', 'reasoning'] as const;

/**
 * The entries of a stored book; a book that is not the expected shape (another version wrote it, or it was edited)
 * gives none, and the catalogue is loaded as without a book. Checked by hand rather than with a schema library:
 * not loading one is the point of the book.
 */
export function parseBook(text: string | null): PriceBookEntry[] {
  if (text === null) return [];
  try {
    const v = JSON.parse(text) as { format?: unknown; entries?: unknown };
    if (v.format !== BOOK_FORMAT || !Array.isArray(v.entries)) return [];
    const out: PriceBookEntry[] = [];
    for (const raw of v.entries as unknown[]) {
      const e = raw as Record<string, unknown>;
      if (typeof e['provider'] !== 'string' || typeof e['model'] !== 'string' || !isNum(e['from'])) return [];
      if (e['until'] !== null && !isNum(e['until'])) return [];
      const price = e['price'] === 'unpriced' ? 'unpriced' : rates(e['price']);
      if (price === null) return [];
      out.push({ provider: e['provider'], model: e['model'], from: e['from'], until: e['until'] as number | null, price });
    }
    return out;
  } catch {
    return [];
  }
}

function rates(v: unknown): Rates | null {
  const six = (o: unknown): Omit<Rates, 'linearUpTo' | 'long'> | null => {
    if (typeof o !== 'object' || o === null) return null;
    const r = o as Record<string, unknown>;
    if (!RATE_KEYS.every((k) => isNum(r[k]))) return null;
    return Object.fromEntries(RATE_KEYS.map((k) => [k, r[k] as number])) as Omit<Rates, 'linearUpTo' | 'long'>;
  };
  const base = six(v);
  if (base === null) return null;
  const r = v as Record<string, unknown>;
  if (r['linearUpTo'] !== null && !isNum(r['linearUpTo'])) return null;
  const out: Rates = { ...base, linearUpTo: r['linearUpTo'] === null ? Number.POSITIVE_INFINITY : (r['linearUpTo'] as number) };
  if (r['long'] !== undefined) {
    const long = six(r['long']);
    if (long === null) return null;
    out.long = long;
  }
  return out;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
