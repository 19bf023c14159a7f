import { createPricer, type Pricer } from '../usage/pricing.js';
import type { ComplexityClassifier } from './complexity.js';
import { defaultDetectConfig, type DetectConfig } from './config.js';
import { DETECTORS } from './registry.js';
import { RULE_IDS, type DetectInput, type Detector, type Finding, type OutcomeInput, type RuleId } from './types.js';
import { MINUTE } from './util.js';

/**
 * Runs detectors over a stream of requests in `startedAt` order: live (push as events arrive) or over history.
 * Owns the stream clock: detectors whose windows close on time are advanced once per minute of stream time.
 */
export interface EngineOptions {
  config?: DetectConfig;
  pricer?: Pricer;
  rules?: readonly RuleId[];
  complexity?: ComplexityClassifier;
  /** Called for each finding as it is made (default: collected in `findings`). */
  onFinding?: (f: Finding) => void;
}

export class DetectionEngine {
  readonly findings: Finding[] = [];
  private readonly detectors: Detector[];
  private clock = Number.NEGATIVE_INFINITY;
  private nextTick = Number.NEGATIVE_INFINITY;
  /** Requests seen, and those that arrived out of order (counted, then treated as arriving now). */
  seen = 0;
  late = 0;

  constructor(opts: EngineOptions = {}) {
    const config = opts.config ?? defaultDetectConfig();
    const pricer = opts.pricer ?? createPricer();
    const emit = opts.onFinding ?? ((f: Finding) => void this.findings.push(f));
    this.detectors = (opts.rules ?? RULE_IDS).map((rule) =>
      DETECTORS[rule].create({ config, pricer, emit, ...(opts.complexity ? { complexity: opts.complexity } : {}) }),
    );
  }

  push(input: DetectInput): void {
    const t = input.event.startedAt;
    this.seen++;
    if (t < this.clock) this.late++;
    else this.clock = t;
    if (this.clock >= this.nextTick) {
      for (const d of this.detectors) d.advance(this.clock);
      this.nextTick = this.clock - (this.clock % MINUTE) + MINUTE;
    }
    for (const d of this.detectors) d.observe(input);
  }

  /** An outcome (commit, pull request…); does not move the clock. */
  pushOutcome(outcome: OutcomeInput): void {
    for (const d of this.detectors) d.observeOutcome?.(outcome);
  }

  /** Moves the clock without a request (a live engine on a timer), closing windows that ended. */
  tick(now: number): void {
    if (now <= this.clock) return;
    this.clock = now;
    for (const d of this.detectors) d.advance(now);
  }

  /** Closes every open window; `now` (default: the last request's time) is when the history ends. */
  finish(now = this.clock): Finding[] {
    this.tick(now);
    for (const d of this.detectors) d.finish(Math.max(now, this.clock));
    return this.findings;
  }
}

/** Detection over a finished list of requests (sorted here by startedAt, then id). */
export function detectAll(inputs: DetectInput[], opts: EngineOptions & { until?: number } = {}): Finding[] {
  const engine = new DetectionEngine(opts);
  const sorted = [...inputs].sort((a, b) => a.event.startedAt - b.event.startedAt || (a.event.id < b.event.id ? -1 : 1));
  for (const i of sorted) engine.push(i);
  return engine.finish(opts.until);
}
