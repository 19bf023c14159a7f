/** Waste detection: the public surface other modules (gateway, importers, governance, dashboard) use. */
export { RULE_IDS, type Finding, type FindingFilter, type RuleId, type DetectInput } from './types.js';
export { detectConfigSchema, defaultDetectConfig, type DetectConfig } from './config.js';
export { DETECTORS } from './registry.js';
export { DetectionEngine, detectAll } from './engine.js';
export { detectHistory } from './history.js';
export { findingsStoreOf, listFindings, type FindingsStore } from './store.js';
export { forecastSpend, type Forecast, type ForecastInput } from './forecast/index.js';
export { fingerprintRequest, fingerprintText, fingerprintTurn, type TurnParts } from './fingerprint/fingerprint.js';
export { BlockChain } from './fingerprint/blocks.js';
export { deriveKeys } from './fingerprint/keys.js';
export { FingerprintObserver, createFingerprintObserver } from './fingerprint/observer.js';
export type { Fingerprint, FingerprintCore } from './fingerprint/types.js';
