import { z } from 'zod';
import { idSchema as id } from '../config/id.js';
import { ROUTER_CALIBRATION } from './weights.js';

/**
 * The `routing:` section of goodhart.yaml: right-sizing requests down a ladder of cheaper models. Off unless a
 * mode says otherwise, so adding the section changes nothing by itself.
 */

export const ROUTE_MODES = ['off', 'shadow', 'on'] as const;
export type RouteMode = (typeof ROUTE_MODES)[number];

const mode = z.enum(ROUTE_MODES);

/** Today's three-tier ladders (premium → standard → economy) of the two first-class providers. */
export const DEFAULT_LADDERS: Record<string, string[]> = {
  openai: ['gpt-5', 'gpt-5-mini', 'gpt-5-nano'],
  anthropic: ['claude-opus-4-1', 'claude-sonnet-4-20250514', 'claude-haiku-4-5'],
};

export const capabilitySchema = z
  .object({
    tools: z.boolean().describe('Function / tool calling'),
    vision: z.boolean().describe('Image (and PDF) input'),
    jsonSchema: z.boolean().describe('Structured output bound to a JSON schema'),
    contextTokens: z.number().int().positive().describe('Context window in tokens (input + output)'),
    /** Unset is false: a request asking for reasoning then stays on the model asked for, never an error upstream. */
    reasoning: z
      .boolean()
      .default(false)
      .describe('Reasoning effort and extended thinking (reasoning_effort, Responses reasoning, Anthropic thinking); unset: false'),
    /** Unset is false, as for reasoning: a request setting effort stays on the model asked for. */
    effort: z.boolean().default(false).describe('Anthropic output_config.effort; unset: false'),
    /** Unset is false: only audio models hear or speak, and a request with audio stays on the model asked for. */
    audio: z.boolean().default(false).describe('Audio input or output (input_audio parts, modalities: ["audio"]); unset: false'),
  })
  .strict();

export const qualityGuardSchema = z
  .object({
    /** 10 minutes: a re-ask after a bad answer comes within a few minutes; later it is more likely new work. */
    windowMinutes: z.number().positive().default(10).describe('A re-ask on the premium model within this is a routing miss'),
    /** 0.7 of MinHash slots equal ≈ Jaccard 0.7 of content words and word pairs: the same question, lightly reworded. */
    similarity: z.number().gt(0).max(1).default(0.7).describe('Estimated Jaccard similarity of the two questions'),
    /** 3 misses: one or two can be coincidence; three in a day for one team and class is a pattern. */
    minMisses: z.number().int().positive().default(3),
    /** 10%: the weak model's expected miss rate on routed work is well under this (bench/route). */
    maxMissRate: z.number().gt(0).max(1).default(0.1).describe('Misses / routed requests of a team and class'),
    periodHours: z.number().positive().default(24).describe('Misses and routed requests are counted over this'),
    /** A week: long enough to notice, short enough that a better model or classifier gets another chance. */
    disableHours: z.number().positive().default(168).describe('How long a tripped class stays on the premium model'),
  })
  .strict();

export const routingSchema = z
  .object({
    mode: mode.default('off').describe('Organisation default: off, shadow (decide and record only) or on'),
    teams: z.record(id, mode).default({}).describe('Mode per team id (overrides the default)'),
    projects: z.record(id, mode).default({}).describe('Mode per project id (overrides its team)'),
    keys: z.record(z.string().min(1), mode).default({}).describe('Mode per key id (overrides everything)'),
    ladders: z
      .record(id, z.array(z.string().min(1)).min(2))
      .default(DEFAULT_LADDERS)
      .describe('Per provider family, models from most to least capable; routing only steps down a ladder'),
    thresholds: z
      .array(z.number().min(0).max(1))
      .min(1)
      .default([ROUTER_CALIBRATION.route40, ROUTER_CALIBRATION.route20])
      .refine((t) => t.every((x, i) => i === 0 || x <= t[i - 1]!), 'thresholds must not increase: [one tier down, two tiers down, …]')
      .describe(
        'Complexity scores (0-1) at or below which a request steps 1, 2… tiers down. Defaults route ~40% one tier and ~20% two tiers on the calibration data',
      ),
    capabilities: z
      .record(z.string().min(1), capabilitySchema)
      .default({})
      .describe('Capabilities of models the built-in table lacks or gets wrong (see src/route/capabilities.ts)'),
    qualityGuard: qualityGuardSchema.default(qualityGuardSchema.parse({})),
  })
  .strict()
  .superRefine((r, ctx) => {
    const seen = new Map<string, string>();
    for (const [family, models] of Object.entries(r.ladders)) {
      for (const m of models) {
        const other = seen.get(m);
        if (other !== undefined) {
          ctx.addIssue({ code: 'custom', path: ['ladders', family], message: `"${m}" is already on the ${other} ladder: a model may be on one ladder only` });
        }
        seen.set(m, family);
      }
    }
  });

export type RoutingConfig = z.output<typeof routingSchema>;
export type QualityGuardConfig = z.output<typeof qualityGuardSchema>;
export type ModelCapabilities = z.output<typeof capabilitySchema>;

/** The section's defaults: everything off. */
export function defaultRoutingConfig(): RoutingConfig {
  return routingSchema.parse({});
}

/** Whether routing runs for anyone: some mode (organisation, team, project or key) is not `off`. */
export function routingConfigured(r: RoutingConfig): boolean {
  return [r.mode, ...Object.values(r.teams), ...Object.values(r.projects), ...Object.values(r.keys)].some((m) => m !== 'off');
}
