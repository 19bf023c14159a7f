import { calcPrice } from '@pydantic/genai-prices';
import { describe, expect, it } from 'vitest';
import { SIM_MODEL_NAMES, SIM_MODELS, type SimModel } from './index.js';

describe('SIM_MODELS', () => {
  it('are all priced by the price catalogue, under their own provider, snapshots included', () => {
    for (const model of SIM_MODEL_NAMES) {
      const price = calcPrice({ input_tokens: 1_000_000, output_tokens: 0 }, model.id, { providerId: model.provider });
      expect(price, model.id).toBeTruthy();
      expect(price?.total_price, model.id).toBeGreaterThan(0);
    }
  });

  it('flag OpenAI reasoning models by the o1/o3/o4/gpt-5 prefix rule', () => {
    for (const model of SIM_MODELS.filter((m) => m.provider === 'openai')) {
      expect(model.reasoning, model.id).toBe(/^(o1|o3|o4|gpt-5)/.test(model.id));
    }
  });

  it('serve each dated snapshot at the price of its alias (gpt-4o-2024-05-13, dearer, would not do)', () => {
    const usage = { input_tokens: 1_000_000, cache_read_tokens: 200_000, output_tokens: 1_000_000 };
    for (const model of SIM_MODELS as readonly SimModel[]) {
      if (model.snapshot === undefined) continue;
      const alias = calcPrice(usage, model.id, { providerId: model.provider });
      const snapshot = calcPrice(usage, model.snapshot, { providerId: model.provider });
      expect(snapshot?.total_price, model.snapshot).toBe(alias?.total_price);
    }
  });

  it('have unique names, snapshots included', () => {
    expect(new Set(SIM_MODEL_NAMES.map((m) => m.id)).size).toBe(SIM_MODEL_NAMES.length);
  });
});
