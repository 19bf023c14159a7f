/** Pieces shared by the OpenAI routes: model resolution, ids, fingerprints, usage objects. */
import { SimError } from './errors.js';
import { findModel, type SimModel } from './models.js';
import { hashString, randomChars } from './random.js';
import type { SimContext } from './reply.js';

export function openaiModel(id: string, kind: SimModel['kind'], endpoint: string): SimModel {
  const model = findModel(id);
  if (model === undefined || model.provider !== 'openai') {
    throw new SimError(404, `The model \`${id}\` does not exist or you do not have access to it.`, {
      openaiCode: 'model_not_found',
    });
  }
  if (model.kind !== kind) {
    throw new SimError(
      404,
      kind === 'chat'
        ? `This is not a chat model and thus not supported in the ${endpoint} endpoint.`
        : `This model does not support ${endpoint}.`,
      { openaiCode: 'model_not_found' },
    );
  }
  return model;
}

/**
 * OpenAI's answer to a reasoning parameter sent to a model without reasoning (gpt-4o, gpt-4.1): a 400
 * `unsupported_parameter` naming it (`reasoning_effort` on chat completions, `reasoning.effort` on Responses).
 */
export function refuseReasoning(model: SimModel, param: string, value: unknown): void {
  if (model.reasoning || value === undefined || value === null) return;
  throw new SimError(400, `Unsupported parameter: '${param}' is not supported with this model.`, { openaiCode: 'unsupported_parameter', param });
}

export function systemFingerprint(model: string): string {
  return 'fp_' + hashString(model, 7).toString(16).padStart(8, '0') + 'a1';
}

export function openaiId(ctx: SimContext, prefix: string, length: number, alphabet: 'base62' | 'hex' = 'base62'): string {
  return prefix + randomChars(ctx.idRng, length, alphabet);
}

/**
 * The `service_tier` an answer reports: the tier asked for when it is one OpenAI bills apart (`flex`, and
 * `priority`, which `fast` also asks for), else `default` (`auto` and `default` alike).
 */
export function servedTier(requested: string | null | undefined): string {
  if (requested === 'flex' || requested === 'priority') return requested;
  return requested === 'fast' ? 'priority' : 'default';
}

/** Audio tokens are parts of the totals, as OpenAI reports them: `prompt_tokens` includes the input audio. */
export function chatUsage(input: number, cached: number, output: number, reasoning: number, audio = { input: 0, output: 0 }) {
  return {
    prompt_tokens: input + audio.input,
    completion_tokens: output + audio.output,
    total_tokens: input + audio.input + output + audio.output,
    prompt_tokens_details: { cached_tokens: cached, audio_tokens: audio.input },
    completion_tokens_details: {
      reasoning_tokens: reasoning,
      audio_tokens: audio.output,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

export function responsesUsage(input: number, cached: number, output: number, reasoning: number) {
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: cached },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: reasoning },
    total_tokens: input + output,
  };
}
