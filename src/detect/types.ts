import type { UsageEvent } from '../usage/event.js';
import type { Pricer } from '../usage/pricing.js';
import type { Fingerprint } from './fingerprint/types.js';
import type { DetectConfig } from './config.js';
import type { ComplexityClassifier } from './complexity.js';

/**
 * Waste detection: pure, incremental detectors over usage events and their privacy-preserving fingerprints.
 * A finding carries numbers and request ids, never prompt or response text (none is ever stored).
 */

export const RULE_IDS = [
  'rephrase-loop',
  'context-bloat',
  'premium-overkill',
  'idle-loop',
  'agent-circle',
  'fan-out',
  'period-end-surge',
  'spend-anomaly',
] as const;
export type RuleId = (typeof RULE_IDS)[number];

export const SUBJECT_KINDS = ['user', 'team', 'session', 'key', 'project', 'model'] as const;
export type SubjectKind = (typeof SUBJECT_KINDS)[number];

export interface Evidence {
  /** Counts that make the case (requests, repeats, sessions…). */
  counts: Record<string, number>;
  /** Ratios and measured values (similarity, cache share, robust z…). */
  ratios: Record<string, number>;
  /** Event ids of representative requests (at most 20), so a person can look at their own requests. */
  requestIds: string[];
}

export interface Finding {
  /** Deterministic from rule, subject and start: re-running detection over the same history replaces, never duplicates. */
  id: string;
  rule: RuleId;
  subject: { kind: SubjectKind; id: string };
  userId: string | null;
  teamId: string | null;
  sessionId: string | null;
  /** Epoch ms, [start, end]. */
  start: number;
  end: number;
  evidence: Evidence;
  /** Estimated avoidable spend in USD (0 when the rule does not claim any, e.g. a forecast). */
  wastedUsd: number;
  /** How wastedUsd was computed, in one sentence. */
  wasteMethod: string;
  /** 0…1: how sure the detector is that this is the behaviour it names. */
  confidence: number;
  /** What happened, factually, with numbers. */
  summary: string;
  /** A concrete, respectful suggestion for the person. */
  suggestion: string;
  detectedAt: number;
}

/** One request as detectors see it: the usage event and, when recorded, its fingerprint. */
export interface DetectInput {
  event: UsageEvent;
  fp: Fingerprint | null;
}

/**
 * An outcome (src/outcomes: a commit, a merged pull request…) as detectors see it. Optional: detectors that weigh
 * spend against delivered work (period-end surges) use outcomes when a store has them, and work without.
 */
export interface OutcomeInput {
  userId: string | null;
  at: number;
  kind: string;
  count: number;
}

/** What every detector may use besides the events: configuration and pricing (for counterfactual costs). */
export interface DetectContext {
  config: DetectConfig;
  pricer: Pricer;
  /** Called for each finding, in the order detectors produce them. */
  emit(finding: Finding): void;
  /** Swappable complexity score for premium overkill (default: the heuristic in complexity.ts). */
  complexity?: ComplexityClassifier;
}

/**
 * A detector: state in the closure, no I/O. `observe` is called with requests in `startedAt` order; `advance`
 * whenever the stream's clock moves past a minute (for windows that close on time, not on the next event);
 * `finish` closes every open window at the end of a history run.
 */
export interface Detector {
  observe(input: DetectInput): void;
  /** Outcomes, pushed before the events of the same day (order within a day does not matter). */
  observeOutcome?(outcome: OutcomeInput): void;
  advance(now: number): void;
  finish(now: number): void;
}

export interface DetectorDefinition {
  rule: RuleId;
  title: string;
  /** Why this is waste and why the thresholds are what they are: shown in `goodhart findings --explain` and the README. */
  rationale: string;
  create(ctx: DetectContext): Detector;
}

export interface FindingFilter {
  since?: number;
  until?: number;
  userId?: string;
  teamId?: string;
  rule?: RuleId;
  limit?: number;
}
