import { storeSpec } from '../store/open.js';
import type { GoodhartConfig } from '../config/schema.js';
import type { AnalysisConfig } from '../outcomes/analyse.js';
import { findingsStoreOf, type FindingsStore } from '../detect/store.js';
import type { BudgetConfig } from '../policy/config.js';
import { Directory } from '../policy/directory.js';
import type { RouteDecisionStore } from '../route/decisions.js';
import { openDecisionStore } from '../route/open.js';
import { SqliteGovernanceStore } from '../store/sqlite/governance-store.js';
import { supportsImports, type OutcomeStore, type Store } from '../store/types.js';

/**
 * What reports read besides usage events, each part null when this store does not (yet) keep it: the audit, the
 * digest and the dashboard say so instead of showing numbers they do not have.
 */
export interface ReportSources {
  store: Store;
  timeZone: string;
  /** How outcomes are counted (people, revert window), as `goodhart outcomes report` counts them. */
  analysis: AnalysisConfig;
  /** Effective budgets: the config's, with the admin API's changes on top. */
  budgets(): readonly BudgetConfig[];
  findings: FindingsStore | null;
  outcomes: Pick<OutcomeStore, 'listOutcomes'> | null;
  decisions: Pick<RouteDecisionStore, 'savingsGroups'> | null;
  close(): Promise<void>;
}

const sqlitePath = (store: Store): string | null => {
  const spec = storeSpec(store);
  return spec?.kind === 'sqlite' ? spec.path : null;
};

/**
 * For the CLI (audit, digest): reads the governance overlay kept beside a SQLite store, and the routing decisions
 * beside any store; only reads, so a SQLite file this user may not write is read as it is.
 */
export async function openReportSources(config: GoodhartConfig, store: Store): Promise<ReportSources> {
  const path = sqlitePath(store);
  let budgets: readonly BudgetConfig[] = config.budgets;
  if (path !== null) {
    const gov = new SqliteGovernanceStore(path, { readOnly: true });
    try {
      budgets = Directory.fromStore(config, await gov.loadOverlay()).spec().budgets;
    } finally {
      await gov.close();
    }
  }
  const decisions = await openDecisionStore(store, { readOnly: true });
  return {
    store,
    timeZone: config.timeZone,
    analysis: config,
    budgets: () => budgets,
    findings: findingsStoreOf(store) ?? null,
    outcomes: supportsImports(store) ? store : null,
    decisions,
    async close() {
      await decisions?.close();
    },
  };
}
