import type { GoodhartConfig } from '../config/schema.js';
import { countOutcomes, type CountedOutcome } from './counted.js';
import type { OutcomeEvent } from './event.js';
import { linkSpend, type Link } from './link.js';
import { efficiency, type EfficiencyRow, type SubjectKind } from './metrics.js';
import { createBotTest, createPeopleResolver } from './people.js';
import { spendWithoutOutcome, type OutcomeQuestion } from './questions.js';
import type { SpendSlice } from './slices.js';

/**
 * The whole computation, pure: which outcomes count, how spend links to them, the metrics per subject and the
 * questions. The store-reading wrapper is view.ts; the benchmark calls this directly.
 */
export type AnalysisConfig = Pick<GoodhartConfig, 'identities' | 'users' | 'outcomes'>;

export interface AnalysisInput {
  slices: readonly SpendSlice[];
  /** Outcomes from `since` to `until + lookahead(config)`: links and reverts look past the period's end. */
  outcomes: readonly OutcomeEvent[];
  since: number;
  until: number;
  config: AnalysisConfig;
  now: number;
}

export interface Analysis {
  /** Counted outcomes of the period. */
  counted: CountedOutcome[];
  links: Link[];
  /** Commits and pull requests of the period reverted within the window (with whose they were). */
  reverted: OutcomeEvent[];
  reverts: number;
  telemetryReplaced: number;
  questions: OutcomeQuestion[];
  rows(kind: SubjectKind): EfficiencyRow[];
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** How far past the period outcomes are read: the link window and the revert window. */
export function lookaheadMs(config: AnalysisConfig): number {
  return Math.max(config.outcomes.linkWindowHours * HOUR_MS, config.outcomes.revertWindowDays * DAY_MS);
}

export function analyseOutcomes(input: AnalysisInput): Analysis {
  const o = input.config.outcomes;
  const teamOf = new Map(input.config.users.map((u) => [u.id, u.team ?? null]));
  const result = countOutcomes(input.outcomes, {
    revertWindowMs: o.revertWindowDays * DAY_MS,
    resolve: createPeopleResolver(input.config),
    teamOf: (u) => teamOf.get(u) ?? null,
    isBot: createBotTest(o),
  });
  const links = linkSpend(input.slices, result.counted, {
    windowMs: o.linkWindowHours * HOUR_MS,
    explicitMaxAgeMs: o.explicitMaxAgeDays * DAY_MS,
    defaultBranches: o.defaultBranches,
    ticketPrefixes: o.ticketPrefixes,
  });
  const counted = result.counted.filter((c) => c.at >= input.since && c.at < input.until);
  // Without any outcome data there is nothing to link to: asking everyone about their spend would be noise.
  const questions =
    counted.length === 0 ? [] : spendWithoutOutcome(input.slices, links, { minUsdPerWeek: o.questionMinUsdPerWeek, since: input.since, until: input.until, now: input.now });
  const memo = new Map<SubjectKind, EfficiencyRow[]>();
  return {
    counted,
    links,
    reverted: result.reverted.filter((r) => r.at >= input.since && r.at < input.until),
    reverts: result.reverts,
    telemetryReplaced: result.telemetryReplaced,
    questions,
    rows(kind) {
      let rows = memo.get(kind);
      if (rows === undefined) {
        rows = efficiency({ slices: input.slices, outcomes: counted, links, since: input.since, until: input.until }, kind);
        memo.set(kind, rows);
      }
      return rows;
    },
  };
}
