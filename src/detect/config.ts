import { z } from 'zod';
import { SIMPLE_ROUTER_SCORE } from './complexity.js';
import { RULE_IDS } from './types.js';

/**
 * The `detect:` section of goodhart.yaml. Every threshold has a default and a reason; the rationale of each rule is
 * in its detector's folder and in the README. Thresholds gate on BOTH a pattern and an amount of money, so heavy
 * use alone never produces a finding.
 */

const usd = z.number().nonnegative();
const positiveInt = z.number().int().positive();
const share = z.number().min(0).max(1);

export const detectConfigSchema = z
  .object({
    fingerprints: z
      .object({
        enabled: z.boolean().default(true).describe('Record prompt fingerprints at the gateway (no text is ever stored)'),
        /** 30 days: the longest look-back of a fingerprint rule is a day; a month lets `detect --since` re-run one. */
        retentionDays: positiveInt.default(30).describe('Days fingerprints are kept, then deleted'),
        secret: z
          .string()
          .min(16, 'use a random secret of at least 16 characters (e.g. `openssl rand -hex 32`), given as ${ENV_VAR}')
          .optional()
          .describe('Per-installation fingerprint key (use ${ENV_VAR}); default: generated and kept in a file (mode 0600) beside a SQLite database, or in ~/.goodhart for PostgreSQL, never in the database'),
      })
      .strict()
      .default({ enabled: true, retentionDays: 30 }),
    live: z
      .object({
        enabled: z.boolean().default(true).describe('Run the detectors inside `goodhart serve` as events arrive (one replica of several)'),
        /**
         * 30 s: the detectors' windows close on minutes (a rephrase loop ends 10 minutes after the last try), so
         * reading more often finds nothing sooner; each tick is one indexed read of what arrived since the last.
         */
        intervalSeconds: positiveInt.max(3600).default(30).describe('How often new events are read and run through the detectors'),
        /**
         * 5 minutes: events are stored when a request ends, so a long stream arrives after shorter requests that
         * started later. Holding each event this long lets the detectors see them in start order (and its
         * fingerprint, written beside it, arrive). Costs memory for this much traffic and delays findings as much.
         */
        reorderSeconds: positiveInt.max(3600).default(300).describe('How long events are held so they reach the detectors in start order'),
        /**
         * An hour: events that arrive later than this after they started (an import of older logs, an OTLP
         * exporter that was down) no longer fit the running state; their days are detected again from history.
         */
        lateMinutes: positiveInt.default(60).describe('Events arriving later than this are re-detected with their whole day'),
        /** Re-detecting a day replays the weeks of baseline before it: at most this often. */
        redetectMinutes: positiveInt.default(30).describe('At most this often, days that received late events are re-detected'),
        /** Budget forecasts move slowly (daily spend); checking every 15 minutes catches a crossing the same hour. */
        forecastMinutes: positiveInt.default(15).describe('How often budget forecasts are checked for a projected overrun'),
        alerts: z
          .object({
            /** Findings go to the alert sinks (each sink's `findings` says how much of them it gets). */
            findings: z.boolean().default(true),
            /**
             * $1: below it a finding is worth reading in `goodhart findings`, not a message in a channel. Spend
             * anomalies claim no waste and are sent regardless (they are already gated at $20 a day and more).
             */
            minWastedUsd: usd.default(1),
            rules: z.array(z.enum(RULE_IDS)).default([...RULE_IDS]),
            /** A finding that ended longer ago than this is history (a first start, an import): stored, not sent. */
            maxAgeHours: positiveInt.default(24),
            /** Budgets whose upper projection reaches the amount: once per budget instance and period. */
            forecasts: z.boolean().default(true),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    timeZone: z.string().default('UTC').describe('IANA zone for day boundaries and reporting periods'),
    /** Tagged requests are declared jobs (nightly evals, batch runs): budgeted, never reported as loops or surges. */
    exemptTags: z.array(z.string()).default(['scheduled', 'batch', 'eval']),
    rephraseLoop: z
      .object({
        /**
         * 0.4 estimated Jaccard: a rewording keeps most content words (typically 0.4–0.9); two different prompts on
         * one codebase share about 0.1–0.3.
         */
        similarity: share.default(0.4),
        /** …and the episode's links average at least 0.5: a chain of barely-similar prompts is a conversation. */
        minMeanSimilarity: share.default(0.5),
        /** 4 prompts = the original and three rewordings: two tries is normal iteration, four is a loop. */
        minPrompts: positiveInt.default(4),
        /** 10 minutes between consecutive rewordings: beyond it the person went and did something else. */
        maxGapMinutes: positiveInt.default(10),
        /** Cents: an agent turn on a cached context costs a few cents; the pattern is the point. */
        minWastedUsd: usd.default(0.02),
      })
      .strict()
      .prefault({}),
    contextBloat: z
      .object({
        /** 8k tokens ≈ 8 blocks of 4 KB: below it a re-send costs cents and caching needs a minimum size anyway. */
        minRepeatedTokens: positiveInt.default(8_000),
        /** 60 minutes: within the 1-hour cache TTL, a prefix re-sent uncached could have been a cache read. */
        windowMinutes: positiveInt.default(60),
        /** A request whose cache reads cover less than this share of the repeated prefix missed the cache. */
        maxCacheShare: share.default(0.2),
        /** 5 uncached re-sends of a document in a day: once or twice is a person checking; five is a habit. */
        minRequests: positiveInt.default(5),
        /** 20 cents a day: a habit that costs less is not worth a note yet. */
        minWastedUsd: usd.default(0.2),
      })
      .strict()
      .prefault({}),
    premiumOverkill: z
      .object({
        premiumModels: z
          .array(z.string())
          .default(['claude-opus-*', 'claude-3-opus*', 'o1', 'o1-*', 'o3', 'o3-2*', 'o3-pro*', 'gpt-5-pro*', 'gpt-4.5*', 'gemini-*-pro*']),
        /** What a simple request could have used instead (first matching glob wins). */
        cheaperModels: z.record(z.string(), z.string()).default({
          'claude-*': 'claude-haiku-4-5',
          'o1*': 'gpt-5-mini',
          'o3*': 'gpt-5-mini',
          'gpt-5*': 'gpt-5-mini',
          'gpt-4.5*': 'gpt-4.1-mini',
          'gemini-*': 'gemini-2.5-flash',
        }),
        /**
         * The routing classifier's two-tiers-down threshold (src/route): a request it would send from premium to an
         * economy model is simple.
         */
        maxComplexity: share.default(SIMPLE_ROUTER_SCORE),
        /** An answer longer than this (tokens) means the request was not a quick one, whatever its wording. */
        maxOutputTokens: positiveInt.default(600),
        /** 10 simple premium prompts in a day: a few quick questions on the default model are not worth a note. */
        minRequests: positiveInt.default(10),
        /** More than half of the day's premium requests were simple: a habit, not an occasional question. */
        minShare: share.default(0.5),
        /** Cents: a small premium model (o3) costs a few tenths of a cent per quick question; the habit is the point. */
        minWastedUsd: usd.default(0.01),
      })
      .strict()
      .prefault({}),
    idleLoop: z
      .object({
        /** 20 requests: enough intervals for the coefficient of variation to mean something. */
        minRequests: positiveInt.default(20),
        /** Coefficient of variation of the intervals: people and agents vary by > 50%; a timer by < 10%. */
        maxIntervalCv: z.number().positive().default(0.15),
        minDurationMinutes: positiveInt.default(60),
        /** A gap longer than this ends a run. */
        maxGapMinutes: positiveInt.default(30),
        /** Share of the run in hours where the person is usually not active (learned from their own human turns). */
        minOffHoursShare: share.default(0.6),
        /** A cached loop on a small model costs cents a night; found early, it never grows into a bill. */
        minWastedUsd: usd.default(0.02),
        /** …or at least this many requests, whatever they cost: a loop that size holds rate limits and only grows. */
        orMinRequests: positiveInt.default(100),
      })
      .strict()
      .prefault({}),
    agentCircle: z
      .object({
        /** The same tool call with the same result 4 times: coding agents call 3–5 identical calls a "doom loop". */
        repeats: positiveInt.default(4),
        /** …within this many consecutive agent steps without a human turn. */
        windowSteps: positiveInt.default(12),
        /** Cents: a cached agent step costs about $0.01; the loop matters more than its price. */
        minWastedUsd: usd.default(0.02),
      })
      .strict()
      .prefault({}),
    fanOut: z
      .object({
        /** 6 sessions started within the window: people run 2–4 agents in parallel productively. */
        minSessions: positiveInt.default(6),
        windowMinutes: positiveInt.default(15),
        /**
         * Median output per session at most 1,500 tokens: a few short answers, then abandoned. A working agent
         * session writes several thousand.
         */
        maxMedianOutput: positiveInt.default(1_500),
        minWastedUsd: usd.default(0.1),
      })
      .strict()
      .prefault({}),
    periodEndSurge: z
      .object({
        period: z.enum(['week', 'month', 'quarter']).default('month'),
        /** The last 3 days of a period: when leaderboards and quotas are read. */
        days: positiveInt.default(3),
        /** Days before the window that form the person's baseline. */
        baselineDays: positiveInt.default(21),
        /** Daily tokens in the window at least 3× the person's usual day (median of active baseline days)… */
        minRatio: z.number().positive().default(3),
        /** …costing at least $5 more than usual (cached tokens are cheap; below this it is not worth a note)… */
        minExcessUsd: usd.default(5),
        /** …and tokens per prompt at least 2× usual: the jump is not explained by more work being asked for. */
        minCostPerTurnRatio: z.number().positive().default(2),
      })
      .strict()
      .prefault({}),
    spendAnomaly: z
      .object({
        /** Same weekday over the last 4 weeks: weekly seasonality is the strongest pattern in work usage. */
        weeks: positiveInt.default(4),
        minWeeks: positiveInt.default(3),
        /** Robust z (median/MAD): 5 is rare under any plausible day-to-day noise. */
        z: z.number().positive().default(5),
        /** 4× the usual level: busy honest days reach 2–3× (more sessions, a long run); runaways go far beyond. */
        minRatio: z.number().positive().default(4),
        /** Per day: $20 for a person (light users spend a few dollars a day), more for groups that spend more. */
        minUsd: z
          .object({ user: usd.default(20), team: usd.default(100), project: usd.default(100), model: usd.default(300) })
          .strict()
          .prefault({}),
        hourly: z
          .object({
            /** EWMA weight of the newest hour: 0.05 ≈ a 20-hour memory. */
            alpha: share.default(0.05),
            z: z.number().positive().default(6),
            minRatio: z.number().positive().default(8),
            /**
             * $75 an hour for a person ($150 for a team): a busy agent hour costs $5–30, an overnight autonomous run
             * up to ~$60; a runaway costs hundreds.
             */
            minUsd: z.object({ user: usd.default(75), team: usd.default(150) }).strict().prefault({}),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type DetectConfig = z.infer<typeof detectConfigSchema>;
export type DetectConfigInput = z.input<typeof detectConfigSchema>;

export function defaultDetectConfig(overrides: DetectConfigInput = {}): DetectConfig {
  return detectConfigSchema.parse(overrides);
}
