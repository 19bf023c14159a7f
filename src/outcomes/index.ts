/** Outcomes: the public surface other modules (gateway, dashboard, CLI, bench) use. */
export { OUTCOME_KINDS, OUTCOME_SOURCES, type OutcomeEvent, type OutcomeFilter, type OutcomeKind, type OutcomeSource } from './event.js';
export { outcomesConfigSchema, defaultOutcomesConfig, type OutcomesConfig } from './config.js';
export { analyseOutcomes, lookaheadMs, type Analysis, type AnalysisConfig, type AnalysisInput } from './analyse.js';
export { countOutcomes, SHIPPED_KINDS, type CountedOutcome, type ShippedKind } from './counted.js';
export { linkSpend, LINK_METHODS, LINK_CONFIDENCE, type Link, type LinkMethod } from './link.js';
export { efficiency, pearson, type EfficiencyRow, type SubjectKind } from './metrics.js';
export { spendWithoutOutcome, QUESTION_RULE, type OutcomeQuestion } from './questions.js';
export { slicesOf, loadSpendSlices, type SpendSlice } from './slices.js';
export { outcomesView, viewerFromActor, type OutcomeView, type OutcomeViewer, type MyOutcome } from './view.js';
export { registerOutcomeRoutes, type OutcomeRouteDeps } from './routes.js';
export { importGit, type ImportGitOptions, type RepoImportSummary } from './git/import.js';
export { detectAiTools, AI_TOOLS, type AiTool } from './ai-coauthor.js';
