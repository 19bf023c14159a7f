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

export function chatUsage(input: number, cached: number, output: number, reasoning: number) {
  return {
    prompt_tokens: input,
    completion_tokens: output,
    total_tokens: input + output,
    prompt_tokens_details: { cached_tokens: cached, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: reasoning,
      audio_tokens: 0,
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
