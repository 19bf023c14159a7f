/** `GET /v1/models` and `GET /v1/models/:id`, in the format of whichever provider's client asks. */
import { SimError } from './errors.js';
import { findModel, releasedUnix, SIM_MODEL_NAMES, type SimModel } from './models.js';
import { jsonReply, type Reply, type SimContext } from './reply.js';

function openaiModelObject(model: SimModel) {
  return { id: model.id, object: 'model', created: releasedUnix(model), owned_by: 'system' };
}

function anthropicModelObject(model: SimModel) {
  return { type: 'model', id: model.id, display_name: model.displayName, created_at: `${model.released}T00:00:00Z` };
}


const NO_DELAY = { ttftMs: 0, itlMs: 0, dieAfter: undefined };

export function handleListModels(_body: unknown, ctx: SimContext): Reply {
  const provider = ctx.provider;
  const models = SIM_MODEL_NAMES.filter((m) => m.provider === provider);
  if (provider === 'openai') return jsonReply({ object: 'list', data: models.map(openaiModelObject) }, NO_DELAY, 0);
  // Anthropic lists newest first
  const data = [...models].sort((a, b) => b.released.localeCompare(a.released)).map(anthropicModelObject);
  return jsonReply({ data, has_more: false, first_id: data[0]?.id ?? null, last_id: data[data.length - 1]?.id ?? null }, NO_DELAY, 0);
}

export function handleGetModel(_body: unknown, ctx: SimContext, id: string): Reply {
  const provider = ctx.provider;
  const model = findModel(id);
  if (model === undefined || model.provider !== provider) {
    throw provider === 'openai'
      ? new SimError(404, `The model '${id}' does not exist`, { openaiCode: 'model_not_found', param: 'model' })
      : new SimError(404, `model: ${id}`);
  }
  return jsonReply(provider === 'openai' ? openaiModelObject(model) : anthropicModelObject(model), NO_DELAY, 0);
}
