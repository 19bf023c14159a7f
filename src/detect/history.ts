import { supportsImports, type Store } from '../store/types.js';
import type { Pricer } from '../usage/pricing.js';
import type { DetectConfig } from './config.js';
import { DetectionEngine } from './engine.js';
import type { FindingsStore } from './store.js';
import { RULE_IDS, type Finding, type RuleId } from './types.js';
import { DAY } from './util.js';

/**
 * `goodhart detect --since …`: runs the detectors over stored history, a day of events (and their fingerprints) at
 * a time, and replaces the findings of the range. Baselines need the weeks before `since`, so reading starts
 * `lookbackDays` earlier; findings that start before `since` are dropped (an earlier run owns them).
 */
export interface HistoryRun {
  since: number;
  until: number;
  config: DetectConfig;
  rules?: readonly RuleId[];
  pricer?: Pricer;
  /** Default: enough for the longest baseline (spend anomalies' weeks, period-end surges' baseline). */
  lookbackDays?: number;
  /** Write findings to the store (default true). */
  write?: boolean;
}

export interface HistoryResult {
  findings: Finding[];
  events: number;
  fingerprints: number;
  ms: number;
}

export function lookbackDays(config: DetectConfig): number {
  return Math.max(config.spendAnomaly.weeks * 7, config.periodEndSurge.baselineDays + config.periodEndSurge.days) + 1;
}

export async function detectHistory(store: Store, findings: FindingsStore, run: HistoryRun): Promise<HistoryResult> {
  const started = performance.now();
  const rules = run.rules ?? RULE_IDS;
  const engine = new DetectionEngine({ config: run.config, rules, ...(run.pricer ? { pricer: run.pricer } : {}) });
  const from = run.since - (run.lookbackDays ?? lookbackDays(run.config)) * DAY;
  let events = 0;
  let fingerprints = 0;
  for (let t = from; t < run.until; t += DAY) {
    const until = Math.min(run.until, t + DAY);
    const [page, fps, outcomes] = await Promise.all([
      store.listEvents({ since: t, until }),
      findings.listFingerprints({ since: t, until }),
      supportsImports(store) ? store.listOutcomes({ since: t, until }) : Promise.resolve([]),
    ]);
    // Outcomes first: detectors that use them aggregate by day, and the day closes only on a later event.
    for (const o of outcomes) engine.pushOutcome(o);
    const byId = new Map(fps.map((f) => [f.eventId, f]));
    fingerprints += fps.length;
    events += page.length;
    for (const event of page) engine.push({ event, fp: byId.get(event.id) ?? null });
  }
  const all = engine.finish(run.until).filter((f) => f.start >= run.since && f.start < run.until);
  if (run.write !== false) {
    await findings.deleteFindings({ since: run.since, until: run.until, rules });
    await findings.upsertFindings(all);
  }
  return { findings: all, events, fingerprints, ms: performance.now() - started };
}
