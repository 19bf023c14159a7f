import type { LedgerRow } from '../policy/state.js';

/** Spend of one day and one combination of the event dimensions budgets scope on, as both stores query it. */
export interface SpendRow {
  day: number;
  user_id: string | null;
  team_id: string | null;
  project_id: string | null;
  key_id: string | null;
  /** JSON array text. */
  tags: string;
  usd: number;
  tokens: number;
}

/** Folds dimension combinations into the scope values budgets count under: org, user:, team:, project:, key:, tag:. */
export function foldSpendRows(rows: readonly SpendRow[]): LedgerRow[] {
  const sums = new Map<string, LedgerRow>();
  const add = (day: number, scopeKey: string, usd: number, tokens: number) => {
    const k = `${day}|${scopeKey}`;
    const row = sums.get(k);
    if (row) {
      row.usd += usd;
      row.tokens += tokens;
    } else sums.set(k, { day, scopeKey, usd, tokens });
  };
  for (const r of rows) {
    add(r.day, 'org', r.usd, r.tokens);
    if (r.user_id !== null) add(r.day, `user:${r.user_id}`, r.usd, r.tokens);
    if (r.team_id !== null) add(r.day, `team:${r.team_id}`, r.usd, r.tokens);
    if (r.project_id !== null) add(r.day, `project:${r.project_id}`, r.usd, r.tokens);
    if (r.key_id !== null) add(r.day, `key:${r.key_id}`, r.usd, r.tokens);
    // Lower-cased, once per row: tags are lower-cased as they arrive, and events stored before that ("Search",
    // "search") count toward the one budget their tag now has.
    const tags = new Set(((JSON.parse(r.tags) as string[] | null) ?? []).map((t) => t.toLowerCase()));
    for (const t of tags) add(r.day, `tag:${t}`, r.usd, r.tokens);
  }
  return [...sums.values()];
}
